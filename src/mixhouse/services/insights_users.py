"""Who a funnel or retention metric of the Insights API counts, and how it splits them by user: the report filters
and breakdowns that are about the user rather than an event — cohorts (``$cohorts``) and user profile properties
(``resourceType: people`` or ``user``) — read from bookmark params and turned into SQL over the event source's
canonical ``distinct_id`` (every value bound: member sets and profile maps are parameters).

* A cohort filter keeps the users in (``does not contain``: out of) any of its cohorts; a profile filter the users
  whose current profile passes (an empty profile passing, users without one too). Both run as a condition every
  event the metric reads must pass, so they restrict users, never single events.
* A cohort breakdown puts each user in the segment of every cohort they belong to (``"Not In …"`` for negated
  entries), users in none in no segment; a profile breakdown in the segment of their current value of the property
  (one per item of a list value), users without one in ``"undefined"``, as event metrics' profile breakdowns do.
  A property breakdown's ``customBucket`` puts its numbers in ranges (``breakdown_buckets``, ``bucketed``;
  decision 0039, the labels and edges of event metrics).
* Frequency filters and breakdowns (``behaviorType: $frequency``) are refused (400) by name.

Cohort members are worked out as of today (``CohortMembers``); profiles are the users' current ones, by canonical
id, as ``/engage`` keeps them (``insights_audience.ProfileTests``), read once per answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment
from mixhouse.expr.ast import Expr, Property
from mixhouse.query.custom_properties import custom_property_expr, custom_property_label, has_custom_property
from mixhouse.query.funnel_shape import UNDEFINED_SEGMENT
from mixhouse.query.number_buckets import NumberBuckets, bucketed_keys_sql
from mixhouse.query.params import json_list
from mixhouse.services.cohort_sql import MemberTests
from mixhouse.services.insights_audience import CohortMembers, Profiles, ProfileTests
from mixhouse.services.insights_params import (
    EVENT_RESOURCES,
    PEOPLE_RESOURCES,
    CohortFilter,
    CohortSegments,
    cohort_filter,
    cohort_segments,
    is_cohort_filter,
    is_frequency,
    is_people,
    profile_filter,
)
from mixhouse.services.property_buckets import property_buckets


@dataclass(frozen=True)
class ProfileProperty:
    """A breakdown by a user profile property: each user in the segment of their current value."""

    name: str


@dataclass(frozen=True)
class EventProperty:
    """A breakdown by an event property, or by an inline custom property over event properties (decision 0040):
    the header the answer names it by, and the expression whose values are the segment keys."""

    name: str
    expr: Expr


#: A funnel or retention breakdown: an event (or custom) property, cohort segments, or a profile property.
Breakdown = EventProperty | CohortSegments | ProfileProperty


@dataclass(frozen=True)
class UserFilters:
    """The report filters that pick users: cohort filters, and the profile filters joined as one expression."""

    cohorts: tuple[CohortFilter, ...] = ()
    profile: Expr | None = None


def report_filters(sections: dict[str, Any], metric: str) -> tuple[list[Any], UserFilters]:
    """``sections.filter`` split into the event-property filter specs and the user filters; ``metric`` (``funnel``,
    ``retention``) names the metric in refusals."""
    specs = json_list(sections.get("filter"), "sections.filter")
    if any(is_frequency(spec) for spec in specs):
        raise ValidationError(f"frequency filters (users who did an event N times) on {metric} metrics are not "
                              "supported yet")
    users = UserFilters(tuple(cohort_filter(spec) for spec in specs if is_cohort_filter(spec)), profile_filter(specs))
    return [spec for spec in specs if not is_cohort_filter(spec) and not is_people(spec)], users


def parse_breakdown(spec: Any, metric: str) -> Breakdown:
    """One ``sections.group`` entry: cohort segments, a profile property, or an event (or custom) property."""
    if isinstance(spec, dict) and spec.get("cohorts") is not None:
        return cohort_segments(spec)
    if is_frequency(spec):
        raise ValidationError(f"frequency breakdowns (how many times users did an event) on {metric} metrics are "
                              "not supported yet")
    name = spec.get("value") if isinstance(spec, dict) else None
    resource = spec.get("resourceType", "events") if isinstance(spec, dict) else None
    if resource in EVENT_RESOURCES and has_custom_property(spec):
        return EventProperty(custom_property_label(spec), custom_property_expr(spec))
    if not isinstance(name, str) or not name or resource not in (*EVENT_RESOURCES, *PEOPLE_RESOURCES):
        raise ValidationError(f"a {metric} metric is broken down by event or user profile properties or by "
                              "cohorts only")
    return ProfileProperty(name) if resource in PEOPLE_RESOURCES else EventProperty(name, Property(name))


def breakdown_buckets(spec: Any, breakdown: Breakdown) -> NumberBuckets | None:
    """The ``customBucket`` buckets of a property breakdown (event or profile property; ``None``: raw values).
    Cohort breakdowns have no numbers to bucket: theirs is ignored, as event metrics ignore it."""
    if isinstance(breakdown, tuple) or not isinstance(spec, dict):
        return None
    return property_buckets(spec.get("customBucket"))


def bucketed(keys: SqlFragment, buckets: NumberBuckets | None, prefix: str) -> SqlFragment:
    """``keys`` (an ``Array(String)`` of segment keys) with their numbers relabelled as the ranges of ``buckets``
    (unchanged without buckets); the bucket parameters are named ``{prefix}_…``."""
    if buckets is None:
        return keys
    fragment = bucketed_keys_sql(keys.sql, buckets, prefix)
    return SqlFragment(fragment.sql, {**keys.params, **fragment.params})


def header(spec: Breakdown) -> str:
    """A breakdown's header in the answer: the property's name (a custom property's ``name``, else its formula), or
    ``$cohorts``."""
    return spec.name if isinstance(spec, EventProperty | ProfileProperty) else "$cohorts"


class UserSql:
    """The SQL of a metric's user filters and user breakdowns, each fragment with only its own parameters. Cohorts
    and profiles are read when a fragment needs them (profiles once)."""

    def __init__(self, cohorts: CohortMembers | None, profiles: Profiles | None, prefix: str) -> None:
        self._cohorts, self._profiles, self._prefix = cohorts, profiles, prefix
        self._profile_tests: ProfileTests | None = None

    def _profile(self) -> ProfileTests:
        """The profile tests, their parameters emptied for the next fragment."""
        if self._profile_tests is None:
            self._profile_tests = ProfileTests(self._profiles)
        self._profile_tests.params.clear()
        return self._profile_tests

    def where(self, filters: UserFilters) -> SqlFragment | None:
        """Every user filter's condition (``None`` without any)."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if filters.cohorts:
            members = MemberTests(self._cohorts, params)
            conditions.extend(members.filter_conditions(filters.cohorts, f"{self._prefix}cf"))
        if filters.profile is not None:
            profile = self._profile()
            conditions.append(profile.filter_condition(filters.profile, f"{self._prefix}pf"))
            params.update(profile.params)
        return SqlFragment(" AND ".join(f"({c})" for c in conditions), params) if conditions else None

    def keys(self, spec: CohortSegments | ProfileProperty, position: int) -> SqlFragment:
        """The user's segment keys (``Array(String)``) of a cohort or profile breakdown at ``position``: a profile
        breakdown's ``["undefined"]`` for a user without a value, a cohort breakdown's ``[]`` for a user in none."""
        name = f"{self._prefix}g{position}"
        if isinstance(spec, ProfileProperty):
            profile = self._profile()
            found = profile.segment_keys(spec.name, name)
            return SqlFragment(f"if(empty({found}), ['{UNDEFINED_SEGMENT}'], {found})", dict(profile.params))
        members = MemberTests(self._cohorts)
        return SqlFragment(members.segment_keys(spec, name), members.params)
