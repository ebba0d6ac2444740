"""Brute-force flow paths (``/arb_funnels``) over the raw event list: plain Python, sharing no code with the SQL
path. Returns, for every distinct (reverse names, forward names), how many entries had it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date

from mixhouse.expr import Record, keeps, parse
from tests.support.reference_event_queries import Event
from tests.support.reference_insights import sessions_of
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
               collapse: bool = False, hidden: Sequence[str] = (), excluded: Sequence[str] = (),
               per_session: bool = False, window_sessions: int | None = None,
               anchor_where: str | None = None) -> Counter[tuple[tuple[str, ...], tuple[str, ...]]]:
    """``per_session``: an entry per session (its first anchor), paths inside it; ``window_sessions``: paths reach
    that many sessions from the anchor's (sessions over every event, hidden ones included); ``anchor_where``: an
    expression the anchor event must pass to start a path."""
    anchor_filter = parse(anchor_where) if anchor_where else None
    start, end = window_ms(from_date, to_date, timezone)
    session_of = sessions_of(events, -(2**62), 2**62, timezone)
    reach = 0 if per_session else (window_sessions - 1 if window_sessions is not None else None)
    if window_sessions is not None:
        window = 366 * 86_400_000
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "" and (e.name not in hidden or e.name == anchor):
            by_user[e.user].append(e)
    paths: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    for user_events in by_user.values():
        user_events.sort(key=lambda e: (e.time_ms, e.name))
        entries = [i for i, e in enumerate(user_events) if e.name == anchor and start <= e.time_ms < end
                   and (anchor_filter is None or keeps(anchor_filter, Record(e.name, e.time_ms, e.user,
                                                                             e.properties)))]
        if per_session:
            firsts: dict[int, int] = {}
            for i in entries:
                firsts.setdefault(session_of[id(user_events[i])][1], i)
            entries = sorted(firsts.values())
        for i in entries if totals or per_session else entries[:1]:
            t0 = user_events[i].time_ms
            s0 = session_of[id(user_events[i])][1]

            def near(e: Event, sign: int, s0: int = s0) -> bool:
                return reach is None or 0 <= sign * (session_of[id(e)][1] - s0) <= reach

            after = [e.name for e in user_events[i + 1:] if e.time_ms <= t0 + window and near(e, 1)]
            before = [e.name for e in reversed(user_events[:i]) if e.time_ms >= t0 - window and near(e, -1)]
            if collapse:
                after, before = _collapse(anchor, after), _collapse(anchor, before)
            for n, name in enumerate(after):
                if name in excluded:
                    after = after[:n]
                    break
            paths[(tuple(before[:reverse]), tuple(after[:forward]))] += 1
    return paths
