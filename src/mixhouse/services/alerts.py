"""Custom alerts over the App API: checking what a client sends, and the JSON Mixpanel answers with.

An alert watches one saved Insights report of its project (``bookmark_id``); its ``condition`` is explained in
``services/alert_conditions.py`` and is checked against the report when the alert is saved (and again, as
``valid``, whenever it is read: the report may have changed since). ``frequency`` is in seconds.
``subscriptions`` are ``{"type": "email", "value": address}``, ``{"type": "webhook", "value": URL or the id of a
project webhook}`` or ``{"type": "slack", "value": incoming-webhook URL}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from mixhouse.errors import ValidationError
from mixhouse.meta.alerts import Alert, Check
from mixhouse.meta.records import Report
from mixhouse.meta.store import validate_name
from mixhouse.services import alert_conditions as conditions
from mixhouse.services import screenshots
from mixhouse.services.reports import HISTORY_PAGE, HISTORY_PAGE_MAX, whole_id

SUBSCRIPTION_TYPES: Final = ("email", "webhook", "slack")
MAX_SUBSCRIPTIONS: Final = 20
MAX_FREQUENCY_S: Final = 31 * 86400
_EMAIL: Final = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
_UUID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _url(value: Any, what: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) and len(value) <= 2048 else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{what} must be an http or https URL")
    return str(value)


def subscription(raw: Any, webhook_ids: set[str]) -> dict[str, Any]:
    """One subscription, checked (``webhook_ids``: the project's webhooks a webhook subscription may name)."""
    if not isinstance(raw, dict) or raw.get("type") not in SUBSCRIPTION_TYPES:
        raise ValidationError(f"a subscription is {{\"type\": {' | '.join(SUBSCRIPTION_TYPES)}, \"value\"}}")
    kind, value = raw["type"], raw.get("value")
    if kind == "email":
        if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value):
            raise ValidationError(f"an email subscription needs an address, got {value!r}")
    elif kind == "slack":
        _url(value, "a slack subscription's value (an incoming-webhook URL)")
    elif isinstance(value, str) and _UUID.match(value):
        if value not in webhook_ids:
            raise ValidationError(f"no webhook {value} in this project")
    else:
        _url(value, "a webhook subscription's value (a URL or a project webhook id)")
    return {**raw, "type": kind, "value": value}


def fields(body: dict[str, Any], *, creating: bool, min_frequency: int, webhook_ids: set[str]) -> dict[str, Any]:
    """The columns a create (``bookmark_id``, ``name``, ``condition``, ``frequency``, ``subscriptions``
    required) or an update sets, checked on their own (the condition against its report is checked apart)."""
    out: dict[str, Any] = {}
    if creating or "bookmark_id" in body:
        out["report_id"] = whole_id(body.get("bookmark_id"), "bookmark_id")
    if creating or "name" in body:
        out["name"] = validate_name(body.get("name"), "name")
    if creating or "condition" in body:
        conditions.parse(body.get("condition"))
        out["condition"] = body["condition"]
    if creating or "frequency" in body:
        frequency = body.get("frequency")
        if isinstance(frequency, bool) or not isinstance(frequency, int) \
                or not min_frequency <= frequency <= MAX_FREQUENCY_S:
            raise ValidationError(f"frequency must be a whole number of seconds from {min_frequency} to "
                                  f"{MAX_FREQUENCY_S} (3600 hourly, 86400 daily, 604800 weekly)")
        out["frequency"] = frequency
    if "paused" in body or creating:
        paused = body.get("paused", False)
        if not isinstance(paused, bool):
            raise ValidationError("paused must be true or false")
        out["paused"] = paused
    if creating or "subscriptions" in body:
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or len(subs) > MAX_SUBSCRIPTIONS:
            raise ValidationError(f"subscriptions must be a list of at most {MAX_SUBSCRIPTIONS}")
        out["subscriptions"] = [subscription(item, webhook_ids) for item in subs]
    if "notification_windows" in body:
        windows = body["notification_windows"]
        if windows is not None and not isinstance(windows, dict):
            raise ValidationError("notification_windows must be a JSON object (or null)")
        out["notification_windows"] = windows
    return out


