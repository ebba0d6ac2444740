"""Brute-force funnels (``/funnels``) over the raw event list: plain Python, sharing no code with the SQL path but
the expression parser and evaluator.

Where the SQL matches steps greedily, this tries every assignment of events to steps (depth-first) and keeps the
longest, earliest one; exclusions then cut that path. Equal answers mean the greedy choice is the optimal one.

With ``value_math``/``value_prop`` (Insights property maths, decision 0037) each step also gets ``value``: the math
over the property's numbers on the events that completed the step in the attempts counted there.

``breakdown_buckets`` (Insights ``customBucket``, decision 0039): per breakdown, the segment keys it gives (the
attributed step's, the profile's) relabelled by ``reference_buckets.bucketed`` after the attribution picked them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from mixhouse.expr.ast import Expr
from tests.support import reference_profiles
from tests.support.reference_buckets import Buckets, bucketed
from tests.support.reference_event_queries import Event, series
from tests.support.reference_insights import sessions_of
from tests.support.reference_time import bucket_of, window_ms

GRACE_MS = 2_000
#: Joins the keys of a segment path with several breakdowns.
PATH_SEPARATOR = "\x1f"
_MISSING = object()


@dataclass(frozen=True)
class Step:
    event: str
    where: str | None = None  # the step's filter, as an expression


@dataclass(frozen=True)
class Profile:
    """A breakdown by a user profile property: the user's current value (``profiles``), whatever the step."""

    name: str


@dataclass(frozen=True)
class Exclusion:
    event: str
    first: int  # 0-based steps it lies between
    last: int


def _record(event: Event) -> Record:
    return Record(event.name, event.time_ms, event.user, event.properties)


def _number(event: Event, prop: str) -> float | None:
    """The property's value when it is a number (not a boolean), else ``None``."""
    value = event.properties.get(prop)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


_LEVELS = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9, "p99": 0.99}


