"""Insights (``POST /insights`` with bookmark params, ``GET /insights?bookmark_id=``): metrics over time, broken
down by properties, combined by formulas.

The answer is ``{"computed_at", "date_range": {"from_date", "to_date"}, "headers": ["$metric", *breakdowns],
"series": {metric: node}, "meta"}``. A node maps each bucket start (ISO 8601 in the project's timezone, e.g.
``2024-01-01T00:00:00-08:00``; ``"all"`` for total charts) to the value (a number; a string or an object for
the maths of decision 0030, ``services/insights_values.py``); with breakdowns, each level maps
``"$overall"`` (the rollup, computed, not summed: uniques and averages do not add up) and each segment to the next
level (a ``customBucket`` breakdown's numbers as ranges, decision 0039). Every bucket of the range is listed, 0
where nothing happened. Metrics marked ``isHidden`` are computed for formulas but not listed. A metric's name is its
event, with the math in brackets when two metrics share an event.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange
from mixhouse.core.timeutil import computed_at
from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.expr import compile_filter, compile_values
from mixhouse.expr.ast import Property
from mixhouse.expr.compile_sql import compile_typed
from mixhouse.meta.records import Project, Report
from mixhouse.query.bookmark_filters import refuse_unevaluated
from mixhouse.query.insights import active_users_sql, first_seen_sql, metric_sql, per_user_sql, sessions_sql
from mixhouse.query.insights_attribution import attribution_sql
from mixhouse.query.insights_values import distribution_sql, value_sql
from mixhouse.query.number_buckets import bucketed_keys_sql
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services.data_groups import report_data_group
from mixhouse.services.formula import compile_formula
from mixhouse.services.insights_audience import CohortMembers, PeopleSql, Profiles, frequency_sql, people_sql
from mixhouse.services.insights_behaviors import (
    behavior_type,
    funnel_metric,
    retention_query,
    run_funnel_metric,
    run_retention_metric,
)
from mixhouse.services.insights_frequency import frequency_keys
from mixhouse.services.insights_groups import (
    GroupProfiles,
    check_group_query,
    group_people_sql,
    metric_actors,
)
from mixhouse.services.insights_measurement import KEYED_MATHS
from mixhouse.services.insights_params import (
    ACTIVE_DAYS,
    NON_SCALAR_MATHS,
    VALUE_MATHS,
    InsightsQuery,
    Metric,
    custom_property_nodes,
    parse_insights,
    parse_time,
)
from mixhouse.services.insights_values import collect, empty_value
from mixhouse.services.time_comparison import (
    comparison_range,
    parse_time_comparison,
    shifted_params,
    with_comparison,
)
from mixhouse.storage.base import Backend

OVERALL = "$overall"
Path = tuple[str, ...]


def saved_params(report: Report | None, bookmark_id: int) -> dict[str, Any]:
    """The bookmark params of a saved Insights report."""
    if report is None:
        raise NotFoundError(f"no report with id {bookmark_id}", details={"bookmark_id": bookmark_id})
    if report.type != "insights":
        raise ValidationError(f"report {bookmark_id} is a {report.type} report, not an Insights report")
    return report.params


def _refuse_unevaluated(params: Any) -> None:
    """Custom properties, and data groups outside event and funnel metrics (``services/insights_groups.py``)."""
    refuse_unevaluated(params, custom_property_nodes(params), data_groups=True)


def check_bookmark(params: Any, timezone: str) -> None:
    """Refuse bad or unsupported params before any work (400)."""
    _refuse_unevaluated(params)
    parse_time_comparison(params)
    kind = behavior_type(params)
    if kind == "funnel":
        funnel_metric(params, timezone)
    elif kind == "retention":
        retention_query(params, timezone)
    else:
        query = parse_insights(params, timezone)
        check_group_query(query)
        if parse_time_comparison(params) is not None:
            _comparable(query)


def _comparable(query: InsightsQuery) -> None:
    for metric in query.metrics:
        if metric.math in NON_SCALAR_MATHS:
            raise ValidationError(f"a time comparison needs numeric metrics; math {metric.math!r} is not one number "
                                  "per bucket")


def answer_bookmark(backend: Backend, project: Project, params: Any,
                    profiles: Profiles | None = None, cohorts: CohortMembers | None = None,
                    group_profiles: GroupProfiles | None = None) -> dict[str, Any]:
    """The Insights answer for bookmark params: event metrics, a funnel, or a retention metric; with a time
    comparison, the same over the earlier range and the lift (``services/time_comparison.py``). ``profiles`` gives
    the project's user profiles (distinct id, properties) for filters and breakdowns on profile properties,
    ``group_profiles`` a group key's profiles for metrics counting a data group."""
    _refuse_unevaluated(params)
    comparison = parse_time_comparison(params)
    if behavior_type(params) not in ("funnel", "retention"):
        query = parse_insights(params, project.timezone or "UTC")
        check_group_query(query)
        if comparison is not None:
            _comparable(query)
    answer = _answer_range(backend, project, params, profiles, cohorts, group_profiles)
    if comparison is None:
        return answer
    dates, _ = parse_time(params["sections"], project.timezone or "UTC")
    earlier = _answer_range(backend, project, shifted_params(params, comparison_range(dates, comparison)), profiles,
                            cohorts, group_profiles)
    return with_comparison(answer, earlier)


