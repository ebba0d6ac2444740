"""Flow paths on random event logs: the SQL path equals the brute-force reference.

Each example writes a small random log (a few users, five event names, close timestamps, duplicates, identity
merges) straight into the in-process storage under a fresh project id, then runs the service's path query.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.dates import DateRange
from mixhouse.meta.records import Project
from mixhouse.services import flows as service
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as ref
from tests.support.stored_log import write_log

_project_ids = itertools.count(90_000)
START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
MINUTE = 60_000

#: (user, name, minutes since that user's previous event); event n is shifted by n ms so times are unique.
events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "a", ""]), st.sampled_from(["A", "B", "C", "D", "A", "B"]),
              st.sampled_from([0, 1, 2, 5, 30, 120])),
    min_size=3, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
options = st.fixed_dictionaries({
    "forward": st.integers(0, 4),
    "reverse": st.integers(0, 3),
    "window_minutes": st.sampled_from([3, 10, 120, 1440 * 7]),
    "count": st.sampled_from(["unique", "total", "session"]),
    "window_sessions": st.sampled_from([None, None, 1, 2]),  # a conversion window in sessions instead
    "collapse": st.booleans(),
    "hidden": st.sampled_from([(), ("C",)]),
    "excluded": st.sampled_from([(), ("D",)]),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_sql_paths_equal_reference(backend: Any, log: list[tuple[str, str, int]], merged: dict[str, str],
                                   chosen: dict[str, Any]) -> None:
    pid = next(_project_ids)
    stored_log = [(user, name, START + 30 * MINUTE + _time(log, n % len(log)), f"i{n % len(log)}", {})
                  for n, (user, name, _) in enumerate(log + log[:2])]  # the first two again: resends
    sent = write_log(backend, pid, stored_log, merged)

    window = chosen["window_minutes"] * MINUTE if chosen["window_sessions"] is None else 366 * 86_400_000
    totals, per_session = chosen["count"] == "total", chosen["count"] == "session"
    query = service.FlowQuery(anchor="A", forward=chosen["forward"], reverse=chosen["reverse"],
                              dates=DateRange(date(2025, 3, 1), date(2025, 3, 2)), window_ms=window,
                              totals=totals, collapse=chosen["collapse"], hidden=chosen["hidden"],
                              excluded=chosen["excluded"], cardinality=3, per_session=per_session,
                              window_sessions=chosen["window_sessions"])
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    rows_out = service.flow_paths(backend, project, query)
    got = Counter({(reverse, forward): users for reverse, forward, users in rows_out})

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    expected = ref.flow_paths(stored, "A", date(2025, 3, 1), date(2025, 3, 2), forward=chosen["forward"],
                              reverse=chosen["reverse"], window=window, totals=totals,
                              collapse=chosen["collapse"], hidden=chosen["hidden"], excluded=chosen["excluded"],
                              per_session=per_session, window_sessions=chosen["window_sessions"])
    assert got == expected


def _time(log: list[tuple[str, str, int]], n: int) -> int:
    """Event n's offset: its user's running sum of gaps, plus n ms so no two events share a time."""
    user = log[n][0]
    return sum(gap for u, _, gap in log[: n + 1] if u == user) * MINUTE + n
