"""Brute-force retention (``/retention``) over the raw event list: plain Python, sharing no code with the SQL path
but the expression parser and evaluator. ``on_buckets`` (Insights ``customBucket``, decision 0039) relabels the
segment keys of ``on`` or ``people_on`` with ``reference_buckets.bucketed``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from tests.support import reference_profiles
from tests.support.reference_buckets import Buckets, bucketed
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


def _value(event: Event, prop: str | None) -> float:
    """What a returning event adds to a sum: 1, or its property's number (0 when it has none)."""
    if prop is None:
        return 1.0
    value = event.properties.get(prop)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def retention(events: Sequence[Event], from_date: date, to_date: date, *, timezone: str = "UTC",
              born_event: str | None = None, event: str | None = None, born_where: str | None = None,
              where: str | None = None, retention_type: str = "birth", unit: str = "day", interval: int = 1,
              interval_count: int = 1, unbounded_retention: bool = False, on: str | None = None,
              on_or_before: bool = False, consecutive: bool = False, cumulative: bool = False,
              bracket_sizes: Sequence[int] = (), measure: str = "users", value_property: str | None = None,
              keep_user: Callable[[str], bool] | None = None,
              segments_of_user: Callable[[str], list[str]] | None = None,
              limit: int = 255, alignment: str = "rolling", profiles: reference_profiles.ProfileMap | None = None,
              people_where: str | None = None, people_on: str | None = None,
              on_buckets: Buckets | None = None) -> dict[str, Any]:
    """``/retention``'s answer, and the Insights options: ``on_or_before`` (``carry_forward``), ``consecutive``
    (streaks from interval 1), ``cumulative``, ``bracket_sizes`` (custom brackets after interval 0) and
    ``measure="events"`` (the sum of ``value_property``'s numbers, or the number, of the returning events);
    ``keep_user`` (cohort filters: only these users' events count) and ``segments_of_user`` (cohort breakdowns: the
    user's segments, none when empty) in place of expressions; ``people_where`` (only users whose profile in
    ``profiles`` passes it count) and ``people_on`` (a profile property breakdown: the user's current value,
    ``undefined`` without one)."""
    start, end = window_ms(from_date, to_date, timezone)
    born_filter = parse(born_where) if born_where else None
    back_filter = parse(where) if where else None
    on_expr = parse(on) if on else None
    cohort_name = born_event if born_event is not None else event
    if people_on is not None:
        segments_of_user = reference_profiles.segments(profiles or {}, people_on)
    profile_passes = reference_profiles.passes(profiles or {}, people_where) if people_where else None
    counted = [e for e in events if e.user != "" and (keep_user is None or keep_user(e.user))
               and (profile_passes is None or profile_passes(e.user))]

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

    returns: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for e in counted:
        if (event is None or e.name == event) and (back_filter is None or keeps(back_filter, _record(e))):
            returns[e.user].append((e.time_ms, _value(e, value_property)))

    ends: list[int] = []
    for size in bracket_sizes:  # each bracket's exclusive end, in units from the birth; interval 0 is unit 0
        ends.append((ends[-1] if ends else 1) + size)
    if bracket_sizes:
        interval, interval_count = 1, len(bracket_sizes)
    length = interval_count + 1
    index_of = _calendar_index if alignment == "calendar" else _interval_index

    def interval_of(born_ms: int, back_ms: int) -> int:
        units = index_of(born_ms, back_ms, unit, interval, timezone)
        if not bracket_sizes:
            return units
        return 0 if units < 1 else next((k + 1 for k, end in enumerate(ends) if units < end), length)
    first_count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    back_users: dict[str, dict[str, list[set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: [set() for _ in range(length)]))
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0] * length))
    for user, born_ms, birth in births:
        cohort = bucket_of(born_ms, unit, timezone)
        segments = [""]
        if segments_of_user is not None:
            segments = segments_of_user(user)
        elif on_expr is not None:
            segments = segment_keys(evaluate(on_expr, _record(birth))) or ["undefined"]
        if people_on is not None or on_expr is not None:
            segments = bucketed(segments, on_buckets)
        later = [(interval_of(born_ms, t), value) for t, value in returns[user] if t > born_ms]
        later = [(i, value) for i, value in later if i < length]
        indexes = {i for i, _ in later}
        if consecutive:
            streak = 0
            while streak + 1 in indexes:
                streak += 1
            indexes = ({0} & indexes) | set(range(1, streak + 1))
        elif unbounded_retention and indexes:
            indexes = set(range(max(indexes) + 1))
        elif on_or_before and indexes:
            indexes = set(range(min(indexes), length))
        if cumulative and indexes:
            indexes = set(range(min(indexes), length))
        for segment in dict.fromkeys(segments):
            first_count[segment][cohort] += 1
            for i in indexes:
                back_users[segment][cohort][i].add(user)
            for i, value in later:
                sums[segment][cohort][i] += value

    cohorts = series(unit, from_date, to_date, timezone)

    def values(segment: str, cohort: str) -> list[Any]:
        if measure == "users":
            return [len(s) for s in back_users[segment][cohort]] if cohort in back_users[segment] else [0] * length
        found: list[Any] = list(sums[segment][cohort]) if cohort in sums[segment] else [0.0] * length
        if value_property is None:
            found = [int(v) for v in found]
        if cumulative:
            found = [sum(found[: i + 1]) for i in range(length)]
        return found

    def filled(segment: str) -> dict[str, Any]:
        return {c: {"counts": values(segment, c), "first": first_count[segment].get(c, 0)} for c in cohorts}

    if on_expr is None and segments_of_user is None:
        return filled("")
    sizes = {segment: sum(per.values()) for segment, per in first_count.items()}
    chosen = sorted(sizes, key=lambda s: (-sizes[s], s))[:limit]
    return {segment: filled(segment) for segment in chosen}
