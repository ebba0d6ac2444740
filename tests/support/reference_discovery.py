"""Brute-force answers of the discovery endpoints, in plain Python over the events that were sent.

Independent of the SQL path on purpose: it rebuilds what the server stores from the wire events (lifted and dropped
keys, the properties ingestion adds), deduplicates, and counts with dictionaries. Order: count desc, then name asc.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Keys ingestion moves out of ``properties`` (columns) or drops.
NOT_STORED = frozenset({"time", "$time", "distinct_id", "$distinct_id", "$insert_id", "token", "ip"})
#: Keys ingestion adds to every event (``/import``).
ADDED_BY_IMPORT = ("$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms", "$import")


@dataclass(frozen=True)
class StoredEvent:
    name: str
    distinct_id: str
    time_ms: int
    insert_id: str
    properties: dict[str, Any]


def stored_events(sent: Iterable[dict[str, Any]]) -> list[StoredEvent]:
    """What the server keeps of imported wire events, one copy per (event, distinct_id, time, $insert_id)."""
    kept: dict[tuple[str, str, int, str], StoredEvent] = {}
    for raw in sent:
        props = raw["properties"]
        time_value = props["time"]
        time_ms = int(time_value) * 1000 if time_value < 10**11 else int(time_value)
        stored = {key: value for key, value in props.items() if key not in NOT_STORED}
        for key in ADDED_BY_IMPORT:
            stored[key] = True
        event = StoredEvent(raw["event"], str(props["distinct_id"]), time_ms, str(props["$insert_id"]), stored)
        kept[(event.name, event.distinct_id, event.time_ms, event.insert_id)] = event
    return list(kept.values())


def in_window(events: Iterable[StoredEvent], start_ms: int, end_ms: int) -> list[StoredEvent]:
    return [event for event in events if start_ms <= event.time_ms < end_ms]


def _ranked(counts: Counter[str], limit: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def event_names(events: Iterable[StoredEvent], limit: int = 255) -> list[str]:
    return [name for name, _ in _ranked(Counter(event.name for event in events), limit)]


def top_properties(events: Iterable[StoredEvent], event: str, limit: int = 10) -> dict[str, dict[str, int]]:
    counts: Counter[str] = Counter()
    for item in events:
        if item.name == event:
            counts.update(set(item.properties))
    return {name: {"count": count} for name, count in _ranked(counts, limit)}


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def as_text(value: Any) -> str | None:
    """Mixpanel's string form of a scalar property value (None for null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def values_of(value: Any) -> set[str]:
    """The strings one event contributes for a property: each distinct non-null list element, or the value."""
    items = value if isinstance(value, list) else [value]
    return {text for text in (as_text(item) for item in items) if text is not None}


def property_values(events: Iterable[StoredEvent], name: str, event: str | None = None, limit: int = 255) -> list[str]:
    counts: Counter[str] = Counter()
    for item in events:
        if (event is None or item.name == event) and name in item.properties:
            counts.update(values_of(item.properties[name]))
    return [value for value, _ in _ranked(counts, limit)]


def top_events_general(
    events: Iterable[StoredEvent], today_start_ms: int, today_end_ms: int, yesterday_start_ms: int, now_ms: int
) -> list[tuple[str, int, float]]:
    """(event, amount, percent_change) for ``type=general``: today's count vs yesterday up to the same time."""
    today: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for item in events:
        if today_start_ms <= item.time_ms < today_end_ms:
            today[item.name] += 1
        elif yesterday_start_ms <= item.time_ms < now_ms - 86_400_000:
            before[item.name] += 1
    return [
        (name, count, (count - before[name]) / before[name] if before[name] else 0.0)
        for name, count in _ranked(today, len(today))
    ]
