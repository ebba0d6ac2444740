"""Time buckets of the Query API, in the project's timezone (spec §4.1, §6.1).

Keys: ``minute`` → ``YYYY-MM-DD HH:MM:00``, ``hour`` → ``YYYY-MM-DD HH:00:00``, ``day`` → ``YYYY-MM-DD``,
``week`` → the date of the week's Monday, ``month`` → ``YYYY-MM-01``; ``days`` (segmentation's ``interval``):
buckets of that many local days counted from ``from_date``, keyed by their first day (the last may be shorter). The
SQL side and the series of keys a response lists are built from the same unit table, so every bucket the engine
returns is one the series names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError

UNITS = ("minute", "hour", "day", "week", "month")


#: Longest ``interval`` (days per bucket) a query may ask for.
MAX_INTERVAL_DAYS = 3660


@dataclass(frozen=True)
class Bucketing:
    """How to bucket ``time`` for one query: ``sql`` is the key expression (a Date for day-sized buckets, else
    String; either reads back as the key text); bind ``params()`` (``tz``, and for ``days`` buckets their anchor and
    length)."""

    unit: str
    timezone: str
    days: int | None = None  # buckets of this many days from ``anchor`` instead of ``unit``
    anchor: date | None = None

    def params(self) -> dict[str, object]:
        if self.days is None:
            return {"tz": self.timezone}
        anchor = self.anchor.isoformat() if self.anchor else None
        return {"tz": self.timezone, "bucket_anchor": anchor, "bucket_days": self.days}

    @property
    def sql(self) -> str:
        return self.sql_of("time")

    def sql_of(self, moment: str) -> str:
        """The key expression of the instant ``moment`` (SQL of a DateTime64; ``sql`` is that of ``time``)."""
        local = f"toTimeZone({moment}, {{tz:String}})"
        if self.days is not None:
            start = "{bucket_anchor:Date32}"  # Date32: anchors before 1970 too
            length = "{bucket_days:UInt32}"
            offset = f"dateDiff('day', {start}, toDate32({local}))"
            return f"addDays({start}, intDiv({offset}, {length}) * {length})"
        # Day-sized keys stay Dates (cheaper to group by than text; every output format writes them YYYY-MM-DD).
        return {
            "minute": f"formatDateTime(toStartOfMinute({local}), '%Y-%m-%d %H:%i:00')",
            "hour": f"formatDateTime(toStartOfHour({local}), '%Y-%m-%d %H:00:00')",
            "day": f"toDate({local})",
            "week": f"toMonday({local})",
            "month": f"toStartOfMonth({local})",
        }[self.unit]

    @property
    def start_sql(self) -> str:
        """The bucket's start as a value rather than key text (a DateTime for minutes and hours): cheaper to count
        distinct buckets with, one value per bucket like ``sql``."""
        local = "toTimeZone(time, {tz:String})"
        if self.days is None and self.unit in ("minute", "hour"):
            return f"toStartOf{self.unit.capitalize()}({local})"
        return self.sql

    def keys(self, dates: DateRange) -> list[str]:
        """Every bucket key from ``from_date`` to ``to_date`` inclusive, ascending."""
        if self.days is not None:
            anchor = self.anchor or dates.from_date
            first = anchor + timedelta(days=(dates.from_date - anchor).days // self.days * self.days)
            count = (dates.to_date - first).days // self.days + 1
            return [(first + timedelta(days=i * self.days)).isoformat() for i in range(count)]
        return list(_keys(self.unit, dates, ZoneInfo(self.timezone) if self.timezone != "UTC" else UTC))


def bucket_start_iso(key: str, timezone: str) -> str:
    """A bucket key (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``) as the local instant it starts, ISO 8601 with the
    zone's offset (``2024-01-01T00:00:00-08:00``), as Insights answers key their series."""
    return datetime.fromisoformat(key).replace(tzinfo=ZoneInfo(timezone)).isoformat()


def parse_interval_days(value: object) -> int | None:
    """Segmentation's ``interval``: whole days per bucket (absent: ``None``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        days = int(str(value).strip())
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_INTERVAL_DAYS:
        raise ValidationError(f"interval must be a whole number of days from 1 to {MAX_INTERVAL_DAYS}")
    return days


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
