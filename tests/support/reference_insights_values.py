"""Brute-force pieces of the Insights reference for the maths of decision 0030 (``unique_values``,
``most_frequent``, ``first_value``, ``histogram``, ``numeric_summary``, per-user ``unique_values``) and frequency
breakdowns, in plain Python over the raw events."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from mixhouse.expr import Record, evaluate, format_number, keeps, parse, segment_keys
from tests.support.reference_event_queries import Event
from tests.support.reference_time import bucket_of, window_ms

NON_SCALAR = ("most_frequent", "first_value", "histogram", "numeric_summary", "multi_attribution")
OWN_MATHS = ("unique_values", *NON_SCALAR)


def _keys(event: Event, prop: str) -> list[str]:
    return segment_keys(evaluate(parse(f'properties["{prop}"]'),
                                 Record(event.name, event.time_ms, event.user, event.properties)))


def _number(event: Event, prop: str | None) -> float | None:
    value = event.properties.get(prop or "")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def empty(math: str) -> Any:
    if math in ("histogram", "multi_attribution"):
        return {}
    if math == "numeric_summary":
        return {"count": 0, "sum": 0, "sum_squares": 0, "avg": 0, "stddev": 0}
    return None


def _label(number: float) -> str:
    """A histogram bin, written as segment keys write numbers (``1e-9``, not Python's ``1e-09``)."""
    return format_number(float(number))


def _summary(numbers: list[float]) -> dict[str, Any]:
    if not numbers:
        return empty("numeric_summary")
    return {"count": len(numbers), "sum": sum(numbers), "sum_squares": sum(n * n for n in numbers),
            "avg": statistics.fmean(numbers), "stddev": statistics.pstdev(numbers)}


def per_user_values(per_user: str, prop: str | None, events: list[Event]) -> list[float]:
    """Each user's value (users without a number left out, but for ``total`` and ``unique_values``)."""
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "":
            by_user[e.user].append(e)
    out = []
    for own in by_user.values():
        if prop is None:
            out.append(float(len(own)))
        elif per_user == "unique_values":
            out.append(float(len({k for e in own for k in _keys(e, prop)})))
        else:
            numbers = [n for e in own if (n := _number(e, prop)) is not None]
            if per_user == "total":
                out.append(sum(numbers))
            elif numbers:
                out.append({"average": statistics.fmean, "min": min, "max": max}[per_user](numbers))
    return out


def value_of(math: str, prop: str | None, per_user: str | None, events: list[Event]) -> Any:
    """The value of one cell (segment path and bucket) for the maths of ``OWN_MATHS``."""
    if math == "unique_values":
        assert prop is not None
        return float(len({k for e in events for k in _keys(e, prop)}))
    if math in ("most_frequent", "first_value"):
        assert prop is not None
        keyed = [(e, _keys(e, prop)) for e in events]
        keyed = [(e, keys) for e, keys in keyed if keys]
        if not keyed:
            return None
        if math == "first_value":
            return min((e.time_ms, keys[0]) for e, keys in keyed)[1]
        counts = Counter(k for _, keys in keyed for k in keys)
        return min(counts, key=lambda k: (-counts[k], k))
    if per_user is not None:
        numbers = per_user_values(per_user, prop, events)
    else:
        numbers = [n for e in events if (n := _number(e, prop)) is not None]
    if math == "numeric_summary":
        return _summary(numbers)
    return dict(Counter(_label(n) for n in numbers))


@dataclass(frozen=True)
class FrequencyGroup:
    """A frequency breakdown: users by how many times they did ``event`` (passing ``where``) in the event's bucket,
    or in ``dates``; labelled by ``size``/``low``/``high`` buckets when ``size`` is set."""

    event: str
    where: str | None = None
    dates: tuple[date, date] | None = None
    size: int | None = None
    low: int = 0
    high: int | None = None

    def label(self, count: int) -> str:
        if self.size is None:
            return str(count)
        if count < self.low:
            return f"< {self.low}"
        if self.high is not None and count >= self.high:
            return f"{self.high}+"
        lo = self.low
        while lo + self.size <= count:
            lo += self.size
        hi = lo + self.size - 1
        if self.high is not None:
            hi = min(hi, self.high - 1)
        return str(lo) if hi == lo else f"{lo} - {hi}"


def frequency_segmenter(events: Sequence[Event], group: FrequencyGroup, *, unit: str, total: bool, from_date: date,
                        to_date: date, timezone: str, look_back: int = 0) -> Callable[[Event], list[str]]:
    """The segment of each counted event under the frequency breakdown ``group``: per interval, the user's events in
    the event's bucket within the range (extended ``look_back`` days early for DAU/WAU/MAU)."""
    condition = parse(group.where) if group.where else None
    per_interval = group.dates is None and not total
    earliest = date.fromordinal(from_date.toordinal() - look_back) if per_interval else from_date
    low, high = window_ms(*(group.dates or (earliest, to_date)), timezone)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in events:
        if e.user == "" or e.name != group.event:
            continue
        if condition is not None and not keeps(condition, Record(e.name, e.time_ms, e.user, e.properties)):
            continue
        if low <= e.time_ms < high:
            counts[(e.user, bucket_of(e.time_ms, unit, timezone) if per_interval else "")] += 1

    def segment(e: Event) -> list[str]:
        interval = bucket_of(e.time_ms, unit, timezone) if per_interval else ""
        return [group.label(counts.get((e.user, interval), 0) if e.user != "" else 0)]
    return segment


def touchpoints(events: Sequence[Event], prop: str) -> dict[str, list[tuple[int, str]]]:
    """Each user's (time, value) touchpoints: every event carrying ``prop``, a list giving one per item."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for e in events:
        if e.user != "":
            out[e.user] += [(e.time_ms, k) for k in _keys(e, prop)]
    return {user: sorted(found) for user, found in out.items()}


_SHARES = {"u_shaped": (0.4, 0.4, 0.5, 0.5), "j_shaped": (0.2, 0.6, 0.25, 0.75),
           "inverse_j_shaped": (0.6, 0.2, 0.75, 0.25)}


def _weights(model: str, conversion_ms: int, mine: list[tuple[int, str]]) -> list[tuple[str, float]]:
    n = len(mine)
    if model == "first_touch":
        return [(mine[0][1], 1.0)]
    if model == "last_touch":
        return [(mine[-1][1], 1.0)]
    if model == "linear":
        return [(value, 1 / n) for _, value in mine]
    if model == "participation":
        return [(value, 1.0) for value in sorted({value for _, value in mine})]
    if model == "time_decay":
        raw = [0.5 ** ((conversion_ms - at) / (7 * 86_400_000)) for at, _ in mine]
        return [(value, weight / sum(raw)) for (_, value), weight in zip(mine, raw, strict=True)]
    first, last, two_first, two_last = _SHARES[model]
    if n == 1:
        return [(mine[0][1], 1.0)]
    if n == 2:
        return [(mine[0][1], two_first), (mine[1][1], two_last)]
    middle = (1 - first - last) / (n - 2)
    return [(value, first if i == 0 else last if i == n - 1 else middle) for i, (_, value) in enumerate(mine)]


def attribution_value(conversions: list[Event], touches: dict[str, list[tuple[int, str]]], prop: str, model: str,
                      lookback_ms: int) -> dict[str, float]:
    """Credited conversions by touch value (``$direct`` without a touchpoint)."""
    credit: dict[str, float] = defaultdict(float)
    for e in conversions:
        if e.user == "":
            mine = [(e.time_ms, k) for k in _keys(e, prop)]
        else:
            mine = [(at, k) for at, k in touches.get(e.user, []) if e.time_ms - lookback_ms <= at <= e.time_ms]
        for value, weight in (_weights(model, e.time_ms, mine) if mine else [("$direct", 1.0)]):
            credit[value] += weight
    return dict(credit)
