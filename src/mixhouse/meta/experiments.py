"""Experiments in the metadata store (SQLAlchemy; every value bound), and the feature flag each may be backed by.

Ids are UUID strings. The link lives on the flag (``feature_flags.experiment_id``, unique: a flag backs at most one
experiment). Lifecycle actions run through :meth:`Experiments.apply`: the caller's rule sees the experiment as it is
inside the write transaction (so two concurrent launches cannot both pass) and answers a :class:`Change` — columns
to set, and a status for the linked flag, written in the same transaction with the flag's history entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mixhouse.errors import ValidationError
from mixhouse.meta import models
from mixhouse.meta.feature_flags import Actor, Flag, record, set_status
from mixhouse.meta.store import MetaStore

#: Columns kept as JSON text.
JSON_FIELDS = ("variants", "metrics", "settings", "exposures_cache", "results_cache", "tags")
#: Columns a create, an update or an action may set (``feature_flag_id`` relinks the flag).
FIELDS = ("name", "description", "hypothesis", "status", "archived", "start_date", "end_date", "decision_success",
          "decision_variant", "decision_message", "decided_at", *JSON_FIELDS)
LINK = "feature_flag_id"


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    project_id: int
    workspace_id: int | None
    name: str
    description: str | None
    hypothesis: str | None
    status: str
    archived: bool
    variants: Any
    metrics: Any
    settings: Any
    exposures_cache: Any
    results_cache: Any
    tags: list[str]
    start_date: datetime | None
    end_date: datetime | None
    decision_success: bool | None
    decision_variant: str | None
    decision_message: str | None
    decided_at: datetime | None
    creator_id: int | None
    creator_name: str
    last_modified_by_id: int | None
    last_modified_by_name: str
    created_at: datetime
    modified_at: datetime
    flag: Flag | None


@dataclass(frozen=True, slots=True)
class Change:
    """What an update or a lifecycle action does: ``fields`` to set (``feature_flag_id`` among them relinks the
    flag), and the status the linked flag takes (``None``: unchanged)."""

    fields: dict[str, Any] = field(default_factory=dict)
    flag_status: str | None = None


class Experiments:
    """One project's experiments; every read and write is scoped to ``project_id``."""

    def __init__(self, store: MetaStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

    def all(self, *, include_archived: bool = False) -> list[Experiment]:
        query = select(models.Experiment).where(models.Experiment.project_id == self._project_id)
        if not include_archived:
            query = query.where(models.Experiment.archived.is_(False))
        with self._store.reading() as session:
            rows = list(session.scalars(query.order_by(models.Experiment.created_at, models.Experiment.id)))
            flags = {row.experiment_id: row for row in session.scalars(select(models.FeatureFlag).where(
                models.FeatureFlag.experiment_id.in_([r.id for r in rows])))} if rows else {}
            return [_record(row, flags.get(row.id), session) for row in rows]

    def get(self, experiment_id: str) -> Experiment | None:
        with self._store.reading() as session:
            row = self._row(session, experiment_id)
            return None if row is None else _record(row, _flag_of(session, row.id), session)

    def create(self, fields: dict[str, Any], actor: Actor, *, workspace_id: int | None) -> Experiment:
        with self._store.writing() as session:
            row = models.Experiment(id=str(uuid.uuid4()), project_id=self._project_id, workspace_id=workspace_id,
                                    creator_id=actor.id, creator_name=actor.name, last_modified_by_id=actor.id,
                                    last_modified_by_name=actor.name)
            _assign(row, {name: fields.get(name) for name in FIELDS} | {"status": "draft", "archived": False})
            session.add(row)
            session.flush()
            flag_id = fields.get(LINK)
            flag = self._link(session, row.id, flag_id) if flag_id else None
            return _record(row, flag, session)

    def apply(self, experiment_id: str, rule: Callable[[Experiment], Change], actor: Actor) -> Experiment | None:
        """Run ``rule`` on the experiment as stored now and write what it answers (``None``: no such experiment;
        a rule refusing raises, and nothing is written)."""
        with self._store.writing() as session:
            row = self._row(session, experiment_id)
            if row is None:
                return None
            flag = _flag_of(session, row.id)
            change = rule(_record(row, flag, session))
            _assign(row, change.fields)
            if LINK in change.fields:
                if flag is not None:
                    flag.experiment_id = None
                    session.flush()
                flag = self._link(session, row.id, change.fields[LINK]) if change.fields[LINK] else None
            if flag is not None and change.flag_status is not None:
                set_status(session, flag, change.flag_status, actor)
            row.modified_at = datetime.now(UTC)
            row.last_modified_by_id, row.last_modified_by_name = actor.id, actor.name
            session.flush()
            return _record(row, flag, session)

    def delete(self, experiment_id: str) -> bool:
        """Delete the experiment; its flag stays, unlinked."""
        with self._store.writing() as session:
            row = self._row(session, experiment_id)
            if row is None:
                return False
            flag = _flag_of(session, row.id)
            if flag is not None:
                flag.experiment_id = None
            session.delete(row)
            return True

    def _row(self, session: Session, experiment_id: str) -> models.Experiment | None:
        row = session.get(models.Experiment, experiment_id)
        return row if row is not None and row.project_id == self._project_id else None

    def _link(self, session: Session, experiment_id: str, flag_id: str) -> models.FeatureFlag:
        flag = session.get(models.FeatureFlag, flag_id)
        if flag is None or flag.project_id != self._project_id:
            raise ValidationError(f"no feature flag {flag_id} in project {self._project_id}",
                                  details={"feature_flag_id": flag_id})
        if flag.experiment_id is not None and flag.experiment_id != experiment_id:
            raise ValidationError(f"feature flag {flag.key!r} already backs experiment {flag.experiment_id}",
                                  details={"feature_flag_id": flag_id})
        if flag.status == "archived":
            raise ValidationError(f"feature flag {flag.key!r} is archived; restore it first",
                                  details={"feature_flag_id": flag_id})
        flag.experiment_id = experiment_id
        session.flush()
        return flag


def _flag_of(session: Session, experiment_id: str) -> models.FeatureFlag | None:
    return session.scalar(select(models.FeatureFlag).where(models.FeatureFlag.experiment_id == experiment_id))


def _assign(row: models.Experiment, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name in JSON_FIELDS:
            setattr(row, name, json.dumps(value if value is not None or name != "tags" else []))
        elif name in FIELDS:
            setattr(row, name, value)


def _record(row: models.Experiment, flag: models.FeatureFlag | None, session: Session) -> Experiment:
    return Experiment(
        row.id, row.project_id, row.workspace_id, row.name, row.description, row.hypothesis, row.status,
        row.archived, json.loads(row.variants), json.loads(row.metrics), json.loads(row.settings),
        json.loads(row.exposures_cache), json.loads(row.results_cache), json.loads(row.tags), row.start_date,
        row.end_date, row.decision_success, row.decision_variant, row.decision_message, row.decided_at,
        row.creator_id, row.creator_name, row.last_modified_by_id, row.last_modified_by_name, row.created_at,
        row.modified_at, None if flag is None else record(flag, session))
