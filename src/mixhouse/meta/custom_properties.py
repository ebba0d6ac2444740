"""Saved custom properties in the metadata store (SQLAlchemy; every value bound), scoped to one project.

The store keeps what the service checked (``services/custom_properties.py``): it does not validate definitions.
``composed_properties`` and ``example_value`` are JSON in the database and plain values here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from mixhouse.errors import NotFoundError, PermissionDeniedError
from mixhouse.meta.models_custom_properties import CustomProperty as Row
from mixhouse.meta.records import Actor, Viewer
from mixhouse.meta.store import MetaStore

#: The definition's columns, as ``fields`` of ``create``/``update`` name them.
COLUMNS: Final = ("name", "description", "resource_type", "property_type", "display_formula",
                  "composed_properties", "is_locked", "is_visible", "example_value")
_JSON_COLUMNS: Final = frozenset({"composed_properties", "example_value"})


@dataclass(frozen=True, slots=True)
class SavedCustomProperty:
    id: int
    project_id: int
    name: str
    description: str
    resource_type: str  # "events" or "people"
    property_type: str | None
    display_formula: str
    composed_properties: dict[str, dict[str, Any]]  # letter → input
    is_locked: bool
    is_visible: bool
    example_value: Any
    creator: Actor
    created_at: datetime
    modified_at: datetime

    def fields(self) -> dict[str, Any]:
        """The definition's columns (``COLUMNS``), as ``create`` takes them."""
        return {name: getattr(self, name) for name in COLUMNS}


class CustomProperties:
    """One project's saved custom properties; ``viewer`` (None: the server's own reads) decides who may change a
    locked one: its creator, owners and admins (403 for others)."""

    def __init__(self, store: MetaStore, project_id: int, viewer: Viewer | None = None) -> None:
        self._store = store
        self._project_id = project_id
        self._viewer = viewer

    def all(self) -> list[SavedCustomProperty]:
        """Oldest first."""
        with self._store.reading() as session:
            rows = session.scalars(select(Row).where(Row.project_id == self._project_id).order_by(Row.id))
            return [_record(row) for row in rows]

    def get(self, property_id: int) -> SavedCustomProperty | None:
        with self._store.reading() as session:
            row = self._row(session, property_id)
            return None if row is None else _record(row)

    def create(self, fields: dict[str, Any], actor: Actor) -> SavedCustomProperty:
        with self._store.writing() as session:
            row = Row(project_id=self._project_id, creator_id=actor.id, creator_name=actor.name, **_columns(fields))
            session.add(row)
            session.flush()
            return _record(row)

    def update(self, property_id: int, fields: dict[str, Any]) -> SavedCustomProperty:
        """Set ``fields`` (columns of ``COLUMNS``); 404 when the id is not the project's, 403 when it is locked
        against the viewer."""
        with self._store.writing() as session:
            row = self._writable(session, property_id)
            for key, value in _columns(fields).items():
                setattr(row, key, value)
            row.modified_at = datetime.now(UTC)
            session.flush()
            return _record(row)

    def delete(self, property_id: int) -> None:
        """404 when the id is not the project's, 403 when it is locked against the viewer."""
        with self._store.writing() as session:
            session.delete(self._writable(session, property_id))

    def _row(self, session: Session, property_id: int) -> Row | None:
        row = session.get(Row, property_id)
        return row if row is not None and row.project_id == self._project_id else None

    def _writable(self, session: Session, property_id: int) -> Row:
        row = self._row(session, property_id)
        if row is None:
            raise NotFoundError(f"no custom property {property_id} in project {self._project_id}")
        viewer = self._viewer
        if viewer is not None and not viewer.may_act_on(row.creator_id, row.is_locked):
            raise PermissionDeniedError(f"custom property {property_id} is locked: only its creator, owners and "
                                        "admins change it")
        return row


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not custom property columns: {sorted(unknown)}")
    return {key: (None if key == "example_value" and value is None
                  else json.dumps(value, separators=(",", ":"), sort_keys=True)) if key in _JSON_COLUMNS else value
            for key, value in fields.items()}


def _record(row: Row) -> SavedCustomProperty:
    return SavedCustomProperty(
        row.id, row.project_id, row.name, row.description, row.resource_type, row.property_type,
        row.display_formula, json.loads(row.composed_properties), row.is_locked, row.is_visible,
        None if row.example_value is None else json.loads(row.example_value), Actor(row.creator_id, row.creator_name),
        row.created_at, row.modified_at)
