"""The event source every query reads: one project's events with canonical (post-merge) distinct ids.

Identity resolution happens here, at read time, so a merge re-attributes past events. The project filter is part of
the source and cannot be left out: a query is always about one project (``{project_id:UInt32}``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.storage.schema import EVENTS_TABLE, IDENTITY_TABLE

IDENTITY_MAP_SQL = f"""
    SELECT id, argMax(canonical, seq) AS canonical
    FROM {IDENTITY_TABLE}
    WHERE project_id = {{project_id:UInt32}}
    GROUP BY id
"""


def canonical_events_sql(*, extra_conditions: Sequence[str] = (), dedup: bool = False) -> str:
    """SELECT of ``event, time, time_ms, distinct_id (canonical), raw_distinct_id, insert_id, seq, properties``.

    ``extra_conditions`` may use the column names above (``distinct_id`` is the canonical one). With ``dedup`` each
    (event, distinct_id, time, $insert_id) keeps only its most recently ingested copy (spec §3.5).
    """
    base = f"""
        SELECT e.event AS event, e.time AS time, toUnixTimestamp64Milli(e.time) AS time_ms,
               if(m.canonical = '', e.distinct_id, m.canonical) AS distinct_id,
               e.distinct_id AS raw_distinct_id, e.insert_id AS insert_id, e.seq AS seq,
               e.properties AS properties
        FROM {EVENTS_TABLE} AS e
        LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON e.distinct_id = m.id
        WHERE e.project_id = {{project_id:UInt32}}
    """
    if dedup:
        base = f"""
        SELECT * FROM ({base}) AS all_copies
        ORDER BY seq DESC
        LIMIT 1 BY event, raw_distinct_id, time, insert_id
        """
    where = " AND ".join(f"({condition})" for condition in extra_conditions)
    return f"SELECT * FROM ({base}) AS src" + (f" WHERE {where}" if where else "")
