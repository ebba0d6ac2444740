"""Brute-force answers of ``/events``, ``/events/properties``, ``/retention/addiction`` and ``/stream/query``, in
plain Python over the events that were sent.

Independent of the SQL path on purpose: it applies Simplified ID Merge itself (stored id from ``$user_id`` /
``$device_id``; the first event carrying both maps ``$device:<id>`` to the user for ever), deduplicates on
(event, stored id, time, ``$insert_id``) keeping the last copy sent, and buckets with ``zoneinfo``. Only the
expression language (``mixhouse.expr``) is shared, for property keys and ``where``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from mixhouse.expr import Record, keeps, parse, segment_keys
from mixhouse.expr.values import from_json
from tests.support.reference_time import bucket_of, window_ms

NOT_STORED = frozenset({"time", "$time", "distinct_id", "$distinct_id", "$insert_id", "token", "ip"})
ADDED_BY_IMPORT = frozenset({"$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms", "$import"})
DEVICE = "$device:"


@dataclass(frozen=True)
class Event:
    name: str
    stored_id: str
    user: str  # canonical id after identity merge
    time_ms: int
    insert_id: str
    properties: dict[str, Any]


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int) and str(value):
        return str(value)
    return None


def load(sent: Iterable[dict[str, Any]]) -> list[Event]:
    """What the server keeps of imported wire events, with canonical ids."""
    canonical: dict[str, str] = {}
    kept: dict[tuple[str, str, int, str], tuple[str, int, str, dict[str, Any]]] = {}
    for raw in sent:
        props = raw["properties"]
        stored_id = str(props.get("distinct_id", ""))
        user_id, device_id = _id_text(props.get("$user_id")), _id_text(props.get("$device_id"))
        if user_id is not None:
            stored_id = user_id
        elif device_id is not None:
            stored_id = DEVICE + device_id
        if user_id is not None and device_id is not None:
            device = DEVICE + device_id
            if device != user_id and device not in canonical and device not in canonical.values():
                canonical[device] = user_id
        time_value = props["time"]
        time_ms = int(time_value) * 1000 if time_value < 10**11 else int(time_value)
        stored = {key: value for key, value in props.items() if key not in NOT_STORED}
        key = (raw["event"], stored_id, time_ms, str(props.get("$insert_id", "")))
        kept[key] = (raw["event"], time_ms, str(props.get("$insert_id", "")), stored)
    return [
        Event(name, stored_id, canonical.get(stored_id, stored_id), time_ms, insert_id, props)
        for (_, stored_id, _, _), (name, time_ms, insert_id, props) in kept.items()
    ]


# --- buckets ------------------------------------------------------------------------------------------------------





def series(unit: str, from_date: date, to_date: date, timezone: str) -> list[str]:
    """Every bucket key of the window, ascending (walking minute by minute in UTC; DST-safe by construction)."""
    start_ms, end_ms = window_ms(from_date, to_date, timezone)
    keys: dict[str, None] = {}
    moment = start_ms
    while moment < end_ms:
        keys[bucket_of(moment, unit, timezone)] = None
        moment += 60_000 if unit in ("minute", "hour") else 3_600_000
    return sorted(keys)


def in_window(events: Iterable[Event], from_date: date, to_date: date, timezone: str) -> list[Event]:
    start_ms, end_ms = window_ms(from_date, to_date, timezone)
    return [event for event in events if start_ms <= event.time_ms < end_ms]


def _metric(kind: str, count: int, users: set[str]) -> int | float:
    if kind == "general":
        return count
    unique = len(users - {""})
    if kind == "unique":
        return unique
    return count / unique if unique else 0


def _answer(keys: list[str], cells: dict[str, dict[str, int | float]]) -> dict[str, Any]:
    values = {name: {key: cells[name].get(key, 0) for key in keys} for name in cells}
    return {"data": {"series": keys, "values": values}, "legend_size": len(values)}


# --- endpoints ----------------------------------------------------------------------------------------------------


def event_counts(events: Sequence[Event], names: list[str], kind: str, unit: str, from_date: date, to_date: date,
                 timezone: str) -> dict[str, Any]:
    counts: dict[tuple[str, str], int] = Counter()
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in in_window(events, from_date, to_date, timezone):
        if event.name in names:
            cell = (event.name, bucket_of(event.time_ms, unit, timezone))
            counts[cell] += 1
            users[cell].add(event.user)
    cells: dict[str, dict[str, int | float]] = {name: {} for name in names}
    for (name, key), count in counts.items():
        cells[name][key] = _metric(kind, count, users[(name, key)])
    return _answer(series(unit, from_date, to_date, timezone), cells)


def property_keys(properties: dict[str, Any], name: str) -> list[str]:
    if name not in properties:
        return []
    return segment_keys(from_json(properties[name]))


def property_counts(events: Sequence[Event], event: str, name: str, kind: str, unit: str, from_date: date,
                    to_date: date, timezone: str, values: list[str] | None = None,
                    limit: int = 255) -> dict[str, Any]:
    counts: dict[tuple[str, str], int] = Counter()
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    totals: Counter[str] = Counter()
    for item in in_window(events, from_date, to_date, timezone):
        if item.name != event:
            continue
        for value in property_keys(item.properties, name):
            if values is not None and value not in values:
                continue
            cell = (value, bucket_of(item.time_ms, unit, timezone))
            counts[cell] += 1
            users[cell].add(item.user)
            totals[value] += 1
    top = sorted(totals, key=lambda value: (-totals[value], value))[:limit]
    cells: dict[str, dict[str, int | float]] = {value: {} for value in top}
    for (value, key), count in counts.items():
        if value in cells:
            cells[value][key] = _metric(kind, count, users[(value, key)])
    return _answer(series(unit, from_date, to_date, timezone), cells)


def _period_days(unit: str, start: date) -> list[date]:
    if unit == "day":
        return [start]
    if unit == "week":
        return [start + timedelta(days=i) for i in range(7)]
    days = []
    day = start
    while day.month == start.month:
        days.append(day)
        day += timedelta(days=1)
    return days


def frequency(events: Sequence[Event], unit: str, addiction_unit: str, from_date: date, to_date: date,
              timezone: str, names: list[str] | None = None, where: str | None = None) -> dict[str, Any]:
    expr = parse(where) if where else None
    active: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in in_window(events, from_date, to_date, timezone):
        if item.user == "" or (names is not None and item.name not in names):
            continue
        if expr is not None and not keeps(expr, Record(item.name, item.time_ms, item.user, item.properties)):
            continue
        period = bucket_of(item.time_ms, unit, timezone)
        active[(period, item.user)].add(bucket_of(item.time_ms, addiction_unit, timezone))
    data: dict[str, list[int]] = {}
    for key in series(unit, from_date, to_date, timezone):
        days = _period_days(unit, date.fromisoformat(key))
        data[key] = [0] * len(series(addiction_unit, days[0], days[-1], timezone))
    for (period, _user), units in active.items():
        for k in range(min(len(units), len(data[period]))):
            data[period][k] += 1
    return {"data": data}


def activity(events: Sequence[Event], ids: list[str], from_date: date, to_date: date, timezone: str,
             canonical_of: dict[str, str]) -> list[dict[str, Any]]:
    """The events of the users the ids belong to, oldest first (``canonical_of`` maps any id to its user)."""
    users = {canonical_of.get(item, item) for item in ids if item}
    chosen = [event for event in in_window(events, from_date, to_date, timezone) if event.user in users]
    chosen.sort(key=lambda event: event.time_ms)
    return [
        {"event": event.name, "properties": {"time": event.time_ms // 1000, "distinct_id": event.user,
                                             "$distinct_id": event.user, "$insert_id": event.insert_id,
                                             **event.properties}}
        for event in chosen
    ]


def canonical_map(events: Iterable[Event]) -> dict[str, str]:
    return {event.stored_id: event.user for event in events}
