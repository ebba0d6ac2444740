"""Brute-force flow paths (``/arb_funnels``) over the raw event list: plain Python, sharing no code with the SQL
path. Returns, for every distinct (reverse names, after names per anchor reached, segment keys), how many entries
had it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from tests.support.reference_buckets import Buckets, bucketed
from tests.support.reference_event_queries import Event
from tests.support.reference_insights import sessions_of
from tests.support.reference_time import window_ms

Outcome = tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]


@dataclass(frozen=True)
class Anchor:
    """An anchor step: ``where`` (an expression) is the filter its events must pass; ``session_event`` ``"start"``
    or ``"end"``: the starts or ends of sessions instead."""

    event: str
    forward: int = 3
    reverse: int = 0
    where: str | None = None
    session_event: str | None = None


@dataclass(frozen=True)
class CohortSegment:
    """A cohort breakdown: (members, negated, label) per cohort."""

    cohorts: tuple[tuple[frozenset[str], bool, str], ...]


@dataclass(frozen=True)
class ProfileSegment:
    """A breakdown by a property of the entry's user profile."""

    name: str


@dataclass(frozen=True)
class FrequencySegment:
    """A breakdown by how many times the entry's user did ``event`` (passing ``where``) from ``from_date`` to
    ``to_date``; ``buckets`` (size, min, max or None) groups the counts as Insights labels them."""

    event: str
    from_date: date
    to_date: date
    where: str | None = None
    buckets: tuple[int, int, int | None] | None = None

    def label(self, count: int) -> str:
        if self.buckets is None:
            return str(count)
        size, low, high = self.buckets
        if count < low:
            return f"< {low}"
        if high is not None and count >= high:
            return f"{high}+"
        first = low + (count - low) // size * size
        last = first + size - 1 if high is None else min(first + size - 1, high - 1)
        return str(first) if first == last else f"{first} - {last}"


def _collapse(first: str, names: list[str]) -> list[str]:
    out: list[str] = []
    previous = first
    for name in names:
        if name != previous:
            out.append(name)
        previous = name
    return out


@dataclass(frozen=True)
class BucketedSegment:
    """A breakdown by a property of the entry event (``on_profile``: of its user's profile) with its numbers in
    ``customBucket`` ranges."""

    name: str
    buckets: Buckets
    on_profile: bool = False


Segment = str | CohortSegment | ProfileSegment | FrequencySegment | BucketedSegment


def _keys(e: Event, segments: Sequence[Segment], record: Record, counts: dict[int, Counter[str]]
          ) -> tuple[tuple[str, ...], ...]:
    out: list[tuple[str, ...]] = []
    for n, segment in enumerate(segments):
        if isinstance(segment, FrequencySegment):
            out.append((segment.label(counts[n][e.user]),))
            continue
        if isinstance(segment, BucketedSegment):
            text = f'{"user" if segment.on_profile else "properties"}["{segment.name}"]'
            found = bucketed(segment_keys(evaluate(parse(text), record)), segment.buckets)
            out.append(tuple(found) or ("undefined",))
        elif isinstance(segment, str | ProfileSegment):
            text = f'properties["{segment}"]' if isinstance(segment, str) else f'user["{segment.name}"]'
            found = segment_keys(evaluate(parse(text), record))
            out.append(tuple(found) or ("undefined",))
        else:
            out.append(tuple(label for members, negated, label in segment.cohorts if (e.user in members) != negated))
    return tuple(out)


