"""SQL for ``multi_attribution`` (decision 0030; the models in ``services/insights_measurement.py``).

Conversions are the metric's events (in the window, under the metric's conditions). A user's touchpoints are every
event of theirs carrying the attributed-by property (its segment keys, ``compile_values``: a list gives one touchpoint
per item), from ``{lookback_ms:Int64}`` before the window to its end, ordered by time then value; a conversion reads
those from ``lookback_ms`` before it up to its own time. A conversion without a user has its own values as its only
touchpoints; one with no touchpoint is credited to ``$direct``.

Rows: ``bucket``, ``g1``… (segment keys of the conversion, as in ``query/insights.py``), ``touch`` and ``value`` (the
credit summed over the conversions).
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import SOURCE, over_events
from mixhouse.query.insights import segments_sql

DIRECT = "$direct"
HALF_LIFE_MS = 7 * 86_400_000
#: Positional models: (first, last) shares for three touchpoints or more, and for two.
_POSITIONAL = {"u_shaped": ((0.4, 0.4), (0.5, 0.5)), "j_shaped": ((0.2, 0.6), (0.25, 0.75)),
               "inverse_j_shaped": ((0.6, 0.2), (0.75, 0.25))}


def _credits(model: str) -> str:
    """``Array((touch, credit))`` of one conversion at ``t`` from its touchpoints ``mine``."""
    n = "length(mine)"
    if model == "first_touch":
        return "[(mine[1].2, toFloat64(1))]"
    if model == "last_touch":
        return "[(mine[-1].2, toFloat64(1))]"
    if model == "linear":
        return f"arrayMap(x -> (x.2, 1 / {n}), mine)"
    if model == "participation":
        return "arrayMap(v -> (v, toFloat64(1)), arrayDistinct(arrayMap(x -> x.2, mine)))"
    if model == "time_decay":
        weight = f"pow(0.5, (t - {{x}}.1) / {HALF_LIFE_MS})"
        return (f"arrayMap(x -> (x.2, {weight.format(x='x')} / "
                f"arraySum(arrayMap(y -> {weight.format(x='y')}, mine))), mine)")
    (first, last), (two_first, two_last) = _POSITIONAL[model]
    share = (f"multiIf({n} = 1, 1, {n} = 2, if(i = 1, {two_first}, {two_last}), i = 1, {first}, i = {n}, {last}, "
             f"(1 - {first} - {last}) / ({n} - 2))")
    return f"arrayMap((x, i) -> (x.2, toFloat64({share})), mine, arrayEnumerate(mine))"


def attribution_sql(model: str, bucket_sql: str, keys_sql: Sequence[str], conditions: Sequence[str],
                    values_sql: str) -> str:
    """Credited conversions by touch value. Binds what ``metric_sql`` binds and ``{lookback_ms:Int64}``."""
    segments, grouping = segments_sql(keys_sql)
    conversions = over_events(f"""
        SELECT bucket{grouping}, distinct_id AS conversion_user, time_ms AS t, keys AS own
        FROM (SELECT *, {bucket_sql} AS bucket{segments}, {values_sql} AS keys FROM ({SOURCE}))
    """, [*WINDOW_CONDITIONS, "event = {metric_event:String}", *conditions])
    touches = over_events(f"""
        SELECT distinct_id AS touch_user, arraySort(groupArray((time_ms, item))) AS touches
        FROM (SELECT distinct_id, time_ms, {values_sql} AS keys FROM ({SOURCE}) WHERE distinct_id != '')
        ARRAY JOIN keys AS item
        GROUP BY touch_user
    """, ["time >= fromUnixTimestamp64Milli({start_ms:Int64} - {lookback_ms:Int64}, 'UTC')",
          "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')"])
    mine = ("if(conversion_user = '', arrayMap(k -> (t, k), own), "
            "arrayFilter(x -> x.1 >= t - {lookback_ms:Int64} AND x.1 <= t, touches))")
    return f"""
        SELECT bucket{grouping}, pair.1 AS touch, sum(pair.2) AS value
        FROM (
            SELECT bucket{grouping}, t, {mine} AS mine
            FROM ({conversions}) AS c LEFT JOIN ({touches}) AS u ON c.conversion_user = u.touch_user
        )
        ARRAY JOIN if(empty(mine), [('{DIRECT}', toFloat64(1))], {_credits(model)}) AS pair
        GROUP BY bucket{grouping}, touch
    """
