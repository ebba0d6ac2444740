"""Insights funnel metrics with cohorts, user profiles and several breakdowns on random event logs: cohort and
profile breakdowns, cohort and profile filters and two or three nested breakdowns (cohorts, profile and event
properties) equal the brute-force funnel (``$overall`` over everyone, a filter over the kept users), for every
counting mode, attribution and chart.

Each example writes a small random log (a few users, close timestamps, resends, identity merges) straight into the
in-process storage under a fresh project id and runs the service the endpoint runs. Cohort members are an input of
the example (random sets of canonical ids, given to the service the way the server gives it saved cohorts' members):
what is checked is how the funnel uses them, not how cohorts are computed (``tests/e2e/test_insights_funnels.py``
checks that end to end). Profiles likewise: random current profiles of some ids (canonical or merged away), given
as the server's profile store gives them. Event and profile property breakdowns may put numbers in ``customBucket``
ranges (decision 0039), the reference bucketing the attributed keys with ``reference_buckets``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services.funnel_definition import funnel_params
from mixhouse.services.insights_funnel import run_funnel_metric
from mixhouse.services.insights_params import CohortRef
from tests.support import insights_funnel_layout as layout
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as ref
from tests.support.profile_strategies import profile_maps
from tests.support.reference_buckets import Buckets
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
FROM, TO = date(2025, 3, 1), date(2025, 3, 3)
USERS = ["a", "b", "c", "d", "a", "b"]
NAMES = ["A", "B", "C", "A", "B"]

events = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(NAMES), st.sampled_from([-1, 1, 2, 3, 40, 900, 30_000]),
              st.sampled_from(["x", "y", None])),
    min_size=6, max_size=36,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
canonical_users = st.frozensets(st.sampled_from(["a", "b", "c", "d"]))
options = st.fixed_dictionaries({
    "steps": st.sampled_from([["A", "B"], ["A", "B", "C"], ["B", "A"]]),
    "math": st.sampled_from(["conversion_rate_unique", "conversion_rate_total", "conversion_rate_session"]),
    "optimized": st.booleans(),
    "attribution": st.sampled_from([None, "last_defined", 2]),
    "chart": st.sampled_from(["funnel-steps", "line"]),
    "use": st.sampled_from(["breakdown", "filter", "excluding filter", "cohorts then k", "k then cohorts then j"]),
    "negated": st.booleans(),
})


class _Members:
    """The members of cohorts 1 and 2 (canonical ids), as the server's ``CohortMembers`` gives them."""

    def __init__(self, first: frozenset[str], second: frozenset[str]) -> None:
        self.sets = {1: set(first), 2: set(second)}

    def __call__(self, cohort: CohortRef) -> set[str]:
        return set(self.sets[cohort.cohort_id or 0])

    def as_of(self, cohort: CohortRef, day: date) -> set[str]:
        return self(cohort)


