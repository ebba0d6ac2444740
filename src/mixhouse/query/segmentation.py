"""SQL for the segmentation endpoints (spec §4.2–§4.4, §6.1).

Every builder reads the deduplicated, project-scoped event source with canonical distinct ids, restricted to one
event name (``{event:String}``) and the window (``start_ms``/``end_ms``, epoch milliseconds, ``[start, end)``), plus
an optional compiled ``where`` condition. ``bucket_sql`` is ``Bucketing.sql`` (binds ``tz``). The caller binds
``project_id``, ``event``, the window, ``tz`` and the parameters of the compiled fragments.
"""

from __future__ import annotations

from mixhouse.query.events_source import canonical_events_sql

WINDOW_CONDITIONS = (
    "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
    "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
    "event = {event:String}",
)

#: The segment of an event whose ``on`` expression gives no key (undefined, an object, a list without scalars).
UNDEFINED_SEGMENT = "undefined"

#: ``users``: distinct canonical ids, the empty id left out (spec §6.1).
_USERS = "uniqExactIf(distinct_id, distinct_id != '')"

#: Type tag of a number in ``compile_typed``'s tuple (``mixhouse.expr.values.T.NUMBER``).
NUMBER_TAG = 3


def _source(where_sql: str | None) -> str:
    conditions = [*WINDOW_CONDITIONS, *([where_sql] if where_sql else [])]
    return canonical_events_sql(extra_conditions=conditions, dedup=True)


def counts_sql(bucket_sql: str, where_sql: str | None, on_keys_sql: str | None) -> str:
    """``bucket``, ``segment``, ``events``, ``users`` per bucket (and segment, from the ``on`` keys expression, an
    ``Array(String)`` with list fan-out; an event without keys counts under ``undefined``). Without ``on`` the
    segment is the empty string."""
    if on_keys_sql is None:
        segment = "''"
        join = ""
    else:
        segment = "segment_key"
        join = f"ARRAY JOIN if(empty(keys), ['{UNDEFINED_SEGMENT}'], keys) AS segment_key"
    inner_keys = f", {on_keys_sql} AS keys" if on_keys_sql is not None else ""
    return f"""
    SELECT bucket, {segment} AS segment, count() AS events, {_USERS} AS users
    FROM (SELECT {bucket_sql} AS bucket, distinct_id{inner_keys} FROM ({_source(where_sql)}))
    {join}
    GROUP BY bucket, segment
    """


def numeric_totals_sql(bucket_sql: str, where_sql: str | None, typed_sql: str) -> str:
    """``bucket``, ``total`` (sum of the numeric values; other values count 0), ``numbers`` (events whose value is a
    number) per bucket. ``typed_sql`` is ``compile_typed``'s tuple for the ``on`` expression."""
    return f"""
    SELECT bucket,
           sumIf(value.3, value.1 = {NUMBER_TAG}) AS total,
           countIf(value.1 = {NUMBER_TAG}) AS numbers
    FROM (SELECT {bucket_sql} AS bucket, {typed_sql} AS value FROM ({_source(where_sql)}))
    GROUP BY bucket
    """


def numeric_range_sql(where_sql: str | None, typed_sql: str) -> str:
    """``low``, ``high``, ``numbers``: the range of the numeric values of the ``on`` expression."""
    return f"""
    SELECT min(value.3) AS low, max(value.3) AS high, count() AS numbers
    FROM (SELECT {typed_sql} AS value FROM ({_source(where_sql)}))
    WHERE value.1 = {NUMBER_TAG}
    """


def numeric_buckets_sql(bucket_sql: str, where_sql: str | None, typed_sql: str) -> str:
    """``bucket``, ``slot``, ``events``, ``users``: events whose ``on`` value is a number, by time bucket and value
    slot ``least(floor((value - base) / width), last)``; binds ``base`` and ``width`` (Float64), ``last`` (Int64)."""
    slot = "least(toInt64(floor((value.3 - {base:Float64}) / {width:Float64})), {last:Int64})"
    return f"""
    SELECT bucket, {slot} AS slot, count() AS events, {_USERS} AS users
    FROM (SELECT {bucket_sql} AS bucket, distinct_id, {typed_sql} AS value FROM ({_source(where_sql)}))
    WHERE value.1 = {NUMBER_TAG}
    GROUP BY bucket, slot
    """
