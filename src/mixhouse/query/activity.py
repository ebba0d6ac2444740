"""SQL for the activity feed (``/stream/query``, spec §4.12): the events of some users, oldest first.

The ids asked for may be any id of a merged cluster: each is resolved to its canonical id, and every event whose
canonical id is one of those is returned. Binds ``project_id``, ``ids`` (``Array(String)``) and the window.
"""

from __future__ import annotations

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import IDENTITY_MAP_SQL, SOURCE, over_events

_CANONICAL_OF_IDS = f"""
    SELECT if(m.canonical = '', asked.id, m.canonical)
    FROM (SELECT arrayJoin({{ids:Array(String)}}) AS id) AS asked
    LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON asked.id = m.id
"""


def activity_sql() -> str:
    """``event``, ``time_ms``, ``distinct_id`` (canonical), ``insert_id``, ``properties`` (JSON object text)."""
    query = f"""
    SELECT event, time_ms, distinct_id, insert_id, properties
    FROM ({SOURCE})
    ORDER BY time_ms, seq
    """
    return over_events(query, [*WINDOW_CONDITIONS, "distinct_id != ''", f"distinct_id IN ({_CANONICAL_OF_IDS})"])
