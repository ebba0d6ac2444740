"""Which of a user's candidate attempts a funnel counts (``query/funnels.py``): totals funnels by their re-entry mode,
optimized re-entry by the best attempt. Each function wraps the attempts' SQL (rows of ``user``, ``t0``…, ``level``)
and returns rows of ``t0``…, ``level`` and ``attempt_keys``, the segment keys the attempt counts in."""

from __future__ import annotations

from collections.abc import Callable

from mixhouse.query.funnel_shape import FunnelShape, cut_sql, exclusion_bits


def window_close_sql(shape: FunnelShape) -> str:
    """When the attempt's window closes: a window in sessions with the last event of its last session."""
    if shape.window_sessions is not None:
        return "arrayMax(arrayFilter((t, s) -> s <= smax AND t >= t0, ts, ss))"
    return "deadline"


def exit_sql(shape: FunnelShape) -> str:
    """``exit``: when the attempt lets the user enter again. Re-entry ``default``: at its last step when it converts,
    at the exclusion event that cut it, or when its window closes; ``basic``: when its window closes."""
    if shape.reentry == "basic":
        return window_close_sql(shape)
    n = len(shape.steps)
    cases = [f"level = {n}, t{n - 1}"]
    for k in range(n - 1):
        bits = exclusion_bits(shape, k)
        if bits:
            cases.append(f"level = {k + 1} AND reached > {k + 1}, arrayFirst({cut_sql(k, bits)}, ts, ms)")
    return f"multiIf({', '.join(cases)}, {window_close_sql(shape)})"


def attempts_sql(shape: FunnelShape, level: str, keys: str, bucket_of: Callable[[str], str]) -> str:
    """Totals: of each user's candidate attempts in a bucket (one per step-1 event), those that start after the
    previous counted attempt's exit (re-entry ``aggressive``: every one)."""
    n = len(shape.steps)
    if shape.reentry == "aggressive":
        return f"SELECT *, {keys} AS attempt_keys FROM ({level})"
    times = ", ".join(f"t{k}" for k in range(n))
    candidate = f"(t0, exit, level, [{times}], {keys})"
    bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    grouped = f"""
        SELECT arraySort(groupArray({candidate})) AS candidates
        FROM (SELECT *, {exit_sql(shape)} AS exit FROM ({level}))
        GROUP BY user, {bucket}
    """
    chosen = (
        "arrayFold((acc, start, stop, i) -> if(start > acc.1, (stop, arrayPushBack(acc.2, i)), acc), "
        "candidates.1, candidates.2, arrayEnumerate(candidates), (toInt64(-9223372036854775807), "
        "CAST([], 'Array(UInt32)'))).2"
    )
    columns = ", ".join([
        "attempt.1 AS t0", "attempt.3 AS level", *(f"attempt.4[{k + 1}] AS t{k}" for k in range(1, n)),
        "attempt.5 AS attempt_keys",
    ])
    return f"""
        SELECT {columns}
        FROM (SELECT candidates, {chosen} AS counted FROM ({grouped}))
        ARRAY JOIN arrayMap(i -> candidates[i], counted) AS attempt
    """


def best_attempt_sql(shape: FunnelShape, level: str, keys: str, bucket_of: Callable[[str], str]) -> str:
    """Optimized re-entry: per user, bucket and segment, the attempt that reached the most steps, then reached its
    last one earliest (the first conversion), then entered last (of several step-1 events before step 2, the most
    recent). With a property math the attempt's step numbers (``pv{k}``) come along."""
    n = len(shape.steps)
    times = f"[{', '.join(f't{k}' for k in range(n))}]"
    bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    valued = shape.value_sql is not None
    numbers = f", [{', '.join(f'pv{k}' for k in range(n))}]" if valued else ""
    columns = ", ".join([
        "best.1 AS t0", "best.2 AS level", *(f"best.3[{k + 1}] AS t{k}" for k in range(1, n)),
        *(f"best.4[{k + 1}] AS pv{k}" for k in range(n) if valued), "[segment] AS attempt_keys",
    ])
    return f"""
        SELECT {columns}
        FROM (
            SELECT segment, argMax((t0, level, {times}{numbers}), (level, -arrayElement({times}, level), t0)) AS best
            FROM ({level}) ARRAY JOIN arrayDistinct({keys}) AS segment
            GROUP BY user, {bucket}, segment
        )
    """
