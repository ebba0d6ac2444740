"""Frequency filters in SQL: keep the events of users who did an event a number of times (``FrequencyFilter``).

``frequency_condition_sql`` is a condition on the event source's canonical ``distinct_id``. Users who never did the
event have a frequency of 0: when 0 passes the test (``is at most 2``), the condition keeps every user except those
whose count fails it, so users without a single such event are kept too.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.events_source import SOURCE, over_events

_TESTS = {">=": ">=", "<=": "<=", ">": ">", "<": "<", "==": "="}


def passes_at_zero(operator: str, values: Sequence[float]) -> bool:
    """Whether a user who never did the event passes."""
    if operator == "between":
        return values[0] <= 0 <= values[1]
    return {">=": values[0] <= 0, "<=": values[0] >= 0, ">": values[0] < 0, "<": values[0] > 0,
            "==": values[0] == 0}[operator]


def frequency_condition_sql(prefix: str, operator: str, values: Sequence[float], where_sql: str | None) -> str:
    """Binds ``{prefix}_event``, ``{prefix}_from_ms``/``{prefix}_to_ms`` (the counting window), ``{prefix}_a`` (and
    ``{prefix}_b`` for between) and the event filter's parameters."""
    conditions = [
        f"event = {{{prefix}_event:String}}",
        f"time >= fromUnixTimestamp64Milli({{{prefix}_from_ms:Int64}}, 'UTC')",
        f"time < fromUnixTimestamp64Milli({{{prefix}_to_ms:Int64}}, 'UTC')",
        *([where_sql] if where_sql else []),
    ]
    counts = over_events(
        f"SELECT distinct_id AS u, count() AS n FROM ({SOURCE}) WHERE distinct_id != '' GROUP BY u", conditions
    )
    if operator == "between":
        test = f"n >= {{{prefix}_a:Float64}} AND n <= {{{prefix}_b:Float64}}"
    else:
        test = f"n {_TESTS[operator]} {{{prefix}_a:Float64}}"
    if passes_at_zero(operator, values):
        return f"distinct_id NOT IN (SELECT u FROM ({counts}) WHERE NOT ({test}))"
    return f"distinct_id IN (SELECT u FROM ({counts}) WHERE {test})"
