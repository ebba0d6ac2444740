"""SQL for funnels (``/funnels``, spec §4.8, §6.2): per entry bucket and segment, how many users reached each step,
and their mean times.

One query. Each user's candidate events (any step's or exclusion's, from just before the range to one conversion
window past it) become one time-sorted array. Each bucket's first step-1 event is an entry; from it the steps are
matched greedily, each the earliest unused event of that step no more than the grace before the step matched
before it and within the window from the entry (``arrayFirstIndex`` over the user's array, once per step). An
exclusion event more than the grace away from both steps it falls between ends the attempt at the earlier one.

Binds ``project_id``, ``tz`` (and the bucketing's parameters), ``start_ms``/``end_ms`` (the entry range),
``scan_from_ms``/``scan_to_ms`` (the events read), ``funnel_events`` (every step's and exclusion's event name),
``window_ms``, ``grace_ms`` (with a session window ``window_sessions``; with sessions ``tz``) and the fragments'
parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mixhouse.query.events_source import events_source_sql
from mixhouse.query.sessions import numbered_sql

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
    totals: bool = False  # every attempt counts: a user re-enters after exiting (converted, excluded, timed out)
    #: Optimized re-entry (uniques): every step-1 event starts an attempt; a user counts once per bucket and
    #: segment, with the attempt that got furthest, completed that far first, and entered last.
    optimized: bool = False
    #: Any order: the steps that may fill any free position (0-based); the others keep their own position.
    #: Free positions are those of the free steps, one contiguous run (docs/decisions/0018).
    free: frozenset[int] = frozenset()
    #: A conversion window of this many sessions (the entry's and the ones after it; ``query/sessions.py``).
    window_sessions: int | None = None
    #: Sessions counting: the first step-1 event of each session is an entry, each attempt counted.
    per_session: bool = False

    @property
    def sessions(self) -> bool:
        """Whether events need their session numbers."""
        return self.window_sessions is not None or self.per_session

    @property
    def free_bits(self) -> int:
        return sum(1 << k for k in self.free)


def _mask_sql(shape: FunnelShape) -> str:
    """Bits 0..n-1: the event matches step k; bits n..: it matches exclusion x."""
    conditions = [*shape.steps, *(condition for condition, _ in shape.exclusions)]
    return " + ".join(f"if({condition}, {1 << bit}, 0)" for bit, condition in enumerate(conditions))


def _step_layer_sql(k: int, shape: FunnelShape, below: str) -> str:
    """``below`` plus ``t{k-1}`` (the time step k-1 was reached) and ``i{k}``: the index (1-based, 0 = none) of the
    event completing step ``k`` (any order: filling position ``k``, and ``u{k}``, the free steps used so far).
    Lambdas capture only scalars (``t{k-1}``, ``deadline``, ``h0``, ``u{k-1}``, the indexes): a captured array
    would be copied once per element."""
    held = shape.held_sql is not None
    earlier = " AND ".join(f"i != i{j}" for j in range(k))
    same = " AND h = h0" if held else ""
    within = " AND s <= smax" if shape.window_sessions is not None else ""
    args = ["t", "m", *(["h"] if held else []), *(["s"] if within else []), "i"]
    arrays = ["ts", "ms", *(["hs"] if held else []), *(["ss"] if within else []), "arrayEnumerate(ts)"]
    fits = _unused_free_sql("m", k - 1, shape) if k in shape.free else f"bitTest(m, {k})"
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
        filled = _lowest_bit(_unused_free_bits_sql(f"ms[i{k}]", k - 1, shape))
        used = f"if(i{k} = 0, u{k - 1}, bitOr(u{k - 1}, {filled}))"
    return f"SELECT *, {used} AS u{k} FROM ({layer})"


def _unused_free_bits_sql(mask: str, k: int, shape: FunnelShape) -> str:
    """The free steps ``mask`` matches that no position up to ``k`` has used."""
    return f"bitAnd(bitAnd(toUInt64({mask}), {shape.free_bits}), bitNot(u{k}))"


def _unused_free_sql(mask: str, k: int, shape: FunnelShape) -> str:
    return f"{_unused_free_bits_sql(mask, k, shape)} != 0"


def _lowest_bit(bits: str) -> str:
    """The lowest set bit of a ``UInt64`` (an event matching several free steps fills the first of them)."""
    return f"bitAnd({bits}, bitNot({bits}) + 1)"


def _excluded_sql(k: int, bits: int) -> str:
    """Whether an exclusion event falls between steps ``k`` and ``k + 1`` (both reached), beyond the grace."""
    return (
        f"(i{k + 1} != 0 AND arrayExists((t, m) -> bitAnd(m, {bits}) != 0 AND t > t{k} + {{grace_ms:Int64}} "
        f"AND t < t{k + 1} - {{grace_ms:Int64}}, ts, ms))"
    )


def _exclusion_bits(shape: FunnelShape, k: int) -> int:
    n = len(shape.steps)
    return sum(1 << (n + x) for x, (_, pairs) in enumerate(shape.exclusions) if k in pairs)


def _level_sql(shape: FunnelShape) -> str:
    """``level``: how many steps the attempt reached, exclusions applied."""
    n = len(shape.steps)
    cuts = []
    for k in range(n - 1):
        bits = _exclusion_bits(shape, k)
        if bits:
            cuts.append(f"if({_excluded_sql(k, bits)}, {k + 1}, {n})")
    return f"least(reached, {', '.join(cuts)})" if cuts else "reached"


def _exit_sql(shape: FunnelShape) -> str:
    """``exit``: when the attempt ends: at its last step when it converts, at the exclusion event that cut it, or
    when its window closes (a window in sessions: at the last event of its last session)."""
    n = len(shape.steps)
    cases = [f"level = {n}, t{n - 1}"]
    for k in range(n - 1):
        bits = _exclusion_bits(shape, k)
        if bits:
            first = (
                f"arrayFirst((t, m) -> bitAnd(m, {bits}) != 0 AND t > t{k} + {{grace_ms:Int64}} "
                f"AND t < t{k + 1} - {{grace_ms:Int64}}, ts, ms)"
            )
            cases.append(f"level = {k + 1} AND reached > {k + 1}, {first}")
    # a window in sessions closes with the last event of its last session (the next session may start a new attempt)
    closes = "arrayMax(arrayFilter((t, s) -> s <= smax AND t >= t0, ts, ss))" \
        if shape.window_sessions is not None else "deadline"
    return f"multiIf({', '.join(cases)}, {closes})"


def _segment_sql(n: int) -> str:
    """The attempt's segment keys: those of the first reached step whose event has any ("first step defined")."""
    cases = ", ".join(f"level > {k} AND notEmpty(sg[i{k}]), sg[i{k}]" for k in range(n))
    return f"multiIf({cases}, ['{UNDEFINED_SEGMENT}'])"


