"""SQL for funnels (``/funnels``, spec §4.8, §6.2): per entry bucket and segment, how many users reached each step,
and their mean times.

One query. Each user's candidate events (any step's or exclusion's, from just before the range to one conversion
window past it) become one time-sorted array. Each bucket's first step-1 event is an entry; from it the steps are
matched greedily, each the earliest unused event of that step no more than the grace before the step matched
before it and within the window from the entry (``arrayFirstIndex`` over the user's array, once per step). An
exclusion event more than the grace away from both steps it falls between ends the attempt at the earlier one.

Binds ``project_id``, ``tz`` (and the bucketing's parameters), ``start_ms``/``end_ms`` (the entry range),
``scan_from_ms``/``scan_to_ms`` (the events read), ``window_ms``, ``grace_ms`` and the fragments' parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixhouse.query.events_source import events_source_sql

#: Segment name of every user (the answer's ``$overall``); also the only segment without ``on``.
OVERALL = "$overall"
UNDEFINED_SEGMENT = "undefined"


@dataclass(frozen=True)
class FunnelShape:
    """What the SQL needs: each step's and exclusion's condition over the event source (SQL with bound
    parameters), for each exclusion the step pairs it covers (``(k, k + 1)`` as ``k``), the held-constant value
    and the segment keys (``Array(String)``), both SQL over the source or ``None``."""

    steps: tuple[str, ...]
    exclusions: tuple[tuple[str, frozenset[int]], ...] = ()
    held_sql: str | None = None
    keys_sql: str | None = None


def _mask_sql(shape: FunnelShape) -> str:
    """Bits 0..n-1: the event matches step k; bits n..: it matches exclusion x."""
    conditions = [*shape.steps, *(condition for condition, _ in shape.exclusions)]
    return " + ".join(f"if({condition}, {1 << bit}, 0)" for bit, condition in enumerate(conditions))


def _step_index_sql(k: int, held: bool) -> str:
    """``i{k}``: the index (1-based, 0 = none) of the event that completes step ``k`` after ``i{k-1}``."""
    earlier = " AND ".join(f"i != i{j}" for j in range(k))
    same = " AND h = hs[i0]" if held else ""
    find = (
        f"arrayFirstIndex((t, m, h, i) -> bitTest(m, {k}) AND t >= ts[i{k - 1}] - {{grace_ms:Int64}} "
        f"AND t <= ts[i0] + {{window_ms:Int64}} AND {earlier}{same}, ts, ms, hs, arrayEnumerate(ts))"
    )
    return f"if(i{k - 1} = 0, 0, {find}) AS i{k}"


def _excluded_sql(k: int, bits: int) -> str:
    """Whether an exclusion event falls between steps ``k`` and ``k + 1`` (both reached), beyond the grace."""
    return (
        f"(i{k + 1} != 0 AND arrayExists((t, m) -> bitAnd(m, {bits}) != 0 AND t > ts[i{k}] + {{grace_ms:Int64}} "
        f"AND t < ts[i{k + 1}] - {{grace_ms:Int64}}, ts, ms))"
    )


def _level_sql(shape: FunnelShape) -> str:
    """``level``: how many steps the attempt reached, exclusions applied."""
    n = len(shape.steps)
    reached = " + ".join(f"(i{k} != 0)" for k in range(n))
    cuts = []
    for k in range(n - 1):
        bits = sum(1 << (n + x) for x, (_, pairs) in enumerate(shape.exclusions) if k in pairs)
        if bits:
            cuts.append(f"if({_excluded_sql(k, bits)}, {k + 1}, {n})")
    return f"least({reached}, {', '.join(cuts)})" if cuts else f"({reached})"


def _segment_sql(n: int) -> str:
    """The attempt's segment keys: those of the first reached step whose event has any ("first step defined")."""
    cases = ", ".join(f"level > {k} AND notEmpty(sg[i{k}]), sg[i{k}]" for k in range(n))
    return f"multiIf({cases}, ['{UNDEFINED_SEGMENT}'])"


def funnel_sql(shape: FunnelShape, bucket_sql: str) -> str:
    """Rows of ``bucket``, ``segment``, ``c{k}`` (attempts that reached step k), ``d{k}`` and ``s{k}`` (mean ms
    from the previous step and from the entry, over attempts that reached step k; k ≥ 1)."""
    n = len(shape.steps)
    held = shape.held_sql is not None
    source = events_source_sql(
        [
            "distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ],
        identity=True,
    )
    rows = f"""
        SELECT distinct_id AS user, time_ms AS t, {_mask_sql(shape)} AS mask,
               {shape.held_sql or "''"} AS held, {shape.keys_sql or "CAST([], 'Array(String)')"} AS keys,
               {bucket_sql} AS bucket
        FROM ({source})
    """
    entry = (
        "bitTest(m, 0) AND t >= {start_ms:Int64} AND t < {end_ms:Int64}"  # a step-1 event in the entry range
    )
    users = f"""
        SELECT user, arraySort(x -> x.1, groupArray((t, mask, held, keys, bucket))) AS evs,
               evs.1 AS ts, evs.2 AS ms, evs.3 AS hs, evs.4 AS sg, evs.5 AS bs,
               arrayFilter((i, t, m) -> {entry}, arrayEnumerate(ts), ts, ms) AS firsts,
               arrayFilter((i, k) -> k = 1 OR bs[i] != bs[firsts[k - 1]], firsts, arrayEnumerate(firsts)) AS entries
        FROM ({rows}) WHERE mask != 0
        GROUP BY user
        HAVING notEmpty(entries)
    """
    steps = ",\n".join(_step_index_sql(k, held) for k in range(1, n))
    columns = ", ".join(["bs[i0] AS bucket", "ts", "ms", "sg", "i0", *([steps] if steps else [])])
    chained = f"SELECT {columns} FROM ({users}) ARRAY JOIN entries AS i0"
    level = f"SELECT *, {_level_sql(shape)} AS level FROM ({chained})"
    keys = f"arrayConcat(['{OVERALL}'], {_segment_sql(n)})" if shape.keys_sql else f"['{OVERALL}']"
    measures = [f"countIf(level > {k}) AS c{k}" for k in range(n)]
    for k in range(1, n):
        measures.append(f"avgIf(ts[i{k}] - ts[i{k - 1}], level > {k}) AS d{k}")
        measures.append(f"avgIf(ts[i{k}] - ts[i0], level > {k}) AS s{k}")
    return f"""
        SELECT bucket, segment, {", ".join(measures)}
        FROM ({level}) ARRAY JOIN arrayDistinct({keys}) AS segment
        GROUP BY bucket, segment
    """


def scan_bounds(start_ms: int, end_ms: int, *, window_ms: int, grace_ms: int, steps: int) -> tuple[int, int]:
    """The events a funnel over entries in ``[start_ms, end_ms)`` may use: each step may precede the one before it
    by the grace, and the last may come a window after the last entry."""
    return start_ms - grace_ms * steps, end_ms + window_ms


def step_pairs(first: int, last: int) -> frozenset[int]:
    """The step pairs ``(k, k + 1)`` (as ``k``, 0-based) between steps ``first`` and ``last`` (0-based)."""
    return frozenset(range(first, last))

