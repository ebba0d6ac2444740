"""Funnel metrics in the Insights API (what ``query_funnel`` posts): bookmark params with ``behavior.type ==
"funnel"`` run by the funnel engine (``services/funnels.py``; the definition as in ``services.funnel_definition``),
answered in the shape the client library reads.

``series = {"<first> through <last>": metrics}`` where ``metrics`` maps ``count``, ``step_conv_ratio``,
``overall_conv_ratio``, ``avg_time`` and ``avg_time_from_start`` (and with a property math ``property_<math>``,
below) to ``{"1. <event>": {"all": value}, …}``. One
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
* By a user profile property (``resourceType: people``): each user's attempts in the segment of their current
  profile value (one per item of a list value; ``"undefined"`` without one, as event metrics have it), whatever the
  attribution: the value is the user's, not a step's (docs/decisions/0036).
* ``customBucket`` on an event or profile property breakdown (any of the levels): the value the breakdown gives
  (for an event property, the attributed step's), its numbers then relabelled as their range, exactly as event
  metrics bucket (``query/number_buckets.py``, decision 0039: ``"lo - hi"``, ``"< min"``, ``"max+"``; keys that
  are not numbers and ``undefined`` kept). Bucketing each event's keys before the attribution picks a step gives
  the same segment: a step has keys after bucketing exactly when it had them before.

Cohort filters (``$cohorts`` entries of ``sections.filter``) and profile filters (``resourceType: people``): keep
only the step events of users in (or, ``does not contain``, out of) any of the entry's cohorts, or whose current
profile passes, so the funnel counts only those users' attempts, every step. Cohort members are worked out as of
today and bound as sets, as for event and retention metrics (docs/decisions/0035); profiles are the current ones,
by canonical id, so a device merged into a user counts under the user's profile (``services/insights_users.py``).

Property maths (``measurement.math`` ``average``, ``median``, ``min``, ``max``, ``p25``, ``p75``, ``p90``, ``p99`` or
``histogram`` of ``measurement.property``; docs/decisions/0037): the funnel counts uniques (``funnelReentryMode``
``optimized`` applies) and ``metrics`` gains ``property_<math>``, per step the math over the property's numbers on
the events that completed the step, one per attempt counted at the step (values that are not numbers ignored;
percentiles exact with linear interpolation, as event metrics'): a number, ``null`` when no counted attempt has a
number there; ``histogram``: ``{"<number>": attempts}``, ``{}`` when none. The counts stay: they are what the
aggregate runs over.

Counting a data group (``sections.globalDataGroupId`` or the metric's ``dataGroupId``, decision 0043): each group
stands as a user over the events whose group key names it (a list: each group; no value: no group), whoever did
them, so attempts, conversions and uniques are the groups'. Event-property filters and breakdowns work as for users;
profile filters and breakdowns read the group profiles (``/groups``) as user ones read the user profiles, the group
id standing as the user (decision 0046); cohort filters and breakdowns and session-based maths and windows are
refused (400) there.

Refused (400): more than ``MAX_BREAKDOWNS`` breakdowns, frequency filters and breakdowns, a time comparison of a
``histogram`` property math (its value is not one number).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, compile_values
from mixhouse.meta.records import Project
from mixhouse.query.funnel_shape import OVERALL, PATH_SEPARATOR
from mixhouse.query.group_source import group_ids_fragment
from mixhouse.query.number_buckets import NumberBuckets
from mixhouse.query.params import json_list
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services import funnels
from mixhouse.services.data_groups import report_data_group
from mixhouse.services.funnel_definition import FunnelDefinition, parse_definition
from mixhouse.services.insights_audience import CohortMembers, Profiles
from mixhouse.services.insights_params import parse_time
from mixhouse.services.insights_users import (
    Breakdown,
    EventProperty,
    UserFilters,
    UserSql,
    breakdown_buckets,
    bucketed,
    header,
    parse_breakdown,
    report_filters,
)
from mixhouse.storage.base import Backend

MAX_BREAKDOWNS = 3
FUNNEL_METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


def _breakdowns(sections: dict[str, Any]) -> tuple[tuple[Breakdown, NumberBuckets | None], ...]:
    """Each breakdown of ``sections.group``, in order: an event property, cohort segments or a profile property,
    with its ``customBucket`` buckets (``None``: raw values)."""
    groups = json_list(sections.get("group"), "sections.group")
    if len(groups) > MAX_BREAKDOWNS:
        raise ValidationError(f"a funnel metric takes at most {MAX_BREAKDOWNS} breakdowns")
    parsed = [(spec, parse_breakdown(spec, "funnel")) for spec in groups]
    return tuple((breakdown, breakdown_buckets(spec, breakdown)) for spec, breakdown in parsed)


def _engine_breakdowns(breakdowns: tuple[Breakdown, ...], buckets: tuple[NumberBuckets | None, ...],
                       users: UserSql) -> tuple[tuple[SqlFragment, bool], ...]:
    """Each breakdown's segment keys for the engine (numbers relabelled as ranges where it has buckets), and
    whether they are the user's (cohorts, profiles)."""
    return tuple(
        (bucketed(compile_values(spec.expr, replace(EVENT_CONTEXT, param_prefix=f"on{b}")), buckets[b],
                  f"fnb{b}"), False) if isinstance(spec, EventProperty)
        else (bucketed(users.keys(spec, b), buckets[b], f"fnb{b}"), True)
        for b, spec in enumerate(breakdowns)
    )


#: The answer's metrics: each one's name and the field of the engine's steps it reads.
Metrics = dict[str, str]


