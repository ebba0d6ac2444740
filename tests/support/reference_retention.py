"""Brute-force retention (``/retention``) over the raw event list: plain Python, sharing no code with the SQL path
but the expression parser and evaluator."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from tests.support.reference_event_queries import Event, series
from tests.support.reference_time import bucket_of, window_ms, zone

DAY_MS = 86_400_000


def _record(event: Event) -> Record:
    return Record(event.name, event.time_ms, event.user, event.properties)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def _calendar_index(born_ms: int, back_ms: int, unit: str, interval: int, timezone: str) -> int:
    """Whole calendar units from the birth's to the return's (local days, Monday weeks, months)."""
    tz = zone(timezone)
    born = datetime.fromtimestamp(born_ms / 1000, UTC).astimezone(tz).date()
    back = datetime.fromtimestamp(back_ms / 1000, UTC).astimezone(tz).date()
    if unit == "day":
        units = (back - born).days
    elif unit == "week":
        units = ((back - timedelta(days=back.weekday())) - (born - timedelta(days=born.weekday()))).days // 7
    else:
        units = (back.year - born.year) * 12 + back.month - born.month
    return units // interval


def _interval_index(born_ms: int, back_ms: int, unit: str, interval: int, timezone: str) -> int:
    if unit != "month":
        return (back_ms - born_ms) // ((7 if unit == "week" else 1) * DAY_MS * interval)
    tz = zone(timezone)
    born = datetime.fromtimestamp(born_ms / 1000, UTC).astimezone(tz)
    back = datetime.fromtimestamp(back_ms / 1000, UTC).astimezone(tz)
    months = 0
    while _add_months(born, months + 1).timestamp() <= back.timestamp():
        months += 1
    return months // interval


def retention(events: Sequence[Event], from_date: date, to_date: date, *, timezone: str = "UTC",
              born_event: str | None = None, event: str | None = None, born_where: str | None = None,
              where: str | None = None, retention_type: str = "birth", unit: str = "day", interval: int = 1,
              interval_count: int = 1, unbounded_retention: bool = False, on: str | None = None,
              on_or_before: bool = False,
              limit: int = 255, alignment: str = "rolling") -> dict[str, Any]:
    start, end = window_ms(from_date, to_date, timezone)
    born_filter = parse(born_where) if born_where else None
    back_filter = parse(where) if where else None
    on_expr = parse(on) if on else None
    cohort_name = born_event if born_event is not None else event
    counted = [e for e in events if e.user != ""]

    def is_birth(e: Event) -> bool:
        return (cohort_name is None or e.name == cohort_name) and (
            born_filter is None or keeps(born_filter, _record(e)))

    births: list[tuple[str, int, Event]] = []  # (user, born_ms, birth event)
    if retention_type == "birth":
        first: dict[str, Event] = {}
        for e in sorted(counted, key=lambda e: (e.time_ms, e.insert_id)):
            if e.time_ms < end and is_birth(e) and e.user not in first:
                first[e.user] = e
        births = [(user, e.time_ms, e) for user, e in first.items() if e.time_ms >= start]
    else:
        per_bucket: dict[tuple[str, str], Event] = {}
        for e in sorted(counted, key=lambda e: (e.time_ms, e.insert_id)):
            if start <= e.time_ms < end and is_birth(e):
                per_bucket.setdefault((e.user, bucket_of(e.time_ms, unit, timezone)), e)
        births = [(user, e.time_ms, e) for (user, _), e in per_bucket.items()]

    returns: dict[str, list[int]] = defaultdict(list)
    for e in counted:
        if (event is None or e.name == event) and (back_filter is None or keeps(back_filter, _record(e))):
            returns[e.user].append(e.time_ms)

    length = interval_count + 1
    first_count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    back_users: dict[str, dict[str, list[set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: [set() for _ in range(length)]))
    for user, born_ms, birth in births:
        cohort = bucket_of(born_ms, unit, timezone)
        segments = [""]
        if on_expr is not None:
            segments = segment_keys(evaluate(on_expr, _record(birth))) or ["undefined"]
        index_of = _calendar_index if alignment == "calendar" else _interval_index
        indexes = {index_of(born_ms, t, unit, interval, timezone) for t in returns[user] if t > born_ms}
        indexes = {i for i in indexes if i < length}
        if unbounded_retention and indexes:
            indexes = set(range(max(indexes) + 1))
        elif on_or_before and indexes:
            indexes = set(range(min(indexes), length))
        for segment in dict.fromkeys(segments):
            first_count[segment][cohort] += 1
            for i in indexes:
                back_users[segment][cohort][i].add(user)

    cohorts = series(unit, from_date, to_date, timezone)

    def filled(segment: str) -> dict[str, Any]:
        return {c: {"counts": [len(s) for s in back_users[segment][c]] if c in back_users[segment] else [0] * length,
                    "first": first_count[segment].get(c, 0)} for c in cohorts}

    if on_expr is None:
        return filled("")
    sizes = {segment: sum(per.values()) for segment, per in first_count.items()}
    chosen = sorted(sizes, key=lambda s: (-sizes[s], s))[:limit]
    return {segment: filled(segment) for segment in chosen}
