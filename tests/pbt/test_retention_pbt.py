"""Retention on random event logs: the SQL path equals the brute-force reference, and its invariants hold.

Each example writes a small random log (a few users, two event names, a numeric property, duplicates, identity
merges) straight into the in-process storage under a fresh project id, then runs the service the endpoint runs, with
the Insights options (modes, cumulative, custom brackets, sums over the returning events) on top.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services import retention as service
from mixhouse.services.insights_retention import summed_value
from tests.support import reference_event_queries as events_ref
from tests.support import reference_retention as ref
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
USERS = ["a", "b", "c", "d", ""]

events = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(["A", "B"]), st.integers(-48, 24 * 12),
              st.integers(0, 59), st.sampled_from(["x", "y", None]), st.sampled_from([None, 1, 2.5, -3, "7"])),
    min_size=1, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
options = st.fixed_dictionaries({
    "retention_type": st.sampled_from(["birth", "compounded"]),
    "event": st.sampled_from([None, "A", "B"]),
    "unit": st.sampled_from(["day", "week"]),
    "interval": st.integers(1, 3),
    "interval_count": st.integers(1, 5),
    # Insights' carry_back is "on or after", carry_forward "on or before", consecutive_forward "consecutive"
    "mode": st.sampled_from(["on", "on or after", "on or before", "consecutive"]),
    "cumulative": st.booleans(),
    "brackets": st.one_of(st.just(()), st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)),
    "measure": st.sampled_from(["users", "users", "events", "sum"]),
    "on": st.sampled_from([None, 'properties["k"]']),
    "alignment": st.sampled_from(["rolling", "calendar"]),
})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_sql_equals_reference(backend: Any, log: list[tuple[str, str, int, int, str | None, Any]],
                              merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    stored_log = [(user, name, START + hour * HOUR + minute * 60_000, f"i{n % len(log)}",
                   {**({} if k is None else {"k": k}), **({} if number is None else {"n": number})})
                  for n, (user, name, hour, minute, k, number) in enumerate(log + log[:3])]  # resends of three
    sent = write_log(backend, pid, stored_log, merged)

    kind = chosen["retention_type"]
    born_event = "A" if kind == "birth" else None
    event = chosen["event"] if kind == "birth" or chosen["event"] else "B"
    params = {"from_date": "2025-03-01", "to_date": "2025-03-06", "retention_type": kind, "unit": chosen["unit"],
              "interval": str(chosen["interval"]), "interval_count": str(chosen["interval_count"]),
              "unbounded_retention": str(chosen["mode"] == "on or after").lower(), "alignment": chosen["alignment"]}
    for name, value in (("born_event", born_event), ("event", event), ("on", chosen["on"])):
        if value is not None:
            params[name] = value
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    brackets = chosen["brackets"]
    measure = "users" if chosen["measure"] == "users" else "events"
    value = None
    if chosen["measure"] == "sum":
        value = summed_value({"property": {"name": "n"}}, "total")
    query = replace(service.parse_query(project, params), on_or_before=chosen["mode"] == "on or before",
                    consecutive=chosen["mode"] == "consecutive", cumulative=chosen["cumulative"],
                    bracket_sizes=brackets, measure=measure, value=value,
                    **({"interval": 1, "interval_count": len(brackets)} if brackets else {}))
    got = service.retention(backend, project, query)

    stored = [e for e in events_ref.load(sent)]
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in stored]
    expected = ref.retention(stored, date(2025, 3, 1), date(2025, 3, 6), born_event=born_event, event=event,
                             retention_type=kind, unit=chosen["unit"], interval=chosen["interval"],
                             interval_count=chosen["interval_count"],
                             unbounded_retention=chosen["mode"] == "on or after", on=chosen["on"],
                             on_or_before=chosen["mode"] == "on or before",
                             consecutive=chosen["mode"] == "consecutive", cumulative=chosen["cumulative"],
                             bracket_sizes=brackets, measure=measure,
                             value_property="n" if chosen["measure"] == "sum" else None,
                             alignment=chosen["alignment"])
    assert _close(got, expected)
    length = (len(brackets) if brackets else chosen["interval_count"]) + 1
    for per in ([got] if chosen["on"] is None else list(got.values())):
        for entry in per.values():
            counts = entry["counts"]
            assert len(counts) == length
            if measure == "users":
                assert all(0 <= count <= entry["first"] for count in counts)  # never more than the cohort
                if chosen["cumulative"]:
                    assert counts == sorted(counts)  # cumulative curves never decrease
                if chosen["mode"] == "on or after" and not chosen["cumulative"]:
                    assert counts == sorted(counts, reverse=True)
                if chosen["mode"] == "consecutive":
                    assert counts[1:] == sorted(counts[1:], reverse=True)  # a streak to k is one to k - 1
            elif chosen["measure"] == "events" and chosen["cumulative"]:
                assert counts == sorted(counts)


def _close(got: Any, want: Any) -> bool:
    """Equal, floats to rounding (sums add up in another order)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(_close(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_close, got, want))
    if isinstance(want, float) or isinstance(got, float):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want) and type(got) is type(want)
