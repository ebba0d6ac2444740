"""Golden cases (tests/golden/expr/cases.jsonl), hand-checked against spec §4.14, run through BOTH the Python
evaluator and the chDB-compiled SQL.

Each case: ``expr``, ``properties``, ``expect`` (a JSON value, ``"undefined"``, or ``{"$datetime": "ISO"}``), and
optionally ``event``, ``time_ms``, ``distinct_id``, ``user`` for the record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mixhouse.expr import UNDEFINED, DateTime, Record, evaluate, keeps, parse, segment_key, segment_keys
from mixhouse.expr.values import Value, from_json, parse_datetime
from tests.support.expr_sqlcheck import RecordTable, same_value

CASES_FILE = Path(__file__).resolve().parents[1] / "golden" / "expr" / "cases.jsonl"
CASES: list[dict[str, Any]] = [json.loads(line) for line in CASES_FILE.read_text("utf-8").split("\n") if line.strip()]
IDS = [f"{i}:{case['expr']}" for i, case in enumerate(CASES)]


def record_of(case: dict[str, Any]) -> Record:
    return Record(
        event=case.get("event", "Signup"),
        time_ms=case.get("time_ms", 1704067200000),
        distinct_id=case.get("distinct_id", "u1"),
        properties=case["properties"],
        user=case.get("user"),
    )


def expected(case: dict[str, Any]) -> Value:
    expect = case["expect"]
    if expect == "undefined":
        return UNDEFINED
    if isinstance(expect, dict) and set(expect) == {"$datetime"}:
        value = parse_datetime(expect["$datetime"])
        assert isinstance(value, DateTime)
        return value
    return from_json(expect)


@pytest.fixture(scope="module")
def table(chdb_path: str) -> Iterator[RecordTable]:
    import chdb.session as cs

    session = cs.Session(chdb_path)  # chDB binds the process to one path: the suite's in-process one
    table = RecordTable(session, "golden_records")
    table.replace([record_of(case) for case in CASES])
    yield table
    session.close()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 80
    assert len({case["expr"] + json.dumps(case["properties"]) for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_evaluator(case: dict[str, Any]) -> None:
    actual = evaluate(parse(case["expr"]), record_of(case))
    assert same_value(actual, expected(case)), f"{case['expr']}: got {actual!r}, expected {expected(case)!r}"


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_sql(table: RecordTable, index: int, case: dict[str, Any]) -> None:
    expr = parse(case["expr"])
    want = expected(case)
    actual = table.values(expr)[index]
    assert same_value(actual, want), f"{case['expr']}: SQL gave {actual!r}, expected {want!r}"
    assert (index in table.kept_ids(expr)) is (want is True)
    assert keeps(expr, record_of(case)) is (want is True)
    assert table.keys(expr)[index] == segment_key(want)
    assert table.key_lists(expr)[index] == segment_keys(want)
