"""Bookmark filters on datetime properties (``filterType: datetime``), as expression trees.

The web app's date operators, read in the project's timezone (days start at its midnight):

* ``on`` / ``not on`` a day (``filterValue``: ``YYYY-MM-DD``, an ISO datetime whose day counts, or ``[day]``);
* ``before`` a day (earlier than its start) / ``since`` a day (from its start on);
* ``between`` / ``not between`` two days, both included (``[from, to]``);
* ``in the last`` / ``not in the last`` / ``in the next`` N units of now, and ``before the last`` N units
  (earlier than that) — ``filterValue`` N and ``filterDateUnit`` ``hour``, ``day``, ``week`` or ``month``
  (calendar months); the window is from that instant to now (or now to it), both ends included.

The value is ``datetime()`` of the property (ISO text, or epoch seconds/milliseconds, as the expression language
reads them); ``$time``/``time`` is the event's own time. A value that is not a date fails every positive test, so
the negated operators (``not on``, ``not between``, ``not in the last``) keep it, as flows' ``not on`` does. The
``was …`` operators (cohort behaviours) are refused by name.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange, months_earlier
from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Binary, Call, DatetimeLiteral, Expr, Property, Unary

DAY_OPERATORS = ("on", "not on", "before", "since", "between", "not between")
RELATIVE_OPERATORS = ("in the last", "not in the last", "in the next", "before the last")
OPERATORS = (*DAY_OPERATORS, *RELATIVE_OPERATORS)
UNITS = ("hour", "day", "week", "month")


def is_datetime_filter(spec: dict[str, Any]) -> bool:
    """Whether a bookmark filter is read by this module: a datetime filter with one of its operators."""
    return spec.get("filterType") == "datetime" and spec.get("filterOperator") in OPERATORS


def _at(ms: int) -> DatetimeLiteral:
    return DatetimeLiteral(ms, datetime.fromtimestamp(ms / 1000, UTC).strftime('"%Y-%m-%dT%H:%M:%S"'))


def _day(value: Any, op: str) -> date:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValidationError(f"a {op!r} datetime filter takes a day (YYYY-MM-DD), not {value!r}")


def _shifted(now_ms: int, unit: Any, amount: Any, sign: int, timezone: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= 100_000:
        raise ValidationError(f"a relative datetime filter takes a whole number of units, not {amount!r}")
    if unit not in UNITS:
        raise ValidationError(f"filterDateUnit must be one of {', '.join(UNITS)}, not {unit!r}")
    if unit != "month":
        span = {"hour": 3_600_000, "day": 86_400_000, "week": 7 * 86_400_000}[unit]
        return now_ms + sign * amount * span
    zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    day = months_earlier(now.date(), amount) if sign < 0 else months_earlier(now.date(), -amount)
    moved = datetime.combine(day, now.timetz())
    return int(moved.timestamp() * 1000)


def datetime_filter_expr(prop: Expr, spec: dict[str, Any], timezone: str, now_ms: int | None = None) -> Expr:
    """The datetime filter ``spec`` on ``prop`` (a property read, or a custom property's expression)."""
    op = str(spec.get("filterOperator"))
    raw = spec.get("filterValue")
    value: Expr
    if isinstance(prop, Property) and prop.source == "properties" and prop.name in ("$time", "time"):
        value = Property("time", "event")  # lifted out of the stored properties at ingestion: the event's time
    elif isinstance(prop, Property) and prop.source == "event":
        value = prop
    else:
        value = Call("datetime", (prop,))
    if op in DAY_OPERATORS:
        if op in ("between", "not between"):
            if not isinstance(raw, list) or len(raw) != 2:
                raise ValidationError(f"a {op!r} datetime filter takes [from, to] days")
            start, _ = DateRange(_day(raw[0], op), _day(raw[0], op)).bounds_ms(timezone)
            _, end = DateRange(_day(raw[1], op), _day(raw[1], op)).bounds_ms(timezone)
        else:
            start, end = DateRange(_day(raw, op), _day(raw, op)).bounds_ms(timezone)
        if op == "before":
            return Binary("<", value, _at(start))
        if op == "since":
            return Binary(">=", value, _at(start))
        inside = Binary("and", Binary(">=", value, _at(start)), Binary("<", value, _at(end)))
        return Unary("not", inside) if op.startswith("not") else inside
    if op not in RELATIVE_OPERATORS:
        raise ValidationError(f"datetime filter operator {op!r} is not supported")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    amount = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if op == "in the next":
        later = _shifted(now, spec.get("filterDateUnit", "day"), amount, 1, timezone)
        return Binary("and", Binary(">=", value, _at(now)), Binary("<=", value, _at(later)))
    earlier = _shifted(now, spec.get("filterDateUnit", "day"), amount, -1, timezone)
    if op == "before the last":
        return Binary("<", value, _at(earlier))
    inside = Binary("and", Binary(">=", value, _at(earlier)), Binary("<=", value, _at(now)))
    return Unary("not", inside) if op == "not in the last" else inside

