"""SQL for flows (``/arb_funnels``, spec §6.4): the events users did before, between and after anchor events.

Two queries. ``EVENT_NAMES_SQL`` lists the event names in the scan window; the caller numbers them (1…n, the anchors
included) and binds ``{names:Array(String)}`` / ``{codes:Array(UInt32)}`` and ``{anchor_codes:Array(UInt32)}``
(one per anchor step). Then ``flows_sql`` returns, per distinct outcome, ``reverse`` (codes before the first anchor,
nearest first), ``after`` (one array per anchor reached: the events after it, see below), ``keys`` (the breakdown
keys of the entry, one array per segment) and ``users`` (how many entries had exactly that); the service decodes the
names and builds the sankey, top paths and trees from those rows.

Each event is one ``UInt128`` (time since the scan's start above, session number in the middle when asked, name
code below), so a user's events group and sort as plain numbers; hidden events and events the flow's filter drops
are left out (code 0). The code's top bits flag the anchor steps an event qualifies for (name and step filters):
bit ``31 - k`` for step k. An entry is the user's first qualifying first-step event in the range (every one with
``totals``, the first of each session with ``per_session``). Anchor k+1 is the first event qualifying for step k+1
after anchor k, within the conversion window of the entry (and the session bounds), with no exclusion event before
it. ``after[k]`` for a reached next anchor holds the events between the two anchors, cut to their first
``{forward_k:UInt32}`` and last ``{reverse_k+1:UInt32}``; for the last anchor reached it holds the events after it
within the window, cut at the first exclusion, first ``{forward_k:UInt32}`` kept. Consecutive repeats collapse (the
anchor counted as the first of its stretch) when asked. ``reverse`` likewise backwards from the first anchor.

Binds ``project_id``, ``start_ms``/``end_ms`` (entries), ``scan_from_ms``/``scan_to_ms``, ``window_ms``,
``{excluded_codes:Array(UInt32)}``, ``forward_k``/``reverse_k`` per step (0-based) and the filters' own params.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.by_user_reads import BY_USER_SETTINGS
from mixhouse.query.events_source import events_source_sql, user_arrays_sql, uses_canonical_id
from mixhouse.query.group_source import GroupActors, group_source_sql
from mixhouse.query.sessions import numbered_sql

_SCAN_KEYS = (
    "e.time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
    "e.time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
)

#: The distinct event names of the scan window (read from the key columns only; every stored copy of an event has
#: its name, so no dedup is needed).
EVENT_NAMES_SQL = f"""
    SELECT DISTINCT event AS name
    FROM ({events_source_sql([], identity=False, dedup=False, key_conditions=_SCAN_KEYS)})
"""

#: At most this many anchor steps: step k's flag is bit ``31 - k`` of an event's code; names are coded below them.
MAX_ANCHORS = 5
NAME_CODE_LIMIT = 1 << (32 - MAX_ANCHORS - 1)


def _bit(step: int) -> int:
    return 31 - step


def _collapsed(codes: str) -> str:
    """``codes`` without an element equal to the one before it (the first is kept)."""
    return f"arrayFilter((x, before) -> x != before, {codes}, arrayPushFront(arrayPopBack({codes}), 0))"


def _collapse_after(codes: str, anchor: int, collapse: bool) -> str:
    """``codes`` (events after anchor ``anchor``, nearest first) with repeats merged, the anchor counting as the one
    before the first."""
    if not collapse:
        return codes
    return f"arrayPopFront({_collapsed(f'arrayPushFront({codes}, {{anchor_codes:Array(UInt32)}}[{anchor + 1}])')})"


def _session_bounds(per_session: bool) -> str:
    """``smax``/``smin``: the last and first session a path may reach from its entry's (``ss[i0]``)."""
    reach = "0" if per_session else "{window_sessions:UInt32} - 1"
    return f", toInt64(ss[i0]) + {reach} AS smax, toInt64(ss[i0]) - ({reach}) AS smin"


def _reachable(bounded: bool, forward: bool) -> tuple[str, str]:
    """(lambda arguments, test): an event within the window (and session bounds) on one side of the entry."""
    if forward:
        test = "t <= t0 + {window_ms:Int64}" + (" AND s <= smax" if bounded else "")
    else:
        test = "t >= t0 - {window_ms:Int64}" + (" AND s >= smin" if bounded else "")
    return ("c, t, s" if bounded else "c, t"), test


def _arrays(bounded: bool, names: Sequence[str] = ("cs", "ts")) -> list[str]:
    """``names`` plus the session numbers when paths are bounded by sessions."""
    return [*names, *(["ss"] if bounded else [])]


_REAL = "c <= {last_code:UInt32}"  # not a virtual session start or end


