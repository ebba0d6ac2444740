"""SQL for retention (``/retention``, spec §4.9, §6.3): per cohort, how many users came back in each interval.

One query joins the cohort's births with the users' returning events and counts distinct users per
(segment, cohort, interval index). Binds ``project_id``, ``tz``, the window (``start_ms``/``end_ms``), the horizon
``returns_end_ms`` (returning events are looked for past ``to_date``), ``interval_ms`` (day and week units) or
``interval_months`` (month unit), ``interval_count``, with custom brackets ``bracket_ends``, and the parameters of
the compiled fragments.
"""

from __future__ import annotations

from collections.abc import Sequence

from mixhouse.query.by_user_reads import BY_USER_SETTINGS
from mixhouse.query.events_source import IDENTITY_MAP_SQL, events_source_sql
from mixhouse.query.group_source import GroupActors, group_source_sql

UNDEFINED_SEGMENT = "undefined"



def _actors_sql(conditions: Sequence[str], group_ids_sql: str | None) -> str:
    """The deduplicated events under ``conditions`` with ``distinct_id`` the canonical user, or with
    ``group_ids_sql`` one row per (event, group), the group id standing as the user (decision 0043)."""
    if group_ids_sql is None:
        return events_source_sql(conditions, identity=True)
    return group_source_sql(conditions, GroupActors(group_ids_sql, per_group=True))


def _raw_sql(key_conditions: Sequence[str], *, by_user: bool = False) -> str:
    """Stored rows (no dedup, no identity) under conditions on key columns only; ``by_user``: from the by-user copy
    (``query/by_user_reads.py``)."""
    return events_source_sql([], identity=False, dedup=False, key_conditions=key_conditions, by_user=by_user)


def _canonical_sql(rows: str) -> str:
    """``rows`` (with a stored id ``sid``) with ``user``, the canonical id, in its place."""
    return f"""
        SELECT if(m.canonical = '', r.sid, m.canonical) AS user, r.* EXCEPT (sid)
        FROM ({rows}) AS r LEFT JOIN ({IDENTITY_MAP_SQL}) AS m ON r.sid = m.id
    """


def _first_births_sql(bucket_sql: str, event_condition: str | None) -> str:
    """Births as ``_births_sql`` has them (first ever, no filter, no segments) from the stored rows: a user's first
    event is the earliest of its stored ids' first events, and resent copies share their original's time, so neither
    dedup nor an identity join per event is needed."""
    keys = [
        *([f"e.{event_condition}"] if event_condition else []),
        "e.time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
    ]
    per_id = f"""
        SELECT raw_distinct_id AS sid, min(time_ms) AS first_ms FROM ({_raw_sql(keys)})
        WHERE raw_distinct_id != '' GROUP BY sid
    """
    grouped = f"""
        SELECT user, min(first_ms) AS born_ms FROM ({_canonical_sql(per_id)}) GROUP BY user
        HAVING born_ms >= {{start_ms:Int64}}
    """
    timed = f"SELECT user, born_ms, fromUnixTimestamp64Milli(born_ms, 'UTC') AS time FROM ({grouped})"
    return f"SELECT user, born_ms, {bucket_sql} AS cohort, '' AS segment FROM ({timed})"


def _births_sql(bucket_sql: str, conditions: Sequence[str], keys_sql: str | None, *, first_ever: bool,
                undefined: bool = True, group_ids_sql: str | None = None) -> str:
    """``user``, ``born_ms``, ``cohort`` and ``segment``: each user's birth (first matching event ever, or the
    first in each cohort bucket for compounded retention). A birth without keys is in the ``undefined`` segment, or
    with ``undefined=False`` in none."""
    keys = f"argMin({keys_sql}, (time_ms, insert_id))" if keys_sql else "['']"  # ties: the smallest insert id
    if first_ever:
        source = _actors_sql(
            [*conditions, "distinct_id != ''", "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')"], group_ids_sql
        )
        grouped = f"""
            SELECT distinct_id AS user, min(time) AS time, {keys} AS born_keys
            FROM ({source}) GROUP BY user
            HAVING time >= fromUnixTimestamp64Milli({{start_ms:Int64}}, 'UTC')
        """
    else:
        source = _actors_sql(
            [
                *conditions,
                "distinct_id != ''",
                "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
                "time < fromUnixTimestamp64Milli({end_ms:Int64}, 'UTC')",
            ],
            group_ids_sql,
        )
        grouped = f"""
            SELECT distinct_id AS user, min(time) AS time, {keys} AS born_keys
            FROM (SELECT *, {bucket_sql} AS cohort_key FROM ({source})) GROUP BY user, cohort_key
        """
    empty = f"if(empty(born_keys), ['{UNDEFINED_SEGMENT}'], born_keys)" if undefined else "born_keys"
    return f"""
        SELECT user, toUnixTimestamp64Milli(time) AS born_ms, {bucket_sql} AS cohort, segment
        FROM ({grouped}) ARRAY JOIN {empty} AS segment
    """


