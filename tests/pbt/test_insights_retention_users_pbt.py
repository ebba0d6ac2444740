"""Insights retention metrics filtered and broken down by user — current profile properties and cohorts — on random
event logs equal the brute-force retention reference (births and returns of the kept users only; each user in their
profile value's segments, ``undefined`` without one, or their cohorts'), with the unbounded modes, cumulative
counting and custom brackets on top.

Each example writes a small random log (a few users, duplicates, identity merges) straight into the in-process
storage under a fresh project id and runs the service the endpoint runs. Profiles (of canonical or merged-away ids)
and cohort members are inputs, given as the server's profile store and cohorts give them. The birth event's ``amt``
and the profile's ``seats`` may be broken down in ``customBucket`` ranges (decision 0039), the reference bucketing
with ``reference_buckets``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services.insights_params import CohortRef
from mixhouse.services.insights_retention import MODES, run_retention_metric
from tests.support import reference_event_queries as events_ref
from tests.support import reference_retention as ref
from tests.support.profile_strategies import profile_maps
from tests.support.reference_buckets import Buckets
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
FROM, TO = date(2025, 3, 1), date(2025, 3, 6)
HOUR = 3_600_000
NAME = "A and then B"

events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", ""]), st.sampled_from(["A", "B"]), st.integers(-48, 24 * 8),
              st.integers(0, 59), st.sampled_from(["x", "y", None])),
    min_size=1, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
#: bookmark filter (property, operator, value) -> the reference's expression over the profile
PEOPLE_FILTERS = {
    "equals": ("plan", "equals", ["pro"], 'properties["plan"] == "pro"'),
    "does not equal": ("plan", "does not equal", ["pro"], 'not (properties["plan"] == "pro")'),
    "is not set": ("plan", "is not set", None, 'not defined(properties["plan"])'),
    "is less than": ("seats", "is less than", [5], 'properties["seats"] < 5'),
}
BUCKETS = st.sampled_from([Buckets(5), Buckets(2.5, 0, 10), Buckets(0.5, 1, 3), Buckets(1, -3, 9.99)])
options = st.fixed_dictionaries({
    "unit": st.sampled_from(["day", "week"]),
    "mode": st.sampled_from(["none", "carry_back", "carry_forward", "consecutive_forward"]),
    "cumulative": st.booleans(),
    "sizes": st.one_of(st.just([]), st.lists(st.integers(1, 3), min_size=1, max_size=3)),
    "filter": st.sampled_from([None, "cohort", *PEOPLE_FILTERS]),
    "group": st.sampled_from([None, "plan", "plan", "seats", "k", "cohort", "amt#", "amt#", "seats#", "seats#"]),
    "buckets": BUCKETS,
})
#: An event's ``amt`` (events with a ``k``): numbers on and between edges, a numeric string, text, a list.
AMOUNTS = [-3, 0, 2.5, 5, 9.99, 10, "7", "x", [1, 12], 1.5]


class _Members:
    """The members of cohort 1 (canonical ids), as the server's ``CohortMembers`` gives them."""

    def __init__(self, members: frozenset[str]) -> None:
        self.members = set(members)

    def __call__(self, cohort: CohortRef) -> set[str]:
        return set(self.members)

    def as_of(self, cohort: CohortRef, day: date) -> set[str]:
        return self(cohort)


def _node(found: dict[str, Any]) -> dict[str, Any]:
    """The Insights cohorts and ``$average`` the reference's ``/retention`` answer implies (every bucket of these
    past cohorts complete, so the average adds them all up)."""
    def entry(first: int, values: list[int]) -> dict[str, Any]:
        return {"first": first, "counts": values, "rates": [round(v / first, 4) if first else 0 for v in values]}

    node = {f"{day}T00:00:00+00:00": entry(c["first"], c["counts"]) for day, c in found.items()}
    totals = [sum(values) for values in zip(*(c["counts"] for c in found.values()), strict=True)]
    node["$average"] = entry(sum(c["first"] for c in found.values()), totals)
    return node


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, profiles=profile_maps, members=st.frozensets(st.sampled_from(["a", "b", "c", "d"])),
       chosen=options)
