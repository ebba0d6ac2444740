"""Saved reports (bookmarks) managed through the App API, with an edit history (SQLAlchemy; every value bound).

Every read and write is scoped to one project: another project's report id reads as missing. A change and its
history entry commit together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mixhouse.errors import NotFoundError, PermissionDeniedError
from mixhouse.meta import layout as layouts
from mixhouse.meta import models
from mixhouse.meta.records import Actor, Report, Viewer
from mixhouse.meta.store import MetaStore, report_record

#: Columns a report update may change.
UPDATABLE = ("name", "description", "params", "icon", "dashboard_id", "is_visibility_restricted",
             "is_modification_restricted")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    report_id: int
    action: str
    actor: Actor
    snapshot: dict[str, Any]
    at: datetime


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _snapshot(row: models.Report) -> str:
    return _compact({"name": row.name, "type": row.type, "description": row.description,
                     "params": json.loads(row.params), "dashboard_id": row.dashboard_id})


class Reports:
    """One project's saved reports; with ``workspace_id`` (a data view), those made in it."""

    def __init__(self, store: MetaStore, project_id: int, workspace_id: int | None = None,
                 viewer: Viewer | None = None) -> None:
        self._store = store
        self._project_id = project_id
        self._workspace_id = workspace_id
        self._viewer = viewer  # None: no restriction flags apply (the server's own work)

    def all(self, report_type: str | None = None, ids: Iterable[int] | None = None) -> list[Report]:
        query = select(models.Report).where(models.Report.project_id == self._project_id)
        if report_type is not None:
            query = query.where(models.Report.type == report_type)
        if ids is not None:
            query = query.where(models.Report.id.in_(list(ids)))
        if self._workspace_id is not None:
            query = query.where(models.Report.workspace_id == self._workspace_id)
        with self._store.reading() as session:
            return [report_record(row) for row in session.scalars(query.order_by(models.Report.id))
                    if self._visible(row)]

    def get(self, report_id: int) -> Report | None:
        with self._store.reading() as session:
            row = self._row(session, report_id)
            return None if row is None else report_record(row)

    def create(self, fields: dict[str, Any], actor: Actor) -> Report:
        """A new report from checked ``fields`` (``type``, ``name``, ``params`` and any of ``UPDATABLE``)."""
        with self._store.writing() as session:
            if fields.get("dashboard_id") is not None:
                self._check_dashboard(session, fields["dashboard_id"])
            return report_record(add_report(session, self._project_id,
                                            {"workspace_id": self._workspace_id, **fields}, actor))

    def update(self, report_id: int, fields: dict[str, Any], actor: Actor) -> Report:
        with self._store.writing() as session:
            row = self._writable(session, report_id)
            self._apply(session, row, fields, actor)
            return report_record(row)

    def update_many(self, changes: list[tuple[int, dict[str, Any]]], actor: Actor) -> None:
        """Apply every ``(id, fields)`` change, or none when an id is not the project's."""
        with self._store.writing() as session:
            rows = [(self._writable(session, report_id), fields) for report_id, fields in changes]
            for row, fields in rows:
                self._apply(session, row, fields, actor)

    def delete_many(self, report_ids: list[int]) -> None:
        """Delete every report listed, or none when one is not the project's (404); the dashboards showing them
        lose those cards and the links to them."""
        with self._store.writing() as session:
            for row in [self._writable(session, report_id) for report_id in report_ids]:
                session.delete(row)
            gone = set(report_ids)
            boards = session.scalars(select(models.Dashboard).where(models.Dashboard.project_id == self._project_id))
            for board in boards:
                shown = json.loads(board.layout)
                links = set(session.scalars(select(models.DashboardCard.id).where(
                    models.DashboardCard.dashboard_id == board.id, models.DashboardCard.kind == "report-link",
                    models.DashboardCard.report_id.in_(gone))))
                dropped = [c for c in layouts.contents(shown)
                           if (c[0] == "report" and c[1] in gone) or (c[0] == "report-link" and c[1] in links)]
                for content in dropped:
                    shown = layouts.without(shown, content)
                if dropped:
                    board.layout = json.dumps(shown)
                if links:
                    session.execute(delete(models.DashboardCard).where(models.DashboardCard.id.in_(links)))

    def history(self, report_id: int, before: int | None, limit: int) -> list[HistoryEntry]:
        """Changes newest first, ``limit`` of them, older than history id ``before`` when given."""
        with self._store.reading() as session:
            self._existing(session, report_id)
            query = select(models.ReportHistory).where(models.ReportHistory.report_id == report_id)
            if before is not None:
                query = query.where(models.ReportHistory.id < before)
            rows = session.scalars(query.order_by(models.ReportHistory.id.desc()).limit(limit))
            return [HistoryEntry(row.id, row.report_id, row.action, Actor(row.account_id, row.account_name),
                                 json.loads(row.snapshot), row.at) for row in rows]

    # -- inside a transaction ----------------------------------------------------------------------------

    def _row(self, session: Session, report_id: int) -> models.Report | None:
        """The report if it is the project's and the viewer may see it (another account's
        visibility-restricted report reads as missing)."""
        row = session.get(models.Report, report_id)
        return row if row is not None and row.project_id == self._project_id and self._visible(row) else None

    def _visible(self, row: models.Report) -> bool:
        viewer = self._viewer
        return viewer is None or viewer.may_act_on(row.creator_id, row.is_visibility_restricted)

    def _writable(self, session: Session, report_id: int) -> models.Report:
        """The report if the viewer may change it: a modification-restricted one only its creator, owners, admins."""
        row = self._existing(session, report_id)
        viewer = self._viewer
        if viewer is not None and not viewer.may_act_on(row.creator_id, row.is_modification_restricted):
            raise PermissionDeniedError(f"report {report_id} is restricted: only its creator, owners and admins "
                                        "change it")
        return row

    def _existing(self, session: Session, report_id: int) -> models.Report:
        row = self._row(session, report_id)
        if row is None:
            raise NotFoundError(f"no report {report_id} in project {self._project_id}")
        return row

    def _check_dashboard(self, session: Session, dashboard_id: int) -> None:
        dashboard = session.get(models.Dashboard, dashboard_id)
        if dashboard is None or dashboard.project_id != self._project_id:
            raise NotFoundError(f"no dashboard {dashboard_id} in project {self._project_id}")

    def _apply(self, session: Session, row: models.Report, fields: dict[str, Any], actor: Actor) -> None:
        if fields.get("dashboard_id") is not None:
            self._check_dashboard(session, fields["dashboard_id"])
        for key, value in _columns(fields).items():
            setattr(row, key, value)
        row.modified_at = datetime.now(UTC)
        row.last_modified_by_id, row.last_modified_by_name = actor.id, actor.name
        session.flush()
        _record_change(session, row, "updated", actor)


def add_report(session: Session, project_id: int, fields: dict[str, Any], actor: Actor) -> models.Report:
    """Insert a report (its dashboard, if any, already checked) and its "created" history entry."""
    row = models.Report(project_id=project_id, creator_id=actor.id, creator_name=actor.name,
                        last_modified_by_id=actor.id, last_modified_by_name=actor.name, **_columns(fields))
    session.add(row)
    session.flush()
    _record_change(session, row, "created", actor)
    return row


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: _compact(value) if key == "params" else value for key, value in fields.items()}


def _record_change(session: Session, row: models.Report, action: str, actor: Actor) -> None:
    session.add(models.ReportHistory(report_id=row.id, action=action, account_id=actor.id,
                                     account_name=actor.name, snapshot=_snapshot(row)))
