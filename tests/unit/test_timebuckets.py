"""Bucket keys: the SQL expression and the Python series agree, in any timezone, across DST changes."""

from __future__ import annotations

from typing import Any

import pytest

from mixhouse.core.dates import parse_range
from mixhouse.errors import ValidationError
from mixhouse.query.timebuckets import Bucketing, check_not_future, parse_unit


@pytest.mark.parametrize(("unit", "tz", "from_date", "to_date", "expected"), [
    ("day", "UTC", "2024-02-27", "2024-03-01", ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]),
    ("week", "UTC", "2024-01-03", "2024-01-20", ["2024-01-01", "2024-01-08", "2024-01-15"]),
    ("month", "UTC", "2023-12-15", "2024-02-01", ["2023-12-01", "2024-01-01", "2024-02-01"]),
])
def test_series_keys(unit: str, tz: str, from_date: str, to_date: str, expected: list[str]) -> None:
    assert Bucketing(unit, tz).keys(parse_range(from_date, to_date)) == expected


def test_hour_series_across_dst() -> None:
    spring = Bucketing("hour", "America/New_York").keys(parse_range("2024-03-10", "2024-03-10"))
    assert len(spring) == 23 and "2024-03-10 02:00:00" not in spring
    autumn = Bucketing("hour", "America/New_York").keys(parse_range("2024-11-03", "2024-11-03"))
    assert len(autumn) == 24 and autumn.count("2024-11-03 01:00:00") == 1


@pytest.mark.parametrize("unit", ["minute", "hour", "day", "week", "month"])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_sql_keys_are_in_the_series(backend: Any, unit: str, tz: str) -> None:
    dates = parse_range("2024-03-09", "2024-03-11")
    start_ms, end_ms = dates.bounds_ms(tz)
    times = [start_ms, start_ms + 59_999, start_ms + 3_600_000 * 7 + 1, end_ms - 1, (start_ms + end_ms) // 2]
    sql = f"""
        SELECT {Bucketing(unit, tz).sql} AS k
        FROM (SELECT fromUnixTimestamp64Milli(arrayJoin({{ts:Array(Int64)}}), 'UTC') AS time)
    """
    keys = [row["k"] for row in backend.query_rows(sql, {"ts": times, "tz": tz})]
    series = Bucketing(unit, tz).keys(dates)
    assert set(keys) <= set(series), (keys, series[:5])
    assert keys[0] == series[0] and keys[3] == series[-1]


def test_parse_unit_and_future_dates() -> None:
    assert parse_unit(None) == "day"
    assert parse_unit("Week") == "week"
    with pytest.raises(ValidationError):
        parse_unit("fortnight")
    with pytest.raises(ValidationError, match="later than today"):
        check_not_future(parse_range("2024-01-01", "2999-01-01"), "UTC")
    check_not_future(parse_range("2024-01-01", "2024-01-02"), "Europe/Berlin")  # the past is fine: no error


def test_bounds_are_local_midnights() -> None:
    assert parse_range("2024-01-01", "2024-01-01").bounds_ms("UTC") == (1704067200000, 1704153600000)
    # New York is UTC-5 in January: the day starts at 05:00 UTC
    assert parse_range("2024-01-01", "2024-01-01").bounds_ms("America/New_York") == (1704085200000, 1704171600000)


@pytest.mark.parametrize(("from_date", "to_date", "days"), [
    ("2024-03-01", "2024-03-20", 7),
    ("1969-12-25", "1970-01-10", 10),  # anchors before 1970 (Date would wrap them to 1970-01-01)
    ("2024-03-09", "2024-03-11", 1),
])
@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_interval_buckets_start_at_from_date(backend: Any, from_date: str, to_date: str, days: int, tz: str) -> None:
    dates = parse_range(from_date, to_date)
    bucketing = Bucketing("day", tz, days, dates.from_date)
    start_ms, end_ms = dates.bounds_ms(tz)
    times = [start_ms, start_ms + days * 86_400_000 + 3_600_000, end_ms - 1]
    sql = f"""
        SELECT toString({bucketing.sql}) AS k
        FROM (SELECT fromUnixTimestamp64Milli(arrayJoin({{ts:Array(Int64)}}), 'UTC') AS time)
    """
    keys = [row["k"] for row in backend.query_rows(sql, {"ts": times, **bucketing.params()})]
    series = bucketing.keys(dates)
    assert series[0] == from_date and keys[0] == from_date
    assert set(keys) <= set(series) and keys[-1] == series[-1]