def test_user_filters_and_breakdowns_equal_the_reference(
        backend: Any, log: list[tuple[str, str, int, int, str | None]], merged: dict[str, str],
        profiles: dict[str, dict[str, Any]], members: frozenset[str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    stored_log = [(user, name, START + hour * HOUR + minute * 60_000, f"i{n % len(log)}",
                   {} if k is None else {"k": k, "amt": AMOUNTS[n % len(AMOUNTS)]})
                  for n, (user, name, hour, minute, k) in enumerate(log + log[:3])]  # resends of three
    sent = write_log(backend, pid, stored_log, merged)
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]

    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events", "retentionUnit": chosen["unit"],
        "retentionCustomBucketSizes": chosen["sizes"], "retentionUnboundedMode": chosen["mode"],
        "behaviors": [{"type": "event", "name": "A", "filters": []}, {"type": "event", "name": "B", "filters": []}]}
    filters: list[dict[str, Any]] = []
    more: dict[str, Any] = {}
    if chosen["filter"] == "cohort":
        filters.append({"value": "$cohorts", "resourceType": "events", "filterOperator": "contains",
                        "filterValue": [{"cohort": {"id": 1, "name": "One", "negated": False}}]})
        more["keep_user"] = members.__contains__
    elif chosen["filter"] is not None:
        prop, operator, value, more["people_where"] = PEOPLE_FILTERS[chosen["filter"]]
        filters.append({"value": prop, "resourceType": "people", "filterOperator": operator,
                        **({"filterValue": value} if value is not None else {})})
    group = chosen["group"]
    groups: list[dict[str, Any]] = []
    if group == "cohort":
        groups.append({"value": ["One"], "resourceType": "events",
                       "cohorts": [{"id": 1, "name": "One", "negated": False}]})
        more["segments_of_user"] = lambda user: ["One"] if user in members else []
    elif group == "k":
        groups.append({"value": "k", "resourceType": "events"})
        more["on"] = 'properties["k"]'
    elif group is not None and group.endswith("#"):
        buckets = chosen["buckets"]
        groups.append({"value": group[:-1], "resourceType": "user" if group == "seats#" else "events",
                       "propertyType": "number", "customBucket": {
                           "bucketSize": buckets.size, **({"min": buckets.low} if buckets.low is not None else {}),
                           **({"max": buckets.high} if buckets.high is not None else {})}})
        more["on_buckets"] = buckets
        more["people_on" if group == "seats#" else "on"] = "seats" if group == "seats#" else 'properties["amt"]'
    elif group is not None:
        groups.append({"value": group, "resourceType": "user"})
        more["people_on"] = group
    bookmark = {"displayOptions": {"chartType": "retention-curve"},
                "sections": {"show": [{"type": "metric", "behavior": behavior,
                                       "measurement": {"math": "retention_rate",
                                                       "retentionCumulative": chosen["cumulative"]}}],
                             "time": [{"dateRangeType": "between", "unit": "day",
                                       "value": [FROM.isoformat(), TO.isoformat()]}],
                             "filter": filters, "group": groups}}
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    series, headers = run_retention_metric(backend, project, bookmark, _Members(members),
                                           lambda: sorted(profiles.items()))

    span = (TO - FROM).days + 1
    mode = chosen["mode"]
    common: dict[str, Any] = {
        "born_event": "A", "event": "B", "unit": chosen["unit"],
        "interval_count": {"day": span, "week": math.ceil(span / 7)}[chosen["unit"]],
        "unbounded_retention": mode == "carry_back", "on_or_before": mode == "carry_forward",
        "consecutive": mode == "consecutive_forward", "cumulative": chosen["cumulative"],
        "bracket_sizes": chosen["sizes"], "profiles": profiles, "limit": 10_000,
        **{key: value for key, value in more.items() if key in ("keep_user", "people_where")}}
    overall = _node(ref.retention(stored, FROM, TO, **common))
    if group is None:
        assert headers == ["$metric"]
        assert series == {NAME: overall}
        return
    split = ref.retention(stored, FROM, TO, **common,
                          **{key: value for key, value in more.items() if key in ("segments_of_user", "on",
                                                                                  "people_on", "on_buckets")})
    assert headers == ["$metric", "$cohorts" if group == "cohort" else group.rstrip("#")]
    assert series == {NAME: {"$overall": overall, **{segment: _node(found) for segment, found in split.items()}}}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(births=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 140),
                                 st.sampled_from([*AMOUNTS, None])), min_size=1, max_size=8),
       returns=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(-10, 160)), max_size=16),
       profiles=profile_maps, by_profile=st.booleans(), buckets=BUCKETS, mode=st.sampled_from(MODES))
def test_bucketed_breakdowns_equal_the_reference(
        backend: Any, births: list[tuple[str, int, Any]], returns: list[tuple[str, int]],
        profiles: dict[str, dict[str, Any]], by_profile: bool, buckets: Buckets, mode: str) -> None:
    """Every example has births in the range: each born user in the bucket of their birth event's ``amt`` or of
    their profile's ``seats`` (numbers on edges, below min, at or above max, text, lists, no value)."""
    pid = fresh_project_id()
    stored_log = [(user, "A", START + hour * HOUR + n, f"a{n}", {} if amount is None else {"amt": amount})
                  for n, (user, hour, amount) in enumerate(births)]
    stored_log += [(user, "B", START + hour * HOUR + 30 * 60_000 + n, f"b{n}", {})
                   for n, (user, hour) in enumerate(returns)]
    sent = write_log(backend, pid, stored_log, {})
    stored = events_ref.load(sent)
    spec = {"bucketSize": buckets.size, **({"min": buckets.low} if buckets.low is not None else {}),
            **({"max": buckets.high} if buckets.high is not None else {})}
    group = {"value": "seats", "resourceType": "user"} if by_profile else {"value": "amt", "resourceType": "events"}
    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events", "retentionUnit": "day", "retentionUnboundedMode": mode,
        "behaviors": [{"type": "event", "name": "A", "filters": []}, {"type": "event", "name": "B", "filters": []}]}
    bookmark = {"displayOptions": {"chartType": "retention-curve"},
                "sections": {"show": [{"type": "metric", "behavior": behavior,
                                       "measurement": {"math": "retention_rate"}}],
                             "time": [{"dateRangeType": "between", "unit": "day",
                                       "value": [FROM.isoformat(), TO.isoformat()]}],
                             "filter": [], "group": [{**group, "propertyType": "number", "customBucket": spec}]}}
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    series, headers = run_retention_metric(backend, project, bookmark, _Members(frozenset()),
                                           lambda: sorted(profiles.items()))
    common: dict[str, Any] = {
        "born_event": "A", "event": "B", "interval_count": (TO - FROM).days + 1, "profiles": profiles,
        "unbounded_retention": mode == "carry_back", "on_or_before": mode == "carry_forward",
        "consecutive": mode == "consecutive_forward", "limit": 10_000}
    split = ref.retention(stored, FROM, TO, **common, on_buckets=buckets,
                          **({"people_on": "seats"} if by_profile else {"on": 'properties["amt"]'}))
    assert headers == ["$metric", group["value"]]
    assert series == {NAME: {"$overall": _node(ref.retention(stored, FROM, TO, **common)),
                             **{segment: _node(found) for segment, found in split.items()}}}