def flow_outcomes(events: Sequence[Event], anchors: Sequence[Anchor], from_date: date, to_date: date, *,
                  timezone: str = "UTC", window: int = 7 * 86_400_000, totals: bool = False, collapse: bool = False,
                  hidden: Sequence[str] = (), excluded: Sequence[str] = (), per_session: bool = False,
                  window_sessions: int | None = None, where: str | None = None,
                  segments: Sequence[Segment] = (),
                  profiles: Mapping[str, dict[str, Any]] | None = None) -> Counter[Outcome]:
    """``per_session``: an entry per session (its first anchor), paths inside it; ``window_sessions``: paths reach
    that many sessions from the entry's (sessions over every event, hidden and filtered ones included); ``where``:
    an expression every event in a flow must pass (``user[...]``: ``profiles``, canonical id → properties);
    ``segments``: property names (read on the entry event), profile properties, cohorts or event counts."""
    people = profiles or {}

    def _record(e: Event) -> Record:
        return Record(e.name, e.time_ms, e.user, e.properties, people.get(e.user, {}))

    counts: dict[int, Counter[str]] = defaultdict(Counter)  # per frequency segment: events per user
    for n, segment in enumerate(segments):
        if isinstance(segment, FrequencySegment):
            low, high = window_ms(segment.from_date, segment.to_date, timezone)
            test = parse(segment.where) if segment.where else None
            for e in events:
                if e.user and e.name == segment.event and low <= e.time_ms < high and (
                        test is None or keeps(test, Record(e.name, e.time_ms, e.user, e.properties))):
                    counts[n][e.user] += 1
    tests = [parse(a.where) if a.where else None for a in anchors]
    kept = parse(where) if where else None
    names = {a.event for a in anchors}
    start, end = window_ms(from_date, to_date, timezone)
    session_of = sessions_of(events, -(2**62), 2**62, timezone)
    reach = 0 if per_session else (window_sessions - 1 if window_sessions is not None else None)
    if window_sessions is not None:
        window = 366 * 86_400_000
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "" and (e.name not in hidden or e.name in names) and (kept is None or keeps(kept, _record(e))):
            by_user[e.user].append(e)
    # session starts and ends: virtual events before a session's first event and after its last (every event)
    virtual: dict[int, str] = {}
    place = {"start": 0, "end": 2}
    if any(a.session_event for a in anchors):
        spans: dict[tuple[str, int], list[int]] = defaultdict(list)
        for e in events:
            if id(e) in session_of:
                spans[session_of[id(e)]].append(e.time_ms)
        for (user, number), times in spans.items():
            for kind, at in (("start", min(times)), ("end", max(times))):
                item = Event(f"$session_{kind}", "", user, at, "", {})
                virtual[id(item)] = kind
                session_of[id(item)] = (user, number)
                by_user[user].append(item)

    def qualifies(e: Event, k: int) -> bool:
        if anchors[k].session_event or id(e) in virtual:
            return virtual.get(id(e)) == anchors[k].session_event
        test = tests[k]
        return e.name == anchors[k].event and (test is None or keeps(test, _record(e)))

    def real(items: Sequence[Event]) -> list[str]:
        return [e.name for e in items if id(e) not in virtual]

    out: Counter[Outcome] = Counter()
    for own in by_user.values():
        own.sort(key=lambda e: (e.time_ms, place.get(virtual.get(id(e), ""), 1), e.name))
        entries = [i for i, e in enumerate(own) if qualifies(e, 0) and start <= e.time_ms < end]
        if per_session:
            firsts: dict[int, int] = {}
            for i in entries:
                firsts.setdefault(session_of[id(own[i])][1], i)
            entries = sorted(firsts.values())
        for i in entries if totals or per_session else entries[:1]:
            t0, s0 = own[i].time_ms, session_of[id(own[i])][1]

            def near(e: Event, sign: int, t0: int = t0, s0: int = s0) -> bool:
                in_time = e.time_ms <= t0 + window if sign > 0 else e.time_ms >= t0 - window
                return in_time and (reach is None or 0 <= sign * (session_of[id(e)][1] - s0) <= reach)

            before = real([e for e in reversed(own[:i]) if near(e, -1)])
            if collapse:
                before = _collapse(anchors[0].event, before)
            after: list[tuple[str, ...]] = []
            p = i
            for k, anchor in enumerate(anchors):
                nxt = None
                if k + 1 < len(anchors):
                    stop = next((j for j in range(p + 1, len(own)) if own[j].name in excluded), len(own))
                    nxt = next((j for j in range(p + 1, stop) if qualifies(own[j], k + 1) and near(own[j], 1)), None)
                if nxt is not None:
                    between = real(own[p + 1: nxt])
                    if collapse:
                        between = _collapse(anchor.event, between)
                    behind = anchors[k + 1].reverse
                    if len(between) > anchor.forward + behind:
                        between = between[: anchor.forward] + (between[len(between) - behind:] if behind else [])
                    after.append(tuple(between))
                    p = nxt
                    continue
                following = real([e for e in own[p + 1:] if near(e, 1)])
                if collapse:
                    following = _collapse(anchor.event, following)
                for n, name in enumerate(following):
                    if name in excluded:
                        following = following[:n]
                        break
                after.append(tuple(following[: anchor.forward]))
                break
            keys = _keys(own[i], segments, _record(own[i]), counts)
            out[(tuple(before[: anchors[0].reverse]), tuple(after), keys)] += 1
    return out

