"""SQL for the segmentation endpoints (spec §4.2–§4.4, §6.1).

Every builder reads the deduplicated, project-scoped event source with canonical distinct ids, restricted to one
event name (``{event:String}``) and the window (``start_ms``/``end_ms``, epoch milliseconds, ``[start, end)``), plus
an optional compiled ``where`` condition. ``bucket_sql`` is ``Bucketing.sql`` (binds ``tz``). The caller binds
``project_id``, ``event``, the window, ``tz`` and the parameters of the compiled fragments.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.events_source import NO_USERS_SQL, SOURCE, USERS_SQL, over_events
from mixhouse.query.grouped_keys import MERGED_USERS_SQL, GroupedKeys, keyed_groups_sql

WINDOW_CONDITIONS = (
    "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
    "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
    "event = {event:String}",
)

#: The segment of an event whose ``on`` expression gives no key (undefined, an object, a list without scalars).
UNDEFINED_SEGMENT = "undefined"

#: Type tag of a number in ``compile_typed``'s tuple (``mixhouse.expr.values.T.NUMBER``).
NUMBER_TAG = 3


def _conditions(where_sql: str | None) -> Sequence[str]:
    return [*WINDOW_CONDITIONS, *([where_sql] if where_sql else [])]


def counts_sql(
    bucket_sql: str, where_sql: str | None, on: GroupedKeys | str | None, *, users: bool = True
) -> str:
    """``bucket``, ``segment``, ``events``, ``users`` per bucket (and segment, from the ``on`` keys: an
    ``Array(String)`` with list fan-out, either grouped (``query.grouped_keys``) or an expression over the source;
    an event without keys counts under ``undefined``). Without ``on`` the segment is the empty string. Without
    ``users`` the ``users`` column is 0 (and no identity is resolved unless ``where`` or ``on`` read the distinct
    id)."""
    if isinstance(on, GroupedKeys):
        return _grouped_counts_sql(bucket_sql, where_sql, on, users=users)
    if on is None:
        segment = "''"
        join = ""
    else:
        segment = "segment_key"
        join = f"ARRAY JOIN if(empty(keys), ['{UNDEFINED_SEGMENT}'], keys) AS segment_key"
    inner_keys = f", {on} AS keys" if on is not None else ""
    inner_id = ", distinct_id" if users else ""
    query = f"""
    SELECT bucket, {segment} AS segment, count() AS events, {USERS_SQL if users else NO_USERS_SQL} AS users
    FROM (SELECT {bucket_sql} AS bucket{inner_id}{inner_keys} FROM ({SOURCE}))
    {join}
    GROUP BY bucket, segment
    """
    return over_events(query, _conditions(where_sql))


def _grouped_counts_sql(bucket_sql: str, where_sql: str | None, on: GroupedKeys, *, users: bool) -> str:
    """``counts_sql`` computing keys once per (bucket, inputs) group; users merge from per-group states."""
    query = f"""
    SELECT bucket, segment_key AS segment, sum(group_events) AS events,
           {MERGED_USERS_SQL if users else NO_USERS_SQL} AS users
    FROM ({keyed_groups_sql(bucket_sql, on, users=users)})
    ARRAY JOIN if(empty(keys), ['{UNDEFINED_SEGMENT}'], keys) AS segment_key
    GROUP BY bucket, segment
    """
    return over_events(query, _conditions(where_sql))


def numeric_totals_sql(bucket_sql: str, where_sql: str | None, typed_sql: str) -> str:
    """``bucket``, ``total`` (sum of the numeric values; other values count 0), ``numbers`` (events whose value is a
    number) per bucket. ``typed_sql`` is ``compile_typed``'s tuple for the ``on`` expression."""
    query = f"""
    SELECT bucket,
           sumIf(value.3, value.1 = {NUMBER_TAG}) AS total,
           countIf(value.1 = {NUMBER_TAG}) AS numbers
    FROM (SELECT {bucket_sql} AS bucket, {typed_sql} AS value FROM ({SOURCE}))
    GROUP BY bucket
    """
    return over_events(query, _conditions(where_sql))


def numeric_range_sql(where_sql: str | None, typed_sql: str) -> str:
    """``low``, ``high``, ``numbers``: the range of the numeric values of the ``on`` expression."""
    query = f"""
    SELECT min(value.3) AS low, max(value.3) AS high, count() AS numbers
    FROM (SELECT {typed_sql} AS value FROM ({SOURCE}))
    WHERE value.1 = {NUMBER_TAG}
    """
    return over_events(query, _conditions(where_sql))


def numeric_buckets_sql(bucket_sql: str, where_sql: str | None, typed_sql: str, *, users: bool = True) -> str:
    """``bucket``, ``slot``, ``events``, ``users``: events whose ``on`` value is a number, by time bucket and value
    slot ``least(floor((value - base) / width), last)``; binds ``base`` and ``width`` (Float64), ``last`` (Int64).
    Without ``users`` the ``users`` column is 0."""
    slot = "least(toInt64(floor((value.3 - {base:Float64}) / {width:Float64})), {last:Int64})"
    inner_id = ", distinct_id" if users else ""
    query = f"""
    SELECT bucket, {slot} AS slot, count() AS events, {USERS_SQL if users else NO_USERS_SQL} AS users
    FROM (SELECT {bucket_sql} AS bucket{inner_id}, {typed_sql} AS value FROM ({SOURCE}))
    WHERE value.1 = {NUMBER_TAG}
    GROUP BY bucket, slot
    """
    return over_events(query, _conditions(where_sql))
