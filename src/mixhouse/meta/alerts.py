"""Custom alerts on saved reports and their check history (SQLAlchemy; every value bound).

``Alerts`` is one project's view (another project's alert or report reads as missing); ``due_alerts`` and
``record_check`` serve the scheduler, across projects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta import models
from mixhouse.meta.records import Actor
from mixhouse.meta.store import MetaStore

#: Columns an alert update may change.
UPDATABLE = ("name", "report_id", "condition", "frequency", "paused", "subscriptions", "notification_windows")
_JSON = ("condition", "subscriptions", "notification_windows")


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    project_id: int
    report_id: int
    name: str
    condition: dict[str, Any]
    frequency: int
    paused: bool
    subscriptions: list[dict[str, Any]]
    notification_windows: dict[str, Any] | None
    creator_id: int | None
    creator_name: str
    created_at: datetime
    modified_at: datetime
    last_checked: datetime | None
    last_fired: datetime | None
    last_result: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Check:
    """One evaluation (``kind`` ``check``) or test notification (``test``) of an alert."""

    id: int
    alert_id: int
    kind: str
    fired: bool
    value: float | None
    error: str | None
    notifications: list[dict[str, Any]]
    at: datetime
    chart: list[tuple[str, float]] | None = None


class Alerts:
    """One project's alerts."""

    def __init__(self, store: MetaStore, project_id: int) -> None:
        self._store = store
        self._project_id = project_id

    def all(self, report_id: int | None = None) -> list[Alert]:
        query = select(models.Alert).where(models.Alert.project_id == self._project_id)
        if report_id is not None:
            query = query.where(models.Alert.report_id == report_id)
        with self._store.reading() as session:
            return [_record(row) for row in session.scalars(query.order_by(models.Alert.id))]

    def get(self, alert_id: int) -> Alert | None:
        with self._store.reading() as session:
            row = self._row(session, alert_id)
            return None if row is None else _record(row)

    def count(self) -> int:
        with self._store.reading() as session:
            return int(session.scalar(select(func.count()).select_from(models.Alert)
                                      .where(models.Alert.project_id == self._project_id)) or 0)

    def create(self, fields: dict[str, Any], actor: Actor, *, limit: int) -> Alert:
        """A new alert from checked ``fields``; its report must be the project's (404), and the project below its
        alert ``limit`` (400), both checked in the writing transaction."""
        with self._store.writing() as session:
            self._check_report(session, fields["report_id"])
            held = session.scalar(select(func.count()).select_from(models.Alert)
                                  .where(models.Alert.project_id == self._project_id)) or 0
            if held >= limit:
                raise ValidationError(f"this project already has {held} alerts, its limit is {limit}; "
                                      "delete one before creating another", details={"alert_limit": limit})
            row = models.Alert(project_id=self._project_id, creator_id=actor.id, creator_name=actor.name,
                               **_columns(fields))
            session.add(row)
            session.flush()
            return _record(row)

    def update(self, alert_id: int, fields: dict[str, Any]) -> Alert:
        with self._store.writing() as session:
            row = self._existing(session, alert_id)
            if "report_id" in fields:
                self._check_report(session, fields["report_id"])
            for key, value in _columns(fields).items():
                setattr(row, key, value)
            row.modified_at = datetime.now(UTC)
            session.flush()
            return _record(row)

    def delete_many(self, alert_ids: list[int]) -> None:
        """Delete every alert listed, or none when one is not the project's (404)."""
        with self._store.writing() as session:
            for row in [self._existing(session, alert_id) for alert_id in alert_ids]:
                session.delete(row)

    def history(self, alert_id: int, limit: int, *, before: int | None = None,
                after: int | None = None) -> list[Check]:
        """``limit`` checks older than history id ``before`` (newest first), or the ``limit`` just newer than
        ``after`` (oldest first), or the newest."""
        with self._store.reading() as session:
            self._existing(session, alert_id)
            query = select(models.AlertHistory).where(models.AlertHistory.alert_id == alert_id)
            if after is not None:
                query = query.where(models.AlertHistory.id > after).order_by(models.AlertHistory.id)
            else:
                if before is not None:
                    query = query.where(models.AlertHistory.id < before)
                query = query.order_by(models.AlertHistory.id.desc())
            return [_check(row) for row in session.scalars(query.limit(limit))]

    def check_report(self, report_id: int) -> None:
        with self._store.reading() as session:
            self._check_report(session, report_id)

    # -- inside a transaction ----------------------------------------------------------------------------

    def _row(self, session: Session, alert_id: int) -> models.Alert | None:
        row = session.get(models.Alert, alert_id)
        return row if row is not None and row.project_id == self._project_id else None

    def _existing(self, session: Session, alert_id: int) -> models.Alert:
        row = self._row(session, alert_id)
        if row is None:
            raise NotFoundError(f"no alert {alert_id} in project {self._project_id}")
        return row

    def _check_report(self, session: Session, report_id: int) -> None:
        report = session.get(models.Report, report_id)
        if report is None or report.project_id != self._project_id:
            raise NotFoundError(f"no report {report_id} in project {self._project_id}",
                                details={"bookmark_id": report_id})


