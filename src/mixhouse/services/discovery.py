"""Discovery use cases (spec §4.6, §4.7): which events, properties and values a project has.

Choices where the spec is silent:

* The window is ``from_date``..``to_date`` (inclusive, project timezone) when both are given, else the last 31 days
  including today. Only deduplicated events count (spec §3.5).
* Ties in counts are broken by name ascending, so every answer is deterministic.
* ``type`` (general|unique|average) is validated where given and defaults to ``general``; event names are ranked
  by number of events whatever the type.
* Property names are the keys of the stored property object (``time``, ``distinct_id`` and ``$insert_id`` are
  columns, not properties). Values are strings: strings as-is, numbers and booleans as their JSON text, objects as
  compact JSON, each distinct element of a list counted once per event; null and missing values are left out.
* ``/events/top``: ``amount`` is today's count for ``type``; ``percent_change`` compares it with yesterday up to
  the same time of day, as a fraction (``-0.25`` = 25 % fewer), and is ``0`` when yesterday had none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange, parse_range
from mixhouse.errors import ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.discovery import day_counts_sql, event_names_sql, property_names_sql, property_values_sql
from mixhouse.query.params import count_metric
from mixhouse.query.params import parse_limit as parse_limit_param
from mixhouse.storage.base import Backend

DEFAULT_WINDOW_DAYS = 31
MAX_LIMIT = 100_000
TYPES = ("general", "unique", "average")


def _zone(project: Project) -> ZoneInfo | Any:
    return UTC if project.timezone in ("", "UTC") else ZoneInfo(project.timezone)


def today_in(project: Project, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(_zone(project)).date()


# --- parameter parsing --------------------------------------------------------------------------------------------


def parse_limit(value: Any, default: int) -> int:
    return parse_limit_param(value, default=default, maximum=MAX_LIMIT)


def parse_type(value: Any) -> str:
    if value is None or value == "":
        return "general"
    text = str(value)
    if text not in TYPES:
        raise ValidationError("type must be one of general, unique, average")
    return text


def required_text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or str(value) == "":
        raise ValidationError(f"{name} is required")
    return str(value)


def optional_text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value is None or str(value) == "" else str(value)


def parse_window(project: Project, from_value: Any, to_value: Any, now: datetime | None = None) -> DateRange:
    if (from_value is None or from_value == "") and (to_value is None or to_value == ""):
        today = today_in(project, now)
        return DateRange(today - timedelta(days=DEFAULT_WINDOW_DAYS - 1), today)
    return parse_range(
        None if from_value is None else str(from_value), None if to_value is None else str(to_value)
    )


# --- use cases ----------------------------------------------------------------------------------------------------


def _window_params(project: Project, dates: DateRange) -> dict[str, Any]:
    start_ms, end_ms = dates.bounds_ms(project.timezone or "UTC")
    return {"project_id": project.id, "start_ms": start_ms, "end_ms": end_ms}


def event_names(backend: Backend, project: Project, dates: DateRange, limit: int) -> list[str]:
    rows = backend.query_rows(event_names_sql(), {**_window_params(project, dates), "limit": limit})
    return [str(row["name"]) for row in rows]


def top_properties(
    backend: Backend, project: Project, dates: DateRange, event: str, limit: int
) -> dict[str, dict[str, int]]:
    params = {**_window_params(project, dates), "event": event, "limit": limit}
    rows = backend.query_rows(property_names_sql(), params)
    return {str(row["name"]): {"count": int(row["n"])} for row in rows}


def property_values(
    backend: Backend, project: Project, dates: DateRange, name: str, event: str | None, limit: int
) -> list[str]:
    params: dict[str, Any] = {**_window_params(project, dates), "name": name, "limit": limit}
    if event is not None:
        params["event"] = event
    rows = backend.query_rows(property_values_sql(name, with_event=event is not None), params)
    return [str(row["value"]) for row in rows]


def top_events(
    backend: Backend, project: Project, kind: str, limit: int, now: datetime | None = None
) -> dict[str, Any]:
    """Today's events by ``amount`` (desc, then name), each with its change against yesterday so far."""
    moment = now or datetime.now(UTC)
    today = today_in(project, moment)
    yesterday = today - timedelta(days=1)
    start_ms, end_ms = DateRange(yesterday, today).bounds_ms(project.timezone or "UTC")
    today_ms = DateRange(today, today).bounds_ms(project.timezone or "UTC")[0]
    earlier_end_ms = int(moment.timestamp() * 1000) - 86_400_000
    params = {
        "project_id": project.id,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "today_ms": today_ms,
        "earlier_end_ms": earlier_end_ms,
    }
    entries: list[tuple[float, str, float]] = []
    for row in backend.query_rows(day_counts_sql(), params):
        amount = float(count_metric(kind, int(row["today_events"]), int(row["today_users"])))
        before = float(count_metric(kind, int(row["earlier_events"]), int(row["earlier_users"])))
        change = (amount - before) / before if before else 0.0
        entries.append((amount, str(row["name"]), change))
    entries.sort(key=lambda entry: (-entry[0], entry[1]))

    def shown(amount: float) -> float | int:
        return int(amount) if kind != "average" else amount

    events = [
        {"amount": shown(amount), "event": name, "percent_change": change} for amount, name, change in entries[:limit]
    ]
    return {"events": events, "type": kind}
