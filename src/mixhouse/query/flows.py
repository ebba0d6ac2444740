"""SQL for flows (``/arb_funnels``, spec §6.4): the events users did before and after an anchor event.

Two queries. ``EVENT_NAMES_SQL`` lists the event names in the scan window; the caller numbers them (1…n, the anchor
included) and binds ``{names:Array(String)}`` / ``{codes:Array(UInt32)}`` and ``{anchor_code:UInt32}``. Then
``flows_sql`` returns ``reverse`` (codes before the anchor, nearest first), ``forward`` (codes after it) and
``users`` (how many entries had exactly that pair); the service decodes the names and builds the sankey, top paths
and trees from those rows.

Each event is one ``UInt128`` (time since the scan's start above, name code below), so a user's events group and
sort as plain numbers; hidden events are left out (code 0). An entry is the user's first anchor event in the range
(every one with ``totals``); forward events are those after it, no later than the conversion window, consecutive
repeats collapsed when asked, cut at the first exclusion event, first ``{forward:UInt32}`` kept; reverse likewise
backwards. Only users with an anchor event in the range are grouped.

Binds ``project_id``, ``start_ms``/``end_ms`` (entries), ``scan_from_ms``/``scan_to_ms``, ``window_ms``,
``{excluded_codes:Array(UInt32)}``, ``forward`` and ``reverse``.
"""

from __future__ import annotations

from mixhouse.query.events_source import events_source_sql
from mixhouse.query.sessions import numbered_sql

_SCAN_KEYS = (
    "e.time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
    "e.time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
)

#: The distinct event names of the scan window (read from the key columns only).
EVENT_NAMES_SQL = f"""
    SELECT DISTINCT event AS name FROM ({events_source_sql([], identity=False, key_conditions=_SCAN_KEYS)})
"""


#: Set on the code of an anchor event that passes the anchor step's filters: entries start only there.
ANCHOR_FLAG = 1 << 31


def _collapsed(codes: str) -> str:
    """``codes`` without an element equal to the one before it (the first is kept)."""
    return f"arrayFilter((x, before) -> x != before, {codes}, arrayPushFront(arrayPopBack({codes}), 0))"


def _session_bounds(per_session: bool) -> str:
    """``smax``/``smin``: the last and first session a path may reach from its anchor's (``ss[i0]``)."""
    reach = "0" if per_session else "{window_sessions:UInt32} - 1"
    return f", toInt64(ss[i0]) + {reach} AS smax, toInt64(ss[i0]) - ({reach}) AS smin"


def _side(*, forward: bool, sessions: bool) -> str:
    """The name codes on one side of the anchor, nearest first, within the window (and the session bounds)."""
    arrays = ["cs", "ts", *(["ss"] if sessions else [])]
    if forward:
        sliced = [f"arraySlice({name}, i0 + 1)" for name in arrays]
        test = "t <= t0 + {window_ms:Int64}" + (" AND s <= smax" if sessions else "")
    else:
        sliced = [f"arrayReverse(arraySlice({name}, 1, i0 - 1))" for name in arrays]
        test = "t >= t0 - {window_ms:Int64}" + (" AND s >= smin" if sessions else "")
    args = "c, t, s" if sessions else "c, t"
    return f"arrayFilter(({args}) -> {test}, {', '.join(sliced)})"