def due_alerts(store: MetaStore, now: datetime) -> list[Alert]:
    """Un-paused alerts never checked, or whose ``frequency`` has elapsed since they were last checked."""
    with store.reading() as session:
        rows = session.scalars(select(models.Alert).where(models.Alert.paused.is_(False))
                               .order_by(models.Alert.last_checked.is_not(None), models.Alert.last_checked,
                                         models.Alert.id))
        alerts = [_record(row) for row in rows]
    return [alert for alert in alerts
            if alert.last_checked is None or alert.last_checked + timedelta(seconds=alert.frequency) <= now]


def record_check(store: MetaStore, alert_id: int, *, kind: str, at: datetime, fired: bool, value: float | None,
                 error: str | None, notifications: list[dict[str, Any]],
                 chart: list[tuple[str, float]] | None = None) -> Check | None:
    """Add a history entry; a ``check`` also moves the alert's ``last_checked`` (and ``last_fired``). ``None`` when
    the alert was deleted meanwhile."""
    with store.writing() as session:
        row = session.get(models.Alert, alert_id)
        if row is None:
            return None
        if kind == "check":
            row.last_checked = at
            if fired:
                row.last_fired = at
            row.last_result = json.dumps({"value": value, "fired": fired, "error": error})
        entry = models.AlertHistory(alert_id=alert_id, kind=kind, fired=fired,
                                    value=None if value is None else json.dumps(value), error=error,
                                    notifications=json.dumps(notifications), at=at,
                                    chart=None if not chart else json.dumps(chart))
        session.add(entry)
        session.flush()
        return _check(entry)


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: (None if value is None else json.dumps(value)) if key in _JSON else value
            for key, value in fields.items()}


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _record(row: models.Alert) -> Alert:
    return Alert(row.id, row.project_id, row.report_id, row.name, json.loads(row.condition), row.frequency,
                 row.paused, json.loads(row.subscriptions), _loads(row.notification_windows), row.creator_id,
                 row.creator_name, row.created_at, row.modified_at, row.last_checked, row.last_fired,
                 _loads(row.last_result))


def _check(row: models.AlertHistory) -> Check:
    chart = None if row.chart is None else [(str(label), float(value)) for label, value in json.loads(row.chart)]
    return Check(row.id, row.alert_id, row.kind, row.fired, _loads(row.value), row.error,
                 json.loads(row.notifications), row.at, chart)


def history_entry(store: MetaStore, alert_id: int, check_id: int) -> Check | None:
    """One history entry of an alert (any project: the caller checks the alert's)."""
    with store.reading() as session:
        row = session.get(models.AlertHistory, check_id)
        return None if row is None or row.alert_id != alert_id else _check(row)


def claim_check(store: MetaStore, alert_id: int, now: datetime) -> Alert | None:
    """The alert, when it is still un-paused and due at ``now``; its ``last_checked`` then moves to ``now`` in the
    same write transaction, so of several server processes sharing the metadata store exactly one runs each due
    check (the writer lock serializes the claims). ``None`` when it was paused, deleted or claimed meanwhile. A
    process that dies between the claim and recording the check skips that one period."""
    with store.writing() as session:
        row = session.get(models.Alert, alert_id)
        if row is None or row.paused:
            return None
        if row.last_checked is not None and row.last_checked + timedelta(seconds=row.frequency) > now:
            return None
        row.last_checked = now
        session.flush()
        return _record(row)


def current_alert(store: MetaStore, alert_id: int) -> Alert | None:
    """The alert as stored now, whatever its project (the scheduler's re-read before a check)."""
    with store.reading() as session:
        row = session.get(models.Alert, alert_id)
        return None if row is None else _record(row)


def record_notifications(store: MetaStore, check_id: int, notifications: list[dict[str, Any]],
                         error: str | None) -> None:
    """What the deliveries of a recorded check did (they run after the check is recorded)."""
    with store.writing() as session:
        row = session.get(models.AlertHistory, check_id)
        if row is not None:
            row.notifications = json.dumps(notifications)
            row.error = error
