"""Brute-force flow paths (``/arb_funnels``) over the raw event list: plain Python, sharing no code with the SQL
path. Returns, for every distinct (reverse names, forward names), how many entries had it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date

from tests.support.reference_event_queries import Event
from tests.support.reference_time import window_ms


def _collapse(first: str, names: list[str]) -> list[str]:
    out: list[str] = []
    previous = first
    for name in names:
        if name != previous:
            out.append(name)
        previous = name
    return out


def flow_paths(events: Sequence[Event], anchor: str, from_date: date, to_date: date, *, timezone: str = "UTC",
               forward: int = 3, reverse: int = 0, window: int = 7 * 86_400_000, totals: bool = False,
               collapse: bool = False, hidden: Sequence[str] = (),
               excluded: Sequence[str] = ()) -> Counter[tuple[tuple[str, ...], tuple[str, ...]]]:
    start, end = window_ms(from_date, to_date, timezone)
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "" and (e.name not in hidden or e.name == anchor):
            by_user[e.user].append(e)
    paths: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    for user_events in by_user.values():
        user_events.sort(key=lambda e: (e.time_ms, e.name))
        entries = [i for i, e in enumerate(user_events) if e.name == anchor and start <= e.time_ms < end]
        for i in entries if totals else entries[:1]:
            t0 = user_events[i].time_ms
            after = [e.name for e in user_events[i + 1:] if e.time_ms <= t0 + window]
            before = [e.name for e in reversed(user_events[:i]) if e.time_ms >= t0 - window]
            if collapse:
                after, before = _collapse(anchor, after), _collapse(anchor, before)
            for n, name in enumerate(after):
                if name in excluded:
                    after = after[:n]
                    break
            paths[(tuple(before[:reverse]), tuple(after[:forward]))] += 1
    return paths
