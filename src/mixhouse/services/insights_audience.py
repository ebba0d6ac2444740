"""Who an Insights metric counts: frequency filters (users who did an event N times) and filters and breakdowns on
user profile properties, as SQL conditions and segment keys over the event source (every value bound).

Profile filters become a set of users (``IN``, or ``NOT IN`` the users who fail when an empty profile passes);
profile breakdowns a map from user to segment keys (``ProfileTests``, which funnel and retention metrics use too).
Profiles are the users' current ones, by canonical id, as ``/engage`` keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr import Record, compile_filter, evaluate, keeps, segment_keys
from mixhouse.expr.ast import Expr, Property
from mixhouse.query.frequency_filters import frequency_condition_sql
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services.cohort_sql import MemberTests
from mixhouse.services.insights_params import CohortRef, FrequencyFilter, InsightsQuery

#: The project's user profiles, read when an answer needs them: (canonical distinct id, properties).
Profiles = Callable[[], list[tuple[str, dict[str, Any]]]]
class CohortMembers(Protocol):
    """The members (canonical ids) of a cohort a report names, worked out when an answer needs them: as of today,
    or (``as_of``) the end of a given day."""

    def __call__(self, ref: CohortRef) -> set[str]: ...

    def as_of(self, ref: CohortRef, day: date) -> set[str]: ...


def frequency_sql(prefix: str, frequency: FrequencyFilter, dates: DateRange, timezone: str,
                   params: dict[str, Any]) -> str:
    """The condition of a frequency filter, its parameters added to ``params``."""
    from_ms, to_ms = (frequency.dates or dates).bounds_ms(timezone)
    params.update({f"{prefix}_event": frequency.event, f"{prefix}_from_ms": from_ms, f"{prefix}_to_ms": to_ms,
                   f"{prefix}_a": frequency.values[0]})
    if len(frequency.values) > 1:
        params[f"{prefix}_b"] = frequency.values[1]
    where_sql = None
    if frequency.where is not None:
        fragment = compile_filter(frequency.where, replace(EVENT_CONTEXT, param_prefix=f"{prefix}w"))
        where_sql = fragment.sql
        params.update(fragment.params)
    return frequency_condition_sql(prefix, frequency.operator, frequency.values, where_sql)


@dataclass(frozen=True)
class PeopleSql:
    """What profile-property filters and breakdowns add to a metric's SQL (all values bound parameters)."""

    conditions: tuple[str, ...] = ()
    keys: dict[int, str] = field(default_factory=dict)  # group position -> Array(String) keys of the user
    params: dict[str, Any] = field(default_factory=dict)


def _cohort_sql(query: InsightsQuery, cohorts: CohortMembers | None, conditions: list[str],
                keys: dict[int, str], params: dict[str, Any]) -> None:
    """Cohort filters as ``IN`` conditions and cohort breakdowns as segment keys (members bound as sets)."""
    if not query.cohort_filters and not query.cohort_groups:
        return
    tests = MemberTests(cohorts, params)
    conditions.extend(tests.filter_conditions(query.cohort_filters, "cohort_f"))
    for position, segments in query.cohort_groups:
        keys[position] = tests.segment_keys(segments, f"cohort_g{position}")


class ProfileTests:
    """Conditions and segment keys over the users' current profiles (the event source's ``distinct_id`` being the
    canonical id); the profiles are read once, and ``params`` collects the bound user sets and key maps. Shared by
    event, funnel and retention metrics."""

    def __init__(self, profiles: Profiles | None, params: dict[str, Any] | None = None) -> None:
        if profiles is None:
            raise ValidationError("filters and breakdowns on user profile properties need the server's profiles")
        self.snapshot = profiles()
        self.params: dict[str, Any] = params if params is not None else {}

    def filter_condition(self, where: Expr, name: str) -> str:
        """The users whose profile passes ``where``, bound as ``{name}``: ``IN`` the passing users, or, when an empty
        profile passes (so users without one pass too), ``NOT IN`` the failing ones."""
        passing = [uid for uid, props in self.snapshot if keeps(where, Record("", 0, uid, props))]
        if keeps(where, Record("", 0, "", {})):
            kept = set(passing)
            self.params[name] = [uid for uid, _ in self.snapshot if uid not in kept]
            return f"distinct_id NOT IN {{{name}:Array(String)}}"
        self.params[name] = passing
        return f"distinct_id IN {{{name}:Array(String)}}"

    def segment_keys(self, prop: str, name: str) -> str:
        """The user's segment keys of profile property ``prop`` (``Array(String)``: one per item of a list value,
        empty without a value), from a map bound as ``{name}``."""
        expr = Property(prop)
        found = {uid: segment_keys(evaluate(expr, Record("", 0, uid, props))) for uid, props in self.snapshot}
        self.params[name] = {uid: values for uid, values in found.items() if values}
        return f"{{{name}:Map(String, Array(String))}}[distinct_id]"


def people_sql(query: InsightsQuery, profiles: Profiles | None, cohorts: CohortMembers | None = None) -> PeopleSql:
    """The conditions, breakdown keys and parameters of the query's profile and cohort filters and breakdowns."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    keys: dict[int, str] = {}
    _cohort_sql(query, cohorts, conditions, keys, params)
    cohort_positions = {position for position, _ in query.cohort_groups}
    profile_groups = sorted(query.people_groups - cohort_positions)
    if query.people_where is None and not profile_groups:
        return PeopleSql(tuple(conditions), keys, params)
    tests = ProfileTests(profiles, params)
    if query.people_where is not None:
        conditions.append(tests.filter_condition(query.people_where, "people_f"))
    for n in profile_groups:
        keys[n] = tests.segment_keys(query.groups[n], f"people_g{n}")
    return PeopleSql(tuple(conditions), keys, params)
