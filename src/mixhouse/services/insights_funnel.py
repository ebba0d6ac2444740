"""Funnel metrics in the Insights API (what ``query_funnel`` posts): bookmark params with ``behavior.type ==
"funnel"`` run by the funnel engine (``services/funnels.py``; the definition as in ``services.funnel_definition``),
answered in the shape the client library reads.

``series = {"<first> through <last>": metrics}`` where ``metrics`` maps ``count``, ``step_conv_ratio``,
``overall_conv_ratio``, ``avg_time`` and ``avg_time_from_start`` to ``{"1. <event>": {"all": value}, …}``. One
funnel over the whole range (``funnel-steps`` and other charts); a ``line`` chart gives one per ``unit`` bucket,
``{name: {"<bucket start>": metrics}}``. Breakdowns (up to ``MAX_BREAKDOWNS``, in the order given) nest as event
metrics nest them: ``{name: {"$overall": metrics, "<segment>": metrics}}`` for one, ``{"$overall": metrics, seg1:
{"$overall": metrics, seg2: metrics}}`` for two (per bucket with ``line``); each level's ``$overall`` counts the
attempts under it (not a sum). Headers: ``$metric`` then each breakdown's property name or ``$cohorts``.

* By an event property: each attempt in the segment of the value its attributed step's event has
  (``propertyAttribution``, applied to each property on its own; ``"undefined"`` when none).
* By cohorts (``CohortBreakdown``): each user's attempts in the segment of every cohort they belong to (``"Not In
  …"`` for negated entries; the step attribution plays no part, membership being the user's), users in none in no
  segment at that level or below.

Cohort filters (``$cohorts`` entries of ``sections.filter``): keep only the step events of users in (or, ``does not
contain``, out of) any of the entry's cohorts, so the funnel counts only those users. Cohort members are worked out
as of today and bound as sets, as for event and retention metrics (docs/decisions/0035).

Refused (400): more than ``MAX_BREAKDOWNS`` breakdowns, breakdowns and filters on user-profile properties.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, compile_values
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.funnel_shape import OVERALL, PATH_SEPARATOR
from mixhouse.query.params import json_list
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services import funnels
from mixhouse.services.cohort_sql import MemberTests
from mixhouse.services.funnel_definition import FunnelDefinition, parse_definition
from mixhouse.services.insights_audience import CohortMembers
from mixhouse.services.insights_params import (
    COHORTS_PROPERTY,
    CohortFilter,
    CohortSegments,
    cohort_filter,
    cohort_segments,
    is_cohort_filter,
    parse_time,
)
from mixhouse.storage.base import Backend

MAX_BREAKDOWNS = 3
FUNNEL_METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


#: A breakdown: an event property's name, or cohort segments.
Breakdown = str | CohortSegments


def _breakdowns(sections: dict[str, Any]) -> tuple[Breakdown, ...]:
    """Each breakdown of ``sections.group``, in order: an event property or cohort segments."""
    groups = json_list(sections.get("group"), "sections.group")
    if len(groups) > MAX_BREAKDOWNS:
        raise ValidationError(f"a funnel metric takes at most {MAX_BREAKDOWNS} breakdowns")
    out: list[Breakdown] = []
    for spec in groups:
        if isinstance(spec, dict) and spec.get("cohorts") is not None:
            out.append(cohort_segments(spec))
            continue
        name = spec.get("value") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not name or spec.get("resourceType", "events") not in ("events", "event"):
            raise ValidationError("a funnel metric is broken down by event properties or by cohorts only")
        out.append(name)
    return tuple(out)


def _members_where(filters: list[CohortFilter], cohorts: CohortMembers | None) -> SqlFragment | None:
    """Every cohort filter's condition (any of its cohorts; ``does not contain``: none of them)."""
    if not filters:
        return None
    tests = MemberTests(cohorts)
    return SqlFragment(" AND ".join(tests.filter_conditions(filters, "fcf")), tests.params)


def _segment_keys(segments: CohortSegments, cohorts: CohortMembers | None, prefix: str) -> SqlFragment:
    """The labels of the cohort segments the user is in, as ``Array(String)``."""
    tests = MemberTests(cohorts)
    keys = tests.segment_keys(segments, prefix)
    return SqlFragment(keys, tests.params)


