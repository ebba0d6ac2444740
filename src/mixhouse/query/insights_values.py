"""SQL for the Insights maths whose answer is not one number per bucket (decision 0030): ``histogram``,
``numeric_summary``, ``most_frequent`` and ``first_value``.

Rows carry ``bucket`` and ``g1``…``g{depth}`` as in ``query/insights.py`` (same segment fan-out) and:

- ``histogram``: ``numbers`` and ``counts`` (parallel arrays), how many events have each number as the property's
  value (or, over per-user values, how many users have each value);
- ``numeric_summary``: ``n``, ``total``, ``squares``, ``mean`` and ``spread`` (population standard deviation) of the
  property's numbers (or of the per-user values);
- ``most_frequent``: ``value``, the value (segment key, a list counting each item) found on most events, the smallest
  key on a tie;
- ``first_value``: ``value``, the smallest key of the value on the earliest event that has one.

Binds what ``metric_sql`` binds. ``number_sql`` is ``compile_typed`` of the property for the numeric maths,
``compile_values`` for ``most_frequent`` and ``first_value``.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import SOURCE
from mixhouse.query.group_source import GroupActors, over_source
from mixhouse.query.insights import per_user_values_sql, segments_sql
from mixhouse.query.segmentation import NUMBER_TAG

_NUMERIC = f"number.1 = {NUMBER_TAG}"
_METRIC = "event = {metric_event:String}"


def _rows(bucket_sql: str, keys_sql: Sequence[str], number_sql: str, column: str) -> str:
    segments, _ = segments_sql(keys_sql)
    return f"SELECT *, {bucket_sql} AS bucket{segments}, {number_sql} AS {column} FROM ({SOURCE})"


def _summary(value: str, kept: str) -> str:
    return (f"toFloat64(countIf({kept})) AS n, sumIf({value}, {kept}) AS total, "
            f"sumIf({value} * {value}, {kept}) AS squares, avgIf({value}, {kept}) AS mean, "
            f"stddevPopIf({value}, {kept}) AS spread")


def distribution_sql(math: str, bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
                     number_sql: str | None, per_user: str | None, actors: GroupActors | None = None) -> str:
    """``histogram`` or ``numeric_summary`` of the events' numbers, or (``per_user``) of each user's value. Every
    (bucket, segment) with an event has a row, with nothing counted when it has no number."""
    _, grouping = segments_sql(keys_sql)
    if per_user is not None:
        users, _ = per_user_values_sql(per_user, bucket_sql, keys_sql, number_sql)
        source, value, kept = users, "v", "kept"
    else:
        assert number_sql is not None
        source, value, kept = _rows(bucket_sql, keys_sql, number_sql, "number"), "number.3", _NUMERIC
    if math == "histogram":
        found = f"sumMapIf([{value}], [toUInt64(1)], {kept})"
        query = f"SELECT bucket{grouping}, {found}.1 AS numbers, {found}.2 AS counts FROM ({source}) " \
                f"GROUP BY bucket{grouping}"
    else:
        query = f"SELECT bucket{grouping}, {_summary(value, kept)} FROM ({source}) GROUP BY bucket{grouping}"
    return over_source(query, [*WINDOW_CONDITIONS, _METRIC, *conditions], actors)


def value_sql(math: str, bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
              values_sql: str, actors: GroupActors | None = None) -> str:
    """``most_frequent`` or ``first_value`` of the property (``values_sql``: ``compile_values``); ``NULL`` for a
    (bucket, segment) whose events have no value."""
    _, grouping = segments_sql(keys_sql)
    rows = _rows(bucket_sql, keys_sql, values_sql, "keys")
    if math == "most_frequent":  # sumMap's keys come sorted: the first of the largest counts is the smallest key
        tally = "sumMap(keys, arrayMap(x -> toUInt64(1), keys))"
        value = f"if(empty(({tally}).1), NULL, ({tally}).1[arrayFirstIndex(c -> c = arrayMax(({tally}).2), " \
                f"({tally}).2)])"
    else:
        value = "if(countIf(notEmpty(keys)) = 0, NULL, argMinIf(keys[1], (time_ms, keys[1]), notEmpty(keys)))"
    query = f"SELECT bucket{grouping}, {value} AS value FROM ({rows}) GROUP BY bucket{grouping}"
    return over_source(query, [*WINDOW_CONDITIONS, _METRIC, *conditions], actors)
