"""Insights event metrics that count groups rather than users (group analytics, decision 0043).

The report's data group (``services/data_groups.py``) names a group key, an event property: each event belongs to
the groups its value names (a list: each distinct item; no value: no group, and the event is not counted by any
metric of the report). Then (``query/group_source.py``):

- ``unique`` counts distinct groups; ``dau``/``wau``/``mau`` count the groups active on the day or in the 7 or 30
  days ending on it; ``cumulative_unique`` counts groups first seen by the end of each bucket;
- a per-user aggregation (``perUserAggregation``) is per group: each group's value over its events (an event with
  two groups counts for both), then the math across groups;
- ``total`` counts the events that belong to a group, each once however many groups it names; the property maths
  (sum, average, percentiles, ``unique_values``, ``histogram``/``numeric_summary`` without a per-user step,
  ``most_frequent``, ``first_value``) read those same events, each once;
- event-property filters and breakdowns work as for users; filters and breakdowns on profile properties
  (``resourceType: people`` with the report's ``dataGroupId``) read the group profiles ``/groups`` stored under the
  group key, by group id. A filter keeps a row when one of its groups passes (for a per-event math: an event counts
  when any of its groups passes); a breakdown puts each group in its value's segment (a per-event math puts the
  event in the segments of all its groups, counted once in ``$overall``), ``undefined`` for a group without the
  property or without a profile.

Refused by name (400) in a report that counts groups, being about users: cohort filters, breakdowns and metrics,
frequency filters and breakdowns, ``sessions`` and ``multi_attribution``. Funnel and retention metrics count
groups in ``services/insights_funnel.py`` and ``services/insights_retention.py``, flows in ``services/flows.py``
(decision 0046).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr import Record, evaluate, keeps, segment_keys
from mixhouse.expr.ast import Expr, Property
from mixhouse.query.group_source import GROUP_IDS, GroupActors, group_ids_fragment
from mixhouse.query.segmentation import UNDEFINED_SEGMENT
from mixhouse.services.insights_audience import PeopleSql
from mixhouse.services.insights_measurement import ACTIVE_DAYS
from mixhouse.services.insights_params import InsightsQuery, Metric

#: The project's group profiles under a group key, read when an answer needs them: (group id, properties).
GroupProfiles = Callable[[str], list[tuple[str, dict[str, Any]]]]
#: Maths that count groups (one row per event and group); the others read each event once.
PER_GROUP_MATHS = ("unique", "cumulative_unique", *ACTIVE_DAYS)
_USER_MATHS = {"sessions": "sessions are a user's", "multi_attribution": "touchpoints are followed per user"}


def check_group_query(query: InsightsQuery) -> None:
    """400 naming what a report counting a data group cannot answer (see the module docstring)."""
    if query.data_group is None:
        return
    named = f"in a report that counts data group {query.data_group!r}"
    if query.cohort_filters or query.cohort_groups or any(m.cohort is not None for m in query.metrics):
        raise ValidationError(f"cohorts (of users) are not supported {named}")
    if query.frequency or query.frequency_groups:
        raise ValidationError(f"frequency filters and breakdowns (how often a user did an event) are not supported "
                              f"{named}")
    for metric in query.metrics:
        if metric.math in _USER_MATHS:
            raise ValidationError(f"math {metric.math!r} is not supported {named}: {_USER_MATHS[metric.math]}")


def metric_actors(query: InsightsQuery, metric: Metric, params: dict[str, Any]) -> GroupActors | None:
    """How ``metric`` reads groups (``None`` when the report counts users); the group key's parameters are added to
    ``params``."""
    if query.data_group is None:
        return None
    fragment = group_ids_fragment(query.data_group)
    params.update(fragment.params)
    return GroupActors(fragment.sql, metric.math in PER_GROUP_MATHS or metric.per_user is not None)


class GroupProfileTests:
    """Conditions and segment keys over the current group profiles of the rows' ``group_ids``; ``params``
    collects the bound group sets and key maps."""

    def __init__(self, group_profiles: GroupProfiles | None, group_key: str, params: dict[str, Any]) -> None:
        if group_profiles is None:
            raise ValidationError("filters and breakdowns on group profile properties need the server's group "
                                  "profiles")
        self.snapshot = group_profiles(group_key)
        self.params = params

    def filter_condition(self, where: Expr, name: str) -> str:
        """Rows with a group whose profile passes ``where`` (a group without a profile has an empty one)."""
        passing = [gid for gid, props in self.snapshot if keeps(where, Record("", 0, gid, props))]
        if keeps(where, Record("", 0, "", {})):
            kept = set(passing)
            self.params[name] = [gid for gid, _ in self.snapshot if gid not in kept]
            return f"arrayExists(g -> NOT has({{{name}:Array(String)}}, g), {GROUP_IDS})"
        self.params[name] = passing
        return f"arrayExists(g -> has({{{name}:Array(String)}}, g), {GROUP_IDS})"

    def segment_keys(self, prop: str, name: str) -> str:
        """The segment keys of group profile property ``prop`` over the row's groups: each group's (one per item of
        a list value), ``undefined`` for a group without a value."""
        expr = Property(prop)
        found = {gid: segment_keys(evaluate(expr, Record("", 0, gid, props))) for gid, props in self.snapshot}
        self.params[name] = {gid: values for gid, values in found.items() if values}
        keys = f"{{{name}:Map(String, Array(String))}}[g]"
        return f"arrayDistinct(arrayFlatten(arrayMap(g -> if(empty({keys}), ['{UNDEFINED_SEGMENT}'], {keys}), " \
               f"{GROUP_IDS})))"


def group_people_sql(query: InsightsQuery, group_profiles: GroupProfiles | None) -> PeopleSql:
    """The conditions, breakdown keys and parameters of the query's group-profile filters and breakdowns."""
    assert query.data_group is not None
    if query.people_where is None and not query.people_groups:
        return PeopleSql()
    params: dict[str, Any] = {}
    tests = GroupProfileTests(group_profiles, query.data_group, params)
    conditions = [] if query.people_where is None else [tests.filter_condition(query.people_where, "group_f")]
    keys = {n: tests.segment_keys(query.groups[n], f"group_g{n}") for n in sorted(query.people_groups)}
    return PeopleSql(tuple(conditions), keys, params)
