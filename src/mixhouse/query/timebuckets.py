"""Time buckets of the Query API, in the project's timezone (spec §4.1, §6.1).

Keys: ``minute`` → ``YYYY-MM-DD HH:MM:00``, ``hour`` → ``YYYY-MM-DD HH:00:00``, ``day`` → ``YYYY-MM-DD``,
``week`` → the date of the week's Monday, ``month`` → ``YYYY-MM-01``. The SQL side and the series of keys a
response lists are built from the same unit table, so every bucket the engine returns is one the series names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError

UNITS = ("minute", "hour", "day", "week", "month")


@dataclass(frozen=True)
class Bucketing:
    """How to bucket ``time`` for one query: ``sql`` is a String key expression; bind ``tz`` (the timezone)."""

    unit: str
    timezone: str

    @property
    def sql(self) -> str:
        local = "toTimeZone(time, {tz:String})"
        return {
            "minute": f"formatDateTime(toStartOfMinute({local}), '%Y-%m-%d %H:%i:00')",
            "hour": f"formatDateTime(toStartOfHour({local}), '%Y-%m-%d %H:00:00')",
            "day": f"toString(toDate({local}))",
            "week": f"toString(toMonday({local}))",
            "month": f"toString(toStartOfMonth({local}))",
        }[self.unit]

    def keys(self, dates: DateRange) -> list[str]:
        """Every bucket key from ``from_date`` to ``to_date`` inclusive, ascending."""
        return list(_keys(self.unit, dates, ZoneInfo(self.timezone) if self.timezone != "UTC" else UTC))


def _keys(unit: str, dates: DateRange, zone: tzinfo) -> Iterator[str]:
    if unit == "day":
        day = dates.from_date
        while day <= dates.to_date:
            yield day.isoformat()
            day += timedelta(days=1)
    elif unit == "week":
        monday = dates.from_date - timedelta(days=dates.from_date.weekday())
        while monday <= dates.to_date:
            yield monday.isoformat()
            monday += timedelta(days=7)
    elif unit == "month":
        month = date(dates.from_date.year, dates.from_date.month, 1)
        while month <= dates.to_date:
            yield month.isoformat()
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    else:
        step = timedelta(hours=1) if unit == "hour" else timedelta(minutes=1)
        fmt = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d %H:%M:00"
        start = datetime.combine(dates.from_date, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(dates.to_date + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        # walk in UTC so DST days have 23 or 25 hours, keyed by local wall time (a repeated hour appears once)
        seen: set[str] = set()
        moment = start.astimezone(UTC)
        while moment < end.astimezone(UTC):
            key = moment.astimezone(zone).strftime(fmt)
            if key not in seen:
                seen.add(key)
                yield key
            moment += step


def parse_unit(value: str | None, *, default: str = "day", allowed: tuple[str, ...] = UNITS) -> str:
    unit = (value or default).strip().lower()
    if unit not in allowed:
        raise ValidationError(f"unit must be one of {', '.join(allowed)}, got {value!r}")
    return unit


def check_not_future(dates: DateRange, timezone: str) -> None:
    """Mixpanel's Query API refuses ranges that end after today (in the project's timezone)."""
    zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
    today = datetime.now(zone).date()
    if dates.to_date > today:
        raise ValidationError("to_date cannot be later than today")
