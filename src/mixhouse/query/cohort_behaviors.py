"""SQL for cohort membership: the users seen up to a moment, and each user's count (or property aggregate) of one
event in a window. Every value is a bound parameter; users are canonical ids (identity merge applied)."""

from __future__ import annotations

from dataclasses import replace

from mixhouse.expr import compile_filter
from mixhouse.expr.ast import Expr, Property
from mixhouse.expr.compile_sql import compile_typed, compile_value
from mixhouse.query.events_source import SOURCE, over_events
from mixhouse.query.segmentation import NUMBER_TAG
from mixhouse.query.where import EVENT_CONTEXT

_NUMERIC = f"number.1 = {NUMBER_TAG}"
_AGGREGATES = {
    "total": f"sumIf(number.3, {_NUMERIC})",
    "average": f"avgIf(number.3, {_NUMERIC})",
    "min": f"minIf(number.3, {_NUMERIC})",
    "max": f"maxIf(number.3, {_NUMERIC})",
    "median": f"quantileExactInclusiveIf(0.5)(number.3, {_NUMERIC})",
}


def users_sql() -> str:
    """``u``: every user with an event before ``{end_ms}``. Binds ``project_id`` and ``end_ms``."""
    return over_events(f"SELECT DISTINCT distinct_id AS u FROM ({SOURCE})",
                       ["distinct_id != ''", "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')"])


def behavior_sql(prefix: str, where: Expr | None, aggregate: str | None,
                 prop: str | None) -> tuple[str, dict[str, object]]:
    """``u``, ``n`` (the count, or the aggregate of ``prop``) and ``k`` (how many numeric values ``n`` aggregates)
    per user who did ``{prefix}_event`` in ``[{prefix}_from_ms, {prefix}_to_ms)``; the parameters of ``where`` and
    ``prop`` are returned, the caller binds the event and the window."""
    context = replace(EVENT_CONTEXT, param_prefix=prefix)
    params: dict[str, object] = {}
    conditions = [
        f"event = {{{prefix}_event:String}}",
        f"time >= fromUnixTimestamp64Milli({{{prefix}_from_ms:Int64}}, 'UTC')",
        f"time < fromUnixTimestamp64Milli({{{prefix}_to_ms:Int64}}, 'UTC')",
        "distinct_id != ''",
    ]
    if where is not None:
        fragment = compile_filter(where, replace(context, param_prefix=f"{prefix}w"))
        conditions.append(fragment.sql)
        params.update(fragment.params)
    extra = ""
    if aggregate is None:
        value, counted = "toFloat64(count())", "count()"
    elif aggregate == "unique":
        key = compile_value(Property(prop or ""), replace(context, param_prefix=f"{prefix}p"))
        params.update(key.params)
        extra = f", {key.sql} AS key"
        value, counted = "toFloat64(uniqExactIf(key, key IS NOT NULL))", "count()"
    else:
        number = compile_typed(Property(prop or ""), replace(context, param_prefix=f"{prefix}p"))
        params.update(number.params)
        extra = f", {number.sql} AS number"
        value, counted = _AGGREGATES[aggregate], f"countIf({_NUMERIC})"
    query = f"SELECT distinct_id AS u, {value} AS n, {counted} AS k FROM (SELECT *{extra} FROM ({SOURCE})) GROUP BY u"
    return over_events(query, conditions), params
