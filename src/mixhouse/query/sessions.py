"""Sessions, computed at query time as Mixpanel's default definition does (timeout based).

A user's session starts with any event and ends after ``SESSION_TIMEOUT_MS`` without one; sessions also end at
midnight in the project's timezone, so none is longer than a day. Only events with a user (a non-empty
``distinct_id``, canonical) take part.
"""

from __future__ import annotations

#: Mixpanel's default session timeout: 30 minutes of inactivity.
SESSION_TIMEOUT_MS = 30 * 60 * 1000


def numbered_sql(source: str) -> str:
    """``source``'s rows with a user, plus ``session``: the user's session number (1, 2, ... in time order).

    Binds ``{tz:String}``. ``source`` must hold every event that can start or extend a session, not only the ones
    counted: a session's boundaries depend on all of the user's activity.
    """
    order = "PARTITION BY distinct_id ORDER BY time_ms ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
    previous = f"lagInFrame(time_ms, 1, toInt64(0)) OVER ({order})"
    starts = (
        f"time_ms - {previous} > {SESSION_TIMEOUT_MS} "
        f"OR toDate(fromUnixTimestamp64Milli(time_ms, {{tz:String}})) "
        f"!= toDate(fromUnixTimestamp64Milli({previous}, {{tz:String}}))"
    )
    return f"""
        SELECT *, sum(starts) OVER ({order}) AS session
        FROM (SELECT *, toUInt32({starts}) AS starts FROM ({source}) WHERE distinct_id != '')
    """