def _answer_range(backend: Backend, project: Project, params: Any, profiles: Profiles | None,
                  cohorts: CohortMembers | None, group_profiles: GroupProfiles | None) -> dict[str, Any]:
    started = time.perf_counter()
    timezone = project.timezone or "UTC"
    kind = behavior_type(params)
    if kind in ("funnel", "retention"):
        group = report_data_group(params)
        if group is not None:  # groups stand as users: profile filters and breakdowns read the group profiles
            profiles = None if group_profiles is None else _profiles_of(group_profiles, group)
        if kind == "funnel":
            series, headers = run_funnel_metric(backend, project, params, cohorts, profiles)
        else:
            series, headers = run_retention_metric(backend, project, params, cohorts, profiles)
        dates, _ = parse_time(params["sections"], timezone)
        return _envelope(dates, timezone, headers, series, started)
    return run_insights(backend, project, parse_insights(params, timezone), profiles, cohorts, group_profiles)


def _profiles_of(group_profiles: GroupProfiles, group: str) -> Profiles:
    return lambda: group_profiles(group)


def _metric_values(backend: Backend, project: Project, query: InsightsQuery, metric: Metric,
                   bucketing: Bucketing, people: PeopleSql) -> dict[Path, dict[str, Any]]:
    """Values by segment path (``()`` is the overall rollup, then one key per breakdown level) and bucket key: a
    number, or for ``NON_SCALAR_MATHS`` what ``services/insights_values.py`` describes."""
    timezone = project.timezone or "UTC"
    start_ms, end_ms = query.dates.bounds_ms(timezone)
    params: dict[str, Any] = {"project_id": project.id, **bucketing.params(), "start_ms": start_ms,
                              "end_ms": end_ms, "metric_event": metric.event}
    actors = metric_actors(query, metric, params)  # counting groups: None for users
    conditions = []
    for n, expr in enumerate(e for e in (metric.filter, query.where) if e is not None):
        fragment = compile_filter(expr, replace(EVENT_CONTEXT, param_prefix=f"mf{n}"))
        conditions.append(fragment.sql)
        params.update(fragment.params)
    for n, frequency in enumerate(query.frequency):
        conditions.append(frequency_sql(f"fq{n}", frequency, query.dates, timezone, params))
    conditions.extend(people.conditions)
    params.update(people.params)
    number_sql = None
    if metric.prop is not None:
        by_key = metric.math in KEYED_MATHS or metric.per_user == "unique_values"
        fragment = (compile_values if by_key else compile_typed)(metric.prop_expr or Property(metric.prop),
                                                                  replace(EVENT_CONTEXT, param_prefix="mp"))
        number_sql = fragment.sql
        params.update(fragment.params)
    keys = []
    buckets, custom = dict(query.group_buckets), dict(query.group_exprs)
    for n, name in enumerate(query.groups):
        if n in people.keys:  # profile properties, cohorts and frequency breakdowns
            keys.append(people.keys[n])
        else:
            fragment = compile_values(custom.get(n) or Property(name), replace(EVENT_CONTEXT, param_prefix=f"g{n}"))
            keys.append(fragment.sql)
            params.update(fragment.params)
        if n in buckets:  # numbers relabelled as their customBucket range
            fragment = bucketed_keys_sql(keys[n], buckets[n], f"gb{n}")
            keys[n] = fragment.sql
            params.update(fragment.params)
    bucket_sql = "''" if query.total else bucketing.sql
    if metric.percentile is not None:
        params["percentile_level"] = metric.percentile / 100
    if metric.math in ACTIVE_DAYS:
        days = ACTIVE_DAYS[metric.math]
        params.update(first_day=query.dates.from_date.isoformat(), last_day=query.dates.to_date.isoformat(),
                      active_from_ms=start_ms - (days - 1) * 86_400_000 - 3_600_000)  # a DST hour of slack
    values: dict[Path, dict[str, Any]] = {}
    for depth in range(len(keys) + 1):
        if metric.attribution is not None:
            params["lookback_ms"] = metric.attribution.lookback_ms
            sql = attribution_sql(metric.attribution.model, bucket_sql, keys[:depth], conditions, number_sql or "")
            collect(metric.math, backend.query_rows(sql, params), depth, values)
            continue
        if metric.math in NON_SCALAR_MATHS:
            sql = value_sql(metric.math, bucket_sql, keys[:depth], conditions, number_sql or "", actors) \
                if metric.math in VALUE_MATHS else \
                distribution_sql(metric.math, bucket_sql, keys[:depth], conditions, number_sql, metric.per_user,
                                 actors)
            collect(metric.math, backend.query_rows(sql, params), depth, values)
            continue
        if metric.math in ACTIVE_DAYS:
            sql = active_users_sql(ACTIVE_DAYS[metric.math], bucketing.sql, keys[:depth], conditions, actors)
        elif metric.math == "cumulative_unique":
            sql = first_seen_sql(bucket_sql, keys[:depth], conditions, actors)
        elif metric.math == "sessions":
            sql = sessions_sql(bucket_sql, keys[:depth], conditions)
        elif metric.per_user is not None:
            sql = per_user_sql(metric.math, metric.per_user, bucket_sql, keys[:depth], conditions, number_sql, actors)
        else:
            sql = metric_sql(metric.math, bucket_sql, keys[:depth], conditions, number_sql, actors)
        for row in backend.query_rows(sql, params):
            path = tuple(str(row[f"g{n}"]) for n in range(1, depth + 1))
            value = row["value"]
            number = float(value) if value is not None else 0.0
            # no numeric value in the bucket: 0, like a bucket without events (ClickHouse gives nan)
            values.setdefault(path, {})[str(row["bucket"]) or "all"] = number if math.isfinite(number) else 0.0
    if metric.math == "cumulative_unique":  # users first seen by the end of each bucket
        keys_order = ["all"] if query.total else bucketing.keys(query.dates)
        values = {path: _running(found, keys_order) for path, found in values.items()}
    return values


