"""Retention on random event logs: the SQL path equals the brute-force reference, and its invariants hold.

Each example writes a small random log (a few users, two event names, duplicates, identity merges) straight into the
in-process storage under a fresh project id, then runs the service the endpoint runs.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services import retention as service
from tests.support import reference_event_queries as events_ref
from tests.support import reference_retention as ref
from tests.support.stored_log import write_log

_project_ids = itertools.count(50_000)
START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
USERS = ["a", "b", "c", "d", ""]

events = st.lists(
    st.tuples(st.sampled_from(USERS), st.sampled_from(["A", "B"]), st.integers(-48, 24 * 12),
              st.integers(0, 59), st.sampled_from(["x", "y", None])),
    min_size=1, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
options = st.fixed_dictionaries({
    "retention_type": st.sampled_from(["birth", "compounded"]),
    "event": st.sampled_from([None, "A", "B"]),
    "unit": st.sampled_from(["day", "week"]),
    "interval": st.integers(1, 3),
    "interval_count": st.integers(1, 5),
    "mode": st.sampled_from(["on", "on or after", "on or before"]),  # the last is Insights' carry_forward
    "on": st.sampled_from([None, 'properties["k"]']),
    "alignment": st.sampled_from(["rolling", "calendar"]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_sql_equals_reference(backend: Any, log: list[tuple[str, str, int, int, str | None]],
                              merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid = next(_project_ids)
    stored_log = [(user, name, START + hour * HOUR + minute * 60_000, f"i{n % len(log)}", {} if k is None else {"k": k})
                  for n, (user, name, hour, minute, k) in enumerate(log + log[:3])]  # the first three again: resends
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
    query = replace(service.parse_query(project, params), on_or_before=chosen["mode"] == "on or before")
    got = service.retention(backend, project, query)

    stored = [e for e in events_ref.load(sent)]
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in stored]
    expected = ref.retention(stored, date(2025, 3, 1), date(2025, 3, 6), born_event=born_event, event=event,
                             retention_type=kind, unit=chosen["unit"], interval=chosen["interval"],
                             interval_count=chosen["interval_count"],
                             unbounded_retention=chosen["mode"] == "on or after", on=chosen["on"],
                             on_or_before=chosen["mode"] == "on or before",
                             alignment=chosen["alignment"])
    assert got == expected
    for per in ([got] if chosen["on"] is None else list(got.values())):
        for entry in per.values():
            assert all(0 <= count <= entry["first"] for count in entry["counts"])