def funnel_sql(shape: FunnelShape, bucket_of: Callable[[str], str]) -> str:
    """Rows of ``bucket``, ``segment``, ``c{k}`` (attempts that reached step k), ``d{k}`` and ``s{k}`` (mean ms
    from the previous step and from the entry, over attempts that reached step k; k ≥ 1). ``bucket_of`` gives the
    bucket key SQL of an instant's SQL."""
    n = len(shape.steps)
    held, keyed = shape.held_sql is not None, shape.keys_sql is not None
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
    if shape.sessions:
        source = numbered_sql(source)
    if held or keyed or shape.sessions:
        # Each event as a tuple (time, mask[, held value][, segment keys][, session]); sorting the tuples orders by
        # time and breaks ties the same way every time.
        fields = ["time_ms", "mask"] + ([shape.held_sql or ""] if held else []) + (
            [shape.keys_sql or ""] if keyed else []
        ) + (["session"] if shape.sessions else [])
        event = f"({', '.join(fields)})"
        arrays = ["evs.1 AS ts", "evs.2 AS ms"] + (["evs.3 AS hs"] if held else []) + (
            [f"evs.{3 + held} AS sg"] if keyed else []
        ) + ([f"evs.{3 + held + keyed} AS ss"] if shape.sessions else [])
    else:
        # Time and mask packed in one number (time since the scan's start above, mask below): a plain numeric
        # array groups and sorts much faster than an array of tuples, in the same order.
        event = "bitShiftLeft(toUInt128(time_ms - {scan_from_ms:Int64}), 64) + mask"
        arrays = [
            "arrayMap(v -> toInt64(bitShiftRight(v, 64)) + {scan_from_ms:Int64}, evs) AS ts",
            "arrayMap(v -> toUInt64(bitAnd(v, 18446744073709551615)), evs) AS ms",
        ]
    rows = f"SELECT distinct_id AS user, {_mask_sql(shape)} AS mask, {event} AS ev FROM ({source})"
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
        SELECT user, arraySort(groupArray(ev)) AS evs, {", ".join(arrays)},
               arrayFilter((i, t, m) -> {entry}, arrayEnumerate(ts), ts, ms) AS firsts,
               arrayDifference(arrayMap(t -> toInt64({bucket}), {first_times})) AS bucket_steps{new_session},
               arrayFilter(({entry_args}) -> {entry_kept}, {entry_arrays}) AS entries
        FROM ({rows}) WHERE mask != 0
        GROUP BY user
        HAVING notEmpty(entries)
    """
    scalars = ["ts[i0] AS t0", "t0 + {window_ms:Int64} AS deadline", *(["hs[i0] AS h0"] if held else [])]
    if shape.window_sessions is not None:
        scalars.append("ss[i0] + {window_sessions:UInt32} - 1 AS smax")
    if shape.free:
        first_used = _lowest_bit(f"bitAnd(toUInt64(ms[i0]), {shape.free_bits})") if 0 in shape.free else "0"
        scalars.append(f"toUInt64({first_used}) AS u0")
    carried = ["ts", "ms", *(["hs"] if held else []), *(["sg"] if keyed else []), *(["ss"] if shape.sessions else [])]
    layer = f"SELECT user, {', '.join(carried)}, i0, {', '.join(scalars)} " \
            f"FROM ({users}) ARRAY JOIN {'firsts' if shape.totals or shape.optimized else 'entries'} AS i0"
    for k in range(1, n):
        layer = _step_layer_sql(k, shape, layer)
    reached = " + ".join(f"(i{k} != 0)" for k in range(n))
    layer = f"SELECT *, ts[i{n - 1}] AS t{n - 1}, {reached} AS reached FROM ({layer})"
    level = f"SELECT *, {_level_sql(shape)} AS level FROM ({layer})"
    keys = f"arrayConcat(['{OVERALL}'], {_segment_sql(n)})" if keyed else f"['{OVERALL}']"
    if shape.totals:
        level = _attempts_sql(shape, level, keys, bucket_of)
        keys = "attempt_keys"
    elif shape.optimized:
        level = _best_attempt_sql(shape, level, keys, bucket_of)
        keys = "attempt_keys"
    measures = [f"countIf(level > {k}) AS c{k}" for k in range(n)]
    for k in range(1, n):
        measures.append(f"avgIf(t{k} - t{k - 1}, level > {k}) AS d{k}")
        measures.append(f"avgIf(t{k} - t0, level > {k}) AS s{k}")
    entry_bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    return f"""
        SELECT {entry_bucket} AS bucket, segment, {", ".join(measures)}
        FROM ({level}) ARRAY JOIN arrayDistinct({keys}) AS segment
        GROUP BY bucket, segment
    """


def _attempts_sql(shape: FunnelShape, level: str, keys: str, bucket_of: Callable[[str], str]) -> str:
    """Totals: of each user's candidate attempts in a bucket (one per step-1 event), those that start after the
    previous counted attempt's exit; rows of ``t0``…, ``level`` and ``attempt_keys`` like an attempt's row."""
    n = len(shape.steps)
    times = ", ".join(f"t{k}" for k in range(n))
    candidate = f"(t0, exit, level, [{times}], {keys})"
    bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    grouped = f"""
        SELECT arraySort(groupArray({candidate})) AS candidates
        FROM (SELECT *, {_exit_sql(shape)} AS exit FROM ({level}))
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


