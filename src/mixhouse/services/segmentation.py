"""Segmentation use cases (spec §4.2–§4.4, §6.1): one event's counts, sums, averages and numeric ranges over time.

Choices where the spec is silent:

* Buckets are in the project's timezone; ``series`` lists every bucket from ``from_date`` to ``to_date`` inclusive,
  ascending, and every segment has every key (0 where nothing happened). Only deduplicated events count; users are
  canonical (post-merge) distinct ids, the empty id left out; ``average`` = events / users per bucket (0 when no
  users). ``to_date`` after today (project timezone) is a 400.
* ``on`` keys: the value's string form, one segment per distinct scalar item of a list; an event whose value gives no
  key (undefined, an object, a list without scalars) counts under ``"undefined"``. With ``limit`` (default 60, at
  most 10 000) the segments kept are those with the most events over the whole range (ties: key ascending), in that
  order. ``unit`` is the bucket size, or ``interval`` (whole days, any type): buckets of that many days counted from
  ``from_date``, keyed by their first day, the last one cut at ``to_date``; uniques are distinct over the whole
  bucket. ``interval`` wins over ``unit`` when both are given.
* ``/segmentation/sum``: the sum of the ``on`` expression over the matching events of a bucket, counting values that
  are not numbers (strings included: use ``number(...)`` to convert) as 0. ``/segmentation/average``: the mean over
  the events whose value is a number, 0 for a bucket without any. Both accept ``unit`` ``hour`` or ``day``.
* ``/segmentation/numeric``: events whose ``on`` value is a number are put in equal-width ranges: the width is the
  smallest of 1, 2, 5 × 10^k (k ≥ 0 for integer data) giving at most 10 ranges over min..max, ranges start at a
  multiple of the width; labels are ``"low - high"`` with thousands separators; the maximum falls in the last range.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange, parse_range
from mixhouse.core.timeutil import computed_at
from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, compile_values, parse
from mixhouse.expr.compile_sql import compile_typed
from mixhouse.meta.records import Project
from mixhouse.query import segmentation as sql
from mixhouse.query.grouped_keys import GroupedKeys, grouped_keys
from mixhouse.query.params import count_metric, text_param
from mixhouse.query.params import parse_limit as parse_limit_param
from mixhouse.query.timebuckets import Bucketing, check_not_future, parse_interval_days, parse_unit
from mixhouse.query.where import EVENT_CONTEXT, compile_event_where
from mixhouse.storage.base import Backend

DEFAULT_LIMIT = 60
MAX_LIMIT = 10_000
TYPES = ("general", "unique", "average")
NUMERIC_UNITS = ("hour", "day")
MAX_RANGES = 10
ON_CONTEXT = replace(EVENT_CONTEXT, param_prefix="o")


@dataclass(frozen=True)
class Query:
    """The parameters every segmentation endpoint shares, parsed and validated."""

    event: str
    dates: DateRange
    bucketing: Bucketing
    where: SqlFragment | None
    on_text: str | None

    def params(self, project: Project) -> dict[str, Any]:
        start_ms, end_ms = self.dates.bounds_ms(self.bucketing.timezone)
        return {
            "project_id": project.id,
            "event": self.event,
            "start_ms": start_ms,
            "end_ms": end_ms,
            **self.bucketing.params(),
            **(self.where.params if self.where else {}),
        }

    @property
    def where_sql(self) -> str | None:
        return self.where.sql if self.where else None


# --- parameter parsing --------------------------------------------------------------------------------------------


def parse_query(
    project: Project, params: dict[str, Any], *, units: tuple[str, ...], on_required: bool = False
) -> Query:
    event = text_param(params, "event")
    if event is None:
        raise ValidationError("event is required")
    timezone = project.timezone or "UTC"
    dates = parse_range(text_param(params, "from_date"), text_param(params, "to_date"))
    check_not_future(dates, timezone)
    unit = parse_unit(text_param(params, "unit"), allowed=units)
    days = parse_interval_days(text_param(params, "interval"))
    where_text = text_param(params, "where")
    where = compile_event_where(where_text) if where_text is not None else None
    on_text = text_param(params, "on")
    if on_required and on_text is None:
        raise ValidationError("on is required")
    if on_text is not None:
        parse(on_text)  # a syntax error is a 400 with its position, before any work
    bucketing = Bucketing(unit, timezone) if days is None else Bucketing("day", timezone, days, dates.from_date)
    return Query(event, dates, bucketing, where, on_text)


def parse_type(params: dict[str, Any]) -> str:
    kind = text_param(params, "type") or "general"
    if kind not in TYPES:
        raise ValidationError("type must be one of general, unique, average")
    return kind


def parse_limit(params: dict[str, Any]) -> int:
    return parse_limit_param(text_param(params, "limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def parse_format(params: dict[str, Any]) -> str:
    fmt = (text_param(params, "format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    return fmt


# --- use cases ----------------------------------------------------------------------------------------------------




def segmentation(backend: Backend, project: Project, query: Query, kind: str, limit: int) -> dict[str, Any]:
    """``{"data": {"series": [...], "values": {segment: {key: n}}}, "legend_size": k}``."""
    series = query.bucketing.keys(query.dates)
    params = query.params(project)
    on: GroupedKeys | str | None = None
    if query.on_text is not None:
        expr = parse(query.on_text)
        grouped = grouped_keys(expr, ON_CONTEXT)
        fragment = compile_values(expr, ON_CONTEXT) if grouped is None else grouped.keys
        on = fragment.sql if grouped is None else grouped
        params.update(fragment.params)
    counts = sql.counts_sql(query.bucketing.sql, query.where_sql, on, users=kind != "general")
    rows = backend.query_rows(counts, params)
    cells: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        segment = query.event if on is None else str(row["segment"])
        cells[segment][str(row["bucket"])] = (int(row["events"]), int(row["users"]))
        totals[segment] += int(row["events"])
    ranked = sorted(totals, key=lambda name: (-totals[name], name))[:limit]
    segments = [query.event] if on is None else ranked
    values = {
        segment: {key: count_metric(kind, *cells[segment].get(key, (0, 0))) for key in series} for segment in segments
    }
    return {"data": {"series": series, "values": values}, "legend_size": len(values)}


def segmentation_csv(answer: dict[str, Any]) -> str:
    """One row per bucket: ``date`` then one column per segment (in the JSON answer's order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    values: dict[str, dict[str, Any]] = answer["data"]["values"]
    writer.writerow(["date", *values])
    for key in answer["data"]["series"]:
        writer.writerow([key, *(values[segment][key] for segment in values)])
    return out.getvalue()


def _typed_on(query: Query) -> SqlFragment:
    assert query.on_text is not None
    return compile_typed(parse(query.on_text), ON_CONTEXT)


def numeric_summary(backend: Backend, project: Project, query: Query, mean: bool) -> dict[str, Any]:
    """``/segmentation/sum`` (``mean`` False) or ``/segmentation/average``: ``{"status", "computed_at", "results"}``."""
    on = _typed_on(query)
    rows = backend.query_rows(
        sql.numeric_totals_sql(query.bucketing.sql, query.where_sql, on.sql), {**query.params(project), **on.params}
    )
    found = {str(row["bucket"]): (float(row["total"]), int(row["numbers"])) for row in rows}
    results: dict[str, float] = {}
    for key in query.bucketing.keys(query.dates):
        total, numbers = found.get(key, (0.0, 0))
        results[key] = (total / numbers if numbers else 0.0) if mean else total
    return {"status": "ok", "computed_at": computed_at(), "results": results}


# --- /segmentation/numeric ----------------------------------------------------------------------------------------


def range_width(low: float, high: float, integers: bool) -> float:
    """The smallest 1/2/5 × 10^k width giving at most ``MAX_RANGES`` ranges aligned on multiples of the width."""
    span = high - low
    exponent = math.floor(math.log10(span / MAX_RANGES)) if span > 0 else 0
    if integers:
        exponent = max(exponent, 0)
    while True:
        for mantissa in (1, 2, 5):
            width = mantissa * 10.0**exponent
            base = math.floor(low / width) * width
            if math.floor((high - base) / width) < MAX_RANGES:
                return width
        exponent += 1


def format_bound(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def numeric(backend: Backend, project: Project, query: Query, kind: str) -> dict[str, Any]:
    """``values`` keyed by ranges of the ``on`` value: ``{"data": {"series", "values"}, "legend_size"}``."""
    on = _typed_on(query)
    params = {**query.params(project), **on.params}
    series = query.bucketing.keys(query.dates)
    span = backend.query_rows(sql.numeric_range_sql(query.where_sql, on.sql), params)
    if not span or int(span[0]["numbers"]) == 0:
        return {"data": {"series": series, "values": {}}, "legend_size": 0}
    low, high = float(span[0]["low"]), float(span[0]["high"])
    width = range_width(low, high, low == int(low) and high == int(high))
    base = math.floor(low / width) * width
    last = math.floor((high - base) / width)
    rows = backend.query_rows(
        sql.numeric_buckets_sql(query.bucketing.sql, query.where_sql, on.sql, users=kind != "general"),
        {**params, "base": base, "width": width, "last": last},
    )
    cells: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        cells[int(row["slot"])][str(row["bucket"])] = (int(row["events"]), int(row["users"]))
    values: dict[str, dict[str, int | float]] = {}
    for slot in sorted(cells):
        label = f"{format_bound(base + slot * width)} - {format_bound(base + (slot + 1) * width)}"
        values[label] = {key: count_metric(kind, *cells[slot].get(key, (0, 0))) for key in series}
    return {"data": {"series": series, "values": values}, "legend_size": len(values)}
