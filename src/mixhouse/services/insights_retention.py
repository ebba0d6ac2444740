"""Retention metrics in the Insights API (what ``query_retention`` posts): bookmark params with
``behavior.type == "retention"`` run by the retention engine (``services/retention.py``), answered in the shape the
client library reads.

``behaviors`` = [birth event, return event], each with its own filters; the report's filters (``sections.filter``,
event properties) apply to both. ``series = {"<birth> and then <return>": {"<cohort start>": {"first", "counts",
"rates"}, "$average": {…}}}``; with one breakdown (an event property of the birth event), ``{name: {"$overall":
cohorts, "<segment>": cohorts}}``. Cohorts are births (a user's first birth event ever, as ``/retention`` counts
them), one per ``retentionUnit`` of the range (at least one); the curve has one interval per unit of the range
after interval 0 (rolling from each birth, or calendar units with ``retentionAlignmentType: interval_start``).
The chart type (``retention-curve``, ``line``, ``table``…) does not change the answer: every chart reads the same
cohorts.

* ``retentionCustomBucketSizes`` (Mixpanel's custom brackets): interval 0 stays the first unit after the birth
  ("< 1 day"); then one bracket per size, in order, each that many units long and starting where the previous one
  ended (``[1, 3, 7]`` in days: day 1, days 2–4, days 5–11). A user is retained in a bracket when they came back at
  any time inside it. ``counts`` has one element more than the list.
* ``retentionUnboundedMode``: ``none`` ("on": came back in the interval); ``carry_back`` ("on or after": in it or a
  later one); ``carry_forward`` ("on or before": in it or an earlier one), docs/decisions/0020;
  ``consecutive_forward`` (streaks): interval 0 counts who came back in it, interval *k* ≥ 1 counts who came back
  in every one of the intervals 1..*k*, so one missed interval ends the streak (docs/decisions/0028).
* ``measurement.retentionCumulative``: a user counts in every interval from the first one the mode counts them in,
  so the counts never decrease (with ``none``, the same as ``carry_forward``); sums add up the intervals so far.
* ``measurement.math``: ``retention_rate`` and ``unique`` count users (``counts``; ``rates`` = counts / first,
  4 places). ``total`` sums over the cohort's returning events in each interval: the number of events, or with
  ``measurement.property`` the sum of its numbers; ``average`` is that sum per cohort user (sum / first). For both,
  ``counts`` holds the value and ``rates`` the value per cohort user; they take only the ``none`` mode.
* ``$average``: Mixpanel's average of the complete buckets (``services/retention_average.py``): each bucket sums
  the cohorts that have completed it, its rate over their users; ``first`` is every cohort's users.

Users: a ``$cohorts`` entry of ``sections.filter`` keeps the users in (or, ``does not contain``, out of) any of
its cohorts, and a profile filter (``resourceType: people``) the users whose current profile passes, for births and
returns alike (so only those users are born and come back); a cohort breakdown (``CohortBreakdown``, header
``$cohorts``) puts each user in the segments of the cohorts they belong to (``"Not In …"`` for negated entries),
users in none in no segment; a profile breakdown (header: the property) in the segment of their current value (one
per item of a list value), users without one in ``"undefined"``, as event metrics have it. ``$overall`` counts
everyone. Cohort members are worked out as of today and bound as sets; profiles are the current ones by canonical
id, so a device merged into a user is born and returns under the user's profile (``services/insights_users.py``,
docs/decisions/0036). ``customBucket`` on the event or profile property breakdown relabels the numbers among those
values (the birth event's, the profile's) as their range, exactly as event metrics bucket (``query/number_buckets.py``,
decision 0039: ``"lo - hi"``, ``"< min"``, ``"max+"``; keys that are not numbers and ``undefined`` kept).

Groups: with a data group (``globalDataGroupId``, a metric's ``dataGroupId``; decision 0043) the metric counts
groups in place of users: an event is done by each group its group-key property names, so a group is born at the
first birth event naming it and returns with any return event naming it, whoever did them. Totals then count an
event once per group it names. Profile filters and breakdowns read the group profiles (``/groups``), the group id
standing as the user (decision 0046).

Refused (400): more than one breakdown, frequency filters and breakdowns; with a data group, cohort filters and
breakdowns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, compile_filter, compile_values
from mixhouse.expr.ast import Expr, Property
from mixhouse.expr.compile_sql import compile_typed
from mixhouse.meta.records import Project
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.custom_properties import custom_property_expr, has_custom_property
from mixhouse.query.group_source import group_ids_fragment
from mixhouse.query.number_buckets import NumberBuckets
from mixhouse.query.segmentation import NUMBER_TAG
from mixhouse.query.timebuckets import bucket_start_iso, check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services import retention, retention_average
from mixhouse.services.data_groups import report_data_group
from mixhouse.services.insights_audience import CohortMembers, Profiles
from mixhouse.services.insights_params import CohortSegments, parse_time
from mixhouse.services.insights_users import (
    Breakdown,
    EventProperty,
    ProfileProperty,
    UserFilters,
    UserSql,
    breakdown_buckets,
    bucketed,
    header,
    parse_breakdown,
    report_filters,
)
from mixhouse.storage.base import Backend

MODES = ("none", "carry_back", "carry_forward", "consecutive_forward")
USER_MATHS = ("retention_rate", "unique")
SUM_MATHS = ("total", "average")
MAX_BRACKETS = 60


@dataclass(frozen=True)
class RetentionMetric:
    """A parsed retention metric: the engine query (without its user filters and user breakdown), the series name,
    the breakdown header (``""`` for none), the math, and the cohort and profile filters and the cohort or profile
    breakdown (resolved when it runs), with the breakdown's ``customBucket`` buckets (``None``: raw values)."""

    query: retention.RetentionQuery
    name: str
    header: str
    math: str
    users: UserFilters
    by_user: CohortSegments | ProfileProperty | None
    buckets: NumberBuckets | None = None


