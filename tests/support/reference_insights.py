"""Brute-force Insights (``/insights``) over the raw event list: plain Python, sharing no code with the SQL path but
the expression parser and evaluator. Returns ``series`` and ``headers`` as the endpoint does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys
from tests.support import reference_insights_values as own_maths
from tests.support.reference_buckets import Buckets, bucketed
from tests.support.reference_event_queries import Event, series
from tests.support.reference_time import bucket_of, window_ms


@dataclass(frozen=True)
class Metric:
    event: str
    math: str = "total"
    prop: str | None = None
    where: str | None = None  # the metric's filters, as an expression
    hidden: bool = False
    per_user: str | None = None
    percentile: float | None = None
    attribution: tuple[str, int] | None = None  # multi_attribution: (model, look-back in ms)


def _record(event: Event) -> Record:
    return Record(event.name, event.time_ms, event.user, event.properties)


def _quantile(values: list[float], level: float) -> float:
    ordered = sorted(values)
    position = level * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


_LEVELS = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9, "p99": 0.99}


def _numbers(events: list[Event], prop: str | None) -> list[float]:
    return [float(v) for e in events
            if isinstance(v := e.properties.get(prop or ""), int | float) and not isinstance(v, bool)]


def _across(math: str, values: list[float], percentile: float | None) -> float:
    if not values:
        return 0.0
    if math == "sum":
        return sum(values)
    if math == "average":
        return sum(values) / len(values)
    if math == "min":
        return min(values)
    if math == "max":
        return max(values)
    level = percentile / 100 if math == "custom_percentile" and percentile is not None else _LEVELS[math]
    return _quantile(values, level)


def _per_user(metric: Metric, events: list[Event]) -> float:
    values = own_maths.per_user_values(metric.per_user or "", metric.prop, events)
    return _across(metric.math, values, metric.percentile)


def _aggregate(math: str, events: list[Event], prop: str | None, metric: Metric | None = None) -> float:
    if metric is not None and metric.per_user is not None:
        return _per_user(metric, events)
    if math == "total":
        return float(len(events))
    if math == "unique":
        return float(len({e.user for e in events if e.user != ""}))
    return _across(math, _numbers(events, prop), metric.percentile if metric is not None else None)


ACTIVE_DAYS = {"dau": 1, "wau": 7, "mau": 30}
SESSION_TIMEOUT_MS = 30 * 60 * 1000


def sessions_of(events: Sequence[Event], start: int, end: int, timezone: str) -> dict[int, tuple[str, int]]:
    """``id(event)`` → (user, session number) for every event with a user in ``[start, end)``: a new session after
    30 minutes without any event of the user, or on a new day in ``timezone``."""
    zone = ZoneInfo(timezone)
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e.user != "" and start <= e.time_ms < end:
            by_user[e.user].append(e)
    out: dict[int, tuple[str, int]] = {}
    for user, own in by_user.items():
        number, last = 0, None
        for e in sorted(own, key=lambda item: item.time_ms):
            day = datetime.fromtimestamp(e.time_ms / 1000, zone).date()
            if last is None or e.time_ms - last[0] > SESSION_TIMEOUT_MS or day != last[1]:
                number += 1
            last = (e.time_ms, day)
            out[id(e)] = (user, number)
    return out


def _analysed(found: dict[tuple[str, ...], dict[str, float]], keys: list[str], analysis: str,
              rolling: int) -> dict[tuple[str, ...], dict[str, float]]:
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for path, values in found.items():
        series = [values.get(key, 0.0) for key in keys]
        if analysis == "cumulative":
            series = [sum(series[: n + 1]) for n in range(len(series))]
        elif analysis == "rolling":
            series = [sum(series[max(0, n - rolling + 1): n + 1]) / len(series[max(0, n - rolling + 1): n + 1])
                      for n in range(len(series))]
        out[path] = dict(zip(keys, series, strict=True))
    return out


@dataclass(frozen=True)
class Frequency:
    """Users who did ``event`` (passing ``where``) a number of times in ``dates`` (default: the report's range)
    that passes ``test``."""

    event: str
    test: Any  # count -> bool
    where: str | None = None
    dates: tuple[date, date] | None = None


def _frequent_users(events: Sequence[Event], frequency: Frequency, from_date: date, to_date: date,
                    timezone: str) -> Any:
    low, high = window_ms(*(frequency.dates or (from_date, to_date)), timezone)
    condition = parse(frequency.where) if frequency.where else None
    counts: dict[str, int] = defaultdict(int)
    for e in events:
        if e.user != "" and e.name == frequency.event and low <= e.time_ms < high and (
                condition is None or keeps(condition, _record(e))):
            counts[e.user] += 1
    return lambda user: bool(frequency.test(counts.get(user, 0)))


#: Maths that count groups, one pseudo-event per (event, group), when a report counts a data group.
PER_GROUP = ("unique", "cumulative_unique", *ACTIVE_DAYS)


def group_ids(e: Event, group_key: str) -> list[str]:
    """The groups ``e`` belongs to: the distinct segment keys of its group-key property, the empty string left
    out."""
    found = segment_keys(evaluate(parse(f'properties["{group_key}"]'), _record(e)))
    return [key for key in dict.fromkeys(found) if key != ""]


def _holders(e: Event, metric: Metric, group_key: str | None) -> list[tuple[Event, list[str]]]:
    """What ``e`` counts as, each with whose profiles it reads: itself and its user; counting groups, itself and its
    groups (a per-group math: one copy per group, the group standing as the user), nothing without a group."""
    if group_key is None:
        return [(e, [e.user])]
    ids = group_ids(e, group_key)
    if not ids:
        return []
    if metric.math in PER_GROUP or metric.per_user is not None:
        return [(replace(e, user=g), [g]) for g in ids]
    return [(e, ids)]


def insights(events: Sequence[Event], metrics: Sequence[Metric], from_date: date, to_date: date, *,
             timezone: str = "UTC", unit: str = "day", total: bool = False, where: str | None = None,
             groups: Sequence[str] = (), formulas: Sequence[tuple[str, str]] = (), analysis: str = "linear",
             rolling: int = 1, frequency: Sequence[Frequency] = (), profiles: dict[str, dict[str, Any]] | None = None,
             people_where: str | None = None, people_groups: Sequence[str] = (),
             frequency_groups: dict[str, own_maths.FrequencyGroup] | None = None,
             group_buckets: dict[str, Buckets] | None = None, group_key: str | None = None,
             group_profiles: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``profiles`` (canonical id -> properties) feed ``people_where`` (an expression over the user's profile) and
    the breakdowns named in ``people_groups`` (profile properties rather than event properties); with
    ``group_key`` the metrics count the groups that property names (``group_profiles``, by group id, then stand for
    ``profiles``: a filter keeps what has a passing group, a breakdown takes every group's segments);
    ``frequency_groups`` names the breakdowns by how many times the user did an event; ``group_buckets`` the
    property breakdowns whose numbers go in ``customBucket`` ranges."""
    start, end = window_ms(from_date, to_date, timezone)
    people_filter = parse(people_where) if people_where else None

    def profile_of(holder: str) -> Record:
        if group_key is not None:
            return Record("", 0, holder, (group_profiles or {}).get(holder, {}))
        return Record("", 0, holder, (profiles or {}).get(holder, {}) if holder != "" else {})
    frequent = [_frequent_users(events, f, from_date, to_date, timezone) for f in frequency]
    zone = ZoneInfo(timezone)
    keys = ["all"] if total else series(unit, from_date, to_date, timezone)
    global_filter = parse(where) if where else None
    group_exprs = [parse(f'properties["{name}"]') for name in groups]
    look_back = max((ACTIVE_DAYS.get(m.math, 1) - 1 for m in metrics), default=0)
    segmenters = {name: own_maths.frequency_segmenter(events, group, unit=unit, total=total, from_date=from_date,
                                                      to_date=to_date, timezone=timezone, look_back=look_back)
                  for name, group in (frequency_groups or {}).items()}

    def iso(key: str) -> str:
        return key if key == "all" else datetime.fromisoformat(key).replace(tzinfo=zone).isoformat()

    values: dict[int, dict[tuple[str, ...], dict[str, float]]] = {}
    sessions = sessions_of(events, start, end, timezone)
    for n, metric in enumerate(metrics):
        own = parse(metric.where) if metric.where else None
        cells: dict[tuple[tuple[str, ...], str], list[Event]] = defaultdict(list)
        days_back = ACTIVE_DAYS.get(metric.math, 1) - 1
        first = window_ms(date.fromordinal(from_date.toordinal() - days_back), to_date, timezone)[0]
        for e in events:
            if e.name != metric.event or not first <= e.time_ms < end:
                continue
            if (own is not None and not keeps(own, _record(e))) or (
                    global_filter is not None and not keeps(global_filter, _record(e))):
                continue
            if not all(passes(e.user) for passes in frequent):
                continue
            for seen, holders in _holders(e, metric, group_key):
                if people_filter is not None and not any(keeps(people_filter, profile_of(h)) for h in holders):
                    continue
                bucket = "all" if total else bucket_of(e.time_ms, unit, timezone)

                def keys_of(expr: Any, name: str, holders: list[str] = holders, seen: Event = seen) -> list[str]:
                    if name in segmenters:
                        return list(segmenters[name](seen))
                    if name not in people_groups:
                        return bucketed(segment_keys(evaluate(expr, _record(seen))),
                                        (group_buckets or {}).get(name)) or ["undefined"]
                    return [key for h in holders for key in bucketed(segment_keys(evaluate(expr, profile_of(h))),
                                                                     (group_buckets or {}).get(name)) or ["undefined"]]
                segments = [keys_of(expr, name) for expr, name in zip(group_exprs, groups, strict=True)]
                paths: set[tuple[str, ...]] = {()}
                for depth in range(1, len(segments) + 1):
                    level: set[tuple[str, ...]] = {()}
                    for keys_at in segments[:depth]:
                        level = {(*path, key) for path in level for key in dict.fromkeys(keys_at)}
                    paths |= level
                for path in paths:
                    cells[(path, bucket)].append(seen)
        found: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
        if metric.math in ACTIVE_DAYS:
            for path in {path for path, _ in cells}:
                for key in keys:
                    day = date.fromisoformat(key)
                    window = {date.fromordinal(day.toordinal() - back).isoformat() for back in range(days_back + 1)}
                    users = {e.user for (p, bucket), matched in cells.items() if p == path and bucket in window
                             for e in matched if e.user != ""}
                    if users:
                        found[path][key] = float(len(users))
        elif metric.math == "cumulative_unique":
            for path in {path for path, _ in cells}:
                seen: set[str] = set()
                for key in keys:
                    seen |= {e.user for e in cells.get((path, key), []) if e.user != "" and e.time_ms >= start}
                    found[path][key] = float(len(seen))
        elif metric.math == "sessions":
            for (path, bucket), matched in cells.items():
                found[path][bucket] = float(len({sessions[id(e)] for e in matched if e.user != ""}))
        elif metric.math == "multi_attribution":
            assert metric.prop is not None and metric.attribution is not None
            touches = own_maths.touchpoints(events, metric.prop)
            for (path, bucket), matched in cells.items():
                found[path][bucket] = own_maths.attribution_value(matched, touches, metric.prop, *metric.attribution)
        elif metric.math in own_maths.OWN_MATHS:
            for (path, bucket), matched in cells.items():
                found[path][bucket] = own_maths.value_of(metric.math, metric.prop, metric.per_user, matched)
        else:
            for (path, bucket), matched in cells.items():  # no look-back here: every event is in the range
                found[path][bucket] = _aggregate(metric.math, matched, metric.prop, metric)
        values[n] = found

    def node(found: dict[tuple[str, ...], dict[str, Any]], prefix: tuple[str, ...], integral: bool,
             math: str = "total") -> Any:
        def leaf_of(leaf: dict[str, Any]) -> dict[str, Any]:
            if math in own_maths.NON_SCALAR:
                return {iso(key): leaf.get(key, own_maths.empty(math)) for key in keys}
            return {iso(key): (round(leaf.get(key, 0.0)) if integral else leaf.get(key, 0.0)) for key in keys}
        if len(prefix) == len(groups):
            return leaf_of(found.get(prefix, {}))
        below = sorted({p[len(prefix)] for p in found if len(p) > len(prefix) and p[: len(prefix)] == prefix})
        out: dict[str, Any] = {"$overall": leaf_of(found.get(prefix, {}))}
        for child in below:
            out[child] = node(found, (*prefix, child), integral, math)
        return out

    names = [m.event if sum(o.event == m.event for o in metrics) == 1 else f"{m.event} [{m.math}]" for m in metrics]
    result: dict[str, Any] = {}
    for n, metric in enumerate(metrics):
        if not metric.hidden:
            counted = metric.math in ("total", "unique", "cumulative_unique", "sessions", "unique_values",
                                      *ACTIVE_DAYS) and analysis != "rolling"
            found = values[n] if metric.math in own_maths.NON_SCALAR else _analysed(values[n], keys, analysis, rolling)
            result[names[n]] = node(found, (), counted, metric.math)
    letters = {chr(ord("A") + n): n for n in range(len(metrics))}
    all_paths = {path for found in values.values() for path in found}
    for name, definition in formulas:
        combined: dict[tuple[str, ...], dict[str, float]] = {}
        for path in all_paths:
            combined[path] = {}
            for key in keys:
                scope = {letter: values[n].get(path, {}).get(key, 0.0) for letter, n in letters.items()}
                combined[path][key] = _formula(definition, scope)
        result[name] = node(_analysed(combined, keys, analysis, rolling), (), False)
    return {"headers": ["$metric", *groups], "series": result}


def _formula(definition: str, scope: dict[str, float]) -> float:
    """Python's own arithmetic over the letters, division by zero giving 0."""

    class Safe(float):
        def __truediv__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(float(self) / other if other else 0.0)

        def __rtruediv__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(other / float(self) if float(self) else 0.0)

        def __add__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(float(self) + other)

        __radd__ = __add__

        def __sub__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(float(self) - other)

        def __rsub__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(other - float(self))

        def __mul__(self, other: float) -> Safe:  # type: ignore[override]
            return Safe(float(self) * other)

        __rmul__ = __mul__

        def __neg__(self) -> Safe:
            return Safe(-float(self))

    value = eval(definition, {"__builtins__": {}}, {k: Safe(v) for k, v in scope.items()})  # test-only, trusted input
    return float(value)

