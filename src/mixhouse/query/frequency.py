"""SQL for frequency (``/retention/addiction``, spec §4.9): per period, how many users were active in how many
distinct addiction units.

The caller binds ``project_id``, ``tz``, the window (``start_ms``/``end_ms``) and, when used, ``{events:Array(String)}``
and the ``where`` fragment's parameters. Only users with a non-empty canonical id count (spec §6.1).
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.event_counts import WINDOW_CONDITIONS
from mixhouse.query.events_source import SOURCE, over_events


def frequency_sql(period_sql: str, unit_sql: str, *, with_events: bool, conditions: Sequence[str] = ()) -> str:
    """``period``, ``units`` (distinct addiction units a user was active in), ``users`` (how many users had
    exactly that many)."""
    extra = [*WINDOW_CONDITIONS, "distinct_id != ''", *conditions]
    if with_events:
        extra.append("event IN {events:Array(String)}")
    query = f"""
    SELECT period, units, count() AS users
    FROM (
        SELECT {period_sql} AS period, distinct_id, uniqExact({unit_sql}) AS units
        FROM ({SOURCE})
        GROUP BY period, distinct_id
    )
    GROUP BY period, units
    """
    return over_events(query, extra)
