"""Cohorts in the metadata store (SQLAlchemy; every value bound), scoped to one project."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mixhouse.errors import NotFoundError, PermissionDeniedError
from mixhouse.meta import models
from mixhouse.meta.records import Actor, Viewer
from mixhouse.meta.store import MetaStore

#: Checks the project's cohort definitions (id → definition) as a write would leave them, and the ids it deletes.
GraphCheck = Callable[[dict[int, dict[str, Any]], frozenset[int]], None]

#: Columns a cohort update may change (``definition`` is a JSON object).
UPDATABLE = ("name", "description", "data_group_id", "is_locked", "is_visible", "definition")


@dataclass(frozen=True, slots=True)
class Cohort:
    id: int
    project_id: int
    name: str
    description: str
    data_group_id: str | None
    is_locked: bool
    is_visible: bool
    definition: dict[str, Any]
    creator: Actor
    created_at: datetime
    modified_at: datetime


class Cohorts:
    """One project's cohorts; with ``workspace_id`` (a data view), lists show those made in it. Membership and
    references always resolve across the whole project."""

    def __init__(self, store: MetaStore, project_id: int, workspace_id: int | None = None,
                 viewer: Viewer | None = None) -> None:
        self._store = store
        self._project_id = project_id
        self._workspace_id = workspace_id
        self._viewer = viewer  # None: no restriction flags apply (the server's own work)

    def all(self, ids: Iterable[int] | None = None, *, in_view: bool = True) -> list[Cohort]:
        query = select(models.Cohort).where(models.Cohort.project_id == self._project_id)
        if ids is not None:
            query = query.where(models.Cohort.id.in_(list(ids)))
        if in_view and self._workspace_id is not None:
            query = query.where(models.Cohort.workspace_id == self._workspace_id)
        with self._store.reading() as session:
            return [_record(row) for row in session.scalars(query.order_by(models.Cohort.id))]

    def get(self, cohort_id: int) -> Cohort | None:
        with self._store.reading() as session:
            row = self._row(session, cohort_id)
            return None if row is None else _record(row)

    def create(self, fields: dict[str, Any], actor: Actor, check: GraphCheck | None = None) -> Cohort:
        """A new cohort; ``check`` sees every definition of the project as it would be, in the same transaction
        (a refusal writes nothing)."""
        with self._store.writing() as session:
            row = models.Cohort(project_id=self._project_id, workspace_id=self._workspace_id,
                                creator_id=actor.id, creator_name=actor.name,
                                **_columns(fields))
            session.add(row)
            session.flush()
            self._check(session, check, frozenset())
            return _record(row)

    def update_many(self, changes: list[tuple[int, dict[str, Any]]],
                    check: GraphCheck | None = None) -> list[Cohort]:
        """Apply every ``(id, fields)`` change, or none when an id is not the project's (404) or ``check``
        refuses the project's definitions as they would be."""
        with self._store.writing() as session:
            rows = [(self._writable(session, cohort_id), fields) for cohort_id, fields in changes]
            for row, fields in rows:
                for key, value in _columns(fields).items():
                    setattr(row, key, value)
                row.modified_at = datetime.now(UTC)
            session.flush()
            self._check(session, check, frozenset())
            return [_record(row) for row, _ in rows]

    def delete_many(self, cohort_ids: list[int], check: GraphCheck | None = None) -> None:
        """Delete every cohort listed, or none when one is not the project's (404) or ``check`` refuses what is
        left (another cohort still refers to a deleted one)."""
        with self._store.writing() as session:
            for row in [self._writable(session, cohort_id) for cohort_id in cohort_ids]:
                session.delete(row)
            session.flush()
            self._check(session, check, frozenset(cohort_ids))

    def _check(self, session: Session, check: GraphCheck | None, deleted: frozenset[int]) -> None:
        if check is None:
            return
        rows = session.scalars(select(models.Cohort).where(models.Cohort.project_id == self._project_id))
        check({row.id: json.loads(row.definition) for row in rows}, deleted)

    def _row(self, session: Session, cohort_id: int) -> models.Cohort | None:
        row = session.get(models.Cohort, cohort_id)
        return row if row is not None and row.project_id == self._project_id else None

    def _writable(self, session: Session, cohort_id: int) -> models.Cohort:
        """The cohort if the viewer may change it: a locked one only its creator, owners and admins."""
        row = self._existing(session, cohort_id)
        viewer = self._viewer
        if viewer is not None and not viewer.may_act_on(row.creator_id, row.is_locked):
            raise PermissionDeniedError(f"cohort {cohort_id} is locked: only its creator, owners and admins change it")
        return row

    def _existing(self, session: Session, cohort_id: int) -> models.Cohort:
        row = self._row(session, cohort_id)
        if row is None:
            raise NotFoundError(f"no cohort {cohort_id} in project {self._project_id}")
        return row


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: json.dumps(value, separators=(",", ":")) if key == "definition" else value
            for key, value in fields.items()}


def _record(row: models.Cohort) -> Cohort:
    return Cohort(row.id, row.project_id, row.name, row.description, row.data_group_id, row.is_locked,
                  row.is_visible, json.loads(row.definition), Actor(row.creator_id, row.creator_name),
                  row.created_at, row.modified_at)
