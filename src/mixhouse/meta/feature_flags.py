"""Feature flags in the metadata store (SQLAlchemy; every value bound), with a change history per flag.

Ids are UUID strings; ``key`` is unique in a project; ``ruleset`` and ``tags`` are kept as JSON text. Every write
records a history entry (its action and who did it) in the same transaction.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mixhouse.errors import ValidationError
from mixhouse.meta import models
from mixhouse.meta.store import MetaStore


@dataclass(frozen=True, slots=True)
class Actor:
    """Who changes a flag (a service account)."""

    id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class Flag:
    id: str
    project_id: int
    workspace_id: int | None
    name: str
    key: str
    description: str | None
    status: str
    tags: list[str]
    context: str
    serving_method: str
    ruleset: dict[str, Any]
    hash_salt: str
    creator_id: int | None
    creator_name: str
    last_modified_by_id: int | None
    last_modified_by_name: str
    created_at: datetime
    modified_at: datetime
    enabled_at: datetime | None
    experiment_id: str | None = None
    #: Whether the experiment this flag backs is running (``None`` when it backs none).
    experiment_active: bool | None = None


@dataclass(frozen=True, slots=True)
class FlagChange:
    seq: int
    action: str
    actor_id: int | None
    actor_name: str
    created_at: datetime


#: The columns a create or a full replace sets (``tags`` and ``ruleset`` as Python values).
FIELDS = ("name", "key", "description", "status", "tags", "context", "serving_method", "ruleset")


class FeatureFlags:
    """One project's feature flags; every read and write is scoped to ``project_id``."""

    def __init__(self, store: MetaStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

    def all(self, *, include_archived: bool = False, enabled_only: bool = False) -> list[Flag]:
        query = select(models.FeatureFlag).where(models.FeatureFlag.project_id == self._project_id)
        if enabled_only:
            query = query.where(models.FeatureFlag.status == "enabled")
        elif not include_archived:
            query = query.where(models.FeatureFlag.status != "archived")
        with self._store.reading() as session:
            rows = session.scalars(query.order_by(models.FeatureFlag.created_at, models.FeatureFlag.id))
            return [_record(row, session) for row in rows]

    def get(self, flag_id: str) -> Flag | None:
        with self._store.reading() as session:
            row = self._row(session, flag_id)
            return None if row is None else _record(row, session)

    def usage(self) -> int:
        """Flags counted against the limit: all but the archived ones."""
        with self._store.reading() as session:
            return self._usage(session)

    def create(self, fields: dict[str, Any], actor: Actor, *, workspace_id: int | None, limit: int) -> Flag:
        with self._store.writing() as session:
            self._check_room(session, limit)
            self._check_key(session, fields["key"], None)
            row = models.FeatureFlag(id=str(uuid.uuid4()), project_id=self._project_id, workspace_id=workspace_id,
                                     hash_salt=secrets.token_hex(16), creator_id=actor.id, creator_name=actor.name,
                                     last_modified_by_id=actor.id, last_modified_by_name=actor.name)
            _assign(row, fields)
            if row.status == "enabled":
                row.enabled_at = datetime.now(UTC)
            session.add(row)
            _flush_unique(session, fields["key"])
            _log(session, row.id, "created", actor)
            return _record(row, session)

    def replace(self, flag_id: str, fields: dict[str, Any], actor: Actor, *, limit: int) -> Flag | None:
        """Set every field (PUT); the history says ``enabled``, ``disabled`` or ``archived`` when the status
        changed, else ``updated``."""
        with self._store.writing() as session:
            row = self._row(session, flag_id)
            if row is None:
                return None
            self._check_key(session, fields["key"], flag_id)
            before = row.status
            if before == "archived" and fields["status"] != "archived":
                self._check_room(session, limit)
            _assign(row, fields)
            action = row.status if row.status != before else "updated"
            return _record(self._touch(session, row, actor, action), session)

    def archive(self, flag_id: str, actor: Actor) -> Flag | None:
        with self._store.writing() as session:
            row = self._row(session, flag_id)
            if row is None:
                return None
            row.status = "archived"
            return _record(self._touch(session, row, actor, "archived"), session)

    def restore(self, flag_id: str, actor: Actor, *, limit: int) -> Flag | None:
        """Back from the archive, disabled (counted against ``limit`` again)."""
        with self._store.writing() as session:
            row = self._row(session, flag_id)
            if row is None:
                return None
            if row.status == "archived":
                self._check_room(session, limit)
            row.status = "disabled"
            return _record(self._touch(session, row, actor, "restored"), session)

    def set_ruleset(self, flag_id: str, ruleset: dict[str, Any], actor: Actor, action: str) -> Flag | None:
        with self._store.writing() as session:
            row = self._row(session, flag_id)
            if row is None:
                return None
            row.ruleset = json.dumps(ruleset)
            return _record(self._touch(session, row, actor, action), session)

    def delete(self, flag_id: str) -> bool:
        return self._store.delete_in_project(models.FeatureFlag, flag_id, self._project_id)

    def history(self, flag_id: str, *, offset: int, limit: int) -> tuple[list[FlagChange], int]:
        """One page of the flag's changes, oldest first, and how many there are in all."""
        where = models.FeatureFlagChange.flag_id == flag_id
        with self._store.reading() as session:
            total = session.scalar(select(func.count()).select_from(models.FeatureFlagChange).where(where)) or 0
            rows = session.scalars(select(models.FeatureFlagChange).where(where)
                                   .order_by(models.FeatureFlagChange.id).offset(offset).limit(limit))
            return [FlagChange(r.id, r.action, r.actor_id, r.actor_name, r.created_at) for r in rows], total

    def _row(self, session: Session, flag_id: str) -> models.FeatureFlag | None:
        row = session.get(models.FeatureFlag, flag_id)
        return row if row is not None and row.project_id == self._project_id else None

    def _usage(self, session: Session) -> int:
        return session.scalar(select(func.count()).select_from(models.FeatureFlag).where(
            models.FeatureFlag.project_id == self._project_id, models.FeatureFlag.status != "archived")) or 0

    def _check_room(self, session: Session, limit: int) -> None:
        if self._usage(session) >= limit:
            raise ValidationError(f"this project already has {limit} feature flags, the limit; archive or delete "
                                  "one first", details={"limit": limit})

    def _check_key(self, session: Session, key: str, flag_id: str | None) -> None:
        taken = session.scalar(select(models.FeatureFlag.id).where(
            models.FeatureFlag.project_id == self._project_id, models.FeatureFlag.key == key))
        if taken is not None and taken != flag_id:
            raise ValidationError(f"a feature flag with key {key!r} already exists in this project",
                                  details={"key": key})

    def free_key(self, key: str) -> str:
        """A key for a copy of the flag ``key``: ``key_copy``, else ``key_copy_2``, ``key_copy_3``..."""
        with self._store.reading() as session:
            taken = set(session.scalars(select(models.FeatureFlag.key).where(
                models.FeatureFlag.project_id == self._project_id,
                models.FeatureFlag.key.startswith(key, autoescape=True))))
        candidate, n = f"{key}_copy", 2
        while candidate in taken:
            candidate, n = f"{key}_copy_{n}", n + 1
        return candidate

    @staticmethod
    def _touch(session: Session, row: models.FeatureFlag, actor: Actor, action: str) -> models.FeatureFlag:
        now = datetime.now(UTC)
        row.modified_at = now
        row.last_modified_by_id, row.last_modified_by_name = actor.id, actor.name
        if action == "enabled":
            row.enabled_at = now
        _flush_unique(session, row.key)
        _log(session, row.id, action, actor)
        return row


def set_status(session: Session, row: models.FeatureFlag, status: str, actor: Actor) -> None:
    """Change ``row``'s status inside another writer's transaction (an experiment's launch), with its history
    entry; nothing when the status is already ``status``."""
    if row.status != status:
        row.status = status
        FeatureFlags._touch(session, row, actor, status)


def record(row: models.FeatureFlag, session: Session) -> Flag:
    return _record(row, session)


def _assign(row: models.FeatureFlag, fields: dict[str, Any]) -> None:
    for name in FIELDS:
        value = fields[name]
        setattr(row, name, json.dumps(value) if name in ("tags", "ruleset") else value)


def _flush_unique(session: Session, key: str) -> None:
    """Flush; a concurrent writer that took ``key`` first makes this a 400, as the check before would have."""
    try:
        session.flush()
    except IntegrityError:
        raise ValidationError(f"a feature flag with key {key!r} already exists in this project",
                              details={"key": key}) from None


def _log(session: Session, flag_id: str, action: str, actor: Actor) -> None:
    session.add(models.FeatureFlagChange(flag_id=flag_id, action=action, actor_id=actor.id, actor_name=actor.name))


def _record(row: models.FeatureFlag, session: Session) -> Flag:
    experiment = None if row.experiment_id is None else session.get(models.Experiment, row.experiment_id)
    return Flag(row.id, row.project_id, row.workspace_id, row.name, row.key, row.description, row.status,
                json.loads(row.tags), row.context, row.serving_method, json.loads(row.ruleset), row.hash_salt,
                row.creator_id, row.creator_name, row.last_modified_by_id, row.last_modified_by_name,
                row.created_at, row.modified_at, row.enabled_at, row.experiment_id,
                None if experiment is None else experiment.status == "active")