def _day_returns_sql(event_condition: str | None, local_days: bool, *, by_user: bool = False) -> str:
    """``user`` and ``backs``: per stored id, the first and last return of each day it came back on (no filter on
    properties), with the stored id's canonical user. Interval boundaries are at least a day apart, so a day holds
    at most one, and the day's first and last return fall in every interval its returns do (on the birth day the
    last one is after the birth if any is). Resent copies share their original's time, so no dedup is needed; the
    identity is joined to one row per stored id. Calendar intervals group by local day, rolling ones by UTC day (a
    25-hour local day could hold two rolling boundaries). ``by_user``: read the by-user copy, where each stored id's
    rows lie together (the grouping's hash table then stays warm)."""
    keys = [
        *([f"e.{event_condition}"] if event_condition else []),
        "e.time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
        "e.time < fromUnixTimestamp64Milli({returns_end_ms:Int64}, 'UTC')",
    ]
    day = "toDate(time, {tz:String})" if local_days else "toDate(time)"
    per_day = f"""
        SELECT raw_distinct_id AS sid, {day} AS day, min(time_ms) AS first_ms, max(time_ms) AS last_ms
        FROM ({_raw_sql(keys, by_user=by_user)}) WHERE raw_distinct_id != '' GROUP BY sid, day
    """
    per_id = f"""
        SELECT sid, arrayConcat(groupArray(first_ms), groupArray(last_ms)) AS backs FROM ({per_day}) GROUP BY sid
    """
    return _canonical_sql(per_id)


def _returns_sql(conditions: Sequence[str], value_sql: str, group_ids_sql: str | None = None) -> str:
    """``user``, ``first_ms`` and ``last_ms`` (the same) and ``value`` (``value_sql`` of the event): one row per
    returning event (deduplicated; with ``group_ids_sql``, per returning event and group)."""
    source = _actors_sql(
        [
            *conditions,
            "distinct_id != ''",
            "time >= fromUnixTimestamp64Milli({start_ms:Int64}, 'UTC')",
            "time < fromUnixTimestamp64Milli({returns_end_ms:Int64}, 'UTC')",
        ],
        group_ids_sql,
    )
    return f"SELECT distinct_id AS user, time_ms AS first_ms, time_ms AS last_ms, {value_sql} AS value FROM ({source})"


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


#: How each user's returns become the interval indexes they count in (``retention_sql``'s ``per_user``):
#: ``on`` every interval with a return; ``last`` / ``first`` only their last / first one (the caller's suffix /
#: prefix sums then give "on or after" / "on or before"); ``any`` interval 0 for anyone with a return (prefix sums:
#: every interval); ``streak`` interval 0 if they came back in it, and 1..k for a run of returns in every interval
#: 1..k; ``streak_first`` the first index ``streak`` gives (for prefix sums).
PER_USER_MODES = ("on", "last", "first", "any", "streak", "streak_first")


def _per_user_sql(per_user: str) -> tuple[str, str]:
    """The interval index a user counts in (an array of them for streaks) and the grouping of the per-user step,
    from the user's ``raw_idx`` rows."""
    if per_user == "on":
        return "raw_idx", ""
    grouping = "GROUP BY segment, cohort, user"
    if per_user in ("last", "first"):
        return ("max(raw_idx)" if per_user == "last" else "min(raw_idx)"), grouping
    if per_user == "any":
        return "toInt64(0)", grouping
    got = "groupUniqArray(raw_idx)"
    streak = f"toInt64(arrayFirstIndex(i -> NOT has({got}, i), range(1, {{interval_count:Int64}} + 2))) - 1"
    if per_user == "streak":
        return f"arrayConcat(if(has({got}, 0), [toInt64(0)], []), range(1, {streak} + 1))", grouping
    return f"if(has({got}, 0), [toInt64(0)], if(has({got}, 1), [toInt64(1)], CAST([] AS Array(Int64))))", grouping


def _bracket_sql(raw_sql: str, brackets: bool) -> str:
    """The interval of a return: its unit index, or with custom brackets the bracket holding that unit (the bound
    ``bracket_ends`` lists each bracket's exclusive end, in units from the birth; -1 past the last)."""
    if not brackets:
        return raw_sql
    return f"toInt64(arrayFirstIndex(e -> ({raw_sql}) < e, {{bracket_ends:Array(Int64)}})) - 1"


