"""SQL for aggregate event counts (spec §4.5 ``/events``, §4.7 ``/events/properties``).

Both builders read the deduplicated, project-scoped event source with canonical ids and group by a time bucket
(``Bucketing.sql``). The caller binds ``project_id``, ``tz``, the window (``start_ms``/``end_ms``, epoch
milliseconds, ``[start, end)``) and the builder's own parameters. ``users`` counts distinct canonical ids and leaves
out the empty id (spec §6.1).
"""

from __future__ import annotations

from mixhouse.query.events_source import NO_USERS_SQL, SOURCE, USERS_SQL, over_events
from mixhouse.query.grouped_keys import MERGED_USERS_SQL, GroupedKeys, keyed_groups_sql

WINDOW_CONDITIONS = (
    "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
    "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
)


def _users(users: bool) -> str:
    return USERS_SQL if users else NO_USERS_SQL


def event_counts_sql(bucket_sql: str, *, users: bool = True) -> str:
    """``name``, ``bucket``, ``events``, ``users`` per event name in ``{events:Array(String)}`` and bucket (``users``
    0 without ``users``)."""
    query = f"""
    SELECT event AS name, {bucket_sql} AS bucket, count() AS events, {_users(users)} AS users
    FROM ({SOURCE})
    GROUP BY name, bucket
    """
    return over_events(query, [*WINDOW_CONDITIONS, "event IN {events:Array(String)}"])


def property_counts_sql(bucket_sql: str, on: GroupedKeys, *, restricted: bool, users: bool = True) -> str:
    """``value``, ``bucket``, ``events``, ``users`` for event ``{event:String}``, one row per value of the
    property and bucket. ``on`` gives the keys an event contributes (a list property fans out; none when the
    property is missing); with ``restricted`` only keys in ``{values:Array(String)}`` are kept."""
    having = "WHERE value IN {values:Array(String)}" if restricted else ""
    query = f"""
    SELECT value, bucket, sum(group_events) AS events, {MERGED_USERS_SQL if users else NO_USERS_SQL} AS users
    FROM ({keyed_groups_sql(bucket_sql, on, users=users)})
    ARRAY JOIN keys AS value
    {having}
    GROUP BY value, bucket
    """
    return over_events(query, [*WINDOW_CONDITIONS, "event = {event:String}"])
