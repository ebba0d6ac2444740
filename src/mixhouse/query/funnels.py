"""SQL for funnels (``/funnels``, spec §4.8, §6.2): per entry bucket and segment, how many users reached each step,
and their mean times.

One query. Each user's candidate events (any step's or exclusion's, from just before the range to one conversion
window past it) become one time-sorted array. Each bucket's first step-1 event is an entry; from it the steps are
matched greedily, each the earliest unused event of that step no more than the grace before the step matched
before it and within the window from the entry (``arrayFirstIndex`` over the user's array, once per step). An
exclusion event more than the grace away from both steps it falls between ends the attempt at the earlier one.
Any-order funnels with anchors between free steps match each entry once per split of the free steps among their
runs (``query/funnel_assignments.py``) and keep the best match; ``query/funnel_attempts.py`` picks the attempts that
count (totals, optimized re-entry). A property math (``shape.value_sql``) also carries each event's number and
aggregates it per step (``query/funnel_values.py``); without one the SQL is as it was.

Binds ``project_id``, ``tz`` (and the bucketing's parameters), ``start_ms``/``end_ms`` (the entry range),
``scan_from_ms``/``scan_to_ms`` (the events read), ``funnel_events`` (every step's and exclusion's event name),
``window_ms``, ``grace_ms`` (with a session window ``window_sessions``; with sessions ``tz``) and the fragments'
parameters.
"""

from __future__ import annotations

from collections.abc import Callable

from mixhouse.query.events_source import events_source_sql, user_arrays_sql, uses_canonical_id
from mixhouse.query.funnel_assignments import assignment_count, assignments
from mixhouse.query.funnel_attempts import attempts_sql, best_attempt_sql
from mixhouse.query.funnel_shape import OVERALL, FunnelShape, cut_sql, exclusion_bits, segment_sql
from mixhouse.query.funnel_values import step_values_sql, value_measures
from mixhouse.query.group_source import GroupActors, group_source_sql
from mixhouse.query.sessions import numbered_sql

__all__ = ["OVERALL", "FunnelShape", "funnel_sql", "scan_bounds", "step_pairs"]


def _mask_sql(shape: FunnelShape) -> str:
    """Bits 0..n-1: the event matches step k; bits n..: it matches exclusion x."""
    conditions = [*shape.steps, *(condition for condition, _ in shape.exclusions)]
    return " + ".join(f"if({condition}, {1 << bit}, 0)" for bit, condition in enumerate(conditions))


def _step_layer_sql(k: int, shape: FunnelShape, below: str) -> str:
    """``below`` plus ``t{k-1}`` (the time step k-1 was reached) and ``i{k}``: the index (1-based, 0 = none) of the
    event completing step ``k`` (any order: filling position ``k``, and ``u{k}``, the free steps used so far).
    Lambdas capture only scalars (``t{k-1}``, ``deadline``, ``h0``, ``u{k-1}``, ``a{k}``, the indexes): a captured
    array would be copied once per element."""
    held = shape.held_sql is not None
    earlier = " AND ".join(f"i != i{j}" for j in range(k))
    same = " AND h = h0" if held else ""
    within = " AND s <= smax" if shape.window_sessions is not None else ""
    args = ["t", "m", *(["h"] if held else []), *(["s"] if within else []), "i"]
    arrays = ["ts", "ms", *(["hs"] if held else []), *(["ss"] if within else []), "arrayEnumerate(ts)"]
    fits = f"{_unused_free_bits_sql('m', k, shape)} != 0" if k in shape.free else f"bitTest(m, {k})"
    find = (
        f"arrayFirstIndex(({', '.join(args)}) -> {fits} AND t >= t{k - 1} - {{grace_ms:Int64}} "
        f"AND t <= deadline AND {earlier}{same}{within}, {', '.join(arrays)})"
    )
    timed = below if k == 1 else f"SELECT *, ts[i{k - 1}] AS t{k - 1} FROM ({below})"
    layer = f"SELECT *, if(i{k - 1} = 0, 0, {find}) AS i{k} FROM ({timed})"
    if not shape.free:
        return layer
    used = f"u{k - 1}"
    if k in shape.free:
        filled = _lowest_bit(_unused_free_bits_sql(f"ms[i{k}]", k, shape))
        used = f"if(i{k} = 0, u{k - 1}, bitOr(u{k - 1}, {filled}))"
    return f"SELECT *, {used} AS u{k} FROM ({layer})"


