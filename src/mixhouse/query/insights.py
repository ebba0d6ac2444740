"""SQL for one Insights metric at one breakdown depth (spec §4.10; bookmark params, client-library-wire §4).

Rows of ``bucket`` (``Bucketing.sql``, or ``''`` for a total), ``g1``…``g{depth}`` (segment keys; list values fan
out, no value is ``"undefined"``) and ``value``. Binds ``project_id``, ``tz``, the window ``start_ms``/``end_ms``,
``{metric_event:String}`` and the fragments' parameters. A shallower depth is its own query rather than a rollup of
the deeper one: an event with a list value counts once in the rollup, not once per list item.

Builders that take ``actors`` read the group source instead (``query/group_source.py``, decision 0043): counting
groups, ``distinct_id`` is the group id, so "users" are groups.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import SOURCE, USERS_SQL, over_events
from mixhouse.query.group_source import GroupActors, over_source
from mixhouse.query.segmentation import NUMBER_TAG, UNDEFINED_SEGMENT
from mixhouse.query.sessions import numbered_sql

#: The level of each named percentile math (exact, interpolated: ``quantileExactInclusive``).
QUANTILE_LEVELS = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9, "p99": 0.99}


def aggregate_sql(math: str) -> str:
    """The aggregate of ``math`` over the source; property maths read ``number`` (``compile_typed``'s tuple),
    ``unique_values`` reads ``keys`` (the value's segment keys, ``compile_values``: a list counts its items)."""
    if math == "total":
        return "toFloat64(count())"
    if math == "unique":
        return f"toFloat64({USERS_SQL})"
    if math == "unique_values":
        return "toFloat64(uniqExactArray(keys))"
    numeric = f"number.1 = {NUMBER_TAG}"
    if math == "custom_percentile":
        return f"quantileExactInclusiveIf({{percentile_level:Float64}})(number.3, {numeric})"
    if math in QUANTILE_LEVELS:
        return f"quantileExactInclusiveIf({QUANTILE_LEVELS[math]})(number.3, {numeric})"
    function = {"sum": "sumIf", "average": "avgIf", "min": "minIf", "max": "maxIf"}[math]
    return f"{function}(number.3, {numeric})"


def metric_sql(
    math: str, bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str], number_sql: str | None,
    actors: GroupActors | None = None,
) -> str:
    """``bucket``, ``g1``… (one per ``keys_sql``, each an ``Array(String)`` of segment keys) and ``value``.
    ``number_sql``: ``compile_typed`` of the property (``compile_values`` for ``unique_values``)."""
    segments, grouping = segments_sql(keys_sql)
    number = f", {number_sql} AS {'keys' if math == 'unique_values' else 'number'}" if number_sql else ""
    query = f"""
        SELECT bucket{grouping}, {aggregate_sql(math)} AS value
        FROM (SELECT *, {bucket_sql} AS bucket{segments}{number} FROM ({SOURCE}))
        GROUP BY bucket{grouping}
    """
    return over_source(query, [*WINDOW_CONDITIONS, "event = {metric_event:String}", *conditions], actors)


def segments_sql(keys_sql: Sequence[str]) -> tuple[str, str]:
    """The ``, arrayJoin(...) AS g1…`` select list and the ``, g1…`` grouping of the segment keys."""
    segments = "".join(
        f", arrayJoin(if(empty({keys}), ['{UNDEFINED_SEGMENT}'], {keys})) AS g{n}" for n, keys in enumerate(keys_sql, 1)
    )
    return segments, "".join(f", g{n}" for n in range(1, len(keys_sql) + 1))


def active_users_sql(days: int, day_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
                     actors: GroupActors | None = None) -> str:
    """``bucket`` (each day from ``{first_day:Date}`` to ``{last_day:Date}``), ``g…`` and ``value``: users active on
    that day or the ``days - 1`` before it. Reads from ``{active_from_ms:Int64}`` (``days - 1`` days early)."""
    segments, grouping = segments_sql(keys_sql)
    query = f"""
        SELECT addDays(day, offset) AS bucket{grouping}, toFloat64(uniqExact(distinct_id)) AS value
        FROM (
            SELECT DISTINCT distinct_id, {day_sql} AS day{segments}
            FROM ({SOURCE}) WHERE distinct_id != ''
        )
        ARRAY JOIN range({days}) AS offset
        WHERE bucket >= {{first_day:Date}} AND bucket <= {{last_day:Date}}
        GROUP BY bucket{grouping}
    """
    window = [
        "time >= fromUnixTimestamp64Milli({active_from_ms:Int64}, 'UTC')",
        "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
    ]
    return over_source(query, [*window, "event = {metric_event:String}", *conditions], actors)


def first_seen_sql(bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
                   actors: GroupActors | None = None) -> str:
    """``bucket``, ``g…`` and ``value``: users first seen in the range in that bucket (running sums of these give
    cumulative uniques). Events without a user count no one but still list their segment."""
    segments, grouping = segments_sql(keys_sql)
    query = f"""
        SELECT bucket{grouping}, toFloat64(countIf(distinct_id != '')) AS value
        FROM (
            SELECT distinct_id{grouping}, min(bucket) AS bucket
            FROM (SELECT distinct_id, {bucket_sql} AS bucket{segments} FROM ({SOURCE}))
            GROUP BY distinct_id{grouping}
        )
        GROUP BY bucket{grouping}
    """
    return over_source(query, [*WINDOW_CONDITIONS, "event = {metric_event:String}", *conditions], actors)


def sessions_sql(bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str]) -> str:
    """``bucket``, ``g…`` and ``value``: sessions (``query/sessions.py``) with a matching event in the bucket.

    Sessions are numbered over every event of the range; the metric's conditions then pick the events counted.
    Events without a user (no session) count 0 but still list their segment."""
    segments, grouping = segments_sql(keys_sql)
    matched = " AND ".join(f"({condition})" for condition in ["event = {metric_event:String}", *conditions])
    query = f"""
        SELECT bucket{grouping}, sum(sessions) AS value
        FROM (
            SELECT bucket{grouping}, toFloat64(uniqExact(distinct_id, session)) AS sessions
            FROM (SELECT *, {bucket_sql} AS bucket{segments} FROM ({numbered_sql(SOURCE)}) WHERE {matched})
            GROUP BY bucket{grouping}
            UNION ALL
            SELECT bucket{grouping}, toFloat64(0) AS sessions
            FROM (SELECT *, {bucket_sql} AS bucket{segments} FROM ({SOURCE}) WHERE distinct_id = '' AND {matched})
            GROUP BY bucket{grouping}
        )
        GROUP BY bucket{grouping}
    """
    return over_events(query, WINDOW_CONDITIONS)