def _breakdown(sections: dict[str, Any]) -> tuple[Breakdown | None, NumberBuckets | None]:
    """The breakdown: an event property, cohort segments or a profile property (``None`` for none), and its
    ``customBucket`` buckets (``None``: raw values)."""
    groups = sections.get("group") or []
    if not isinstance(groups, list) or len(groups) > 1:
        raise ValidationError("a retention metric takes at most one breakdown")
    if not groups:
        return None, None
    breakdown = parse_breakdown(groups[0], "retention")
    return breakdown, breakdown_buckets(groups[0], breakdown)


def _report_filter(sections: dict[str, Any], timezone: str) -> tuple[SqlFragment | None, UserFilters]:
    """``sections.filter``: event-property filters as a condition on both the birth and the return events, and the
    user (cohort and profile) filters."""
    specs, users = report_filters(sections, "retention")
    expr = filters_expr(specs, custom_properties=True, timezone=timezone)
    return (compile_filter(expr, replace(EVENT_CONTEXT, param_prefix="rf")) if expr else None), users


def _both(first: SqlFragment | None, second: SqlFragment | None) -> SqlFragment | None:
    if first is None or second is None:
        return first or second
    return SqlFragment(f"(({first.sql}) AND ({second.sql}))", {**first.params, **second.params})


def _bracket_sizes(behavior: dict[str, Any]) -> tuple[int, ...]:
    sizes = behavior.get("retentionCustomBucketSizes") or []
    if not isinstance(sizes, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                              for s in sizes):
        raise ValidationError("retentionCustomBucketSizes must be a list of positive whole numbers")
    if len(sizes) > MAX_BRACKETS or sum(sizes) + 1 > retention.MAX_INTERVAL_COUNT:
        raise ValidationError(f"retentionCustomBucketSizes takes at most {MAX_BRACKETS} brackets spanning at most "
                              f"{retention.MAX_INTERVAL_COUNT - 1} units")
    return tuple(sizes)


