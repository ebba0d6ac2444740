"""Funnels on random event logs: the SQL path (greedy matching) equals the brute-force reference (every
assignment of events to steps), and step counts never increase. The options vary together: counting and re-entry
modes, any order with anchors first, last or between free steps, breakdown attribution, behavior filters.

Each example writes a small random log (a few users, four event names, close timestamps so the 2-second grace and
the window matter, duplicates, identity merges) straight into the in-process storage under a fresh project id, then
runs the service the endpoint runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.expr import parse
from mixhouse.meta.records import Project
from mixhouse.services import funnels as service
from mixhouse.services.funnel_definition import FunnelDefinition, FunnelExclusion, FunnelStep
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as ref
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
USERS = ["a", "b", "c", "a", "b", ""]  # mostly two users: dense logs
NAMES = ["A", "B", "C", "X", "A", "B"]  # step names more often

#: (user, name, seconds since that user's previous event (in units of `seconds`), property value). Each user's events
#: run forward from the range's start with small gaps, sometimes slightly backwards, so steps, the 2-second grace
#: and the window all come into play; event n is shifted by n ms so no two events share a time (the order of
#: simultaneous events is not specified).
events = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(NAMES), st.sampled_from([-2, -1, 1, 1, 2, 3, 5, 40, 900]),
              st.sampled_from(["x", "y", None])),
    min_size=8, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
options = st.fixed_dictionaries({
    "steps": st.sampled_from([["A", "B"], ["A", "B", "C"], ["A", "B", "A"], ["B", "A", "C"], ["A", "A", "B", "C"]]),
    "window": st.sampled_from([3, 20, 120, 3600]),  # in units of `seconds`
    "seconds": st.sampled_from([1, 1, 60]),
    "exclude": st.booleans(),
    "held": st.booleans(),
    "on": st.sampled_from([False, True, True]),
    "interval": st.sampled_from([None, 2]),
    # optimized: uniques with optimized re-entry; sessions: the first step-1 event of each session is an entry;
    # totals with each re-entry mode (uniques and sessions ignore the mode: "uniques-aggressive")
    "counting": st.sampled_from(["uniques", "uniques-aggressive", "totals", "totals-basic", "totals-aggressive",
                                 "optimized", "sessions"]),
    "window_sessions": st.sampled_from([None, None, 1, 2]),  # a conversion window in sessions instead
    # any order: which steps are free (the others anchored at their position)
    "order": st.sampled_from(["loose", "loose", "any", "any-first-anchored", "any-last-anchored",
                              "any-middle-anchored", "any-middle-anchored"]),
    # which step gives the segment (a step number beyond the funnel is its last step)
    "attribution": st.sampled_from(["first_defined", "last_defined", 0, 1, 3]),
    # behavior.filter: a filter on every step's events
    "step_filter": st.sampled_from([None, None, 'properties["k"] != "y"']),
})


def _free(order: str, names: list[str]) -> frozenset[int]:
    """The free steps; ``any-middle-anchored`` anchors step ``n // 2`` between free ones (three or more steps),
    ``any-x-anchored`` the X step."""
    n = len(names)
    return {"loose": frozenset(), "any": frozenset(range(n)), "any-first-anchored": frozenset(range(1, n)),
            "any-last-anchored": frozenset(range(n - 1)),
            "any-middle-anchored": frozenset(range(n)) - {n // 2},
            "any-x-anchored": frozenset(k for k, name in enumerate(names) if name != "X")}[order]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_sql_equals_reference(backend: Any, log: list[tuple[str, str, int, str | None]], merged: dict[str, str],
                              chosen: dict[str, Any]) -> None:
    _check(backend, log, merged, chosen)


#: Anchored steps between free ones, where the split of the free steps among the runs matters: logs of the step
#: events only, mostly one user's, mostly more than the grace apart (within it, order does not matter), funnels
#: whose anchor (X) leaves a choice of free steps before it. Half the logs start with a trap for A B X C in any
#: order with X anchored: A C B X C (filling position 2 with the earliest free event, C, leaves no B after X).
_anchored_names = st.one_of(
    st.lists(st.sampled_from(["A", "B", "C", "X"]), min_size=8, max_size=16),
    st.tuples(st.permutations(["A", "B", "C"]), st.lists(st.sampled_from(["A", "B", "C", "X"]), max_size=4)).map(
        lambda trap: [trap[0][0], trap[0][1], trap[0][2], "X", trap[0][1], *trap[1]]),
)
anchored_events = _anchored_names.flatmap(lambda names: st.tuples(*(
    st.tuples(st.sampled_from(["a", "a", "a", "b"]), st.just(name), st.sampled_from([3, 5, 40, -1]),
              st.sampled_from(["x", "y", None]))
    for name in names)).map(list))
anchored_options = st.fixed_dictionaries({
    "steps": st.sampled_from([["A", "B", "X", "C"], ["A", "B", "X", "C"], ["A", "B", "X", "C", "A"],
                              ["A", "X", "B", "C"], ["X", "A", "B", "X", "C"]]),
    "window": st.sampled_from([120, 3600, 3600]),
    "seconds": st.just(1),
    "exclude": st.just(False),
    "held": st.booleans(),
    "on": st.booleans(),
    "interval": st.just(None),
    "counting": st.sampled_from(["uniques", "totals", "optimized"]),
    "window_sessions": st.just(None),
    "order": st.just("any-x-anchored"),
    "attribution": st.sampled_from(["first_defined", "last_defined", 2]),
    "step_filter": st.just(None),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=anchored_events, chosen=anchored_options)
def test_anchors_between_free_steps_equal_reference(backend: Any, log: list[tuple[str, str, int, str | None]],
                                                    chosen: dict[str, Any]) -> None:
    _check(backend, log, {}, chosen)


def _check(backend: Any, log: list[tuple[str, str, int, str | None]], merged: dict[str, str],
           chosen: dict[str, Any]) -> None:
    """Write ``log``, run the funnel ``chosen`` describes through the service and the reference: equal answers,
    step counts that never increase."""
    pid = fresh_project_id()
    clock: dict[str, int] = {}
    times = []
    for n, (user, _, gap, _) in enumerate(log):
        clock[user] = clock.get(user, 0) + gap * chosen["seconds"] * 1000
        times.append(START + 60_000 + clock[user] + n)
    stored_log = [(user, name, times[n % len(log)], f"i{n % len(log)}", {} if k is None else {"k": k})
                  for n, (user, name, _, k) in enumerate(log + log[:3])]  # the first three again: resends
    sent = write_log(backend, pid, stored_log, merged)

    names = chosen["steps"]
    last = len(names) - 1
    sessions_window = chosen["window_sessions"]
    counting, _, reentry = chosen["counting"].partition("-")
    reentry = "optimized" if counting == "optimized" else reentry or "default"
    attribution = chosen["attribution"] if isinstance(chosen["attribution"], str) else min(chosen["attribution"], last)
    step_filter = chosen["step_filter"]
    definition = FunnelDefinition(
        steps=tuple(FunnelStep(name) for name in names),
        window_ms=chosen["window"] * chosen["seconds"] * 1000 if sessions_window is None else 366 * 86_400_000,
        exclusions=(FunnelExclusion("X", 0, last),) if chosen["exclude"] else (),
        held=("k",) if chosen["held"] else (),
        totals=counting == "totals",
        optimized=counting == "optimized",
        free=_free(chosen["order"], names),
        window_sessions=sessions_window,
        per_session=counting == "sessions",
        reentry=reentry,
        step_where=parse(step_filter) if step_filter else None,
        attribution=attribution,
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
        window=chosen["window"] * chosen["seconds"] * 1000,
        exclusions=[ref.Exclusion("X", 0, last)] if chosen["exclude"] else [],
        held=["k"] if chosen["held"] else [], on='properties["k"]' if chosen["on"] else None,
        interval=chosen["interval"], totals=counting == "totals",
        optimized=counting == "optimized", free=_free(chosen["order"], names),
        window_sessions=sessions_window, per_session=counting == "sessions", reentry=reentry,
        attribution=attribution, where=step_filter,
    )
    assert got == expected
    for per_date in got["data"].values():
        for steps in ([per_date["steps"]] if not chosen["on"] else list(per_date.values())):
            counts = [step["count"] for step in steps]
            assert counts == sorted(counts, reverse=True)
