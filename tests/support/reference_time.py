"""Time handling for the brute-force references: plain zoneinfo, sharing nothing with the SQL path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


def zone(timezone: str) -> tzinfo:
    return UTC if timezone == "UTC" else ZoneInfo(timezone)


def window_ms(from_date: date, to_date: date, timezone: str) -> tuple[int, int]:
    """[local midnight of ``from_date``, local midnight after ``to_date``) in epoch ms."""
    tz = zone(timezone)
    start = datetime(from_date.year, from_date.month, from_date.day, tzinfo=tz)
    after = to_date + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def bucket_of(time_ms: int, unit: str, timezone: str) -> str:
    """The bucket key of an instant, in the project's timezone (weeks start on Monday)."""
    local = datetime.fromtimestamp(time_ms / 1000, UTC).astimezone(zone(timezone))
    if unit == "minute":
        return local.strftime("%Y-%m-%d %H:%M:00")
    if unit == "hour":
        return local.strftime("%Y-%m-%d %H:00:00")
    day = local.date()
    if unit == "week":
        day -= timedelta(days=day.weekday())
    elif unit == "month":
        day = day.replace(day=1)
    return day.isoformat()
