"""Brute-force answers of the segmentation endpoints, in plain Python over the raw events that were sent.

Independent of the SQL path: it applies Simplified ID Merge (stored id from ``$user_id``/``$device_id``; the first
event carrying both maps ``$device:<id>`` to the user, for good), deduplicates (last copy of each
(event, stored id, time, ``$insert_id``) wins), and buckets with ``zoneinfo``. Expressions use
``mixhouse.expr.evaluate``/``segment_keys`` (the reference semantics of the expression language).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from mixhouse.expr.values import T, type_of
from tests.support.reference_time import bucket_of, window_ms

NOT_STORED = frozenset({"time", "$time", "distinct_id", "$distinct_id", "$insert_id", "token", "ip"})
ADDED_BY_IMPORT = ("$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms", "$import")


@dataclass(frozen=True)
class Event:
    name: str
    user: str  # canonical distinct id
    time_ms: int
    properties: dict[str, Any]

    def record(self) -> Record:
        return Record(self.name, self.time_ms, self.user, self.properties)


def _usable(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) != ""


def stored(sent: Iterable[dict[str, Any]]) -> list[Event]:
    """The deduplicated events with canonical ids, as the server should see them."""
    device_owner: dict[str, str] = {}
    copies: dict[tuple[str, str, int, str], tuple[str, int, dict[str, Any]]] = {}
    for raw in sent:
        props = raw["properties"]
        stored_id = str(props.get("distinct_id", ""))
        user, device = props.get("$user_id"), props.get("$device_id")
        if _usable(user):
            stored_id = str(user)
        elif _usable(device):
            stored_id = "$device:" + str(device)
        if _usable(user) and _usable(device):
            key = "$device:" + str(device)
            if key != str(user) and key not in device_owner:
                device_owner[key] = str(user)
        moment = props["time"]
        time_ms = int(moment) * 1000 if moment < 10**11 else int(moment)
        kept = {k: v for k, v in props.items() if k not in NOT_STORED}
        kept.update(dict.fromkeys(ADDED_BY_IMPORT, True))
        copies[(raw["event"], stored_id, time_ms, str(props["$insert_id"]))] = (stored_id, time_ms, kept)
    return [
        Event(name, device_owner.get(stored_id, stored_id), time_ms, props)
        for (name, _, _, _), (stored_id, time_ms, props) in copies.items()
    ]


# --- time ---------------------------------------------------------------------------------------------------------


def series(from_date: date, to_date: date, unit: str, timezone: str) -> list[str]:
    """Every bucket key of the range, found by visiting each minute of it (slow, but obviously right)."""
    start, end = window_ms(from_date, to_date, timezone)
    step = 60_000 if unit in ("minute", "hour") else 3_600_000
    return sorted({bucket_of(moment, unit, timezone) for moment in range(start, end, step)})


# --- answers ------------------------------------------------------------------------------------------------------


def _matching(events: Iterable[Event], event: str, from_date: date, to_date: date, timezone: str,
              where: str | None) -> list[Event]:
    start, end = window_ms(from_date, to_date, timezone)
    condition = parse(where) if where else None
    return [e for e in events if e.name == event and start <= e.time_ms < end
            and (condition is None or keeps(condition, e.record()))]


def _metric(kind: str, events: int, users: int) -> float:
    if kind == "general":
        return events
    if kind == "unique":
        return users
    return events / users if users else 0


def _interval_bucket(time_ms: int, from_date: date, days: int, timezone: str) -> str:
    """The first day of the ``days``-long bucket (counted from ``from_date``) that holds the event's local day."""
    local_day = date.fromisoformat(bucket_of(time_ms, "day", timezone))
    return (from_date + timedelta(days=(local_day - from_date).days // days * days)).isoformat()


def segmentation(events: Iterable[Event], event: str, from_date: date, to_date: date, *, timezone: str = "UTC",
                 unit: str = "day", kind: str = "general", where: str | None = None, on: str | None = None,
                 limit: int = 60, interval: int | None = None) -> dict[str, Any]:
    keys = series(from_date, to_date, unit, timezone)
    if interval is not None:
        days = series(from_date, to_date, "day", timezone)
        keys = sorted({_interval_bucket(window_ms(date.fromisoformat(d), date.fromisoformat(d), timezone)[0],
                                        from_date, interval, timezone) for d in days})
    on_expr = parse(on) if on else None
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    users: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for item in _matching(events, event, from_date, to_date, timezone, where):
        bucket = (bucket_of(item.time_ms, unit, timezone) if interval is None
                  else _interval_bucket(item.time_ms, from_date, interval, timezone))
        segments = [event] if on_expr is None else (segment_keys(evaluate(on_expr, item.record())) or ["undefined"])
        for segment in segments:
            counts[segment][bucket] += 1
            if item.user != "":
                users[segment][bucket].add(item.user)
    totals = {segment: sum(per.values()) for segment, per in counts.items()}
    chosen = [event] if on_expr is None else sorted(totals, key=lambda s: (-totals[s], s))[:limit]
    values = {s: {k: _metric(kind, counts[s][k], len(users[s][k])) for k in keys} for s in chosen}
    return {"data": {"series": keys, "values": values}, "legend_size": len(values)}


def _number(value: Any) -> float | None:
    return float(value) if type_of(value) is T.NUMBER else None


def numeric_summary(events: Iterable[Event], event: str, from_date: date, to_date: date, on: str, *,
                    timezone: str = "UTC", unit: str = "day", where: str | None = None,
                    mean: bool = False) -> dict[str, float]:
    keys = series(from_date, to_date, unit, timezone)
    on_expr = parse(on)
    numbers: dict[str, list[float]] = defaultdict(list)
    for item in _matching(events, event, from_date, to_date, timezone, where):
        value = _number(evaluate(on_expr, item.record()))
        if value is not None:
            numbers[bucket_of(item.time_ms, unit, timezone)].append(value)
    if mean:
        return {k: (math.fsum(numbers[k]) / len(numbers[k]) if numbers[k] else 0.0) for k in keys}
    return {k: math.fsum(numbers[k]) for k in keys}


def _nice_width(low: float, high: float, integers: bool) -> float:
    """Smallest of 1, 2, 5 × 10^k (k ≥ 0 for integers) giving at most 10 aligned ranges, by trying them in order."""
    candidates = sorted(m * 10.0**k for k in range(-12 if not integers else 0, 20) for m in (1, 2, 5))
    for width in candidates:
        base = math.floor(low / width) * width
        if math.floor((high - base) / width) < 10:
            return width
    raise AssertionError("no width")


def _bound(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.10f}".rstrip("0").rstrip(".")


def numeric(events: Iterable[Event], event: str, from_date: date, to_date: date, on: str, *,
            timezone: str = "UTC", unit: str = "day", kind: str = "general",
            where: str | None = None) -> dict[str, Any]:
    keys = series(from_date, to_date, unit, timezone)
    on_expr = parse(on)
    found = []
    for item in _matching(events, event, from_date, to_date, timezone, where):
        value = _number(evaluate(on_expr, item.record()))
        if value is not None:
            found.append((item, value))
    if not found:
        return {"data": {"series": keys, "values": {}}, "legend_size": 0}
    low, high = min(v for _, v in found), max(v for _, v in found)
    width = _nice_width(low, high, low == int(low) and high == int(high))
    base = math.floor(low / width) * width
    last = math.floor((high - base) / width)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    users: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for item, value in found:
        slot = min(math.floor((value - base) / width), last)
        bucket = bucket_of(item.time_ms, unit, timezone)
        counts[slot][bucket] += 1
        if item.user != "":
            users[slot][bucket].add(item.user)
    values = {
        f"{_bound(base + s * width)} - {_bound(base + (s + 1) * width)}":
            {k: _metric(kind, counts[s][k], len(users[s][k])) for k in keys}
        for s in sorted(counts)
    }
    return {"data": {"series": keys, "values": values}, "legend_size": len(values)}