def summed_value(measurement: dict[str, Any], math_name: str) -> SqlFragment | None:
    """The number a ``total``/``average`` sums per returning event: its property's (an event property, or an inline
    custom property; 0 when not a number), or ``None`` to count the events."""
    prop = measurement.get("property")
    if prop is None:
        return None
    if math_name not in SUM_MATHS:
        raise ValidationError(f"retention math {math_name!r} takes no property")
    expr: Expr
    if isinstance(prop, dict) and has_custom_property(prop):
        expr = custom_property_expr(prop)
    else:
        name = prop.get("name") if isinstance(prop, dict) else None
        if not isinstance(name, str) or not name:
            raise ValidationError("measurement.property needs the property's name")
        expr = Property(name)
    typed = compile_typed(expr, replace(EVENT_CONTEXT, param_prefix="rv"))
    number = f"if(tupleElement({typed.sql}, 1) = {NUMBER_TAG}, tupleElement({typed.sql}, 3), toFloat64(0))"
    return SqlFragment(number, typed.params)


def retention_query(params: dict[str, Any], timezone: str) -> RetentionMetric:
    """A retention metric from bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    sections = params["sections"]
    behavior = sections["show"][0]["behavior"]
    measurement = sections["show"][0].get("measurement") or {}
    steps = behavior.get("behaviors") or []
    if not isinstance(steps, list) or len(steps) != 2 or not all(isinstance(s, dict) for s in steps):
        raise ValidationError("a retention metric has two behaviors: the birth event, then the return event")
    names = [s.get("name") for s in steps]
    if not all(isinstance(n, str) and n for n in names):
        raise ValidationError("both retention behaviors need an event name")
    alignment = behavior.get("retentionAlignmentType", "birth")
    if alignment not in ("birth", "interval_start"):
        raise ValidationError("retentionAlignmentType must be birth or interval_start")
    sizes = _bracket_sizes(behavior)
    mode = behavior.get("retentionUnboundedMode") or "none"
    if mode not in MODES:
        raise ValidationError(f"retentionUnboundedMode must be one of {', '.join(MODES)}, not {mode!r}")
    cumulative = measurement.get("retentionCumulative", False)
    if not isinstance(cumulative, bool):
        raise ValidationError("retentionCumulative must be true or false")
    math_name = measurement.get("math", "retention_rate")
    if math_name not in USER_MATHS + SUM_MATHS:
        raise ValidationError(f"retention math must be one of {', '.join(USER_MATHS + SUM_MATHS)}, "
                              f"not {math_name!r}")
    if math_name in SUM_MATHS and mode != "none":
        raise ValidationError(f"retention math {math_name!r} takes retentionUnboundedMode none, not {mode!r}")
    value = summed_value(measurement, math_name)
    unit = behavior.get("retentionUnit", "week")
    if unit not in retention.UNITS:
        raise ValidationError("retentionUnit must be day, week or month")
    dates, _ = parse_time(sections, timezone)
    check_not_future(dates, timezone)
    span = (dates.to_date - dates.from_date).days + 1
    months = (dates.to_date.year - dates.from_date.year) * 12 + dates.to_date.month - dates.from_date.month + 1
    count = len(sizes) if sizes else {"day": span, "week": math.ceil(span / 7), "month": months}[unit]
    report_filter, users = _report_filter(sections, timezone)
    wheres = []
    for n, step in enumerate(steps):
        expr = filters_expr(step.get("filters") or [], step.get("filtersDeterminer", "all"), custom_properties=True,
                            timezone=timezone)
        own = compile_filter(expr, replace(EVENT_CONTEXT, param_prefix=f"rw{n}")) if expr else None
        wheres.append(_both(own, report_filter))
    breakdown, buckets = _breakdown(sections)
    data_group = report_data_group(params)
    if data_group is not None and (users.cohorts or isinstance(breakdown, tuple)):
        raise ValidationError(f"cohort filters and breakdowns are not supported on a retention metric that counts "
                              f"data group {data_group!r}")
    on = bucketed(compile_values(breakdown.expr, replace(EVENT_CONTEXT, param_prefix="on")), buckets, "rb") \
        if isinstance(breakdown, EventProperty) else None
    query = retention.RetentionQuery(
        dates=dates, compounded=False, born_event=names[0], event=names[1], born_where=wheres[0], where=wheres[1],
        unit=unit, interval=1, interval_count=max(1, min(count, retention.MAX_INTERVAL_COUNT)),
        unbounded=mode == "carry_back", on=on, limit=retention.MAX_LIMIT, timezone=timezone,
        calendar=alignment == "interval_start", on_or_before=mode == "carry_forward",
        consecutive=mode == "consecutive_forward", cumulative=cumulative, bracket_sizes=sizes,
        measure="events" if math_name in SUM_MATHS else "users", value=value,
        group_ids=None if data_group is None else group_ids_fragment(data_group),
    )
    return RetentionMetric(query, f"{names[0]} and then {names[1]}", header(breakdown) if breakdown else "",
                           math_name, users, None if isinstance(breakdown, EventProperty) else breakdown, buckets)


def _with_users(metric: RetentionMetric, cohorts: CohortMembers | None,
                profiles: Profiles | None) -> retention.RetentionQuery:
    """The engine query with the metric's user filters (on births and returns) and user breakdown (the segment keys
    of the user: cohorts they are in, none when in none; their profile value, ``undefined`` without one)."""
    query = metric.query
    users = UserSql(cohorts, profiles, "ru")
    members = users.where(metric.users)
    query = replace(query, born_where=_both(query.born_where, members), where=_both(query.where, members))
    if metric.by_user is None:
        return query
    return replace(query, on=bucketed(users.keys(metric.by_user, 0), metric.buckets, "rb"), undefined=False)


def _per_user(values: list[Any], sizes: list[int]) -> list[float]:
    return [round(v / size, 4) if size else 0 for v, size in zip(values, sizes, strict=True)]


def _entry(first: int, values: list[Any], math_name: str, sizes: list[int] | None = None) -> dict[str, Any]:
    """One cohort's entry; ``sizes`` are the users behind each bucket (``first`` for a single cohort)."""
    per_bucket = sizes if sizes is not None else [first] * len(values)
    if math_name == "average":
        averages = [v / size if size else 0.0 for v, size in zip(values, per_bucket, strict=True)]
        return {"first": first, "counts": averages, "rates": _per_user(values, per_bucket)}
    return {"first": first, "counts": values, "rates": _per_user(values, per_bucket)}