def _best_attempt_sql(shape: FunnelShape, level: str, keys: str, bucket_of: Callable[[str], str]) -> str:
    """Optimized re-entry: per user, bucket and segment, the attempt that reached the most steps, then reached its
    last one earliest (the first conversion), then entered last (of several step-1 events before step 2, the most
    recent); rows of ``t0``…, ``level`` and ``attempt_keys`` like an attempt's row."""
    n = len(shape.steps)
    times = f"[{', '.join(f't{k}' for k in range(n))}]"
    bucket = bucket_of("fromUnixTimestamp64Milli(t0, 'UTC')")
    columns = ", ".join([
        "best.1 AS t0", "best.2 AS level", *(f"best.3[{k + 1}] AS t{k}" for k in range(1, n)),
        "[segment] AS attempt_keys",
    ])
    return f"""
        SELECT {columns}
        FROM (
            SELECT segment, argMax((t0, level, {times}), (level, -arrayElement({times}, level), t0)) AS best
            FROM ({level}) ARRAY JOIN arrayDistinct({keys}) AS segment
            GROUP BY user, {bucket}, segment
        )
    """


def scan_bounds(start_ms: int, end_ms: int, *, window_ms: int, grace_ms: int, steps: int) -> tuple[int, int]:
    """The events a funnel over entries in ``[start_ms, end_ms)`` may use: each step may precede the one before it
    by the grace, and the last may come a window after the last entry."""
    return start_ms - grace_ms * steps, end_ms + window_ms


def step_pairs(first: int, last: int) -> frozenset[int]:
    """The step pairs ``(k, k + 1)`` (as ``k``, 0-based) between steps ``first`` and ``last`` (0-based)."""
    return frozenset(range(first, last))

