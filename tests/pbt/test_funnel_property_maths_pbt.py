"""Funnel property maths (decision 0037) on random event logs: per step, the SQL's aggregate of a numeric property
over the events that completed the step in the counted attempts equals the brute-force reference's (every
assignment of events to steps), counts included, whatever the order, anchors, exclusions, held property, session
window, optimized re-entry, breakdown attribution and buckets.

Each example writes a small random log (a few users, four event names, close timestamps, resends, identity merges)
whose ``p`` is a number, a numeric string, a boolean, a list or missing, straight into the in-process storage under
a fresh project id, then runs the funnel engine the Insights funnel metric runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.expr import parse
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.services import funnels as service
from mixhouse.services.funnel_definition import (
    PROPERTY_MATHS,
    FunnelDefinition,
    FunnelExclusion,
    FunnelStep,
    StepAggregate,
)
from tests.pbt.test_funnels_pbt import _free
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as ref
from tests.support.insights_http import close
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
USERS = ["a", "b", "c", "a", "b"]
NAMES = ["A", "B", "C", "X", "A", "B"]
#: ``p`` on an event: numbers (whole, fractional, negative, repeated), and values that are not numbers.
VALUES = [1, 2.5, 10, 10, -3, 0, 1e6, "7", True, [1, 2], None]

#: (user, name, seconds since that user's previous event, ``k``, ``p``); event n is shifted by n ms so no two events
#: share a time (the order of simultaneous events is not specified).
events = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(NAMES), st.sampled_from([-2, -1, 1, 2, 3, 5, 40, 900]),
              st.sampled_from(["x", "y", None]), st.sampled_from(VALUES)),
    min_size=8, max_size=36,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
options = st.fixed_dictionaries({
    "math": st.sampled_from(PROPERTY_MATHS),
    "steps": st.sampled_from([["A", "B"], ["A", "B", "C"], ["A", "B", "A"], ["B", "A", "C"]]),
    "window": st.sampled_from([3, 20, 120, 3600]),
    "exclude": st.booleans(),
    "held": st.sampled_from([False, False, True]),
    "on": st.booleans(),
    "interval": st.sampled_from([None, 2]),
    "optimized": st.booleans(),
    "window_sessions": st.sampled_from([None, None, None, 1]),
    "order": st.sampled_from(["loose", "loose", "any", "any-first-anchored", "any-middle-anchored"]),
    "attribution": st.sampled_from(["first_defined", "last_defined", 1]),
    "step_filter": st.sampled_from([None, None, 'properties["k"] != "y"']),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_step_aggregates_equal_the_reference(backend: Any, log: list[tuple[str, str, int, str | None, Any]],
                                             merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    clock: dict[str, int] = {}
    stored_log = []
    for n, (user, name, gap, k, p) in enumerate(log):
        clock[user] = clock.get(user, 0) + gap * 1000
        props = {**({} if k is None else {"k": k}), **({} if p is None else {"p": p})}
        stored_log.append((user, name, START + 60_000 + clock[user] + n, f"i{n}", props))
    sent = write_log(backend, pid, stored_log + stored_log[:3], merged)  # the first three again: resends

    names, math = chosen["steps"], chosen["math"]
    last = len(names) - 1
    sessions_window = chosen["window_sessions"]
    step_filter = chosen["step_filter"]
    attribution = chosen["attribution"]
    definition = FunnelDefinition(
        steps=tuple(FunnelStep(name) for name in names),
        window_ms=chosen["window"] * 1000 if sessions_window is None else 366 * 86_400_000,
        exclusions=(FunnelExclusion("X", 0, last),) if chosen["exclude"] else (),
        held=("k",) if chosen["held"] else (),
        optimized=chosen["optimized"],
        reentry="optimized" if chosen["optimized"] else "default",
        free=_free(chosen["order"], names),
        window_sessions=sessions_window,
        step_where=parse(step_filter) if step_filter else None,
        attribution=attribution,
        aggregate=StepAggregate(math, Property("p")),
    )
    params = {"funnel_id": "1", "from_date": "2025-03-01", "to_date": "2025-03-03"}
    if chosen["on"]:
        params["on"] = 'properties["k"]'
    if chosen["interval"]:
        params["interval"] = str(chosen["interval"])
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = service.run_funnel(backend, project, definition, service.parse_query(project, params))

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    expected = ref.funnel(
        stored, [ref.Step(name) for name in names], date(2025, 3, 1), date(2025, 3, 3),
        window=chosen["window"] * 1000,
        exclusions=[ref.Exclusion("X", 0, last)] if chosen["exclude"] else [],
        held=["k"] if chosen["held"] else [], on='properties["k"]' if chosen["on"] else None,
        interval=chosen["interval"], optimized=chosen["optimized"], free=_free(chosen["order"], names),
        window_sessions=sessions_window, attribution=attribution, where=step_filter,
        value_math=math, value_prop="p",
    )
    assert close(got, expected), (got, expected)