def _cohorts(found: dict[str, dict[str, Any]], query: retention.RetentionQuery, math_name: str,
             now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows = [(day, int(cohort["first"]), list(cohort["counts"])) for day, cohort in found.items()]
    for day, size, back in rows:
        out[bucket_start_iso(day, query.timezone)] = _entry(size, back, math_name)
    first, totals, sizes = retention_average.average(rows, query, now)
    out["$average"] = _entry(first, totals, math_name, sizes)
    return out


def run_retention_metric(
    backend: Backend, project: Project, params: dict[str, Any], cohorts: CohortMembers | None = None,
    profiles: Profiles | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a retention metric; ``cohorts`` gives the members of the cohorts it names,
    ``profiles`` the users' current profiles."""
    timezone = project.timezone or "UTC"
    metric = retention_query(params, timezone)
    query, name, group, math_name = _with_users(metric, cohorts, profiles), metric.name, metric.header, metric.math
    answer = retention.retention(backend, project, query)
    now = datetime.now(UTC)
    if not group:
        return {name: _cohorts(answer, query, math_name, now)}, ["$metric"]
    overall = retention.retention(backend, project, replace(query, on=None))
    node = {"$overall": _cohorts(overall, query, math_name, now)}
    node.update({segment: _cohorts(found, query, math_name, now) for segment, found in answer.items()})
    return {name: node}, ["$metric", group]
