"""SQL for retention (``/retention``, spec §4.9, §6.3): per cohort, how many users came back in each interval.

One query joins the cohort's births with the users' returning events and counts distinct users per
(segment, cohort, interval index). Binds ``project_id``, ``tz``, the window (``start_ms``/``end_ms``), the horizon
``returns_end_ms`` (returning events are looked for past ``to_date``), ``interval_ms`` (day and week units) or
``interval_months`` (month unit), ``interval_count``, and the parameters of the compiled fragments.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.events_source import events_source_sql

UNDEFINED_SEGMENT = "undefined"


def _births_sql(bucket_sql: str, conditions: Sequence[str], keys_sql: str | None, *, first_ever: bool) -> str:
    """``user``, ``born_ms``, ``cohort`` and ``segment``: each user's birth (first matching event ever, or the
    first in each cohort bucket for compounded retention)."""
    keys = f"argMin({keys_sql}, (time_ms, insert_id))" if keys_sql else "['']"  # ties: the smallest insert id
    if first_ever:
        source = events_source_sql(
            [*conditions, "distinct_id != ''", "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')"], identity=True
        )
        grouped = f"""
            SELECT distinct_id AS user, min(time) AS time, {keys} AS born_keys
            FROM ({source}) GROUP BY user
            HAVING time >= fromUnixTimestamp64Milli({{start_ms:Int64}}, 'UTC')
        """
    else:
        source = events_source_sql(
            [
                *conditions,
                "distinct_id != ''",
                "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
                "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
            ],
            identity=True,
        )
        grouped = f"""
            SELECT distinct_id AS user, min(time) AS time, {keys} AS born_keys
            FROM (SELECT *, {bucket_sql} AS cohort_key FROM ({source})) GROUP BY user, cohort_key
        """
    empty = f"if(empty(born_keys), ['{UNDEFINED_SEGMENT}'], born_keys)"
    return f"""
        SELECT user, toUnixTimestamp64Milli(time) AS born_ms, {bucket_sql} AS cohort, segment
        FROM ({grouped}) ARRAY JOIN {empty} AS segment
    """


def _returns_sql(conditions: Sequence[str]) -> str:
    source = events_source_sql(
        [
            *conditions,
            "distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
            "time < fromUnixTimestamp64Milli({returns_end_ms:Int64}, 'UTC')",
        ],
        identity=True,
    )
    return f"SELECT distinct_id AS user, time_ms AS back_ms FROM ({source})"


def _index_sql(monthly: bool, calendar: str | None = None) -> str:
    """The interval a return falls in, counted from the user's own birth: rolling windows, or with ``calendar``
    (the unit) whole calendar units between the birth's and the return's (project timezone; Monday weeks)."""
    if calendar is not None:
        born = "fromUnixTimestamp64Milli(born_ms, {tz:String})"
        back = "fromUnixTimestamp64Milli(back_ms, {tz:String})"
        start = {"day": "toDate", "week": "toMonday", "month": "toStartOfMonth"}[calendar]
        units = f"dateDiff('{calendar}', {start}({born}), {start}({back}))"
        if calendar == "week":
            units = f"intDiv(dateDiff('day', {start}({born}), {start}({back})), 7)"
        return f"intDiv({units}, {{interval_units:Int64}})"
    if not monthly:
        return "intDiv(back_ms - born_ms, {interval_ms:Int64})"
    born = "fromUnixTimestamp64Milli(born_ms, {tz:String})"
    back = "fromUnixTimestamp64Milli(back_ms, {tz:String})"
    months = f"dateDiff('month', {born}, {back})"
    whole = f"{months} - if(addMonths({born}, {months}) > {back}, 1, 0)"
    return f"intDiv({whole}, {{interval_months:Int64}})"


def retention_sql(
    bucket_sql: str,
    birth_conditions: Sequence[str],
    return_conditions: Sequence[str],
    keys_sql: str | None,
    *,
    first_ever: bool,
    monthly: bool,
    unbounded: bool,
    calendar: str | None = None,
) -> str:
    """``segment``, ``cohort``, ``first`` (cohort size) and ``back`` (``(index, users)`` pairs: distinct users who
    came back in interval ``index`` 0..``interval_count``; with ``unbounded``, users whose *last* interval with a
    return is ``index``, so suffix sums give "in this interval or later") per segment and cohort."""
    births = _births_sql(bucket_sql, birth_conditions, keys_sql, first_ever=first_ever)
    per_user = "max(raw_idx)" if unbounded else "raw_idx"
    grouping = "GROUP BY segment, cohort, user" if unbounded else ""
    return f"""
    WITH births AS ({births})
    SELECT b.segment AS segment, b.cohort AS cohort, b.first AS first, ifNull(r.back, []) AS back
    FROM (SELECT segment, cohort, uniqExact(user) AS first FROM births GROUP BY segment, cohort) AS b
    LEFT JOIN (
        SELECT segment, cohort, groupArray((idx, users)) AS back
        FROM (
            SELECT segment, cohort, idx, uniqExact(user) AS users
            FROM (
                SELECT segment, cohort, user, {per_user} AS idx
                FROM (
                    SELECT births.segment AS segment, births.cohort AS cohort, births.user AS user,
                           {_index_sql(monthly, calendar)} AS raw_idx
                    FROM births
                    INNER JOIN ({_returns_sql(return_conditions)}) AS returns ON births.user = returns.user
                    WHERE back_ms > born_ms
                )
                WHERE raw_idx <= {{interval_count:Int64}}
                {grouping}
            )
            GROUP BY segment, cohort, idx
        )
        GROUP BY segment, cohort
    ) AS r ON b.segment = r.segment AND b.cohort = r.cohort
    """