def _position_bits(k: int, shape: FunnelShape) -> str:
    """The free steps that may fill free position ``k``: all of them, or with several runs the current split's
    (``a{k}``)."""
    return f"a{k}" if assignment_count(shape.free, len(shape.steps)) > 1 else str(shape.free_bits)


def _unused_free_bits_sql(mask: str, k: int, shape: FunnelShape) -> str:
    """The free steps ``mask`` matches that may fill position ``k`` and no position before it has used."""
    return f"bitAnd(bitAnd(toUInt64({mask}), {_position_bits(k, shape)}), bitNot(u{k - 1}))"


def _lowest_bit(bits: str) -> str:
    """The lowest set bit of a ``UInt64`` (an event matching several free steps fills the first of them)."""
    return f"bitAnd({bits}, bitNot({bits}) + 1)"


def _level_sql(shape: FunnelShape) -> str:
    """``level``: how many steps the attempt reached, exclusions applied."""
    n = len(shape.steps)
    cuts = []
    for k in range(n - 1):
        bits = exclusion_bits(shape, k)
        if bits:
            # both steps reached, and an exclusion event between them
            cuts.append(f"if(i{k + 1} != 0 AND arrayExists({cut_sql(k, bits)}, ts, ms), {k + 1}, {n})")
    return f"least(reached, {', '.join(cuts)})" if cuts else "reached"


