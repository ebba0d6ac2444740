"""SQL for the activity feed (``/stream/query`` and ``/stream/bookmark``, spec §4.12): the events of some users.

The ids asked for may be any id of a merged cluster: each is resolved to its canonical id, and every event whose
canonical id is one of those is returned. Binds ``project_id``, ``ids`` (``Array(String)``) and the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import IDENTITY_MAP_SQL, SOURCE, over_events

_CANONICAL_OF_IDS = f"""
    SELECT if(m.canonical = '', asked.id, m.canonical)
    FROM (SELECT arrayJoin({{ids:Array(String)}}) AS id) AS asked
    LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON asked.id = m.id
"""

#: Every stored id of those users: their canonical ids and the ids merged into them. A condition on the stored id
#: reaches the scan before the identity join, so only the users' own events are joined (a superset: the canonical
#: condition after the join decides).
_STORED_IDS_OF_USERS = f"""
    raw_distinct_id IN ({_CANONICAL_OF_IDS})
    OR raw_distinct_id IN (SELECT id FROM ({IDENTITY_MAP_SQL}) WHERE canonical IN ({_CANONICAL_OF_IDS}))
"""

_USERS_CONDITIONS = (_STORED_IDS_OF_USERS, "distinct_id != ''", f"distinct_id IN ({_CANONICAL_OF_IDS})")

#: The feed's order: a total order over events (time, then insert id, then name), so a page boundary is exact.
FEED_KEY = "(time_ms, insert_id, event)"

#: Events before a cursor in the feed's order; binds ``cursor_ms`` (Int64), ``cursor_id`` and ``cursor_event``.
BEFORE_CURSOR = f"{FEED_KEY} < ({{cursor_ms:Int64}}, {{cursor_id:String}}, {{cursor_event:String}})"


def activity_sql() -> str:
    """``event``, ``time_ms``, ``distinct_id`` (canonical), ``insert_id``, ``properties`` (JSON object text), oldest
    first."""
    query = f"""
    SELECT event, time_ms, distinct_id, insert_id, properties
    FROM ({SOURCE})
    ORDER BY time_ms, seq
    """
    return over_events(query, [*WINDOW_CONDITIONS, *_USERS_CONDITIONS])


def newest_events_sql(conditions: Sequence[str] = ()) -> str:
    """The same columns for the newest ``{limit:UInt64}`` events under ``conditions``, newest first (feed order)."""
    query = f"""
    SELECT event, time_ms, distinct_id, insert_id, properties
    FROM ({SOURCE})
    ORDER BY {FEED_KEY} DESC
    LIMIT {{limit:UInt64}}
    """
    return over_events(query, [*WINDOW_CONDITIONS, *_USERS_CONDITIONS, *conditions])


def any_event_sql(conditions: Sequence[str] = ()) -> str:
    """One row (``found``) when at least one of the users' events matches ``conditions``, else none."""
    query = f"SELECT 1 AS found FROM ({SOURCE}) LIMIT 1"
    return over_events(query, [*WINDOW_CONDITIONS, *_USERS_CONDITIONS, *conditions])
