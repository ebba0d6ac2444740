"""Reads of the by-user copy of the events: the same rows as the table, the same retention answers, and chosen only
where every touched part has the copy and the range covers nearly all of their rows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.timeutil import ms_to_ch
from mixhouse.meta.records import Project
from mixhouse.query.by_user_reads import COVERAGE_SQL, by_user_pays, coverage_params
from mixhouse.query.events_source import events_source_sql
from mixhouse.services.retention import parse_query, retention
from mixhouse.storage.commit import IDENTITY_COLUMNS
from mixhouse.storage.schema import EVENT_COLUMNS, EVENTS_TABLE, IDENTITY_TABLE
from tests.support.stored_log import fresh_project_id

_seq = itertools.count(10_000_000)
_DAY_MS = 86_400_000
#: 2017-05-01 and 2017-03-01: months no other test writes, so their parts hold only these tests' rows.
_COVERAGE_MONTH_MS = 1_493_596_800_000
_RETENTION_MONTH_MS = 1_488_326_400_000


def _row(project_id: int, name: str, distinct_id: str, ms: int, insert_id: str) -> bytes:
    line = "\t".join([str(project_id), ms_to_ch(ms), name, distinct_id, insert_id, str(next(_seq)), "{}"])
    return line.encode() + b"\n"


def _project(project_id: int) -> Project:
    return Project(id=project_id, organization_id=1, name="p", timezone="UTC", token="t", identity_mode="simplified",
                   created_at=datetime.now(UTC))


def test_by_user_copy_reads_the_same_rows(backend: Any) -> None:
    pid = fresh_project_id()
    at = _RETENTION_MONTH_MS
    rows = [_row(pid, name, user, at + i * 3_600_000, f"i{i % 4}")
            for i, (name, user) in enumerate(itertools.product("ABC", ["u1", "u2", "u3"]))]
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(rows + rows[:3]), "TabSeparated")  # with resends
    columns = "event, time_ms, raw_distinct_id, insert_id, seq, properties"
    table = backend.query_rows(
        f"SELECT {columns} FROM ({events_source_sql(identity=False, dedup=False)}) ORDER BY seq", {"project_id": pid})
    copy = backend.query_rows(
        f"SELECT {columns} FROM ({events_source_sql(identity=False, dedup=False, by_user=True)}) ORDER BY seq",
        {"project_id": pid})
    assert len(table) == 12
    assert copy == table


def test_chosen_only_where_the_range_covers_the_parts(backend: Any) -> None:
    pid = fresh_project_id()
    start = _COVERAGE_MONTH_MS
    rows = [_row(pid, "A", f"u{i % 7}", start + i * _DAY_MS // 2, f"c{i}") for i in range(60)]  # 30 days
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(rows), "TabSeparated")

    def pays(from_ms: int, to_ms: int) -> bool:
        return by_user_pays(backend.query_rows(COVERAGE_SQL, coverage_params(from_ms, to_ms)))

    assert pays(start - _DAY_MS, start + 60 * _DAY_MS)  # the whole span and more
    assert pays(start + 2 * _DAY_MS, start + 40 * _DAY_MS)  # over 90 % of it
    assert not pays(start + 10 * _DAY_MS, start + 20 * _DAY_MS)  # a third: the table's day order skips the rest
    assert not pays(start - 20 * _DAY_MS, start - 10 * _DAY_MS)  # no part touched
    assert not by_user_pays([])


def test_a_part_without_the_copy_keeps_the_table() -> None:
    assert not by_user_pays([{"parts": 3, "without_copy": 1, "touched": 100, "inside": 100}])
    assert by_user_pays([{"parts": 3, "without_copy": 0, "touched": 100, "inside": 80}])
    assert not by_user_pays([{"parts": 3, "without_copy": 0, "touched": 100, "inside": 79}])


_events = st.lists(
    st.tuples(st.sampled_from(["Sign Up", "View", "Buy"]), st.integers(0, 5), st.integers(0, 27 * 24),
              st.integers(0, 3)),
    min_size=1, max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_events, merges=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=3),
       options=st.sampled_from([
           {"unit": "day", "born_event": "Sign Up", "interval_count": "10"},
           {"unit": "week", "interval_count": "3", "born_event": "View"},
           {"unit": "day", "born_event": "Sign Up", "unbounded_retention": "1", "interval_count": "5"},
           {"unit": "week", "alignment": "calendar", "born_event": "Buy", "interval_count": "2"},
           {"retention_type": "compounded", "unit": "day", "interval_count": "7"},
       ]))
def test_retention_answers_the_same_from_either_copy(
    backend: Any, events: list[tuple[str, int, int, int]], merges: list[tuple[int, int]], options: dict[str, str]
) -> None:
    pid = fresh_project_id()
    at = _RETENTION_MONTH_MS
    rows = [_row(pid, name, f"d{user}", at + hour * 3_600_000, f"x{dup}-{hour}") for name, user, hour, dup in events]
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(rows), "TabSeparated")
    merged = [{"project_id": pid, "id": f"d{a}", "canonical": f"d{b}", "seq": next(_seq)} for a, b in merges if a != b]
    if merged:
        backend.insert_rows(IDENTITY_TABLE, IDENTITY_COLUMNS, b"".join(orjson.dumps(m) + b"\n" for m in merged))
    query = parse_query(_project(pid), {"from_date": "2017-03-01", "to_date": "2017-03-20", **options})
    from_table = retention(backend, _project(pid), query, by_user=False)
    from_copy = retention(backend, _project(pid), query, by_user=True)
    assert from_copy == from_table