def _engine_breakdowns(breakdowns: tuple[Breakdown, ...],
                       cohorts: CohortMembers | None) -> tuple[tuple[SqlFragment, bool], ...]:
    """Each breakdown's segment keys for the engine, and whether they are the user's (cohorts)."""
    return tuple(
        (compile_values(Property(spec), replace(EVENT_CONTEXT, param_prefix=f"on{b}")), False) if isinstance(spec, str)
        else (_segment_keys(spec, cohorts, f"fcg{b}"), True)
        for b, spec in enumerate(breakdowns)
    )


def _nested(found: dict[str, list[dict[str, Any]]], depth: int) -> dict[str, Any]:
    """The engine's segments (``$overall`` and key paths) as Insights nests them: ``{"$overall": metrics, key:
    {"$overall": metrics, key: …}}`` down to metrics at ``depth`` keys."""
    root: dict[str, Any] = {OVERALL: _funnel_metrics(found[OVERALL])}
    paths = sorted((segment.split(PATH_SEPARATOR), steps) for segment, steps in found.items() if segment != OVERALL)
    for path, steps in paths:  # a prefix sorts before the paths it starts
        node = root
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = _funnel_metrics(steps) if len(path) == depth else {OVERALL: _funnel_metrics(steps)}
    return root


def _funnel_metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        metric: {f"{k + 1}. {step['event']}": {"all": step[metric]} for k, step in enumerate(steps)}
        for metric in FUNNEL_METRICS
    }


@dataclass(frozen=True)
class FunnelMetric:
    """A parsed funnel metric: the funnel (without the cohort filters), its range and bucketing, whether it is a
    trend, the breakdown (an event property or cohort segments) and the cohort filters (resolved when it runs)."""

    definition: FunnelDefinition
    dates: DateRange
    bucketing: Bucketing
    trends: bool
    breakdowns: tuple[Breakdown, ...]
    cohort_filters: tuple[CohortFilter, ...]


def funnel_metric(params: dict[str, Any], timezone: str) -> FunnelMetric:
    """A funnel metric from bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    sections = params["sections"]
    report_filters = json_list(sections.get("filter"), "sections.filter")
    filters = tuple(cohort_filter(spec) for spec in report_filters if is_cohort_filter(spec))
    # the engine's definition takes the event-property filters; the cohort ones become a condition on the user
    event_filters = [spec for spec in report_filters if not is_cohort_filter(spec)]
    definition = parse_definition({**params, "sections": {**sections, "filter": event_filters}})
    dates, unit = parse_time(sections, timezone)
    check_not_future(dates, timezone)
    trends = (params.get("displayOptions") or {}).get("chartType") in ("line", "funnel-trend")
    if trends:
        if unit == "hour":
            raise ValidationError("funnel trends are by day, week or month")
        bucketing = Bucketing(unit, timezone)
    else:
        days = (dates.to_date - dates.from_date).days + 1
        bucketing = Bucketing("day", timezone, days=days, anchor=dates.from_date)
    return FunnelMetric(definition, dates, bucketing, trends, _breakdowns(sections), filters)


def run_funnel_metric(backend: Backend, project: Project, params: dict[str, Any],
                      cohorts: CohortMembers | None = None) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a funnel metric; ``cohorts`` gives the members of the cohorts it names."""
    timezone = project.timezone or "UTC"
    metric = funnel_metric(params, timezone)
    definition, breakdowns = metric.definition, metric.breakdowns
    query = funnels.FunnelQuery(funnel_id=0, dates=metric.dates, bucketing=metric.bucketing, window_ms=None,
                                where=None, on=None, limit=funnels.MAX_LIMIT,
                                user_where=_members_where(list(metric.cohort_filters), cohorts),
                                breakdowns=_engine_breakdowns(breakdowns, cohorts))
    answer = funnels.run_funnel(backend, project, definition, query)
    headers = [spec if isinstance(spec, str) else COHORTS_PROPERTY for spec in breakdowns]

    def metrics_of(entry: dict[str, Any]) -> dict[str, Any]:
        return _nested(entry, len(breakdowns)) if breakdowns else _funnel_metrics(entry["steps"])

    name = f"{definition.steps[0].event} through {definition.steps[-1].event}"
    data = answer["data"]
    if metric.trends:
        node: Any = {bucket_start_iso(day, timezone): metrics_of(entry) for day, entry in data.items()}
    else:
        node = metrics_of(next(iter(data.values())))
    return {name: node}, ["$metric", *headers]
