"""Funnel metrics in the Insights API (what ``query_funnel`` posts): bookmark params with ``behavior.type ==
"funnel"`` run by the funnel engine (``services/funnels.py``; the definition as in ``services.funnel_definition``),
answered in the shape the client library reads.

``series = {"<first> through <last>": metrics}`` where ``metrics`` maps ``count``, ``step_conv_ratio``,
``overall_conv_ratio``, ``avg_time`` and ``avg_time_from_start`` to ``{"1. <event>": {"all": value}, …}``. One
funnel over the whole range (``funnel-steps`` and other charts); a ``line`` chart gives one per ``unit`` bucket,
``{name: {"<bucket start>": metrics}}``. One breakdown gives ``{name: {"$overall": metrics, "<segment>": metrics}}``
(per bucket with ``line``):

* by an event property (header: its name): each attempt in the segment of the value its attributed step's event
  has (``propertyAttribution``; ``"undefined"`` when none);
* by cohorts (``CohortBreakdown``, header ``$cohorts``): each user's attempts in the segment of every cohort they
  belong to (``"Not In …"`` for negated entries; the step attribution plays no part, membership being the user's),
  users in none in no segment; ``$overall`` counts everyone.

Cohort filters (``$cohorts`` entries of ``sections.filter``): keep only the step events of users in (or, ``does not
contain``, out of) any of the entry's cohorts, so the funnel counts only those users. Cohort members are worked out
as of today and bound as sets, as for event and retention metrics.

Refused (400): more than one breakdown, breakdowns and filters on user-profile properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.params import json_list
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.services import funnels
from mixhouse.services.funnel_definition import FunnelDefinition, parse_definition
from mixhouse.services.insights_audience import CohortMembers
from mixhouse.services.insights_params import (
    COHORTS_PROPERTY,
    CohortFilter,
    CohortRef,
    CohortSegments,
    cohort_filter,
    cohort_segments,
    parse_time,
)
from mixhouse.storage.base import Backend

FUNNEL_METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


def _is_cohort_filter(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("value") == COHORTS_PROPERTY


def _breakdown(sections: dict[str, Any]) -> tuple[str | None, CohortSegments]:
    """The breakdown's event property (``None`` for none) or cohort segments."""
    groups = json_list(sections.get("group"), "sections.group")
    if len(groups) > 1:
        raise ValidationError("a funnel metric takes at most one breakdown here (several breakdowns are not "
                              "supported yet)")
    if not groups:
        return None, ()
    spec = groups[0]
    if isinstance(spec, dict) and spec.get("cohorts") is not None:
        return None, cohort_segments(spec)
    name = spec.get("value") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name or spec.get("resourceType", "events") not in ("events", "event"):
        raise ValidationError("a funnel metric is broken down by an event property or by cohorts only")
    return name, ()


class _MemberTests:
    """Cohort membership conditions over the event source's canonical ``distinct_id``, members bound as sets."""

    def __init__(self, cohorts: CohortMembers | None) -> None:
        self.cohorts = cohorts
        self.params: dict[str, Any] = {}

    def test(self, name: str, ref: CohortRef, negated: bool) -> str:
        if self.cohorts is None:
            raise ValidationError("cohort filters and breakdowns need the server's cohorts")
        self.params[name] = sorted(self.cohorts(ref))
        return f"(distinct_id {'NOT IN' if negated else 'IN'} {{{name}:Array(String)}})"


def _members_where(filters: list[CohortFilter], cohorts: CohortMembers | None) -> SqlFragment | None:
    """Every cohort filter's condition (any of its cohorts; ``does not contain``: none of them)."""
    if not filters:
        return None
    tests = _MemberTests(cohorts)
    conditions = []
    for n, one_filter in enumerate(filters):
        anyone = " OR ".join(tests.test(f"fcf{n}_{m}", ref, negated)
                             for m, (ref, negated) in enumerate(one_filter.cohorts))
        conditions.append(f"NOT ({anyone})" if one_filter.excluded else f"({anyone})")
    return SqlFragment(" AND ".join(conditions), tests.params)


def _segment_keys(segments: CohortSegments, cohorts: CohortMembers | None) -> SqlFragment | None:
    """The labels of the cohort segments the user is in, as ``Array(String)``."""
    if not segments:
        return None
    tests = _MemberTests(cohorts)
    parts = []
    for m, (ref, negated, label) in enumerate(segments):
        tests.params[f"fcg{m}_label"] = label
        test = tests.test(f"fcg{m}", ref, negated)
        parts.append(f"if({test}, [{{fcg{m}_label:String}}], CAST([] AS Array(String)))")
    keys = f"arrayConcat({', '.join(parts)})" if len(parts) > 1 else parts[0]
    return SqlFragment(keys, tests.params)


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
    group: str | None
    segments: CohortSegments
    cohort_filters: tuple[CohortFilter, ...]


def funnel_metric(params: dict[str, Any], timezone: str) -> FunnelMetric:
    """A funnel metric from bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    sections = params["sections"]
    report_filters = json_list(sections.get("filter"), "sections.filter")
    filters = tuple(cohort_filter(spec) for spec in report_filters if _is_cohort_filter(spec))
    # the engine's definition takes the event-property filters; the cohort ones become a condition on the user
    event_filters = [spec for spec in report_filters if not _is_cohort_filter(spec)]
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
    group, segments = _breakdown(sections)
    return FunnelMetric(definition, dates, bucketing, trends, group, segments, filters)


def run_funnel_metric(backend: Backend, project: Project, params: dict[str, Any],
                      cohorts: CohortMembers | None = None) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a funnel metric; ``cohorts`` gives the members of the cohorts it names."""
    timezone = project.timezone or "UTC"
    metric = funnel_metric(params, timezone)
    group, segments, definition = metric.group, metric.segments, metric.definition
    query = funnels.FunnelQuery(funnel_id=0, dates=metric.dates, bucketing=metric.bucketing, window_ms=None,
                                where=None, on=Property(group) if group else None, limit=funnels.MAX_LIMIT,
                                user_where=_members_where(list(metric.cohort_filters), cohorts),
                                user_keys=_segment_keys(segments, cohorts))
    answer = funnels.run_funnel(backend, project, definition, query)
    header = COHORTS_PROPERTY if segments else group

    def metrics_of(entry: dict[str, Any]) -> dict[str, Any]:
        if header is None:
            return _funnel_metrics(entry["steps"])
        return {segment: _funnel_metrics(steps) for segment, steps in entry.items()}

    name = f"{definition.steps[0].event} through {definition.steps[-1].event}"
    data = answer["data"]
    if metric.trends:
        node: Any = {bucket_start_iso(day, timezone): metrics_of(entry) for day, entry in data.items()}
    else:
        node = metrics_of(next(iter(data.values())))
    return {name: node}, ["$metric", *([header] if header else [])]