def _backward(bounded: bool, virtual: bool) -> str:
    """The name codes before the entry, nearest first, within the window."""
    args, test = _reachable(bounded, forward=False)
    test += f" AND {_REAL}" if virtual else ""
    sliced = ", ".join(f"arrayReverse(arraySlice({name}, 1, i0 - 1))" for name in _arrays(bounded))
    return f"arrayFilter(({args}) -> {test}, {sliced})"


def _forward_from(position: str, anchor: int, bounded: bool, collapse: bool, virtual: bool) -> str:
    """The events after ``position`` within the window, repeats merged, cut at the first exclusion, first
    ``forward_<anchor>`` kept: what follows the last anchor a path reaches."""
    args, test = _reachable(bounded, forward=True)
    test += f" AND {_REAL}" if virtual else ""
    sliced = ", ".join(f"arraySlice({name}, {position} + 1)" for name in _arrays(bounded))
    codes = _collapse_after(f"arrayFilter(({args}) -> {test}, {sliced})", anchor, collapse)
    cut = f"arrayFirstIndex(c -> has({{excluded_codes:Array(UInt32)}}, c), {codes})"
    kept = f"if({cut} = 0, {codes}, arraySlice({codes}, 1, {cut} - 1))"
    return f"arraySlice({kept}, 1, {{forward_{anchor}:UInt32}})"


def _between(start: str, end: str, anchor: int, collapse: bool, virtual: bool) -> str:
    """The events strictly between anchors at ``start`` and ``end``, repeats merged, cut to the first ``forward`` of
    anchor ``anchor`` and the last ``reverse`` of the next one."""
    codes = f"arraySlice(cs, {start} + 1, {end} - {start} - 1)"
    codes = _collapse_after(f"arrayFilter(c -> {_REAL}, {codes})" if virtual else codes, anchor, collapse)
    head, tail = f"{{forward_{anchor}:UInt32}}", f"{{reverse_{anchor + 1}:UInt32}}"
    shortened = f"arrayConcat(arraySlice({codes}, 1, {head}), if({tail} = 0, [], arraySlice({codes}, -{tail})))"
    return f"if(length({codes}) > {head} + {tail}, {shortened}, {codes})"


def _next_anchor(previous: str, step: int, bounded: bool) -> str:
    """The position of step ``step``'s anchor after the one at ``previous`` (0: not reached): the first qualifying
    event after it within the window, before any exclusion event."""
    args, test = _reachable(bounded, forward=True)
    sliced = ", ".join(f"arraySlice({name}, {previous} + 1)" for name in _arrays(bounded, ("flagged", "ts")))
    found = f"arrayFirstIndex(({args}) -> bitTest(c, {_bit(step)}) AND {test}, {sliced})"
    excluded = f"arrayFirstIndex(c -> has({{excluded_codes:Array(UInt32)}}, c), arraySlice(cs, {previous} + 1))"
    return (f"if({previous} = 0 OR {found} = 0 OR ({excluded} != 0 AND {excluded} <= {found}), 0, "
            f"{previous} + {found})")