def _cohort_sizes(query: InsightsQuery, metric: Metric, bucketing: Bucketing, timezone: str,
                  cohorts: CohortMembers | None) -> dict[Path, dict[str, float]]:
    """A cohort metric: the cohort's size as of each bucket's last day (the range's last day for a total)."""
    assert metric.cohort is not None
    if cohorts is None:
        raise ValidationError("cohort metrics need the server's cohorts")
    if query.total:
        return {(): {"all": float(len(cohorts.as_of(metric.cohort, query.dates.to_date)))}}
    keys = bucketing.keys(query.dates)
    starts = [date.fromisoformat(key[:10]) for key in keys]
    ends = [following - timedelta(days=1) for following in starts[1:]] + [query.dates.to_date]
    return {(): {key: float(len(cohorts.as_of(metric.cohort, min(end, query.dates.to_date))))
                 for key, end in zip(keys, ends, strict=True)}}


def _running(found: dict[str, float], keys: list[str]) -> dict[str, float]:
    total, out = 0.0, {}
    for key in keys:
        total += found.get(key, 0.0)
        out[key] = total
    return out


def _rolling(found: dict[str, float], keys: list[str], size: int) -> dict[str, float]:
    """Each bucket's mean over it and the ``size - 1`` before it within the range."""
    series = [found.get(key, 0.0) for key in keys]
    return {key: sum(series[max(0, n - size + 1): n + 1]) / len(series[max(0, n - size + 1): n + 1])
            for n, key in enumerate(keys)}


def _analysed(
    values: dict[Path, dict[str, float]], query: InsightsQuery, keys: list[str]
) -> dict[Path, dict[str, float]]:
    if query.analysis == "cumulative":
        return {path: _running(found, keys) for path, found in values.items()}
    if query.analysis == "rolling":
        return {path: _rolling(found, keys, query.rolling) for path, found in values.items()}
    return values


def _number(value: float, integral: bool) -> int | float:
    return round(value) if integral else value


def _names(metrics: tuple[Metric, ...]) -> list[str]:
    shared = {m.event for m in metrics if sum(o.event == m.event for o in metrics) > 1}
    return [f"{m.event} [{m.math}]" if m.event in shared else m.event for m in metrics]


