"""Project webhooks in the metadata store (SQLAlchemy; every value bound). Ids are UUID strings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from mixhouse.meta import models
from mixhouse.meta.store import MetaStore


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    project_id: int
    name: str
    url: str
    is_enabled: bool
    auth_type: str | None
    username: str | None
    password: str | None
    creator_id: int | None
    creator_name: str
    created_at: datetime
    modified_at: datetime


#: Columns a webhook update may change.
UPDATABLE = ("name", "url", "is_enabled", "auth_type", "username", "password")


class Webhooks:
    """One project's webhooks; every read and write is scoped to ``project_id``."""

    def __init__(self, store: MetaStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

    def all(self) -> list[Webhook]:
        with self._store.reading() as session:
            rows = session.scalars(select(models.Webhook).where(models.Webhook.project_id == self._project_id)
                                   .order_by(models.Webhook.created_at, models.Webhook.id))
            return [_record(row) for row in rows]

    def create(self, fields: dict[str, Any], creator_id: int, creator_name: str) -> Webhook:
        with self._store.writing() as session:
            row = models.Webhook(id=str(uuid.uuid4()), project_id=self._project_id, creator_id=creator_id,
                                 creator_name=creator_name, **fields)
            session.add(row)
            session.flush()
            return _record(row)

    def update(self, webhook_id: str, fields: dict[str, Any]) -> Webhook | None:
        with self._store.writing() as session:
            row = session.get(models.Webhook, webhook_id)
            if row is None or row.project_id != self._project_id:
                return None
            for key, value in fields.items():
                setattr(row, key, value)
            row.modified_at = datetime.now(UTC)
            session.flush()
            return _record(row)

    def delete(self, webhook_id: str) -> bool:
        return self._store.delete_in_project(models.Webhook, webhook_id, self._project_id)


def _record(row: models.Webhook) -> Webhook:
    return Webhook(row.id, row.project_id, row.name, row.url, row.is_enabled, row.auth_type, row.username,
                   row.password, row.creator_id, row.creator_name, row.created_at, row.modified_at)