def flows_sql(*, anchors: int, totals: bool, collapse: bool, per_session: bool = False,
              window_sessions: bool = False, anchor_filters: Sequence[str | None] = (), where: str | None = None,
              users: str | None = None, segment_keys: Sequence[str] = (),
              session_steps: Sequence[str | None] = (), by_user: bool = False, by_user_exact: bool = True,
              group_ids_sql: str | None = None) -> str:
    """Rows of ``reverse`` (``Array(UInt32)``), ``after`` (``Array(Array(UInt32))``), ``keys``
    (``Array(Array(String))``) and ``users``.

    ``anchors``: how many anchor steps (1…``MAX_ANCHORS``); ``anchor_filters[k]``: SQL over the event source that
    step k's events must pass. ``per_session``: an entry per session (its first anchor event), and paths stay inside
    the entry's session; ``window_sessions``: paths reach ``{window_sessions:UInt32}`` sessions from the entry's (its
    own included) in each direction. Both number sessions over every event (``query/sessions.py``; binds ``tz``).
    ``where``: SQL over the event source an event must pass to be in a flow at all (still counting for sessions);
    ``users``: a condition on the canonical ``distinct_id`` a user must pass (a cohort filter); ``segment_keys``:
    ``Array(String)`` SQL per breakdown, read on the entry event (on a virtual entry it may read ``distinct_id``
    only).

    ``session_steps[k]`` ``"start"``/``"end"``: step k's anchors are the starts/ends of sessions, virtual events
    (codes ``{session_codes:Array(UInt32)}``, start then end; never shown as steps) just before a session's first
    event and just after its last; binds ``{last_code:UInt32}``, the highest code of a real event name.

    ``by_user``: read the by-user copy of the events, without ``FINAL``; only for flows with no filters, sessions or
    segments. ``by_user_exact``: the caller checked (``query.by_user_reads.by_user_exact``) that the copy holds one
    copy of each event; when it may hold more (unmerged parts), each event is packed as (time, code, a 32-bit hash of
    its ``$insert_id``), a user's sorted events are made distinct (copies of one event share time, name and insert
    id) and then packed as (time, code) again.

    ``group_ids_sql``: flows of groups (decision 0043): an event is in the flow of each group its group ids
    (``Array(String)`` SQL) name, the group standing as the user; not with sessions (a user's)."""
    if not 1 <= anchors <= MAX_ANCHORS:
        raise ValueError(f"a flow has 1 to {MAX_ANCHORS} anchor steps")
    filters = [*anchor_filters, *([None] * anchors)][:anchors]
    kinds = [*session_steps, *([None] * anchors)][:anchors]
    virtual = any(kinds)
    bounded = per_session or window_sessions  # paths stay within session bounds
    sessions = bounded or virtual  # events carry their session numbers
    flags = " + ".join(
        f"if(event = {{anchor_names:Array(String)}}[{k + 1}]{f' AND ({sql})' if sql else ''}, "
        f"toUInt32({1 << _bit(k)}), toUInt32(0))"
        for k, sql in enumerate(filters) if kinds[k] is None
    ) or "toUInt32(0)"
    code = f"transform(event, {{names:Array(String)}}, {{codes:Array(UInt32)}}, toUInt32(0)) + {flags}"
    if where:
        code = f"if({where}, {code}, toUInt32(0))"
    conditions = ["distinct_id != ''", *([users] if users else [])]
    source = events_source_sql(conditions, identity=True, key_conditions=_SCAN_KEYS)
    in_range = "time_ms >= {start_ms:Int64} AND time_ms < {end_ms:Int64}"
    first_filter = [sql for sql in (filters[0], where) if sql]
    # Without sessions or segments, and with filters that read only the event, each stored id's events are
    # grouped before its canonical id is looked up: the identity map is joined to one row per stored id, not to
    # every event (about a quarter of the query's time at 10M events, docs/performance.md).
    by_stored_id = not sessions and not segment_keys and not uses_canonical_id(*[sql for sql in filters if sql],
                                                                                 where or "")
    by_user = by_user and by_stored_id and where is None and not any(filters)
    anchor_source = events_source_sql(  # a session starts or ends in the range only where an event is in it
        [*conditions, in_range, *([] if kinds[0] else first_filter)], identity=True,
        key_conditions=[*_SCAN_KEYS, *([] if kinds[0] else ["e.event = {anchor_names:Array(String)}[1]"])],
    )
    if group_ids_sql is not None:
        if sessions:
            raise ValueError("flows of groups have no sessions")
        actors = GroupActors(group_ids_sql, per_group=True)
        scan = [key.removeprefix("e.") for key in _SCAN_KEYS]
        source = group_source_sql([*conditions, *scan], actors)
        anchor_source = group_source_sql(
            [*conditions, *scan, in_range, "event = {anchor_names:Array(String)}[1]", *first_filter], actors)
        by_stored_id = by_user = False
    # with virtual events, each millisecond has three places: session starts, events, session ends
    scale, place = ("4", " + 1") if virtual else ("1", "")
    at = f"bitShiftLeft(toUInt128((time_ms - {{scan_from_ms:Int64}}) * {scale}{place}), 64)"
    packed = f"{at} + code"
    if sessions:
        # the session number between the time and the name code (hidden events still count for sessions)
        source = numbered_sql(source)
        packed += " + bitShiftLeft(toUInt128(session), 32)"
    none = "CAST([] AS Array(Array(String)))"
    keys = f"if(bitTest(code, {_bit(0)}), [{', '.join(segment_keys)}], {none})" if segment_keys else none
    entrants = f"SELECT distinct_id FROM ({anchor_source})"
    if by_stored_id:
        stored = events_source_sql(["raw_distinct_id != ''"], identity=False, key_conditions=_SCAN_KEYS,
                                   dedup=not by_user, by_user=by_user)
        copies = by_user and not by_user_exact  # dedup by (time, code, insert id hash) instead of FINAL
        stored_ev = f"{at} + bitShiftLeft(toUInt128(code), 32) + cityHash64(insert_id) % 4294967296" if copies \
            else packed
        coded = f"SELECT raw_distinct_id AS sid, time_ms, {code} AS code, {stored_ev} AS ev FROM ({stored})"
        # a user is in the flow when one of their ids has an entry event (no second scan for the entrants)
        per_user = user_arrays_sql(f"SELECT * FROM ({coded}) WHERE code != 0",
                                   flag=f"max(bitTest(code, {_bit(0)}) AND {in_range})", users=users,
                                   distinct="bitShiftLeft(bitShiftRight(v, 64), 64) + "
                                            "bitShiftRight(bitAnd(v, 18446744073709551615), 32)" if copies else None)
    rows = f"SELECT distinct_id AS user, {code} AS code, {packed} AS ev, {keys} AS ks FROM ({source})"
    for n, (kind, edge, slot) in enumerate((("start", "min", 0), ("end", "max", 2))):
        steps_of_kind = [k for k in range(anchors) if kinds[k] == kind]
        if not steps_of_kind:
            continue
        vflags = sum(1 << _bit(k) for k in steps_of_kind)
        vcode = f"toUInt32({{session_codes:Array(UInt32)}}[{n + 1}] + {vflags})"
        vpacked = (f"bitShiftLeft(toUInt128(({edge}(time_ms) - {{scan_from_ms:Int64}}) * 4 + {slot}), 64) "
                   f"+ bitShiftLeft(toUInt128(session), 32) + {vcode}")
        rows += f"""
            UNION ALL
            SELECT distinct_id AS user, {vcode} AS code, {vpacked} AS ev, {keys if kinds[0] else none} AS ks
            FROM ({source}) GROUP BY distinct_id, session"""
    entry = f"bitTest(c, {_bit(0)}) AND t >= {{start_ms:Int64}} AND t < {{end_ms:Int64}}"
    starts = f"arrayFilter((i, t, c) -> {entry}, arrayEnumerate(ts), ts, flagged)"  # every qualifying entry event
    if per_session:  # the first entry event of each session
        steps = f"arrayDifference(arrayMap(s -> toInt64(s), arrayFilter((s, t, c) -> {entry}, ss, ts, flagged)))"
        entries = f"arrayFilter((i, step, k) -> k = 1 OR step != 0, starts, {steps}, arrayEnumerate(starts))"
    elif totals:
        entries = "starts"
    else:
        entries = f"[arrayFirstIndex((t, c) -> {entry}, ts, flagged)]"
    session_array = ", arrayMap(v -> toUInt32(bitAnd(bitShiftRight(v, 32), 4294967295)), evs) AS ss" \
        if sessions else ""
    # ``flagged`` keeps the anchor flags for finding anchors; ``cs``, the name codes paths are made of, drops them
    derived = f"""
               arrayMap(v -> intDiv(toInt64(bitShiftRight(v, 64)), {scale}) + {{scan_from_ms:Int64}}, evs) AS ts,
               arrayMap(v -> toUInt32(bitAnd(v, 4294967295)), evs) AS flagged,
               arrayMap(c -> bitAnd(c, {NAME_CODE_LIMIT - 1}), flagged) AS cs{session_array},
               {starts} AS starts,
               arrayFilter(i -> i > 0, {entries}) AS entries"""
    if by_stored_id:
        grouped = f"SELECT user, evs, {none} AS keyed, {derived} FROM ({per_user}) WHERE notEmpty(entries)"
    else:
        grouped = f"""
            SELECT user, arraySort(groupArray(ev)) AS evs,
                   {"arraySort((k, v) -> v, groupArray(ks), groupArray(ev))" if segment_keys else none} AS keyed,
                   {derived}
            FROM ({rows})
            WHERE code != 0 AND user IN ({entrants})
            GROUP BY user
            HAVING notEmpty(entries)
        """
    carried = ", ".join(_arrays(sessions, ("ts", "cs", "flagged")))
    entry_keys = "keyed[i0]" if segment_keys else none  # no segments: no keys to carry
    per_entry = f"SELECT {carried}, {entry_keys} AS keys, i0, ts[i0] AS t0" \
                f"{_session_bounds(per_session) if bounded else ''} FROM ({grouped}) ARRAY JOIN entries AS i0"
    positions = ["i0"]
    for k in range(1, anchors):
        positions.append(f"p{k}")
    found = ", ".join(f"{_next_anchor(positions[k - 1], k, bounded)} AS {positions[k]}" for k in range(1, anchors))
    parts = []
    for k in range(anchors):
        forward = _forward_from(positions[k], k, bounded, collapse, virtual)
        if k + 1 < anchors:
            between = _between(positions[k], positions[k + 1], k, collapse, virtual)
            segment = f"if({positions[k + 1]} > 0, {between}, {forward})"
        else:
            segment = forward
        parts.append(f"[{segment}]" if k == 0 else f"if({positions[k]} > 0, [{segment}], [])")
    after = parts[0] if len(parts) == 1 else f"arrayConcat({', '.join(parts)})"
    backward = f"arraySlice({_collapse_after(_backward(bounded, virtual), 0, collapse)}, 1, {{reverse_0:UInt32}})"
    return f"""
        SELECT reverse, after, keys, count() AS users
        FROM (
            SELECT {backward} AS reverse, {after} AS after, keys
            FROM (SELECT *{', ' + found if found else ''} FROM ({per_entry}))
        )
        GROUP BY reverse, after, keys
        {BY_USER_SETTINGS if by_user else ""}
    """
