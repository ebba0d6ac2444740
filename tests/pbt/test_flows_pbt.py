"""Flow paths on random event logs: the SQL path equals the brute-force reference.

Each example writes a small random log (a few users, five event names, close timestamps, a property, duplicates,
identity merges) straight into the in-process storage under a fresh project id, then runs the service's path query:
one to three anchor steps (with step filters, or session starts/ends), a filter on every event (event or profile
properties), segments (event and profile properties, event counts).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.dates import DateRange
from mixhouse.expr import parse
from mixhouse.meta.records import Project
from mixhouse.services import flows as service
from mixhouse.services.insights_frequency import CountBuckets, FrequencyBreakdown
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as ref
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000

#: (user, name, minutes since that user's previous event, plan); event n is shifted by n ms so times are unique.
events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "a", ""]), st.sampled_from(["A", "B", "C", "D", "A", "B"]),
              st.sampled_from([0, 1, 2, 5, 30, 120]), st.sampled_from(["free", "pro", None])),
    min_size=3, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
steps = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "D", "A", "$session_start", "$session_end"]), st.integers(0, 3),
              st.integers(0, 2),
              st.sampled_from([None, None, 'properties["plan"] == "pro"', 'user["tier"] == "gold"'])),
    min_size=1, max_size=3,
)
options = st.fixed_dictionaries({
    "window_minutes": st.sampled_from([3, 10, 120, 1440 * 7]),
    "count": st.sampled_from(["unique", "total", "session"]),
    "window_sessions": st.sampled_from([None, None, 1, 2]),  # a conversion window in sessions instead
    "collapse": st.booleans(),
    "hidden": st.sampled_from([(), ("C",)]),
    "excluded": st.sampled_from([(), ("D",)]),
    "where": st.sampled_from([None, None, 'properties["plan"] != "free"', 'user["tier"] == "gold"']),
    # tier: a profile property; B: how many times the user did B (counts 1–2, 3–4, 5+ and "< 1")
    "segments": st.sampled_from([(), (), ("plan",), ("tier",), ("plan", "tier"), ("B",)]),
})
#: User profiles (canonical id → properties); "b" has none.
PROFILES = {"a": {"tier": "gold"}, "c": {"tier": "silver"}}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, anchors=steps, chosen=options)
def test_sql_paths_equal_reference(backend: Any, log: list[tuple[str, str, int, str | None]],
                                   merged: dict[str, str], anchors: list[tuple[str, int, int, str | None]],
                                   chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    kinds = {"$session_start": "start", "$session_end": "end"}
    anchors = [(name, forward, reverse, None if name in kinds else test) for name, forward, reverse, test in anchors]
    stored_log = [(user, name, START + 30 * MINUTE + _time(log, n % len(log)), f"i{n % len(log)}",
                   {} if plan is None else {"plan": plan})
                  for n, (user, name, _, plan) in enumerate(log + log[:2])]  # the first two again: resends
    sent = write_log(backend, pid, stored_log, merged)

    window = chosen["window_minutes"] * MINUTE if chosen["window_sessions"] is None else 366 * 86_400_000
    totals, per_session = chosen["count"] == "total", chosen["count"] == "session"
    segments = chosen["segments"] if anchors[0][0] not in kinds else tuple(set(chosen["segments"]) - {"plan"})
    hidden = tuple(name for name in chosen["hidden"] if name not in {step[0] for step in anchors})  # as parse_flow
    query = service.FlowQuery(
        anchors=tuple(service.FlowAnchor(name, forward, reverse, parse(test) if test else None, kinds.get(name))
                      for name, forward, reverse, test in anchors),
        dates=DateRange(date(2025, 3, 1), date(2025, 3, 2)), window_ms=window, totals=totals,
        collapse=chosen["collapse"], hidden=hidden, excluded=chosen["excluded"], cardinality=3,
        per_session=per_session, window_sessions=chosen["window_sessions"],
        where=parse(chosen["where"]) if chosen["where"] else None,
        segments=tuple(_segment(name) for name in segments))
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = Counter({(reverse, after, keys): users
                   for reverse, after, keys, users in service.flow_rows(backend, project, query,
                                                                       profiles=lambda: list(PROFILES.items()))})

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    expected = ref.flow_outcomes(
        stored, [ref.Anchor(*step, session_event=kinds.get(step[0])) for step in anchors], date(2025, 3, 1),
        date(2025, 3, 2), window=window,
        totals=totals, collapse=chosen["collapse"], hidden=hidden,
        excluded=chosen["excluded"], per_session=per_session, window_sessions=chosen["window_sessions"],
        where=chosen["where"], segments=[_reference_segment(name) for name in segments],
        profiles=PROFILES)
    assert got == expected


def _segment(name: str) -> service.FlowSegment:
    if name == "B":
        return service.FlowSegment(label="B Frequency", frequency=FrequencyBreakdown("B", None, None,
                                                                                      CountBuckets(2, 1, 5)))
    return service.FlowSegment(label=name, property=name, on_profile=name == "tier")


def _reference_segment(name: str) -> str | ref.ProfileSegment | ref.FrequencySegment:
    if name == "B":
        return ref.FrequencySegment("B", date(2025, 3, 1), date(2025, 3, 2), buckets=(2, 1, 5))
    return ref.ProfileSegment(name) if name == "tier" else name


def _time(log: list[tuple[str, str, int, str | None]], n: int) -> int:
    """Event n's offset: its user's running sum of gaps, plus n ms so no two events share a time."""
    user = log[n][0]
    return sum(gap for u, _, gap, _ in log[: n + 1] if u == user) * MINUTE + n
