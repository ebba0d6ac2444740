"""Relative date literals: resolved once at parse time, so the evaluator and the SQL agree on the instant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mixhouse.errors import ExpressionError
from mixhouse.expr import DateTime, Record, evaluate, parse
from mixhouse.expr.ast import DatetimeLiteral
from mixhouse.expr.relative_dates import resolve_relative
from mixhouse.expr.values import parse_datetime
from tests.support.expr_sqlcheck import RecordTable

NOW = parse_datetime("2026-11-23T15:45:30.250Z").ms  # type: ignore[union-attr]
DAY = 86_400_000


@pytest.mark.parametrize(("text", "expected"), [
    ("now", NOW),
    ("NOW", NOW),
    ("today", parse_datetime("2026-11-23").ms),  # type: ignore[union-attr]
    ("yesterday", parse_datetime("2026-11-22").ms),  # type: ignore[union-attr]
    ("-7d", NOW - 7 * DAY),
    ("+2h", NOW + 2 * 3_600_000),
    ("- 30 m", NOW - 30 * 60_000),
    ("today-1w", parse_datetime("2026-11-16").ms),  # type: ignore[union-attr]
    ("today - 1d + 12h", parse_datetime("2026-11-22T12:00:00").ms),  # type: ignore[union-attr]
    ("now-45s", NOW - 45_000),
])
def test_forms(text: str, expected: int) -> None:
    assert resolve_relative(text, NOW) == expected
    literal = parse(f'datetime("{text}")', now_ms=NOW)
    assert isinstance(literal, DatetimeLiteral) and literal.ms == expected


@pytest.mark.parametrize("text", ["", "  ", "tomorrow", "7d", "-7y", "now now", "-d", "today+", "2026-13-01"])
def test_other_strings_are_not_relative(text: str) -> None:
    assert resolve_relative(text, NOW) is None
    with pytest.raises(ExpressionError) as caught:
        parse(f'datetime("{text}")', now_ms=NOW)
    assert caught.value.position == len("datetime(")


def test_out_of_range_is_a_parse_error() -> None:
    with pytest.raises(ExpressionError):
        parse('datetime("-999999w")', now_ms=NOW)


def test_default_now_is_the_clock() -> None:
    import time

    before = int(time.time() * 1000)
    literal = parse('datetime("now")')
    after = int(time.time() * 1000)
    assert isinstance(literal, DatetimeLiteral) and before <= literal.ms <= after


@pytest.fixture(scope="module")
def table(chdb_path: str) -> Iterator[RecordTable]:
    import chdb.session as cs

    session = cs.Session(chdb_path)
    table = RecordTable(session, "relative_date_records")
    yield table
    session.close()


def test_sql_and_python_agree(table: RecordTable) -> None:
    records = [Record("E", NOW - days * DAY - 1, "u", {"seen": f"2026-11-{23 - days:02d}"}) for days in range(10)]
    table.replace(records)
    for text in ['event["time"] >= datetime("-3d")', 'event["time"] < datetime("today - 5d")',
                 'datetime(properties["seen"]) >= datetime("yesterday")', 'datetime("now-2d") > event["time"]']:
        expr = parse(text, now_ms=NOW)
        python = {i for i, record in enumerate(records) if evaluate(expr, record) is True}
        assert table.kept_ids(expr) == python, text
        assert python and python != set(range(len(records))), text
    assert evaluate(parse('datetime("now")', now_ms=NOW), records[0]) == DateTime(NOW)


def test_long_inputs_are_not_relative() -> None:
    """Inputs that made the first pattern backtrack quadratically (seconds per call at 20k characters)."""
    for text in [" " * 19_000 + "x", "-1d" * 3000 + "x", "now" + " " * 19_000 + "+"]:
        assert resolve_relative(text, NOW) is None
    assert resolve_relative(" " * 19_000 + "-1d", NOW) == NOW - DAY
