"""Insights time comparison (``displayOptions.timeComparison``): the same report over an earlier range, and the lift.

The client library sends ``{"type": "relative", "value": "day"|"week"|"month"|"quarter"|"year"}`` (the range one
unit earlier), ``{"type": "absolute-start", "value": "YYYY-MM-DD"}`` (a range starting that day) or
``{"type": "absolute-end", "value": ...}`` (ending that day); reports saved by the web app carry
``{"offset": {"unit", "value"}}`` (``value`` units earlier). The comparison range has as many days as the report's.

The answer gains ``time_comparison`` (``date_range`` and ``series`` of the earlier range), ``lift_comparison``
(``series`` of ``(current - earlier) / earlier`` rounded to 4 places, ``null`` where the earlier value is 0 or
missing) and ``meta.liftComparison: {"type": "timeComparison"}``, as recorded in Mixpanel's answers. Series over
time pair their buckets by position (the first day of one range with the first day of the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from mixhouse.core.dates import DateRange, months_earlier, parse_date
from mixhouse.errors import ValidationError
from mixhouse.query.params import json_object

TYPES = ("relative", "absolute-start", "absolute-end")
UNITS = ("day", "week", "month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class TimeComparison:
    kind: str  # one of TYPES
    unit: str = "day"  # relative: the shift's unit
    count: int = 1  # relative: how many units earlier
    day: date | None = None  # absolute-start / absolute-end


def parse_time_comparison(params: Any) -> TimeComparison | None:
    """``displayOptions.timeComparison`` of bookmark params, or None; ``ValidationError`` when malformed."""
    display = json_object(json_object(params, "bookmark params").get("displayOptions") or {}, "displayOptions")
    spec = display.get("timeComparison")
    if spec is None:
        return None
    spec = json_object(spec, "displayOptions.timeComparison")
    if "offset" in spec:  # the web app's saved form
        offset = json_object(spec["offset"], "timeComparison.offset")
        count = offset.get("value", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 120:
            raise ValidationError("timeComparison.offset.value must be a whole number from 1 to 120")
        return TimeComparison("relative", _unit(offset.get("unit")), count)
    kind = spec.get("type")
    if kind not in TYPES:
        raise ValidationError(f"timeComparison.type must be one of {', '.join(TYPES)}, not {kind!r}")
    value = spec.get("value")
    if kind == "relative":
        return TimeComparison(kind, _unit(value))
    return TimeComparison(kind, day=parse_date(value if isinstance(value, str) else None, "timeComparison.value"))


def _unit(value: Any) -> str:
    if value not in UNITS:
        raise ValidationError(f"the time comparison unit must be one of {', '.join(UNITS)}, not {value!r}")
    return str(value)


def comparison_range(dates: DateRange, comparison: TimeComparison) -> DateRange:
    """The earlier range: as many days as ``dates``, placed as the comparison says."""
    span = dates.to_date - dates.from_date
    if comparison.kind == "absolute-start":
        assert comparison.day is not None
        return DateRange(comparison.day, comparison.day + span)
    if comparison.kind == "absolute-end":
        assert comparison.day is not None
        return DateRange(comparison.day - span, comparison.day)
    if comparison.unit in _MONTHS:
        start = months_earlier(dates.from_date, _MONTHS[comparison.unit] * comparison.count)
    else:
        start = dates.from_date - timedelta(days=comparison.count * (7 if comparison.unit == "week" else 1))
    return DateRange(start, start + span)


def shifted_params(params: dict[str, Any], earlier: DateRange) -> dict[str, Any]:
    """The same bookmark params over ``earlier`` (a ``between`` range in the same unit), without the comparison."""
    sections = dict(params["sections"])
    time_specs = sections.get("time") or [{}]
    first = dict(time_specs[0]) if isinstance(time_specs[0], dict) else {}
    first.pop("window", None)
    first.update(dateRangeType="between", value=[earlier.from_date.isoformat(), earlier.to_date.isoformat()])
    sections["time"] = [first, *time_specs[1:]]
    display = {key: value for key, value in (params.get("displayOptions") or {}).items() if key != "timeComparison"}
    return {**params, "sections": sections, "displayOptions": display}


def _is_bucket_key(key: str) -> bool:
    try:
        datetime.fromisoformat(key)
    except ValueError:
        return False
    return True


def lift(current: Any, earlier: Any) -> Any:
    """``(current - earlier) / earlier`` leaf by leaf, in ``current``'s shape."""
    if isinstance(current, bool):
        return None
    if isinstance(current, int | float):
        if isinstance(earlier, int | float) and not isinstance(earlier, bool) and earlier != 0:
            return round((current - earlier) / earlier, 4)
        return None
    if isinstance(current, dict):
        before = earlier if isinstance(earlier, dict) else {}
        if current and before and all(map(_is_bucket_key, current)) and all(map(_is_bucket_key, before)):
            by_position = list(before.values())
            return {key: lift(value, by_position[n] if n < len(by_position) else None)
                    for n, (key, value) in enumerate(current.items())}
        return {key: lift(value, before.get(key)) for key, value in current.items()}
    if isinstance(current, list):
        items = earlier if isinstance(earlier, list) else []
        return [lift(value, items[n] if n < len(items) else None) for n, value in enumerate(current)]
    return None


def with_comparison(answer: dict[str, Any], earlier_answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with the earlier range's series and the lift, shaped as Mixpanel answers them."""
    answer["time_comparison"] = {"date_range": earlier_answer["date_range"], "series": earlier_answer["series"]}
    answer["lift_comparison"] = {"series": lift(answer["series"], earlier_answer["series"])}
    answer["meta"]["liftComparison"] = {"type": "timeComparison"}
    return answer
