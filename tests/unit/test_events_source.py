"""The event source every query reads: canonical ids after merges, dedup with the latest copy winning."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import orjson
import pytest

from mixhouse.core.timeutil import ms_to_ch
from mixhouse.expr import compile_filter, parse
from mixhouse.query.events_source import events_source_sql, over_events, uses_canonical_id
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.storage.commit import IDENTITY_COLUMNS
from mixhouse.storage.schema import EVENT_COLUMNS, EVENTS_TABLE, HOT_COLUMNS, HOT_PROPERTIES, IDENTITY_TABLE
from tests.support.stored_log import fresh_project_id

_seq = itertools.count(1)


def _event(project_id: int, name: str, distinct_id: str, ms: int, insert_id: str, **props: Any) -> bytes:
    row = {"project_id": project_id, "time": ms_to_ch(ms), "event": name, "distinct_id": distinct_id,
           "insert_id": insert_id, "seq": next(_seq), "properties": props}
    return orjson.dumps(row) + b"\n"


def _rows(backend: Any, project_id: int, *, dedup: bool) -> list[dict[str, Any]]:
    sql = f"SELECT event, distinct_id, insert_id, properties FROM ({events_source_sql(identity=True, dedup=dedup)})"
    sql += " ORDER BY seq"
    return backend.query_rows(sql, {"project_id": project_id})


#: 2019-03-01, a month no other test writes: the rows below are the only part of their partition, so no background
#: merge can compact them while the test reads (merges combine two or more parts of one partition).
_LONELY_MONTH_MS = 1_551_398_400_000


def test_duplicates_count_once_latest_copy_wins(backend: Any) -> None:
    pid = fresh_project_id()
    at = _LONELY_MONTH_MS
    lines = [
        _event(pid, "Buy", "u1", at, "dup-1", version=1),
        _event(pid, "Buy", "u1", at, "dup-1", version=2),  # same key, ingested later: wins
        _event(pid, "Buy", "u1", at + 1, "dup-1", version=3),  # other time: not a duplicate
        _event(pid, "Buy", "u2", at, "dup-1", version=4),  # other user: not a duplicate
        _event(pid, "View", "u1", at, "dup-1", version=5),  # other event: not a duplicate
        _event(pid, "View", "u1", at, "dup-2", version=6),  # other insert id: not a duplicate
    ]
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(lines))
    deduped = _rows(backend, pid, dedup=True)
    versions = sorted(orjson.loads(row["properties"])["version"] for row in deduped)
    assert versions == [2, 3, 4, 5, 6]
    assert len(_rows(backend, pid, dedup=False)) == 6  # raw reads (export) see every copy until compaction


def test_duplicates_across_inserts_latest_copy_wins(backend: Any) -> None:
    pid = fresh_project_id()
    for version in (1, 2, 3):  # three inserts, three parts: FINAL merges them at read time
        backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, _event(pid, "Buy", "u1", 1_700_000_000_000, "x", v=version))
    assert [orjson.loads(row["properties"])["v"] for row in _rows(backend, pid, dedup=True)] == [3]


def test_identity_is_joined_only_when_the_query_reads_distinct_id() -> None:
    assert uses_canonical_id("SELECT uniqExact(distinct_id) FROM t")
    assert not uses_canonical_id("SELECT raw_distinct_id, e.distinct_id FROM t WHERE x = {distinct_id_0:String}")
    with_users = over_events("SELECT count(), uniqExact(distinct_id) FROM ({events_source})")
    without = over_events("SELECT count() FROM ({events_source})")
    assert "identity" in with_users and "identity" not in without
    assert "identity" in over_events("SELECT count() FROM ({events_source})", ["distinct_id = 'a'"])


def test_identity_rows_rewrite_ids_and_latest_mapping_wins(backend: Any) -> None:
    pid = fresh_project_id()
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join([
        _event(pid, "Open", "$device:d1", 1_700_000_000_000, "a"),
        _event(pid, "Open", "anon-2", 1_700_000_000_000, "b"),
        _event(pid, "Open", "user-1", 1_700_000_000_000, "c"),
    ]))
    identity = [
        {"project_id": pid, "id": "$device:d1", "canonical": "user-1", "seq": next(_seq)},
        {"project_id": pid, "id": "anon-2", "canonical": "user-x", "seq": next(_seq)},
        {"project_id": pid, "id": "anon-2", "canonical": "user-1", "seq": next(_seq)},
    ]
    backend.insert_rows(IDENTITY_TABLE, IDENTITY_COLUMNS, b"".join(orjson.dumps(r) + b"\n" for r in identity))
    assert [row["distinct_id"] for row in _rows(backend, pid, dedup=False)] == ["user-1", "user-1", "user-1"]


def test_source_is_scoped_to_one_project(backend: Any) -> None:
    mine, other = fresh_project_id(), fresh_project_id()
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join([
        _event(mine, "A", "u", 1_700_000_000_000, "x"),
        _event(other, "B", "u", 1_700_000_000_000, "y"),
    ]))
    backend.insert_rows(IDENTITY_TABLE, IDENTITY_COLUMNS,
                         orjson.dumps({"project_id": other, "id": "u", "canonical": "leak", "seq": next(_seq)}) + b"\n")
    rows = _rows(backend, mine, dedup=True)
    assert [(r["event"], r["distinct_id"]) for r in rows] == [("A", "u")]


_ODD_VALUES: list[Any] = ["Chrome", "naïve \"quoted\" \\ tab\t", "", 1.50, 1e21, -0.0, 12345678901234, True, False,
                          None, [], ["a", 1, None, {"b": 2}], {"nested": {"x": [1, 2]}}, "💥"]


def test_hot_columns_equal_json_extract_raw(backend: Any) -> None:
    pid = fresh_project_id()
    lines = [_event(pid, "Hot", f"u{i}", 1_700_000_000_000 + i, f"h{i}", **{key: value for key in HOT_PROPERTIES})
             for i, value in enumerate(_ODD_VALUES)]
    lines.append(_event(pid, "Hot", "missing", 1_700_000_000_999, "h-missing", other=1))
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(lines))
    for key, column in HOT_COLUMNS.items():
        rows = backend.query_rows(
            f"SELECT {column} AS hot, JSONExtractRaw(properties, {{key:String}}) AS parsed FROM {EVENTS_TABLE} "
            "WHERE project_id = {project_id:UInt32}", {"project_id": pid, "key": key})
        assert len(rows) == len(_ODD_VALUES) + 1
        assert all(row["hot"] == row["parsed"] for row in rows), key


@pytest.mark.parametrize("where", [
    'properties["$browser"] == "Chrome"', 'defined(properties["$os"])', 'properties["$city"] == ""',
    'number(properties["mp_lib"]) > 1', '"a" in properties["utm_source"]', 'not defined(properties["$device"])',
    'string(properties["$region"]) == "true"',
])
def test_where_on_hot_columns_keeps_the_same_events(backend: Any, where: str) -> None:
    pid = fresh_project_id()
    lines = [_event(pid, "Hot", f"u{i}", 1_700_000_000_000 + i, f"h{i}", **{key: value for key in HOT_PROPERTIES})
             for i, value in enumerate(_ODD_VALUES)]
    lines.append(_event(pid, "Hot", "missing", 1_700_000_000_999, "h-missing", other=1))
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"".join(lines))
    kept = {}
    for context in (EVENT_CONTEXT, replace(EVENT_CONTEXT, raw_property_columns={})):
        fragment = compile_filter(parse(where), context)
        sql = f"SELECT insert_id FROM ({events_source_sql([fragment.sql], identity=False)}) ORDER BY insert_id"
        kept[bool(context.raw_property_columns)] = [r["insert_id"] for r in backend.query_rows(
            sql, {"project_id": pid, **fragment.params})]
        assert (context.raw_property_columns and any(c in sql for c in HOT_COLUMNS.values())) or \
            not context.raw_property_columns
    assert kept[True] == kept[False] and kept[True]