def _across_users(math: str) -> str:
    """``math`` over the per-user values ``v`` of the users ``kept``."""
    if math == "custom_percentile":
        return "quantileExactInclusiveIf({percentile_level:Float64})(v, kept)"
    if math in QUANTILE_LEVELS:
        return f"quantileExactInclusiveIf({QUANTILE_LEVELS[math]})(v, kept)"
    return {"average": "avgIf(v, kept)", "min": "minIf(v, kept)", "max": "maxIf(v, kept)"}[math]


def per_user_values_sql(per_user: str, bucket_sql: str, keys_sql: Sequence[str],
                        number_sql: str | None) -> tuple[str, str]:
    """The SQL of ``bucket``, ``g…``, ``distinct_id`` and ``v`` (each user's ``per_user`` value: of the property's
    numbers; ``total`` without a property counts the user's events; ``unique_values`` counts the distinct values,
    ``number_sql`` then being ``compile_values``), with ``kept`` (users with no number are left out, except for a
    ``total`` or ``unique_values``, 0; so are events without a user, whose row only lists their segment), and the
    grouping columns. ``SOURCE`` is still to be replaced."""
    segments, grouping = segments_sql(keys_sql)
    numeric = f"number.1 = {NUMBER_TAG}"
    if number_sql is None:
        value, kept = "toFloat64(count())", "1"
    elif per_user == "unique_values":
        value, kept = "toFloat64(uniqExactArray(number))", "1"
    else:
        inner = {"total": "sumIf", "average": "avgIf", "min": "minIf", "max": "maxIf"}[per_user]
        value, kept = f"{inner}(number.3, {numeric})", ("1" if per_user == "total" else f"countIf({numeric}) > 0")
    number = f", {number_sql} AS number" if number_sql else ""
    return f"""
        SELECT bucket{grouping}, distinct_id, {value} AS v, distinct_id != '' AND {kept} AS kept
        FROM (SELECT *, {bucket_sql} AS bucket{segments}{number} FROM ({SOURCE}))
        GROUP BY bucket{grouping}, distinct_id
    """, grouping


def per_user_sql(math: str, per_user: str, bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
                 number_sql: str | None, actors: GroupActors | None = None) -> str:
    """``bucket``, ``g…`` and ``value``: ``math`` across users of each user's ``per_user`` value
    (``per_user_values_sql``)."""
    users, grouping = per_user_values_sql(per_user, bucket_sql, keys_sql, number_sql)
    query = f"""
        SELECT bucket{grouping}, {_across_users(math)} AS value
        FROM ({users})
        GROUP BY bucket{grouping}
    """
    return over_source(query, [*WINDOW_CONDITIONS, "event = {metric_event:String}", *conditions], actors)


def frequency_counts_sql(prefix: str, interval_sql: str, where_sql: str | None) -> str:
    """``user``, ``interval`` (``interval_sql`` over the event, ``''`` for one window) and ``n``: how many times each
    user did ``{prefix}_event`` (passing ``where_sql``) from ``{prefix}_from_ms`` to ``{prefix}_to_ms``."""
    query = f"""
        SELECT distinct_id AS user, {interval_sql} AS interval, count() AS n
        FROM ({SOURCE}) WHERE distinct_id != ''
        GROUP BY user, interval
    """
    conditions = [f"time >= fromUnixTimestamp64Milli({{{prefix}_from_ms:Int64}}, 'UTC')",
                  f"time < fromUnixTimestamp64Milli({{{prefix}_to_ms:Int64}}, 'UTC')",
                  f"event = {{{prefix}_event:String}}", *([where_sql] if where_sql else [])]
    return over_events(query, conditions)
