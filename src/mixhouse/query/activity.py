"""SQL for the activity feed (``/stream/query`` and ``/stream/bookmark``, spec §4.12): the events of some users.

The ids asked for may be any id of a merged cluster; the caller resolves them to their users and every id those
users' events are stored under (``services.activity``, from the project's identity state), and the feed queries bind
those (``stored``, ``canonical``), ``project_id`` and the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import SOURCE, over_events

#: Rows of the users: stored under one of their ids (``{stored:Array(String)}``), read before dedup (the stored id
#: is part of the dedup key) so only those rows are read in full; no identity join is needed.
_USERS_KEYS = ("e.distinct_id IN {stored:Array(String)}",)

#: The canonical id of a row (``{canonical:Array(String)}`` is parallel to ``{stored:Array(String)}``).
_USER_OF_ROW = "transform(raw_distinct_id, {stored:Array(String)}, {canonical:Array(String)}, '') AS user_id"

#: The feed's order: a total order over stored events (time, insert id, name, stored id: the dedup key), so a page
#: boundary is exact.
FEED_KEY = "(time_ms, insert_id, event, raw_distinct_id)"

#: Events before a cursor in the feed's order; binds ``cursor_ms`` (Int64), ``cursor_id``, ``cursor_event`` and
#: ``cursor_stored``.
BEFORE_CURSOR = (
    f"{FEED_KEY} < ({{cursor_ms:Int64}}, {{cursor_id:String}}, {{cursor_event:String}}, {{cursor_stored:String}})"
)

#: One event as the feed shows it, built by the engine: ``{"event", "properties": {"time" (s), "distinct_id",
#: "$distinct_id" (canonical), "$insert_id", …stored properties}}``. Stored properties never hold those keys: they
#: are lifted out at ingestion.
_EVENT_JSON = """concat(
    '{"event":', toJSONString(event),
    ',"properties":{"time":', toString(intDiv(time_ms, 1000)),
    ',"distinct_id":', toJSONString(user_id), ',"$distinct_id":', toJSONString(user_id),
    ',"$insert_id":', toJSONString(insert_id),
    if(properties = '{}', '}', concat(',', substring(properties, 2))),
    '}') AS line"""

#: A feed page row read as ``TSVRaw``: the row's place in the feed order as a JSON array (time ms as text, insert id,
#: name, stored id), a tab, then the event's JSON. Neither part can hold a raw tab or newline (JSON escapes them).
_FEED_PLACE = "toJSONString([toString(time_ms), insert_id, toString(event), raw_distinct_id])"
_PAGE_LINE = f"concat({_FEED_PLACE}, '\\t', {_EVENT_JSON.removesuffix(' AS line')}) AS line"

#: The users' rows, deduplicated here rather than with ``FINAL`` (which cannot read the by-user projection that
#: makes these reads cheap): the most recently ingested copy of each dedup key. Conditions before it must read only
#: key columns (event, time, ids), which every copy shares; conditions on properties go after (``_kept``).
_LATEST_COPIES = f"""
    SELECT * FROM ({SOURCE})
    ORDER BY seq DESC
    LIMIT 1 BY event, raw_distinct_id, time_ms, insert_id
"""


def _kept(after_dedup: Sequence[str]) -> str:
    where = " AND ".join(f"({condition})" for condition in after_dedup)
    kept = f"SELECT *, {_USER_OF_ROW} FROM ({_LATEST_COPIES})"
    return kept + (f" WHERE {where}" if where else "")


def _over_users(query: str, conditions: Sequence[str]) -> str:
    return over_events(query, [*WINDOW_CONDITIONS, *conditions], dedup=False, key_conditions=_USERS_KEYS)


def activity_lines_sql() -> str:
    """``line``: each of the users' events as the feed shows it (JSON text; read it as ``TSVRaw``, one event per
    line: JSON holds no raw newline), oldest first."""
    return _over_users(f"SELECT {_EVENT_JSON} FROM ({_kept(())}) ORDER BY time_ms, seq", ())


def newest_events_sql(key_conditions: Sequence[str] = (), after_dedup: Sequence[str] = ()) -> str:
    """``line`` (place in the feed order, tab, event JSON; read as ``TSVRaw``) for the newest ``{limit:UInt64}``
    events, newest first. ``key_conditions`` read only key columns; ``after_dedup`` may read anything (they judge
    the kept copy)."""
    query = f"SELECT {_PAGE_LINE} FROM ({_kept(after_dedup)}) ORDER BY {FEED_KEY} DESC LIMIT {{limit:UInt64}}"
    return _over_users(query, key_conditions)


def any_event_sql(key_conditions: Sequence[str] = (), after_dedup: Sequence[str] = ()) -> str:
    """One row (``found``) when at least one of the users' events matches, else none."""
    return _over_users(f"SELECT 1 AS found FROM ({_kept(after_dedup)}) LIMIT 1", key_conditions)