def validity(alert: Alert, report: Report | None, timezone: str) -> str | None:
    """Why the alert cannot be evaluated on its report as it stands now (``None``: it can)."""
    if report is None:
        return "its report is gone"
    try:
        conditions.check_against(conditions.parse(alert.condition), report.type, report.params, timezone)
    except ValidationError as exc:
        return exc.message
    return None


def alert_json(alert: Alert, report: Report | None, project_name: str, timezone: str) -> dict[str, Any]:
    return {
        "id": alert.id,
        "name": alert.name,
        "bookmark_id": alert.report_id,
        "bookmark": {"id": alert.report_id, "name": report.name if report else None,
                     "type": report.type if report else None},
        "condition": alert.condition,
        "frequency": alert.frequency,
        "paused": alert.paused,
        "subscriptions": alert.subscriptions,
        "notification_windows": alert.notification_windows,
        "creator": {"id": alert.creator_id, "first_name": alert.creator_name, "last_name": "", "email": None}
        if alert.creator_id is not None else None,
        "workspace": None,
        "project": {"id": alert.project_id, "name": project_name},
        "created": iso(alert.created_at),
        "modified": iso(alert.modified_at),
        "last_checked": iso(alert.last_checked),
        "last_fired": iso(alert.last_fired),
        "valid": validity(alert, report, timezone) is None,
        "results": alert.last_result,
    }


def count_json(held: int, limit: int) -> dict[str, Any]:
    return {"anomaly_alerts_count": held, "alert_limit": limit, "is_below_limit": held < limit}


@dataclass(frozen=True, slots=True)
class Page:
    """Which history page: ``before`` a ``next_cursor``, ``after`` a ``previous_cursor``, or the newest."""

    size: int
    before: int | None = None
    after: int | None = None


def history_page(query: dict[str, str]) -> Page:
    """The page ``page_size``, ``next_cursor`` or ``previous_cursor`` ask for."""
    try:
        size = int(query.get("page_size") or str(HISTORY_PAGE))
        before = int(query["next_cursor"]) if query.get("next_cursor") else None
        after = int(query["previous_cursor"]) if query.get("previous_cursor") else None
    except ValueError:
        raise ValidationError("page_size and the cursors must be integers (a cursor comes from a previous page)") \
            from None
    if not 1 <= size <= HISTORY_PAGE_MAX:
        raise ValidationError(f"page_size must be 1 to {HISTORY_PAGE_MAX}")
    if before is not None and after is not None:
        raise ValidationError("send next_cursor or previous_cursor, not both")
    return Page(size, before, after)


def history_json(entries: list[Check], page: Page) -> dict[str, Any]:
    """One page, newest first. ``entries`` holds up to ``page.size + 1`` (one more: another page follows in the
    direction asked), newest first, or oldest first for a ``previous_cursor`` page."""
    more = len(entries) > page.size
    shown = entries[:page.size]
    if page.after is not None:
        shown.reverse()
        older, newer = bool(shown), more
    else:
        older, newer = more, page.before is not None and bool(shown)
    return {
        "results": [{
            "id": entry.id,
            "alert_id": entry.alert_id,
            "type": entry.kind,
            "timestamp": iso(entry.at),
            "fired": entry.fired,
            "value": entry.value,
            "error": entry.error,
            "notifications": entry.notifications,
            "screenshot_gcs_key": screenshots.key_of(entry.alert_id, entry.id) if entry.chart else None,
        } for entry in shown],
        "pagination": {"next_cursor": str(shown[-1].id) if older else None,
                       "previous_cursor": str(shown[0].id) if newer else None,
                       "page_size": page.size},
    }


def bookmark_validation(alert: Alert, bookmark_type: str, params: Any, timezone: str) -> dict[str, Any]:
    """Whether ``alert`` would still work on a report of ``bookmark_type`` with ``params``, and why not."""
    try:
        conditions.check_against(conditions.parse(alert.condition), bookmark_type, params, timezone)
    except ValidationError as exc:
        return {"alert_id": alert.id, "alert_name": alert.name, "valid": False, "reason": exc.message}
    return {"alert_id": alert.id, "alert_name": alert.name, "valid": True, "reason": None}
