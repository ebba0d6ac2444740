"""SQL for the activity feed (``/stream/query`` and ``/stream/bookmark``, spec §4.12): the events of some users.

The ids asked for may be any id of a merged cluster: ``USERS_OF_IDS_SQL`` resolves them to their users and every id
those users' events are stored under; the feed queries then bind those (``stored``, ``canonical``), ``project_id``
and the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import IDENTITY_MAP_SQL, SOURCE, over_events

#: The users the ids asked about belong to: ``stored`` (an id events are stored under) → ``canonical``, for every
#: stored id of those users. Binds ``project_id`` and ``ids``.
USERS_OF_IDS_SQL = f"""
    WITH map AS ({IDENTITY_MAP_SQL}),
         users AS (
            SELECT DISTINCT if(map.canonical = '', asked.id, map.canonical) AS user
            FROM (SELECT arrayJoin({{ids:Array(String)}}) AS id) AS asked
            LEFT JOIN map ON asked.id = map.id
         )
    SELECT id AS stored, canonical FROM map WHERE canonical IN (SELECT user FROM users)
    UNION ALL
    SELECT user AS stored, user AS canonical FROM users WHERE user NOT IN (SELECT id FROM map)
"""

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

_COLUMNS = f"event, time_ms, {_USER_OF_ROW}, raw_distinct_id, insert_id, properties"


def activity_sql() -> str:
    """``event``, ``time_ms``, ``user_id`` (canonical), ``raw_distinct_id``, ``insert_id``, ``properties`` (JSON
    object text) of the users' events, oldest first; binds ``stored``/``canonical`` (``USERS_OF_IDS_SQL``)."""
    query = f"SELECT {_COLUMNS} FROM ({SOURCE}) ORDER BY time_ms, seq"
    return over_events(query, WINDOW_CONDITIONS, key_conditions=_USERS_KEYS)


def newest_events_sql(conditions: Sequence[str] = ()) -> str:
    """The same columns for the newest ``{limit:UInt64}`` events under ``conditions``, newest first (feed order)."""
    query = f"SELECT {_COLUMNS} FROM ({SOURCE}) ORDER BY {FEED_KEY} DESC LIMIT {{limit:UInt64}}"
    return over_events(query, [*WINDOW_CONDITIONS, *conditions], key_conditions=_USERS_KEYS)


def any_event_sql(conditions: Sequence[str] = ()) -> str:
    """One row (``found``) when at least one of the users' events matches ``conditions``, else none."""
    query = f"SELECT 1 AS found FROM ({SOURCE}) LIMIT 1"
    return over_events(query, [*WINDOW_CONDITIONS, *conditions], key_conditions=_USERS_KEYS)
