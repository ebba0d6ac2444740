"""SQL for the discovery endpoints (spec §4.6, §4.7): event names, property names, property values, top events.

Every builder returns SQL over the deduplicated, project-scoped event source. The caller binds ``project_id``,
the window (``start_ms``/``end_ms``, epoch milliseconds, ``[start, end)``) and the builder's own parameters.
Ties in counts are broken by name ascending (byte order), so answers are deterministic.
"""

from __future__ import annotations

from mixhouse.query.events_source import SOURCE, over_events
from mixhouse.storage.schema import HOT_COLUMNS

WINDOW_CONDITIONS = (
    "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
    "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
)

#: The raw JSON text of property ``{name:String}`` on one event ('' when missing), unless a column holds it.
_RAW_PROPERTY = "JSONExtractRaw(properties, {name:String})"


def _values_of(raw: str) -> str:
    """The value of one property on one event (``raw``: its JSON text), as the list of strings it contributes
    (spec: strings as-is, numbers and booleans as their JSON text, objects as compact JSON; a list contributes each
    distinct non-null element; a missing or null property contributes nothing)."""
    return f"""
    multiIf(
        JSONType({raw}) = 'Array',
        arrayDistinct(arrayMap(
            element -> if(JSONType(element) = 'String', JSONExtractString(element), element),
            arrayFilter(element -> JSONType(element) != 'Null', JSONExtractArrayRaw({raw})))),
        JSONType({raw}) = 'String',
        [JSONExtractString({raw})],
        JSONType({raw}) = 'Null',
        CAST([], 'Array(String)'),
        [{raw}])
    """


def _over_window(query: str, *conditions: str) -> str:
    return over_events(query, [*WINDOW_CONDITIONS, *conditions])


def event_names_sql() -> str:
    """``name``, ``n``: event names by number of events, most first; binds ``limit``."""
    query = f"""
    SELECT event AS name, count() AS n
    FROM ({SOURCE})
    GROUP BY event
    ORDER BY n DESC, name ASC
    LIMIT {{limit:UInt64}}
    """
    return _over_window(query)


def property_names_sql() -> str:
    """``name``, ``n``: property names of one event by how many of its events carry them; binds ``event``, ``limit``."""
    query = f"""
    SELECT key AS name, count() AS n
    FROM ({SOURCE})
    ARRAY JOIN JSONExtractKeys(properties) AS key
    GROUP BY key
    ORDER BY n DESC, name ASC
    LIMIT {{limit:UInt64}}
    """
    return _over_window(query, "event = {event:String}")


def property_values_sql(name: str, *, with_event: bool) -> str:
    """``value``, ``n``: values of property ``name`` by how many events carry them; binds ``name``, ``limit`` and,
    ``with_event``, ``event``. A hot property is read from its column (``storage.schema.HOT_COLUMNS``); values are
    worked out once per distinct raw text."""
    raw = HOT_COLUMNS.get(name, _RAW_PROPERTY)
    conditions = [f"{raw} != ''"]
    if with_event:
        conditions.append("event = {event:String}")
    query = f"""
    SELECT value, sum(group_events) AS n
    FROM (SELECT {raw} AS raw_value, count() AS group_events FROM ({SOURCE}) GROUP BY raw_value)
    ARRAY JOIN {_values_of("raw_value")} AS value
    GROUP BY value
    ORDER BY n DESC, value ASC
    LIMIT {{limit:UInt64}}
    """
    return _over_window(query, *conditions)


def day_counts_sql() -> str:
    """Per event ``name``: ``today_events``/``today_users`` in ``[today_ms, end_ms)`` and ``earlier_events``/
    ``earlier_users`` in ``[start_ms, earlier_end_ms)`` (users: distinct canonical ids, the empty id left out).

    Binds ``today_ms`` and ``earlier_end_ms`` besides the window.
    """
    today = "time_ms >= {today_ms:Int64}"
    earlier = "time_ms < {earlier_end_ms:Int64}"
    query = f"""
    SELECT event AS name,
           countIf({today}) AS today_events,
           uniqExactIf(distinct_id, {today} AND distinct_id != '') AS today_users,
           countIf({earlier}) AS earlier_events,
           uniqExactIf(distinct_id, {earlier} AND distinct_id != '') AS earlier_users
    FROM ({SOURCE})
    GROUP BY event
    HAVING today_events > 0
    """
    return _over_window(query)