def _metrics_of(definition: FunnelDefinition) -> Metrics:
    """``FUNNEL_METRICS``, and with a property math ``property_<math>`` (the steps' ``value``)."""
    metrics = {metric: metric for metric in FUNNEL_METRICS}
    if definition.aggregate is not None:
        metrics[f"property_{definition.aggregate.math}"] = "value"
    return metrics


def _nested(found: dict[str, list[dict[str, Any]]], depth: int, metrics: Metrics) -> dict[str, Any]:
    """The engine's segments (``$overall`` and key paths) as Insights nests them: ``{"$overall": metrics, key:
    {"$overall": metrics, key: …}}`` down to metrics at ``depth`` keys."""
    root: dict[str, Any] = {OVERALL: _funnel_metrics(found[OVERALL], metrics)}
    paths = sorted((segment.split(PATH_SEPARATOR), steps) for segment, steps in found.items() if segment != OVERALL)
    for path, steps in paths:  # a prefix sorts before the paths it starts
        node = root
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = _funnel_metrics(steps, metrics) if len(path) == depth else {
            OVERALL: _funnel_metrics(steps, metrics)}
    return root


def _funnel_metrics(steps: list[dict[str, Any]], metrics: Metrics) -> dict[str, Any]:
    return {
        metric: {f"{k + 1}. {step['event']}": {"all": step[field]} for k, step in enumerate(steps)}
        for metric, field in metrics.items()
    }


@dataclass(frozen=True)
class FunnelMetric:
    """A parsed funnel metric: the funnel (without the user filters), its range and bucketing, whether it is a
    trend, the breakdowns (event properties, cohort segments, profile properties), each one's ``customBucket``
    buckets (``None``: raw values), and the cohort and profile filters (resolved when it runs)."""

    definition: FunnelDefinition
    dates: DateRange
    bucketing: Bucketing
    trends: bool
    breakdowns: tuple[Breakdown, ...]
    users: UserFilters
    buckets: tuple[NumberBuckets | None, ...] = ()
    data_group: str | None = None  # the group key counted (decision 0043); None: users


def funnel_metric(params: dict[str, Any], timezone: str) -> FunnelMetric:
    """A funnel metric from bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    sections = params["sections"]
    # the engine's definition takes the event-property filters; the cohort and profile ones become a condition on
    # the user
    event_filters, users = report_filters(sections, "funnel")
    definition = parse_definition({**params, "sections": {**sections, "filter": event_filters}}, timezone)
    dates, unit = parse_time(sections, timezone)
    check_not_future(dates, timezone)
    display = params.get("displayOptions") or {}
    trends = display.get("chartType") in ("line", "funnel-trend")
    if definition.aggregate is not None and definition.aggregate.math == "histogram" \
            and display.get("timeComparison") is not None:
        raise ValidationError("a time comparison needs numeric metrics; funnel math 'histogram' is not one number "
                              "per step")
    if trends:
        if unit == "hour":
            raise ValidationError("funnel trends are by day, week or month")
        bucketing = Bucketing(unit, timezone)
    else:
        days = (dates.to_date - dates.from_date).days + 1
        bucketing = Bucketing("day", timezone, days=days, anchor=dates.from_date)
    breakdowns = _breakdowns(sections)
    data_group = report_data_group(params)
    if data_group is not None:
        _check_group_funnel(definition, users, tuple(b for b, _ in breakdowns), data_group)
    return FunnelMetric(definition, dates, bucketing, trends, tuple(b for b, _ in breakdowns), users,
                        tuple(buckets for _, buckets in breakdowns), data_group)


def _check_group_funnel(definition: FunnelDefinition, users: UserFilters, breakdowns: tuple[Breakdown, ...],
                        data_group: str) -> None:
    """400 naming what a funnel counting groups cannot answer: cohorts (of users) and sessions (a user's). Profile
    filters and breakdowns name the group key (``data_groups.report_data_group``) and read its group profiles."""
    named = f"on a funnel metric that counts data group {data_group!r}"
    if users.cohorts or any(isinstance(spec, tuple) for spec in breakdowns):
        raise ValidationError(f"cohort filters and breakdowns are not supported {named}")
    if definition.window_sessions is not None or definition.per_session:
        raise ValidationError(f"session conversion windows and session counting are not supported {named}")


def run_funnel_metric(backend: Backend, project: Project, params: dict[str, Any],
                      cohorts: CohortMembers | None = None,
                      profiles: Profiles | None = None) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a funnel metric; ``cohorts`` gives the members of the cohorts it names,
    ``profiles`` the users' current profiles."""
    timezone = project.timezone or "UTC"
    metric = funnel_metric(params, timezone)
    definition, breakdowns = metric.definition, metric.breakdowns
    users = UserSql(cohorts, profiles, "fu")
    group_ids = None if metric.data_group is None else group_ids_fragment(metric.data_group)
    query = funnels.FunnelQuery(funnel_id=0, dates=metric.dates, bucketing=metric.bucketing, window_ms=None,
                                where=None, on=None, limit=funnels.MAX_LIMIT, user_where=users.where(metric.users),
                                breakdowns=_engine_breakdowns(breakdowns, metric.buckets, users), group_ids=group_ids)
    answer = funnels.run_funnel(backend, project, definition, query)
    headers = [header(spec) for spec in breakdowns]

    metrics = _metrics_of(definition)

    def metrics_of(entry: dict[str, Any]) -> dict[str, Any]:
        return _nested(entry, len(breakdowns), metrics) if breakdowns else _funnel_metrics(entry["steps"], metrics)

    name = f"{definition.steps[0].event} through {definition.steps[-1].event}"
    data = answer["data"]
    if metric.trends:
        node: Any = {bucket_start_iso(day, timezone): metrics_of(entry) for day, entry in data.items()}
    else:
        node = metrics_of(next(iter(data.values())))
    return {name: node}, ["$metric", *headers]
