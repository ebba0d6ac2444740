"""Flows read from the by-user copy of settled events equal the brute-force reference.

A flow with no filters, sessions or segments reads the by-user copy without ``FINAL``. When every month it scans is
one merged part (``query.by_user_reads.by_user_exact``) the copy holds one copy of each event; otherwise the flow
drops copies as it reads (each event packed with a hash of its insert id). Each example writes a random log
(duplicates, identity merges) into a month no other test uses, merges that month as background merges would, checks
the copy is read and the paths equal the reference; then every event again in a new, unmerged part (resends): the
copy is still read, its copies dropped, and the paths are the same.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.dates import DateRange
from mixhouse.meta.records import Project
from mixhouse.services import flows as service
from tests.pbt.test_flows_pbt import MINUTE, _time, events, merges
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as ref
from tests.support.stored_log import fresh_project_id, write_log

DAY = date(2019, 7, 10)
START = int(datetime(2019, 7, 10, tzinfo=UTC).timestamp() * 1000)
PARTITION = "201907"

anchors = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 3), st.integers(0, 2)),
                   min_size=1, max_size=2)
options = st.fixed_dictionaries({
    "window_minutes": st.sampled_from([3, 120, 1440 * 7]),
    "totals": st.booleans(),
    "collapse": st.booleans(),
    "excluded": st.sampled_from([(), ("D",)]),
})


class _Recording:
    """The backend, keeping the SQL it was asked to run."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.sql: list[str] = []

    def query_rows(self, sql: str, params: Any = None) -> Any:
        self.sql.append(sql)
        return self._backend.query_rows(sql, params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, steps=anchors, chosen=options)
def test_by_user_paths_equal_reference(backend: Any, log: list[tuple[str, str, int, str | None]],
                                       merged: dict[str, str], steps: list[tuple[str, int, int]],
                                       chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    stored_log = [(user, name, START + 30 * MINUTE + _time(log, n % len(log)), f"i{n % len(log)}", {})
                  for n, (user, name, _, _) in enumerate(log + log[:2])]  # the first two again: resends
    sent = write_log(backend, pid, stored_log, merged)
    backend.query_rows(f"OPTIMIZE TABLE events PARTITION {PARTITION} FINAL")
    window = chosen["window_minutes"] * MINUTE
    query = service.FlowQuery(
        anchors=tuple(service.FlowAnchor(name, forward, reverse, None, None) for name, forward, reverse in steps),
        dates=DateRange(DAY, DAY), window_ms=window, totals=chosen["totals"], collapse=chosen["collapse"],
        hidden=(), excluded=chosen["excluded"], cardinality=3)
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    recording = _Recording(backend)
    got = Counter({(reverse, after, keys): users
                   for reverse, after, keys, users in service.flow_rows(recording, project, query)})
    if any(name == steps[0][0] for _, name, _, _ in log):
        assert "mergeTreeProjection" in recording.sql[-1]

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    expected = ref.flow_outcomes(
        stored, [ref.Anchor(name, forward, reverse, None) for name, forward, reverse in steps], DAY, DAY,
        window=window, totals=chosen["totals"], collapse=chosen["collapse"], hidden=(),
        excluded=chosen["excluded"], per_session=False, window_sessions=None, where=None, segments=[], profiles={})
    assert got == expected

    write_log(backend, pid, stored_log, {})  # every event resent, in a new, unmerged part: two copies of each
    recording.sql.clear()
    again = Counter({(reverse, after, keys): users
                     for reverse, after, keys, users in service.flow_rows(recording, project, query)})
    assert again == expected
    if any(name == steps[0][0] for _, name, _, _ in log):
        assert "mergeTreeProjection" in recording.sql[-1] and "cityHash64(insert_id)" in recording.sql[-1]