def flows_sql(*, totals: bool, collapse: bool, per_session: bool = False, window_sessions: bool = False,
              anchor_filter: str | None = None, users: str | None = None) -> str:
    """Rows of ``reverse``, ``forward`` (``Array(UInt32)`` of name codes) and ``users``.

    ``per_session``: an entry per session (its first anchor event), and paths stay inside the anchor's session;
    ``window_sessions``: paths reach ``{window_sessions:UInt32}`` sessions from the anchor's (its own included) in
    each direction. Both number sessions over every event (``query/sessions.py``; binds ``tz``).
    ``anchor_filter``: SQL over the event source that an anchor event must pass to start a path; ``users``: a
    condition on the canonical ``distinct_id`` a user must pass (a cohort filter)."""
    sessions = per_session or window_sessions
    qualifies = "event = {anchor:String}" + (f" AND ({anchor_filter})" if anchor_filter else "")
    code = (
        "transform(event, {names:Array(String)}, {codes:Array(UInt32)}, toUInt32(0)) "
        f"+ if({qualifies}, toUInt32({ANCHOR_FLAG}), toUInt32(0))"
    )
    conditions = ["distinct_id != ''", *([users] if users else [])]
    source = events_source_sql(conditions, identity=True, key_conditions=_SCAN_KEYS)
    in_range = "time_ms >= {start_ms:Int64} AND time_ms < {end_ms:Int64}"
    anchor_source = events_source_sql(
        [*conditions, in_range, *([anchor_filter] if anchor_filter else [])], identity=True,
        key_conditions=[*_SCAN_KEYS, "e.event = {anchor:String}"],
    )
    packed = "bitShiftLeft(toUInt128(time_ms - {scan_from_ms:Int64}), 64) + code"
    if sessions:
        # the session number between the time and the name code (hidden events still count for sessions)
        source = numbered_sql(source)
        packed += " + bitShiftLeft(toUInt128(session), 32)"
    rows = f"SELECT distinct_id AS user, {code} AS code, {packed} AS ev FROM ({source})"
    entry = f"c = {{anchor_code:UInt32}} + {ANCHOR_FLAG} AND t >= {{start_ms:Int64}} AND t < {{end_ms:Int64}}"
    anchors = f"arrayFilter((i, t, c) -> {entry}, arrayEnumerate(ts), ts, flagged)"  # every qualifying anchor
    if per_session:  # the first anchor event of each session
        steps = f"arrayDifference(arrayMap(s -> toInt64(s), arrayFilter((s, t, c) -> {entry}, ss, ts, flagged)))"
        entries = f"arrayFilter((i, step, k) -> k = 1 OR step != 0, anchors, {steps}, arrayEnumerate(anchors))"
    elif totals:
        entries = "anchors"
    else:
        entries = f"[arrayFirstIndex((t, c) -> {entry}, ts, flagged)]"
    session_array = ", arrayMap(v -> toUInt32(bitAnd(bitShiftRight(v, 32), 4294967295)), evs) AS ss" \
        if sessions else ""
    # ``flagged`` keeps the anchor flag for finding entries; ``cs``, the name codes paths are made of, drops it
    users = f"""
        SELECT user, arraySort(groupArray(ev)) AS evs,
               arrayMap(v -> toInt64(bitShiftRight(v, 64)) + {{scan_from_ms:Int64}}, evs) AS ts,
               arrayMap(v -> toUInt32(bitAnd(v, 4294967295)), evs) AS flagged,
               arrayMap(c -> bitAnd(c, {ANCHOR_FLAG - 1}), flagged) AS cs{session_array},
               {anchors} AS anchors,
               arrayFilter(i -> i > 0, {entries}) AS entries
        FROM ({rows})
        WHERE code != 0 AND user IN (SELECT distinct_id FROM ({anchor_source}))
        GROUP BY user
        HAVING notEmpty(entries)
    """
    carried = "ts, cs, ss" if sessions else "ts, cs"
    per_entry = f"SELECT {carried}, i0, ts[i0] AS t0{_session_bounds(per_session) if sessions else ''} " \
                f"FROM ({users}) ARRAY JOIN entries AS i0"
    forward, backward = _side(forward=True, sessions=sessions), _side(forward=False, sessions=sessions)
    if collapse:
        forward = f"arrayPopFront({_collapsed(f'arrayPushFront({forward}, {{anchor_code:UInt32}})')})"
        backward = f"arrayPopFront({_collapsed(f'arrayPushFront({backward}, {{anchor_code:UInt32}})')})"
    cut = "arrayFirstIndex(c -> has({excluded_codes:Array(UInt32)}, c), fwd)"
    return f"""
        SELECT reverse, forward, count() AS users
        FROM (
            SELECT arraySlice(bwd, 1, {{reverse:UInt32}}) AS reverse,
                   arraySlice(if({cut} = 0, fwd, arraySlice(fwd, 1, {cut} - 1)), 1, {{forward:UInt32}}) AS forward
            FROM (SELECT {forward} AS fwd, {backward} AS bwd FROM ({per_entry}))
        )
        GROUP BY reverse, forward
    """
