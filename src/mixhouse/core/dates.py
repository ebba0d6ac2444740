"""Date-range parameters (``from_date``/``to_date``, inclusive, ``YYYY-MM-DD``)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mixhouse.errors import ValidationError


@dataclass(frozen=True)
class DateRange:
    from_date: date
    to_date: date

    def bounds_ms(self, timezone: str = "UTC") -> tuple[int, int]:
        """[start, end) in epoch milliseconds: midnight of ``from_date`` to midnight after ``to_date``."""
        zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
        start = datetime.combine(self.from_date, datetime.min.time(), tzinfo=zone)
        end = datetime.combine(self.to_date + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def parse_date(value: str | None, name: str) -> date:
    if value is None or not value.strip():
        raise ValidationError(f"{name} is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise ValidationError(f"{name} must be a date in YYYY-MM-DD form, got {value!r}") from exc


def parse_range(from_value: str | None, to_value: str | None) -> DateRange:
    start, end = parse_date(from_value, "from_date"), parse_date(to_value, "to_date")
    if end < start:
        raise ValidationError("to_date must not be before from_date")
    return DateRange(start, end)


def units_before(today: date, unit: object, amount: object, what: str) -> date:
    """The day ``amount`` days, weeks or calendar months (``unit``) before ``today``: where a ``relative_after``
    window (``{"unit", "value"}``) starts; it runs to today. ``what`` names the window in errors."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= 3660:
        raise ValidationError(f"{what}.value must be a whole number from 1 to 3660")
    if unit == "day":
        return today - timedelta(days=amount)
    if unit == "week":
        return today - timedelta(weeks=amount)
    if unit == "month":
        return months_earlier(today, amount)
    raise ValidationError(f"{what}.unit must be day, week or month")


def months_earlier(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
