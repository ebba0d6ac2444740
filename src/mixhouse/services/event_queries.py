"""Event-count use cases of the Query API: ``/events`` (§4.5), ``/events/properties`` (§4.7),
and ``/retention/addiction`` (§4.9); the activity feed is ``mixhouse.services.activity``.

Choices where the spec is silent:

* Window: ``from_date``/``to_date`` (inclusive, project timezone) when given, else ``interval`` = the N most recent
  units including the current one (the series then lists exactly those N keys). ``to_date`` after today is refused.
* ``type`` and ``unit`` default to ``general`` and ``day``; ``unique``/``average`` refuse ``minute``/``hour`` (spec:
  no hourly uniques). ``average`` = events / users per bucket, ``0`` when the bucket has no users. Every series key
  is listed with ``0`` where nothing happened.
* ``/events/properties``: a property's keys are those of segmentation ``on`` (``mixhouse.expr.segment_keys``: a list
  fans out to its distinct scalar items, ``null`` is ``"null"``); events without the property are left out. The
  ``limit`` keeps the values with most events over the window (ties by value ascending); ``values`` (JSON array)
  restricts to those keys.
* ``/retention/addiction``: periods are the ``unit`` buckets of the window (weeks start on Monday), all of them
  listed; each array has one element per ``addiction_unit`` of the whole period (24 for a day of hours, 23/25 on
  DST days), trailing zeros included. ``event`` is one name or a JSON array of names (absent: all events).
  ``on`` is not supported (400); ``limit`` is validated and otherwise unused.
* ``format=csv`` (``/events``, ``/events/properties``): header ``date`` + one column per legend key (sorted), one
  row per series key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from mixhouse.core.dates import DateRange, parse_range
from mixhouse.errors import ValidationError
from mixhouse.expr import format_number
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.event_counts import event_counts_sql, property_counts_sql
from mixhouse.query.frequency import frequency_sql
from mixhouse.query.grouped_keys import grouped_keys
from mixhouse.query.params import count_metric
from mixhouse.query.params import parse_limit as parse_limit_param
from mixhouse.query.timebuckets import Bucketing, check_not_future, parse_unit
from mixhouse.query.where import EVENT_CONTEXT, compile_event_where
from mixhouse.storage.base import Backend

TYPES = ("general", "unique", "average")
MAX_INTERVAL = 10_000
MAX_SERIES = 100_000
MAX_LIMIT = 100_000
_KEY_FORMATS = {"minute": "%Y-%m-%d %H:%M:00", "hour": "%Y-%m-%d %H:00:00"}


def _timezone(project: Project) -> str:
    return project.timezone or "UTC"


def _zone(timezone: str) -> tzinfo:
    return UTC if timezone == "UTC" else ZoneInfo(timezone)


# --- parameter parsing --------------------------------------------------------------------------------------------


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value is None or str(value) == "" else str(value)


def required_text(params: Mapping[str, Any], name: str) -> str:
    value = _text(params, name)
    if value is None:
        raise ValidationError(f"{name} is required")
    return value


def parse_type(value: Any, unit: str) -> str:
    kind = "general" if value is None or value == "" else str(value)
    if kind not in TYPES:
        raise ValidationError("type must be one of general, unique, average")
    if kind != "general" and unit in ("minute", "hour"):
        raise ValidationError(f"type={kind} is not available with unit={unit}")
    return kind


def parse_limit(value: Any, default: int) -> int:
    return parse_limit_param(value, default=default, maximum=MAX_LIMIT)


def _json_param(value: Any, name: str) -> Any:
    if isinstance(value, list):
        return value
    try:
        return orjson.loads(str(value))
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"{name} must be a JSON array") from exc


def _as_key(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return format_number(float(item))
    return str(item)


def parse_string_list(value: Any, name: str, *, allow_bare: bool = False) -> list[str]:
    """A JSON array of strings (numbers are taken as their text); with ``allow_bare`` a plain name is one item."""
    if value is None or value == "":
        raise ValidationError(f"{name} is required (a JSON array)")
    if allow_bare and isinstance(value, str) and not value.lstrip().startswith("["):
        return [value]
    parsed = _json_param(value, name)
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, list) or any(isinstance(item, dict | list) or item is None for item in parsed):
        raise ValidationError(f"{name} must be a JSON array of strings")
    return [_as_key(item) for item in parsed]


@dataclass(frozen=True)
class Window:
    """The dates a query reads and the bucket keys its answer lists (ascending)."""

    dates: DateRange
    keys: list[str]


def _current_key(unit: str, now: datetime) -> str:
    if unit in _KEY_FORMATS:
        return now.strftime(_KEY_FORMATS[unit])
    today = now.date()
    if unit == "week":
        return (today - timedelta(days=today.weekday())).isoformat()
    if unit == "month":
        return today.replace(day=1).isoformat()
    return today.isoformat()


def _interval_start(unit: str, count: int, today: date) -> date:
    if unit == "day":
        return today - timedelta(days=count - 1)
    if unit == "week":
        return today - timedelta(days=today.weekday() + 7 * (count - 1))
    if unit == "month":
        months = today.year * 12 + today.month - 1 - (count - 1)
        return date(months // 12, months % 12 + 1, 1)
    per_day = 23 if unit == "hour" else 23 * 60
    return today - timedelta(days=count // per_day + 2)


def resolve_window(project: Project, params: Mapping[str, Any], unit: str, now: datetime | None = None) -> Window:
    timezone = _timezone(project)
    bucketing = Bucketing(unit, timezone)
    from_value, to_value = _text(params, "from_date"), _text(params, "to_date")
    interval = _text(params, "interval")
    if from_value is not None or to_value is not None or interval is None:
        if interval is None and from_value is None and to_value is None:
            raise ValidationError("from_date and to_date (or interval) are required")
        dates = parse_range(from_value, to_value)
        check_not_future(dates, timezone)
        keys = bucketing.keys(dates)
    else:
        try:
            count = int(interval)
        except ValueError as exc:
            raise ValidationError("interval must be an integer") from exc
        if count < 1 or count > MAX_INTERVAL:
            raise ValidationError(f"interval must be between 1 and {MAX_INTERVAL}")
        local_now = (now or datetime.now(UTC)).astimezone(_zone(timezone))
        today = local_now.date()
        dates = DateRange(_interval_start(unit, count, today), today)
        current = _current_key(unit, local_now)
        keys = [key for key in bucketing.keys(dates) if key <= current][-count:]
    if len(keys) > MAX_SERIES:
        raise ValidationError(f"the date range has more than {MAX_SERIES} {unit}s; choose a coarser unit")
    return Window(dates, keys)


def _base_params(project: Project, dates: DateRange) -> dict[str, Any]:
    timezone = _timezone(project)
    start_ms, end_ms = dates.bounds_ms(timezone)
    return {"project_id": project.id, "tz": timezone, "start_ms": start_ms, "end_ms": end_ms}




def _series_answer(window: Window, per_key: dict[str, dict[str, int | float]]) -> dict[str, Any]:
    values = {name: {key: counts.get(key, 0) for key in window.keys} for name, counts in per_key.items()}
    return {"data": {"series": window.keys, "values": values}, "legend_size": len(values)}


# --- use cases ----------------------------------------------------------------------------------------------------


def event_counts(
    backend: Backend, project: Project, events: list[str], kind: str, unit: str, window: Window
) -> dict[str, Any]:
    """``/events``: per event name and bucket, the ``kind`` metric."""
    wanted = set(window.keys)
    per_event: dict[str, dict[str, int | float]] = {name: {} for name in dict.fromkeys(events)}
    if events:
        sql = event_counts_sql(Bucketing(unit, _timezone(project)).sql, users=kind != "general")
        for row in backend.query_rows(sql, {**_base_params(project, window.dates), "events": list(per_event)}):
            if row["bucket"] in wanted:
                value = count_metric(kind, int(row["events"]), int(row["users"]))
                per_event[str(row["name"])][str(row["bucket"])] = value
    return _series_answer(window, per_event)


def property_counts(
    backend: Backend,
    project: Project,
    event: str,
    name: str,
    values: list[str] | None,
    kind: str,
    unit: str,
    window: Window,
    limit: int,
) -> dict[str, Any]:
    """``/events/properties``: per value of property ``name`` on ``event`` and bucket, the ``kind`` metric."""
    on = grouped_keys(Property(name), EVENT_CONTEXT, prefix="pv")
    assert on is not None  # one property can always be grouped by
    sql = property_counts_sql(
        Bucketing(unit, _timezone(project)).sql, on, restricted=values is not None, users=kind != "general"
    )
    params = {**_base_params(project, window.dates), **on.keys.params, "event": event}
    if values is not None:
        params["values"] = values
    wanted = set(window.keys)
    totals: dict[str, int] = {}
    cells: dict[str, dict[str, int | float]] = {}
    for row in backend.query_rows(sql, params):
        if row["bucket"] not in wanted:
            continue
        value = str(row["value"])
        totals[value] = totals.get(value, 0) + int(row["events"])
        cells.setdefault(value, {})[str(row["bucket"])] = count_metric(kind, int(row["events"]), int(row["users"]))
    top = sorted(totals, key=lambda value: (-totals[value], value))[:limit]
    return _series_answer(window, {value: cells[value] for value in top})


def _period_end(unit: str, start: date) -> date:
    if unit == "day":
        return start
    if unit == "week":
        return start + timedelta(days=6)
    following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def frequency(
    backend: Backend,
    project: Project,
    dates: DateRange,
    unit: str,
    addiction_unit: str,
    events: list[str] | None,
    where: str | None,
) -> dict[str, Any]:
    """``/retention/addiction``: per period, element k = users active in at least k+1 distinct addiction units."""
    timezone = _timezone(project)
    conditions: list[str] = []
    params = _base_params(project, dates)
    if where:
        fragment = compile_event_where(where)
        conditions.append(fragment.sql)
        params.update(fragment.params)
    if events is not None:
        params["events"] = events
    sql = frequency_sql(
        Bucketing(unit, timezone).sql,
        Bucketing(addiction_unit, timezone).start_sql,
        with_events=events is not None,
        conditions=conditions,
    )
    inner = Bucketing(addiction_unit, timezone)
    data: dict[str, list[int]] = {}
    for key in Bucketing(unit, timezone).keys(dates):
        start = date.fromisoformat(key)
        data[key] = [0] * len(inner.keys(DateRange(start, _period_end(unit, start))))
    for row in backend.query_rows(sql, params):
        counts = data.get(str(row["period"]))
        if counts is None:
            continue
        units = min(int(row["units"]), len(counts))
        for k in range(units):
            counts[k] += int(row["users"])
    return {"data": data}


def series_csv(answer: Mapping[str, Any]) -> str:
    """A series answer as CSV: ``date`` then one column per legend key (sorted), one row per series key."""
    data = answer["data"]
    names = sorted(data["values"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", *names])
    for key in data["series"]:
        writer.writerow([key, *(data["values"][name][key] for name in names)])
    return out.getvalue()


def parse_dates(project: Project, params: Mapping[str, Any]) -> DateRange:
    dates = parse_range(_text(params, "from_date"), _text(params, "to_date"))
    check_not_future(dates, _timezone(project))
    return dates


__all__ = [
    "Window",
    "event_counts",
    "frequency",
    "parse_dates",
    "parse_limit",
    "parse_string_list",
    "parse_type",
    "parse_unit",
    "property_counts",
    "required_text",
    "resolve_window",
    "series_csv",
]