def funnel_sql(shape: FunnelShape, bucket_of: Callable[[str], str]) -> str:
    """Rows of ``bucket``, ``segment``, ``c{k}`` (attempts that reached step k), ``d{k}`` and ``s{k}`` (mean ms
    from the previous step and from the entry, over attempts that reached step k; k ≥ 1), with a property math its
    per-step columns (``query/funnel_values.py``). ``bucket_of`` gives the bucket key SQL of an instant's SQL."""
    n = len(shape.steps)
    held, keyed, valued = shape.held_sql is not None, shape.keys_sql is not None, shape.value_sql is not None
    assert not (valued and shape.totals), "property maths count uniques"
    source = events_source_sql(
        [
            "distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ],
        identity=True,
        key_conditions=[
            # sessions need every event of the user: any event starts or extends a session
            *([] if shape.sessions else ["e.event IN {funnel_events:Array(String)}"]),
            "e.time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "e.time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ],
    )
    if shape.group_ids_sql is not None:  # groups stand as users: one row per (event, group)
        source = group_source_sql([
            *([] if shape.sessions else ["event IN {funnel_events:Array(String)}"]),
            "time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ], GroupActors(shape.group_ids_sql, per_group=True))
    if shape.sessions:
        source = numbered_sql(source)
    if held or keyed or shape.sessions or valued:
        # Each event as a tuple (time, mask[, held value][, segment keys][, session][, number]); sorting the tuples
        # orders by time and breaks ties the same way every time.
        fields = ["time_ms", "mask"] + ([shape.held_sql or ""] if held else []) + (
            [shape.keys_sql or ""] if keyed else []
        ) + (["session"] if shape.sessions else []) + ([shape.value_sql or ""] if valued else [])
        event = f"({', '.join(fields)})"
        arrays = ["evs.1 AS ts", "evs.2 AS ms"] + (["evs.3 AS hs"] if held else []) + (
            [f"evs.{3 + held} AS sg"] if keyed else []
        ) + ([f"evs.{3 + held + keyed} AS ss"] if shape.sessions else []) + (
            [f"evs.{3 + held + keyed + shape.sessions} AS vs"] if valued else []
        )
    else:
        # Time and mask packed in one number (time since the scan's start above, mask below): a plain numeric
        # array groups and sorts much faster than an array of tuples, in the same order.
        event = "bitShiftLeft(toUInt128(time_ms - {scan_from_ms:Int64}), 64) + mask"
        arrays = [
            "arrayMap(v -> toInt64(bitShiftRight(v, 64)) + {scan_from_ms:Int64}, evs) AS ts",
            "arrayMap(v -> toUInt64(bitAnd(v, 18446744073709551615)), evs) AS ms",
        ]
    mask = _mask_sql(shape)
    rows = f"SELECT distinct_id AS user, {mask} AS mask, {event} AS ev FROM ({source})"
    packed = not (held or keyed or shape.sessions or valued)
    if packed and shape.group_ids_sql is None and not uses_canonical_id(mask):
        grouped = _grouped_by_stored_id(mask, event)
    else:
        grouped = f"SELECT user, arraySort(groupArray(ev)) AS evs FROM ({rows}) WHERE mask != 0 GROUP BY user"
    # an event that may fill position 1 (a step-1 event; any order: any free step's), in the entry range
    first_fits = f"bitAnd(m, {shape.free_bits}) != 0" if 0 in shape.free else "bitTest(m, 0)"
    entry = f"{first_fits} AND t >= {{start_ms:Int64}} AND t < {{end_ms:Int64}}"
    first_times = f"arrayFilter((t, m) -> {entry}, ts, ms)"
    bucket = bucket_of("fromUnixTimestamp64Milli(t, 'UTC')")
    # A bucket's entry is its first step-1 event: where the (time-ordered, so non-decreasing) bucket changes;
    # counting sessions, also where the session changes.
    new_session = ""
    if shape.per_session:
        session_steps = f"arrayDifference(arrayMap(s -> toInt64(s), arrayFilter((s, t, m) -> {entry}, ss, ts, ms)))"
        new_session = f", {session_steps} AS session_steps"
    entry_kept = "k = 1 OR step != 0" + (" OR session_step != 0" if shape.per_session else "")
    entry_args = "i, step, k" + (", session_step" if shape.per_session else "")
    entry_arrays = "firsts, bucket_steps, arrayEnumerate(firsts)" + (", session_steps" if shape.per_session else "")
    users = f"""
        SELECT user, evs, {", ".join(arrays)},
               arrayFilter((i, t, m) -> {entry}, arrayEnumerate(ts), ts, ms) AS firsts,
               arrayDifference(arrayMap(t -> toInt64({bucket}), {first_times})) AS bucket_steps{new_session},
               arrayFilter(({entry_args}) -> {entry_kept}, {entry_arrays}) AS entries
        FROM ({grouped})
        WHERE notEmpty(entries)
    """
    scalars = ["ts[i0] AS t0", "t0 + {window_ms:Int64} AS deadline", *(["hs[i0] AS h0"] if held else [])]
    if shape.window_sessions is not None:
        scalars.append("ss[i0] + {window_sessions:UInt32} - 1 AS smax")
    carried = ["ts", "ms", *(["hs"] if held else []), *(["sg"] if keyed else []), *(["ss"] if shape.sessions else []),
               *(["vs"] if valued else [])]
    layer = f"SELECT user, {', '.join(carried)}, i0, {', '.join(scalars)} " \
            f"FROM ({users}) ARRAY JOIN {'firsts' if shape.totals or shape.optimized else 'entries'} AS i0"
    splits = assignments(shape.free, n)
    if len(splits) > 1:
        # every split of the free steps among the runs: a{k} the steps that may fill free position k
        rows_sql = (", ".join(f"toUInt64({bits})" for bits in split) for split in splits)
        literal = "[" + ", ".join(f"[{row}]" for row in rows_sql) + "]"
        picks = ", ".join(f"allowed[{k + 1}] AS a{k}" for k in sorted(shape.free))
        layer = f"SELECT *, assignment, {picks} FROM ({layer}) ARRAY JOIN {literal} AS allowed, " \
                f"arrayEnumerate({literal}) AS assignment"
    if shape.free:
        first_used = _lowest_bit(f"bitAnd(toUInt64(ms[i0]), {_position_bits(0, shape)})") if 0 in shape.free else "0"
        layer = f"SELECT *, toUInt64({first_used}) AS u0 FROM ({layer})"
    for k in range(1, n):
        layer = _step_layer_sql(k, shape, layer)
    reached = " + ".join(f"(i{k} != 0)" for k in range(n))
    values = f", {step_values_sql(n)}" if valued else ""
    layer = f"SELECT *, ts[i{n - 1}] AS t{n - 1}, {reached} AS reached{values} FROM ({layer})"
    if len(splits) > 1:
        layer = _best_split_sql(shape, layer)
    level = f"SELECT *, {_level_sql(shape)} AS level FROM ({layer})"
    keys = f"arrayConcat(['{OVERALL}'], {segment_sql(shape)})" if keyed else f"['{OVERALL}']"
    if shape.totals:
        level = attempts_sql(shape, level, keys, bucket_of)
        keys = "attempt_keys"
    elif shape.optimized:
        level = best_attempt_sql(shape, level, keys, bucket_of)
        keys = "attempt_keys"
    measures = [f"countIf(level > {k}) AS c{k}" for k in range(n)]
    for k in range(1, n):
        measures.append(f"avgIf(t{k} - t{k - 1}, level > {k}) AS d{k}")
        measures.append(f"avgIf(t{k} - t0, level > {k}) AS s{k}")
    if shape.value_math is not None:
        measures += value_measures(shape.value_math, n)
    entry_bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    return f"""
        SELECT {entry_bucket} AS bucket, segment, {", ".join(measures)}
        FROM ({level}) ARRAY JOIN arrayDistinct({keys}) AS segment
        GROUP BY bucket, segment
    """


def _grouped_by_stored_id(mask: str, event: str) -> str:
    """``user``, ``evs`` (the user's packed events, sorted), identity resolved late (``user_arrays_sql``). Only for
    packed events and masks that do not read the canonical id."""
    stored = events_source_sql(
        [
            "raw_distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ],
        identity=False,
        key_conditions=[
            "e.event IN {funnel_events:Array(String)}",
            "e.time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "e.time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
        ],
    )
    coded = f"SELECT raw_distinct_id AS sid, {mask} AS mask, {event} AS ev FROM ({stored})"
    return user_arrays_sql(f"SELECT sid, ev FROM ({coded}) WHERE mask != 0")


def _best_split_sql(shape: FunnelShape, layer: str) -> str:
    """Of an entry's matches (one per split), the one that reached the most positions, then the earliest times
    position by position (the brute force's longest, earliest path), then the first split. A split whose run 1
    cannot take the entry event (``u0 = 0``) is never chosen; some split always can."""
    n = len(shape.steps)
    valid = "u0 != 0" if 0 in shape.free else "1"
    key = f"({valid}, reached, {', '.join(f'-t{k}' for k in range(1, n))}, -toInt64(assignment))"
    ranked = f"SELECT *, {key} AS split_key FROM ({layer})"
    return f"""
        SELECT * FROM (SELECT *, max(split_key) OVER (PARTITION BY user, i0) AS best_split FROM ({ranked}))
        WHERE split_key = best_split
    """


def scan_bounds(start_ms: int, end_ms: int, *, window_ms: int, grace_ms: int, steps: int) -> tuple[int, int]:
    """The events a funnel over entries in ``[start_ms, end_ms)`` may use: each step may precede the one before it
    by the grace, and the last may come a window after the last entry."""
    return start_ms - grace_ms * steps, end_ms + window_ms


def step_pairs(first: int, last: int) -> frozenset[int]:
    """The step pairs ``(k, k + 1)`` (as ``k``, 0-based) between steps ``first`` and ``last`` (0-based)."""
    return frozenset(range(first, last))