def retention_sql(
    bucket_sql: str,
    birth_conditions: Sequence[str],
    return_conditions: Sequence[str],
    keys_sql: str | None,
    *,
    first_ever: bool,
    monthly: bool,
    per_user: str = "on",
    calendar: str | None = None,
    key_births: bool = False,
    key_returns: bool = False,
    brackets: bool = False,
    value_sql: str | None = None,
    undefined: bool = True,
    by_user_returns: bool = False,
    group_ids_sql: str | None = None,
) -> str:
    """``segment``, ``cohort``, ``first`` (cohort size) and ``back`` (``(index, value)`` pairs) per segment and
    cohort. The value is the number of distinct users counted in interval ``index`` 0..``interval_count`` as
    ``per_user`` (``PER_USER_MODES``) says; with ``value_sql`` (an expression over a returning event's columns),
    instead the sum of it over the cohort's returning events in the interval (``1`` counts them).

    ``key_births`` / ``key_returns``: the birth (first ever, no segments) / return conditions are at most one
    ``event = …`` condition, so the cheaper readers of the stored rows apply (``_first_births_sql``,
    ``_day_returns_sql``; not with ``value_sql``, which needs every event). ``brackets``: custom brackets (bound
    ``bracket_ends``) over whole units. ``undefined``: as ``_births_sql`` has it. ``group_ids_sql``: count the
    groups it names (``Array(String)`` of an event) in place of users; the stored-row readers then do not apply."""
    if per_user not in PER_USER_MODES:
        raise ValueError(f"unknown per-user mode {per_user!r}")
    if group_ids_sql is not None:
        key_births = key_returns = by_user_returns = False
    if key_births:
        births = _first_births_sql(bucket_sql, birth_conditions[0] if birth_conditions else None)
    else:
        births = _births_sql(bucket_sql, birth_conditions, keys_sql, first_ever=first_ever, undefined=undefined,
                             group_ids_sql=group_ids_sql)
    by_user = by_user_returns and key_returns and value_sql is None and not return_conditions
    if key_returns and value_sql is None:
        returns = _day_returns_sql(
            return_conditions[0] if return_conditions else None,
            calendar is not None,
            by_user=by_user,
        )
    else:
        returns = _returns_sql(return_conditions, value_sql or "toUInt64(1)", group_ids_sql)
    index = _bracket_sql(_index_sql(monthly, calendar), brackets)
    if value_sql is not None:
        per_event = f"""
            SELECT births.segment AS segment, births.cohort AS cohort, returns.value AS value,
                   returns.first_ms AS back_ms, {index} AS idx
            FROM births INNER JOIN ({returns}) AS returns ON births.user = returns.user
            WHERE back_ms > born_ms
        """
        counted = f"""
            SELECT segment, cohort, idx, sum(value) AS amount FROM ({per_event})
            WHERE idx >= 0 AND idx <= {{interval_count:Int64}} GROUP BY segment, cohort, idx
        """
    else:
        per_user_idx, grouping = _per_user_sql(per_user)
        if key_returns:  # a stored id's returns as one array: each interval it came back in, once
            indexes = f"arrayDistinct(arrayMap(back_ms -> {index}, arrayFilter(back_ms -> back_ms > born_ms, backs)))"
            each_return = f"""
                    SELECT births.segment AS segment, births.cohort AS cohort, births.user AS user,
                           arrayJoin({indexes}) AS raw_idx
                    FROM births
                    INNER JOIN ({returns}) AS returns ON births.user = returns.user"""
        else:
            each_return = f"""
                    SELECT births.segment AS segment, births.cohort AS cohort, births.user AS user,
                           arrayJoin(if(first_ms = last_ms, [first_ms], [first_ms, last_ms])) AS back_ms,
                           {index} AS raw_idx
                    FROM births
                    INNER JOIN ({returns}) AS returns ON births.user = returns.user
                    WHERE back_ms > born_ms"""
        counted = f"""
            SELECT segment, cohort, {"arrayJoin(counted)" if per_user.startswith("streak") else "counted"} AS idx,
                   uniqExact(user) AS amount
            FROM (
                SELECT segment, cohort, user, {per_user_idx} AS counted
                FROM ({each_return}
                )
                WHERE raw_idx >= 0 AND raw_idx <= {{interval_count:Int64}}
                {grouping}
            )
            GROUP BY segment, cohort, idx
        """
    return f"""
    WITH births AS ({births})
    SELECT b.segment AS segment, b.cohort AS cohort, b.first AS first, ifNull(r.back, []) AS back
    FROM (SELECT segment, cohort, uniqExact(user) AS first FROM births GROUP BY segment, cohort) AS b
    LEFT JOIN (
        SELECT segment, cohort, groupArray((idx, amount)) AS back FROM ({counted}) GROUP BY segment, cohort
    ) AS r ON b.segment = r.segment AND b.cohort = r.cohort
    {BY_USER_SETTINGS if by_user else ""}
    """