def _node(values: dict[Path, dict[str, Any]], prefix: Path, depth: int, leaf: Any) -> dict[str, Any]:
    """The series node under ``prefix``: a leaf at full depth, else ``$overall`` plus one child per segment."""
    if len(prefix) == depth:
        found: dict[str, Any] = leaf(values.get(prefix, {}))
        return found
    below = len(prefix)
    children = sorted({path[below] for path in values if len(path) > below and path[:below] == prefix})
    node = {OVERALL: leaf(values.get(prefix, {}))}
    for child in children:
        node[child] = _node(values, (*prefix, child), depth, leaf)
    return node


def _envelope(dates: DateRange, timezone: str, headers: list[str], series: dict[str, Any],
              started: float) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    start_ms, end_ms = dates.bounds_ms(timezone)
    return {
        "computed_at": computed_at(),
        "date_range": {
            "from_date": datetime.fromtimestamp(start_ms / 1000, zone).isoformat(),
            "to_date": (datetime.fromtimestamp(end_ms / 1000, zone) - timedelta(milliseconds=1)).isoformat(),
        },
        "headers": headers,
        "series": series,
        "meta": {"sampling_factor": 1.0, "is_cached": False,
                 "computation_time": round((time.perf_counter() - started) * 1000, 1)},
    }


def run_insights(backend: Backend, project: Project, query: InsightsQuery,
                 profiles: Profiles | None = None, cohorts: CohortMembers | None = None,
                 group_profiles: GroupProfiles | None = None) -> dict[str, Any]:
    """The answer to event and cohort metrics; counting the data group's groups when the query names one."""
    started = time.perf_counter()
    timezone = project.timezone or "UTC"
    check_not_future(query.dates, timezone)
    check_group_query(query)
    bucketing = Bucketing(query.unit, timezone)
    keys = ["all"] if query.total else bucketing.keys(query.dates)
    people = group_people_sql(query, group_profiles) if query.data_group is not None else \
        _with_frequency_keys(backend, project, query, bucketing, people_sql(query, profiles, cohorts))
    per_metric = {m.letter: _cohort_sizes(query, m, bucketing, timezone, cohorts) if m.cohort is not None
                  else _metric_values(backend, project, query, m, bucketing, people) for m in query.metrics}
    depth = len(query.groups)

    def leaf_of(integral: bool, math_: str = "total") -> Any:
        def leaf(found: dict[str, Any]) -> dict[str, Any]:
            if math_ in NON_SCALAR_MATHS:
                return {(key if key == "all" else bucket_start_iso(key, timezone)): found.get(key, empty_value(math_))
                        for key in keys}
            return {(key if key == "all" else bucket_start_iso(key, timezone)): _number(found.get(key, 0.0), integral)
                    for key in keys}
        return leaf

    series: dict[str, Any] = {}
    counted = ("total", "unique", "cumulative_unique", "sessions", "unique_values", *ACTIVE_DAYS)
    for metric, name in zip(query.metrics, _names(query.metrics), strict=True):
        if not metric.hidden:
            integral = metric.math in counted and query.analysis != "rolling"
            series[name] = _node(_analysed(per_metric[metric.letter], query, keys), (), depth,
                                 leaf_of(integral, metric.math))
    letters = {m.letter for m in query.metrics if m.math not in NON_SCALAR_MATHS}
    paths = {path for values in per_metric.values() for path in values}
    for formula in query.formulas:
        evaluate = compile_formula(formula.definition, letters)
        combined: dict[Path, dict[str, float]] = {}
        for path in paths:
            combined[path] = {
                key: evaluate({letter: per_metric[letter].get(path, {}).get(key, 0.0) for letter in letters})
                for key in keys
            }
        series[formula.name] = _node(_analysed(combined, query, keys), (), depth, leaf_of(False))
    return _envelope(query.dates, timezone, ["$metric", *query.groups], series, started)


def _with_frequency_keys(backend: Backend, project: Project, query: InsightsQuery, bucketing: Bucketing,
                         people: PeopleSql) -> PeopleSql:
    """``people`` with the segment keys (and parameters) of the query's frequency breakdowns."""
    if not query.frequency_groups:
        return people
    timezone = project.timezone or "UTC"
    start_ms, _ = query.dates.bounds_ms(timezone)
    look_back = max((ACTIVE_DAYS[m.math] for m in query.metrics if m.math in ACTIVE_DAYS), default=1) - 1
    read_from_ms = start_ms - look_back * 86_400_000 - (3_600_000 if look_back else 0)
    keys, params = dict(people.keys), dict(people.params)
    for position, breakdown in query.frequency_groups:
        keys[position] = frequency_keys(backend, project.id, position, breakdown, bucketing, query.total,
                                        read_from_ms, query.dates, timezone, params)
    return replace(people, keys=keys, params=params)
