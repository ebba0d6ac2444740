"""SQL for flows (``/arb_funnels``, spec §6.4): the events users did before and after an anchor event.

One query returns ``reverse`` (names before the anchor, nearest first), ``forward`` (names after it) and ``users``
(how many entries had exactly that pair); the service builds the sankey, top paths and trees from those rows.
Each user's events in the scan window (hidden events left out) become one array sorted by (time, name); an entry is
the user's first anchor event in the range (every one with ``totals``); forward events are those after it, no later
than the conversion window, consecutive repeats collapsed when asked, cut at the first exclusion event, first
``{forward:UInt32}`` kept; reverse likewise backwards.

Binds ``project_id``, ``start_ms``/``end_ms`` (entries), ``scan_from_ms``/``scan_to_ms``, ``window_ms``,
``{anchor:String}``, ``{hidden:Array(String)}``, ``{excluded:Array(String)}``, ``forward``, ``reverse`` and the
anchor filter's parameters.
"""

from __future__ import annotations

from mixhouse.query.events_source import events_source_sql


def _collapsed(names: str) -> str:
    """``names`` without an element equal to the one before it (the first is kept)."""
    return f"arrayFilter((x, before) -> x != before, {names}, arrayPushFront(arrayPopBack({names}), ''))"


def flows_sql(anchor_filter: str | None, *, totals: bool, collapse: bool) -> str:
    """Rows of ``reverse``, ``forward`` (Array(String)) and ``users``."""
    anchor = "event = {anchor:String}" + (f" AND ({anchor_filter})" if anchor_filter else "")
    source = events_source_sql(
        [
            "distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({scan_from_ms:Int64}, 'UTC')",
            "time <= fromUnixTimestamp64Milli({scan_to_ms:Int64}, 'UTC')",
            "event NOT IN {hidden:Array(String)}",
        ],
        identity=True,
    )
    rows = f"SELECT distinct_id AS user, time_ms AS t, event AS name, ({anchor}) AS is_anchor FROM ({source})"
    in_range = "t >= {start_ms:Int64} AND t < {end_ms:Int64}"
    entries = (
        f"arrayFilter((i, t, a) -> a AND {in_range}, arrayEnumerate(ts), ts, anchors)"
        if totals
        else f"[arrayFirstIndex((t, a) -> a AND {in_range}, ts, anchors)]"
    )
    users = f"""
        SELECT user, arraySort(groupArray((t, name, is_anchor))) AS evs,
               evs.1 AS ts, evs.2 AS names, evs.3 AS anchors, arrayFilter(i -> i > 0, {entries}) AS entries
        FROM ({rows})
        WHERE user IN (SELECT user FROM ({rows}) WHERE is_anchor AND {in_range})
        GROUP BY user
        HAVING notEmpty(entries)
    """
    per_entry = f"""
        SELECT ts, names, i0, ts[i0] AS t0 FROM ({users}) ARRAY JOIN entries AS i0
    """
    after = "arraySlice(names, i0 + 1)"
    after_times = "arraySlice(ts, i0 + 1)"
    before = "arrayReverse(arraySlice(names, 1, i0 - 1))"
    before_times = "arrayReverse(arraySlice(ts, 1, i0 - 1))"
    forward = f"arrayFilter((n, t) -> t <= t0 + {{window_ms:Int64}}, {after}, {after_times})"
    backward = f"arrayFilter((n, t) -> t >= t0 - {{window_ms:Int64}}, {before}, {before_times})"
    if collapse:
        forward = f"arrayPopFront({_collapsed(f'arrayPushFront({forward}, {{anchor:String}})')})"
        backward = f"arrayPopFront({_collapsed(f'arrayPushFront({backward}, {{anchor:String}})')})"
    cut = "arrayFirstIndex(n -> has({excluded:Array(String)}, n), fwd)"
    return f"""
        SELECT reverse, forward, count() AS users
        FROM (
            SELECT arraySlice(bwd, 1, {{reverse:UInt32}}) AS reverse,
                   arraySlice(if({cut} = 0, fwd, arraySlice(fwd, 1, {cut} - 1)), 1, {{forward:UInt32}}) AS forward
            FROM (SELECT {forward} AS fwd, {backward} AS bwd FROM ({per_entry}))
        )
        GROUP BY reverse, forward
    """
