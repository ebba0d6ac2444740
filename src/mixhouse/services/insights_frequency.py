"""Frequency breakdowns (``FrequencyBreakdown``): Insights segments by how many times each user did an event.

A ``sections.group`` entry whose ``behavior.behaviorType`` is ``$frequency`` (``behavior.event.value`` the event,
``behavior.filters`` its filters, ``behavior.dateRange`` an optional ``in the last`` window, ``customBucket``
``{bucketSize, min, max, disabled}``; ``value`` is the header). As Mixpanel computes behavioral properties in Insights
"per interval", a user's count is taken over the bucket of the event being counted (a day, week, … of a line chart;
the whole range of a total chart), or over the entry's own window when it has one (the same count in every bucket).
Users who did not do the event in that interval count 0; events without a user always fall in the 0 segment.

Segment labels (decision 0030): without ``customBucket`` (or with ``disabled``), the count itself (``"0"``, ``"3"``).
With ``bucketSize`` s, ``min`` m and ``max`` M: ``"< m"`` below m, ``"M+"`` from M, else the bucket of s counts
starting at m + k·s, labelled ``"lo"`` when it holds one count and ``"lo - hi"`` (inclusive, capped below M) otherwise.
The counts are one SQL query; the labels reach the metric's SQL as a bound ``Map(String, String)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr import compile_filter
from mixhouse.expr.ast import Expr
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.insights import frequency_counts_sql
from mixhouse.query.params import json_list, json_object
from mixhouse.query.timebuckets import Bucketing
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.storage.base import Backend


@dataclass(frozen=True)
class CountBuckets:
    """``customBucket``: buckets of ``size`` counts from ``low``; ``high`` (if set) and above in one bucket."""

    size: int
    low: int
    high: int | None


@dataclass(frozen=True)
class FrequencyBreakdown:
    event: str
    where: Expr | None
    dates: DateRange | None  # its own window; None: per interval
    buckets: CountBuckets | None


def is_frequency_breakdown(spec: Any) -> bool:
    behavior = spec.get("behavior") if isinstance(spec, dict) else None
    return isinstance(behavior, dict) and behavior.get("behaviorType") == "$frequency"


def _whole(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < minimum:
        raise ValidationError(f"a frequency breakdown's {what} must be a whole number of at least {minimum}")
    return int(value)


def _buckets(raw: Any) -> CountBuckets | None:
    if raw is None:
        return None
    spec = json_object(raw, "a frequency breakdown's customBucket")
    if spec.get("disabled"):
        return None
    size = _whole(spec.get("bucketSize", 1), "bucketSize", 1)
    low = _whole(spec.get("min", 0) if spec.get("min") is not None else 0, "min", 0)
    high = None if spec.get("max") is None else _whole(spec.get("max"), "max", 0)
    if high is not None and high <= low:
        raise ValidationError("a frequency breakdown's max must be above its min")
    return CountBuckets(size, low, high)


def parse_frequency_breakdown(spec: dict[str, Any], window: Any) -> tuple[str, FrequencyBreakdown]:
    """The header and breakdown of a ``$frequency`` group entry; ``window`` turns an ``in the last`` window
    (``{"window": {...}}``) into a date range (``insights_params.parse_time``)."""
    behavior = json_object(spec.get("behavior"), "a frequency breakdown's behavior")
    event = behavior.get("event")
    name = event.get("value") if isinstance(event, dict) else event
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a frequency breakdown needs the event in behavior.event.value")
    if behavior.get("aggregationOperator", "total") != "total":
        raise ValidationError("a frequency breakdown counts events (aggregationOperator total)")
    dates = window(json_object(behavior["dateRange"], "a frequency breakdown's dateRange")) \
        if behavior.get("dateRange") is not None else None
    where = filters_expr(json_list(behavior.get("filters"), "a frequency breakdown's filters"),
                         "all" if behavior.get("filtersOperator", "and") == "and" else "any")
    header = spec.get("value")
    return (header if isinstance(header, str) and header else f"{name} Frequency",
            FrequencyBreakdown(name, where, dates, _buckets(spec.get("customBucket"))))


def frequency_label(count: int, buckets: CountBuckets | None) -> str:
    """The segment of a user who did the event ``count`` times."""
    if buckets is None:
        return str(count)
    if count < buckets.low:
        return f"< {buckets.low}"
    if buckets.high is not None and count >= buckets.high:
        return f"{buckets.high}+"
    first = buckets.low + (count - buckets.low) // buckets.size * buckets.size
    last = first + buckets.size - 1 if buckets.high is None else min(first + buckets.size - 1, buckets.high - 1)
    return str(first) if last == first else f"{first} - {last}"


def frequency_keys(backend: Backend, project_id: int, position: int, breakdown: FrequencyBreakdown,
                   bucketing: Bucketing, total: bool, read_from_ms: int, window: DateRange, timezone: str,
                   params: dict[str, Any]) -> str:
    """The ``Array(String)`` segment key SQL of the breakdown at ``position`` (one label per event), its parameters
    added to ``params``. ``read_from_ms`` is the earliest event time the metrics read (look-backs included);
    ``window`` is the report's range."""
    prefix = f"fb{position}"
    per_interval = breakdown.dates is None and not total
    start_ms, end_ms = (breakdown.dates or window).bounds_ms(timezone)
    count_params: dict[str, Any] = {"project_id": project_id, **bucketing.params(),
                                    f"{prefix}_event": breakdown.event,
                                    f"{prefix}_from_ms": min(start_ms, read_from_ms) if per_interval else start_ms,
                                    f"{prefix}_to_ms": end_ms}
    where_sql = None
    if breakdown.where is not None:
        fragment = compile_filter(breakdown.where, replace(EVENT_CONTEXT, param_prefix=f"{prefix}w"))
        where_sql = fragment.sql
        count_params.update(fragment.params)
    interval_sql = f"toString({bucketing.sql})" if per_interval else "''"
    rows = backend.query_rows(frequency_counts_sql(prefix, interval_sql, where_sql), count_params)
    params[f"{prefix}_labels"] = {f"{row['user']}|{row['interval']}": frequency_label(int(row["n"]),
                                                                                     breakdown.buckets)
                                  for row in rows}
    params[f"{prefix}_zero"] = frequency_label(0, breakdown.buckets)
    params.update({key: value for key, value in bucketing.params().items() if key not in params})
    labels = f"{{{prefix}_labels:Map(String, String)}}"
    lookup = f"concat(distinct_id, '|', {interval_sql})"
    return f"[if(mapContains({labels}, {lookup}), {labels}[{lookup}], {{{prefix}_zero:String}})]"