def _label(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(number)


def step_aggregate(math: str, numbers: list[float]) -> Any:
    """``math`` over one step's numbers: ``None`` (a histogram ``{}``) without any; percentiles interpolate
    linearly between the closest ranks."""
    if math == "histogram":
        counts = Counter(numbers)
        return {_label(number): counts[number] for number in sorted(counts)}
    if not numbers:
        return None
    if math == "average":
        return sum(numbers) / len(numbers)
    if math in ("min", "max"):
        return min(numbers) if math == "min" else max(numbers)
    ordered = sorted(numbers)
    position = _LEVELS[math] * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _fits_position(fits: list[bool], k: int, free: frozenset[int], used: frozenset[int]) -> list[int | None]:
    """How an event with step matches ``fits`` can fill position ``k``: the free steps it would use (any order), or
    ``[None]`` for the position's own step; ``[]`` when it cannot."""
    if k in free:
        return [s for s in sorted(free) if fits[s] and s not in used]
    return [None] if fits[k] else []


def _best_path(entry: int, events: list[Event], fits: list[list[bool]], window: int,
               held: Sequence[str], free: frozenset[int], first_used: frozenset[int],
               sessions: list[int], window_sessions: int | None) -> list[int]:
    """Indexes of the events completing steps 0..k: the longest path, earliest times first among those."""
    start = events[entry].time_ms
    last_session = sessions[entry] + window_sessions - 1 if window_sessions is not None else None
    values = [tuple(e.properties.get(name, _MISSING) for name in held) for e in events]
    best: list[int] = [entry]

    def extend(path: list[int], used: frozenset[int]) -> None:
        nonlocal best
        key = (len(path), [-events[i].time_ms for i in path])
        if key > (len(best), [-events[i].time_ms for i in best]):
            best = list(path)
        k = len(path)
        if k == len(fits[0]):
            return
        previous = events[path[-1]].time_ms
        for i, e in enumerate(events):
            if (i not in path and e.time_ms >= previous - GRACE_MS and e.time_ms <= start + window
                    and values[i] == values[entry] and (last_session is None or sessions[i] <= last_session)):
                for step in _fits_position(fits[i], k, free, used):
                    extend([*path, i], used if step is None else used | {step})

    extend([entry], first_used)
    return best


def _attributed(expr: Expr, reached: list[Event], attribution: str | int) -> list[str]:
    """The segment keys of an attempt that reached the steps of ``reached``'s events, by ``attribution``."""
    values = [segment_keys(evaluate(expr, _record(e))) for e in reached]
    if isinstance(attribution, int):
        return values[attribution] if attribution < len(values) and values[attribution] else ["undefined"]
    ordered = values[::-1] if attribution == "last_defined" else values
    return next((keys for keys in ordered if keys), ["undefined"])


def funnel(events: Sequence[Event], steps: Sequence[Step], from_date: date, to_date: date, *,
           timezone: str = "UTC", window: int = 14 * 86_400_000, exclusions: Sequence[Exclusion] = (),
           held: Sequence[str] = (), where: str | None = None, on: str | None = None, unit: str = "day",
           interval: int | None = None, limit: int = 255, totals: bool = False,
           optimized: bool = False, free: frozenset[int] = frozenset(), window_sessions: int | None = None,
           per_session: bool = False, reentry: str = "default",
           attribution: str | int = "first_defined",
           breakdowns: Sequence[str | Profile | Callable[[str], list[str]]] = (),
           breakdown_buckets: Sequence[Buckets | None] = (),
           profiles: reference_profiles.ProfileMap | None = None, people_where: str | None = None,
           value_math: str | None = None, value_prop: str = "") -> dict[str, Any]:
    """``window_sessions``: the conversion window in sessions instead of ``window``; ``per_session``: sessions
    counting (the first step-1 event of each session is an entry). ``reentry`` (totals): ``default`` re-enters after
    the attempt exits, ``basic`` once its window closes, ``aggressive`` at every step-1 event. ``attribution``: the
    step whose event gives the segment (``first_defined``, ``last_defined`` or a 0-based step). ``breakdowns``
    (instead of ``on``; Insights): each an expression valued by the attribution like ``on``, or a function giving
    the segments of a user (cohorts: none puts the user in no segment), or a ``Profile`` property of the user's in
    ``profiles`` (``undefined`` without a value); the segments are then every path prefix, keys joined by
    ``PATH_SEPARATOR``; ``breakdown_buckets`` (by position, ``None`` or missing: raw keys) puts a breakdown's numbers in
    ranges. ``people_where``: only the users whose profile in ``profiles`` passes (an expression over the
    profile) count. ``value_math`` of ``value_prop``: each step's ``value`` (see the module)."""
    start, end = window_ms(from_date, to_date, timezone)
    global_filter = parse(where) if where else None
    step_filters = [parse(step.where) if step.where else None for step in steps]
    on_expr = parse(on) if on else None
    parsed_breakdowns = [reference_profiles.segments(profiles or {}, spec.name) if isinstance(spec, Profile)
                         else spec if callable(spec) else parse(spec) for spec in breakdowns]
    kept_user = reference_profiles.passes(profiles or {}, people_where) if people_where else None
    n = len(steps)

    def bucket(time_ms: int) -> str:
        key = bucket_of(time_ms, "day" if interval else unit, timezone)
        if not interval:
            return key
        days = (date.fromisoformat(key) - from_date).days
        return (from_date + timedelta(days=days // interval * interval)).isoformat()

    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "" and (kept_user is None or kept_user(e.user)):
            by_user[e.user].append(e)
    session_of = sessions_of(events, -(2**62), 2**62, timezone)
    if window_sessions is not None:
        window = 366 * 86_400_000
    cells: dict[tuple[str, str], list[list[int]]] = {}  # (bucket, segment) → per step: [count, Σd, Σs]
    numbers: dict[tuple[str, str], list[list[float]]] = {}  # (bucket, segment) → per step: the counted numbers

    def add(bucket_key: str, segment: str, level: int, times: list[int], found: list[float | None]) -> None:
        cell = cells.setdefault((bucket_key, segment), [[0, 0, 0] for _ in range(n)])
        kept = numbers.setdefault((bucket_key, segment), [[] for _ in range(n)])
        for k in range(level):
            cell[k][0] += 1
            if k:
                cell[k][1] += times[k] - times[k - 1]
                cell[k][2] += times[k] - times[0]
            if (number := found[k]) is not None:
                kept[k].append(number)

    for user_events in by_user.values():
        # optimized re-entry: per (bucket, segment) the best attempt, by (level, earliest last step, latest entry)
        best: dict[tuple[str, str], tuple[tuple[int, int, int], int, list[int], list[float | None]]] = {}
        entered_sessions: set[tuple[str, int]] = set()
        user_events.sort(key=lambda e: e.time_ms)
        sessions = [session_of[id(e)][1] for e in user_events]
        fits = [[e.name == step.event and (global_filter is None or keeps(global_filter, _record(e)))
                 and (flt is None or keeps(flt, _record(e))) for step, flt in zip(steps, step_filters, strict=True)]
                for e in user_events]
        excluded = [[e.name == x.event for x in exclusions] for e in user_events]
        busy_until: dict[str, int] = {}  # per bucket: when the last counted attempt exited (uniques: forever)
        for i, e in enumerate(user_events):
            if not (_fits_position(fits[i], 0, free, frozenset()) and start <= e.time_ms < end):
                continue
            if per_session:
                if (bucket(e.time_ms), sessions[i]) in entered_sessions:
                    continue
                entered_sessions.add((bucket(e.time_ms), sessions[i]))
            elif not optimized and e.time_ms <= busy_until.get(bucket(e.time_ms), -(2**62)):
                continue
            # any order: the entry fills position 0 with each free step it matches in turn; the best path wins
            paths = [_best_path(i, user_events, fits, window, held, free,
                                frozenset() if step is None else frozenset({step}), sessions, window_sessions)
                     for step in _fits_position(fits[i], 0, free, frozenset())]
            path = max(paths, key=lambda p: (len(p), [-user_events[j].time_ms for j in p]))
            level = len(path)
            exit_ms = e.time_ms + window
            if window_sessions is not None:  # the window closes with the last event of its last session
                last_session = sessions[i] + window_sessions - 1
                exit_ms = max(other.time_ms for j, other in enumerate(user_events)
                              if j >= i and sessions[j] <= last_session)
            window_closes = exit_ms
            for k in range(len(path) - 1):
                low, high = user_events[path[k]].time_ms, user_events[path[k + 1]].time_ms
                cutting = [other.time_ms for j, other in enumerate(user_events)
                           for x, exclusion in enumerate(exclusions)
                           if excluded[j][x] and exclusion.first <= k < exclusion.last
                           and low + GRACE_MS < other.time_ms < high - GRACE_MS]
                if cutting:
                    level, exit_ms = k + 1, min(cutting)
                    break
            if level == n:
                exit_ms = user_events[path[-1]].time_ms
            if not totals:
                busy_until[bucket(e.time_ms)] = 2**62
            elif reentry != "aggressive":
                busy_until[bucket(e.time_ms)] = window_closes if reentry == "basic" else exit_ms
            segments = ["$overall"]
            reached = [user_events[j] for j in path[:level]]
            if on_expr is not None:
                segments += _attributed(on_expr, reached, attribution)
            prefixes: list[list[str]] = [[]]
            for b, spec in enumerate(parsed_breakdowns):
                keys = _attributed(spec, reached, attribution) if isinstance(spec, Expr) else spec(e.user)
                keys = bucketed(keys, breakdown_buckets[b] if b < len(breakdown_buckets) else None)
                prefixes = [[*prefix, key] for prefix in prefixes for key in keys]
                segments += [PATH_SEPARATOR.join(prefix) for prefix in prefixes]
            times = [user_events[j].time_ms for j in path]
            found = [_number(user_events[j], value_prop) for j in path]
            for segment in dict.fromkeys(segments):
                if optimized:
                    rank = (level, -times[level - 1], e.time_ms)
                    held_best = best.get((bucket(e.time_ms), segment))
                    if held_best is None or rank > held_best[0]:
                        best[(bucket(e.time_ms), segment)] = (rank, level, times, found)
                else:
                    add(bucket(e.time_ms), segment, level, times, found)
        for (bucket_key, segment), (_, level, times, found) in best.items():
            add(bucket_key, segment, level, times, found)

    if interval:
        dates, day = [], from_date
        while day <= to_date:
            dates.append(day.isoformat())
            day += timedelta(days=interval)
    else:
        dates = series(unit, from_date, to_date, timezone)

    def step_list(cell: list[list[int]] | None, kept: list[list[float]] | None) -> list[dict[str, Any]]:
        counts = [c[0] for c in cell] if cell else [0] * n
        out = []
        for k, step in enumerate(steps):
            timed = cell is not None and k > 0 and counts[k] > 0
            out.append({
                "count": counts[k],
                "avg_time": round(cell[k][1] / counts[k] / 1000) if timed and cell else None,
                "avg_time_from_start": round(cell[k][2] / counts[k] / 1000) if timed and cell else None,
                "step_conv_ratio": 1 if k == 0 else (round(counts[k] / counts[k - 1], 4) if counts[k - 1] else 0),
                "overall_conv_ratio": 1 if k == 0 else (round(counts[k] / counts[0], 4) if counts[0] else 0),
                "goal": step.event,
                "event": step.event,
                **({"value": step_aggregate(value_math, kept[k] if kept else [])} if value_math else {}),
            })
        return out

    if on_expr is None and not breakdowns:
        data: dict[str, Any] = {}
        for key in dates:
            listed = step_list(cells.get((key, "$overall")), numbers.get((key, "$overall")))
            counts = [s["count"] for s in listed]
            drops = [counts[k - 1] - counts[k] for k in range(1, n)]
            worst = 1 + drops.index(max(drops))
            data[key] = {"steps": listed, "analysis": {"completion": counts[-1], "starting_amount": counts[0],
                                                        "steps": n, "worst": worst}}
        return {"meta": {"dates": dates}, "data": data}
    entries: dict[str, int] = defaultdict(int)
    for (_, segment), cell in cells.items():
        if segment != "$overall":
            entries[segment] += cell[0][0]
    top = sorted(entries, key=lambda s: (-entries[s], s))[:limit]
    return {"meta": {"dates": dates},
            "data": {key: {s: step_list(cells.get((key, s)), numbers.get((key, s))) for s in ("$overall", *top)}
                     for key in dates}}