def _bookmark(names: list[str], chosen: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The funnel bookmark for ``chosen`` (math, re-entry, attribution, chart) over the whole range, and whether the
    re-entry is optimized."""
    bookmark = funnel_params(names, window=1, unit="hour")
    behavior = bookmark["sections"]["show"][0]["behavior"]
    bookmark["sections"]["show"][0]["measurement"]["math"] = chosen["math"]
    optimized = bool(chosen["optimized"]) and chosen["math"] == "conversion_rate_unique"
    if optimized:
        behavior["funnelReentryMode"] = "optimized"
    if chosen["attribution"] is not None:
        behavior["propertyAttribution"] = chosen["attribution"]
    bookmark["displayOptions"] = {"chartType": chosen["chart"]}
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    return bookmark, optimized

@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, first=canonical_users, second=canonical_users, chosen=options)
def test_cohorts_equal_the_reference_over_their_users(backend: Any, log: list[tuple[str, str, int, str | None]],
                                                      merged: dict[str, str], first: frozenset[str],
                                                      second: frozenset[str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    clock: dict[str, int] = {}
    stored_log = []
    for n, (user, name, gap, k) in enumerate(log):
        clock[user] = clock.get(user, 0) + gap * 1000
        props = {} if k is None else {"k": k, **({"j": n % 2} if n % 3 else {})}
        stored_log.append((user, name, START + 60_000 + clock[user] + n, f"i{n}", props))
    sent = write_log(backend, pid, stored_log + stored_log[:2], merged)
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]

    names, negated = chosen["steps"], chosen["negated"]
    bookmark, optimized = _bookmark(names, chosen)
    kept: set[str] | None = None
    everyone = {e.user for e in stored}
    one = everyone - first if negated else set(first)
    label = "Not In One" if negated else "One"

    def cohort_of(user: str) -> list[str]:
        return [name for name, users in ((label, one), ("Two", second)) if user in users]

    cohort_group = {"value": [label, "Two"], "resourceType": "events", "cohorts": [
        {"id": 1, "name": "One", "negated": negated}, {"id": 2, "name": "Two", "negated": False}]}
    breakdowns: list[Any] = []
    if chosen["use"] == "breakdown":
        bookmark["sections"]["group"] = [cohort_group]
        breakdowns = [cohort_of]
    elif chosen["use"] == "cohorts then k":
        bookmark["sections"]["group"] = [cohort_group, {"value": "k", "resourceType": "events"}]
        breakdowns = [cohort_of, 'properties["k"]']
    elif chosen["use"] == "k then cohorts then j":
        bookmark["sections"]["group"] = [{"value": "k", "resourceType": "events"}, cohort_group,
                                         {"value": "j", "resourceType": "events"}]
        breakdowns = ['properties["k"]', cohort_of, 'properties["j"]']
    else:
        excluded = chosen["use"] == "excluding filter"
        bookmark["sections"]["filter"] = [{
            "value": "$cohorts", "resourceType": "events", "filterType": "list",
            "filterOperator": "does not contain" if excluded else "contains",
            "filterValue": [{"cohort": {"id": 1, "name": "One", "negated": negated}},
                            {"cohort": {"id": 2, "name": "Two", "negated": False}}]}]
        either = (everyone - first if negated else set(first)) | set(second)
        kept = everyone - either if excluded else either
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    series, headers = run_funnel_metric(backend, project, bookmark, _Members(first, second))

    trends = chosen["chart"] == "line"
    attribution = chosen["attribution"]

    def reference(users: set[str], **more: Any) -> dict[str, dict[str, Any]]:
        found = ref.funnel([e for e in stored if e.user in users], [ref.Step(name) for name in names], FROM, TO,
                           window=3_600_000, **({} if trends else {"interval": 3}),
                           totals=chosen["math"] == "conversion_rate_total", optimized=optimized,
                           per_session=chosen["math"] == "conversion_rate_session",
                           attribution=(attribution - 1 if isinstance(attribution, int) else
                                        attribution or "first_defined"), limit=10_000, **more)
        return dict(found["data"])

    if kept is not None:
        per_key = {key: layout.metrics(entry["steps"]) for key, entry in reference(kept).items()}
    else:
        per_key = {key: layout.nested(found, len(breakdowns))
                   for key, found in reference(everyone, breakdowns=breakdowns).items()}
    expected = {f"{key}T00:00:00+00:00": node for key, node in per_key.items()} if trends else \
        next(iter(per_key.values()))
    name = f"{names[0]} through {names[-1]}"
    groups = bookmark["sections"]["group"]
    assert headers == ["$metric", *(g["value"] if isinstance(g["value"], str) else "$cohorts" for g in groups)]
    assert series == {name: expected}


PEOPLE_FILTERS = {  # bookmark filter -> the reference's expression over the profile
    "equals": ("equals", ["pro"], 'properties["plan"] == "pro"'),
    "does not equal": ("does not equal", ["pro"], 'not (properties["plan"] == "pro")'),
    "is set": ("is set", None, 'defined(properties["plan"])'),
    "is greater than": ("is greater than", [2], 'properties["seats"] > 2'),
}
profile_options = st.fixed_dictionaries({
    "steps": st.sampled_from([["A", "B"], ["A", "B", "C"], ["B", "A"]]),
    "math": st.sampled_from(["conversion_rate_unique", "conversion_rate_total", "conversion_rate_session"]),
    "optimized": st.booleans(),
    "attribution": st.sampled_from([None, "last_defined", 1]),
    "chart": st.sampled_from(["funnel-steps", "line"]),
    "filter": st.sampled_from([None, *PEOPLE_FILTERS]),
    "groups": st.sampled_from([(), ("plan",), ("seats",), ("plan", "k"), ("k", "plan", "cohort"),
                               ("cohort", "seats"), ("amt#",), ("seats#", "amt#"), ("k", "amt#", "seats#"),
                               ("cohort", "amt#")]),
    "buckets": st.sampled_from([Buckets(5), Buckets(2.5, 0, 10), Buckets(0.5, 1, 3), Buckets(1, -3, 9.99)]),
})
#: An event's ``amt`` (events with a ``k``): numbers on and between edges, a numeric string, text, a list.
AMOUNTS = [-3, 0, 2.5, 5, 9.99, 10, "7", "x", [1, 12], 1.5]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, profiles=profile_maps, members=canonical_users, chosen=profile_options)
def test_profile_filters_and_breakdowns_equal_the_reference(
        backend: Any, log: list[tuple[str, str, int, str | None]], merged: dict[str, str],
        profiles: dict[str, dict[str, Any]], members: frozenset[str], chosen: dict[str, Any]) -> None:
    """A profile filter keeps the users whose current profile passes (an empty profile passing ``does not equal``),
    a profile breakdown puts each user's attempts in their value's segments (every item of a list, ``undefined``
    without one) whatever the attribution, nested with cohort and event-property breakdowns."""
    pid = fresh_project_id()
    clock: dict[str, int] = {}
    stored_log = []
    for n, (user, name, gap, k) in enumerate(log):
        clock[user] = clock.get(user, 0) + gap * 1000
        stored_log.append((user, name, START + 60_000 + clock[user] + n, f"i{n}",
                           {} if k is None else {"k": k, "amt": AMOUNTS[n % len(AMOUNTS)]}))
    sent = write_log(backend, pid, stored_log + stored_log[:2], merged)
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]

    names = chosen["steps"]
    bookmark, optimized = _bookmark(names, chosen)
    people_where = None
    if chosen["filter"] is not None:
        operator, value, people_where = PEOPLE_FILTERS[chosen["filter"]]
        bookmark["sections"]["filter"] = [{"value": "plan" if "plan" in people_where else "seats",
                                           "resourceType": "people", "filterOperator": operator,
                                           **({"filterValue": value} if value is not None else {})}]
    groups: list[dict[str, Any]] = []
    breakdowns: list[Any] = []
    buckets = chosen["buckets"]
    bucket_spec = {"bucketSize": buckets.size, **({"min": buckets.low} if buckets.low is not None else {}),
                   **({"max": buckets.high} if buckets.high is not None else {})}
    for group in chosen["groups"]:
        if group.endswith("#"):
            prop = group[:-1]
            groups.append({"value": prop, "resourceType": "people" if prop == "seats" else "events",
                           "propertyType": "number", "customBucket": bucket_spec})
            breakdowns.append(ref.Profile(prop) if prop == "seats" else f'properties["{prop}"]')
        elif group == "cohort":
            groups.append({"value": ["One"], "resourceType": "events",
                           "cohorts": [{"id": 1, "name": "One", "negated": False}]})
            breakdowns.append(lambda user: ["One"] if user in members else [])
        elif group == "k":
            groups.append({"value": "k", "resourceType": "events"})
            breakdowns.append('properties["k"]')
        else:
            groups.append({"value": group, "resourceType": "people", "propertyType": "string"})
            breakdowns.append(ref.Profile(group))
    bookmark["sections"]["group"] = groups
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    series, headers = run_funnel_metric(backend, project, bookmark, _Members(members, frozenset()),
                                        lambda: sorted(profiles.items()))

    trends = chosen["chart"] == "line"
    attribution = chosen["attribution"]
    attributed = attribution - 1 if isinstance(attribution, int) else attribution or "first_defined"
    found = ref.funnel(stored, [ref.Step(name) for name in names], FROM, TO, window=3_600_000,
                       **({} if trends else {"interval": 3}), totals=chosen["math"] == "conversion_rate_total",
                       optimized=optimized, per_session=chosen["math"] == "conversion_rate_session",
                       attribution=attributed,
                       limit=10_000, breakdowns=breakdowns, profiles=profiles, people_where=people_where,
                       breakdown_buckets=[buckets if group.endswith("#") else None for group in chosen["groups"]])
    per_key = {key: layout.nested(per_segment, len(breakdowns)) if breakdowns else layout.metrics(per_segment["steps"])
               for key, per_segment in found["data"].items()}
    expected = {f"{key}T00:00:00+00:00": node for key, node in per_key.items()} if trends else \
        next(iter(per_key.values()))
    assert headers == ["$metric", *("$cohorts" if g == "cohort" else g.rstrip("#") for g in chosen["groups"])]
    assert series == {f"{names[0]} through {names[-1]}": expected}

