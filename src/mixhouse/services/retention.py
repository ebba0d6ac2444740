"""Retention (``/retention``, spec §4.9, §6.3): cohorts of users by when they were born, and how many came back.

Choices where the spec is silent:

* ``birth`` (default): a user's birth is their first ``born_event`` (matching ``born_where``) **ever**; the cohort is
  the ``unit`` bucket (project timezone; weeks start on Monday) of that moment, for births in the range.
  ``compounded``: every bucket of the range in which the user did the cohort event is a birth, at the first such
  event of the bucket; the cohort event is ``born_event`` if given, else ``event``, filtered by ``born_where``.
* Returning events are ``event`` (any event when absent) matching ``where``, strictly after the user's own birth;
  interval *i* is ``[birth + i·interval·unit, birth + (i+1)·interval·unit)`` (rolling: a day is 24 h, a week 7 days,
  a month a calendar month in the project timezone). With ``alignment=calendar`` (Mixpanel's UI option, a Mixhouse
  extension of the API), *i* counts whole calendar units (local days, Monday weeks, months) from the birth's unit to
  the return's, divided by ``interval``: a return later on the birth day is in interval 0, one the next morning in 1.
  ``counts`` has ``interval_count + 1`` elements; returns are looked for past ``to_date``. With
  ``unbounded_retention``, ``counts[i]`` counts users who came back in interval *i* or any later one.
* The Insights options (``services/insights_retention.py``, docs/decisions/0020 and 0028) are fields of
  ``RetentionQuery``: ``on_or_before``, ``consecutive`` (streaks), ``cumulative``, ``bracket_sizes`` (custom
  brackets) and ``measure``/``value`` (sums over the returning events instead of distinct users).
* Users are canonical ids after identity merge; the empty id is never counted. Every cohort bucket of the range is
  listed (``first`` 0 and zero counts when nobody was born).
* ``on`` segments by the birth event's value (list values fan out, no value is ``"undefined"``); the answer is then
  ``{segment: {cohort: {...}}}`` for the ``limit`` (default 255, at most 10,000) segments with the largest cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange, parse_range
from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, compile_values, parse
from mixhouse.meta.records import Project
from mixhouse.query.by_user_reads import COVERAGE_SQL, by_user_pays, coverage_params
from mixhouse.query.params import parse_limit, parse_whole, text_param
from mixhouse.query.retention import retention_sql
from mixhouse.query.timebuckets import Bucketing, check_not_future, parse_unit
from mixhouse.query.where import EVENT_CONTEXT, compile_event_where
from mixhouse.storage.base import Backend

UNITS = ("day", "week", "month")
MAX_INTERVAL_COUNT = 400
DEFAULT_LIMIT = 255
MAX_LIMIT = 10_000
_UNIT_MS = {"day": 86_400_000, "week": 7 * 86_400_000}


@dataclass(frozen=True)
class RetentionQuery:
    dates: DateRange
    compounded: bool
    born_event: str | None
    event: str | None
    born_where: SqlFragment | None
    where: SqlFragment | None
    unit: str
    interval: int
    interval_count: int
    unbounded: bool
    on: SqlFragment | None
    limit: int
    timezone: str
    calendar: bool = False  # intervals aligned to calendar units instead of rolling from each birth
    #: "On or before" (Insights ``carry_forward``): a user counts in every interval from their first return on.
    on_or_before: bool = False
    #: Streaks (Insights ``consecutive_forward``): a user counts in interval 0 if they came back in it, and in
    #: 1..k when they came back in every one of the intervals 1..k.
    consecutive: bool = False
    #: Cumulative (Insights ``retentionCumulative``): a user counts in every interval from the first one they count
    #: in by the mode on; sums (``measure``) add up the intervals so far.
    cumulative: bool = False
    #: Custom brackets (Insights ``retentionCustomBucketSizes``): interval 0 is the first unit, then one bracket per
    #: size, each that many units long (``interval`` is then 1 and ``interval_count`` the number of brackets).
    bracket_sizes: tuple[int, ...] = ()
    #: ``users`` (distinct users), or the sum over the cohort's returning events in each interval of ``value``
    #: (``None``: each event counts 1), an expression over the event.
    measure: str = "users"
    value: SqlFragment | None = None
    #: With ``on``: a birth without a value is in the ``undefined`` segment (else in none, as for cohort breakdowns).
    undefined: bool = True
    #: Count groups instead of users: the group ids (``Array(String)``) of an event (decision 0043).
    group_ids: SqlFragment | None = None


def _flag(params: dict[str, Any], name: str) -> bool:
    text = (text_param(params, name) or "false").lower()
    if text not in ("true", "false", "1", "0"):
        raise ValidationError(f"{name} must be true or false")
    return text in ("true", "1")


def parse_query(project: Project, params: dict[str, Any]) -> RetentionQuery:
    timezone = project.timezone or "UTC"
    dates = parse_range(text_param(params, "from_date"), text_param(params, "to_date"))
    check_not_future(dates, timezone)
    kind = text_param(params, "retention_type") or "birth"
    if kind not in ("birth", "compounded"):
        raise ValidationError("retention_type must be birth or compounded")
    born_event, event = text_param(params, "born_event"), text_param(params, "event")
    if kind == "birth" and born_event is None:
        raise ValidationError("born_event is required for birth retention")
    unit = parse_unit(text_param(params, "unit"), allowed=UNITS)
    born_where_text, where_text = text_param(params, "born_where"), text_param(params, "where")
    on_text = text_param(params, "on")
    return RetentionQuery(
        dates=dates,
        compounded=kind == "compounded",
        born_event=born_event,
        event=event,
        born_where=compile_event_where(born_where_text, prefix="bw") if born_where_text else None,
        where=compile_event_where(where_text) if where_text else None,
        unit=unit,
        interval=parse_whole(params.get("interval"), "interval", low=1, high=90 if unit == "day" else 36, default=1),
        interval_count=parse_whole(
            params.get("interval_count"), "interval_count", low=1, high=MAX_INTERVAL_COUNT, default=1
        ),
        unbounded=_flag(params, "unbounded_retention"),
        on=compile_values(parse(on_text), replace(EVENT_CONTEXT, param_prefix="on")) if on_text else None,
        limit=parse_limit(text_param(params, "limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT),
        timezone=timezone,
        calendar=_alignment(params),
    )


def _alignment(params: dict[str, Any]) -> bool:
    """``alignment``: ``rolling`` (default) or ``calendar`` (a Mixhouse extension: Mixpanel offers it in the UI)."""
    value = text_param(params, "alignment") or "rolling"
    if value not in ("rolling", "calendar"):
        raise ValidationError("alignment must be rolling or calendar")
    return value == "calendar"


def _horizon_ms(query: RetentionQuery, end_ms: int) -> int:
    """Returns are looked for until the last birth's last interval ends."""
    spans = 1 + sum(query.bracket_sizes) if query.bracket_sizes else query.interval * (query.interval_count + 1)
    if query.unit == "month":
        return end_ms + spans * 31 * 86_400_000 + 86_400_000
    return end_ms + spans * _UNIT_MS[query.unit]


def retention(
    backend: Backend, project: Project, query: RetentionQuery, *, by_user: bool | None = None
) -> dict[str, Any]:
    """The retention answer. ``by_user``: whether returns may be read from the by-user copy of the events (where the
    query reads every event's day); ``None`` asks the engine's part list whether that pays."""
    bucketing = Bucketing(query.unit, query.timezone)
    start_ms, end_ms = query.dates.bounds_ms(query.timezone)
    params: dict[str, Any] = {
        "project_id": project.id,
        "tz": query.timezone,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "returns_end_ms": _horizon_ms(query, end_ms),
        "interval_count": query.interval_count,
        "interval_ms": _UNIT_MS.get(query.unit, 0) * query.interval,
        "interval_months": query.interval,
        "interval_units": query.interval,
    }
    if query.bracket_sizes:
        ends = [1]
        for size in query.bracket_sizes:
            ends.append(ends[-1] + size)
        params["bracket_ends"] = ends
    birth_conditions: list[str] = []
    born_event = query.born_event if query.born_event is not None else query.event
    if born_event is not None:
        birth_conditions.append("event = {born_event:String}")
        params["born_event"] = born_event
    return_conditions: list[str] = []
    if query.event is not None:
        return_conditions.append("event = {return_event:String}")
        params["return_event"] = query.event
    for fragment, conditions in ((query.born_where, birth_conditions), (query.where, return_conditions)):
        if fragment is not None:
            conditions.append(fragment.sql)
            params.update(fragment.params)
    if query.on is not None:
        params.update(query.on.params)
    value_sql = None
    if query.measure == "events":
        value_sql = "toUInt64(1)"
        if query.value is not None:
            value_sql = query.value.sql
            params.update(query.value.params)
    key_returns = query.where is None
    if query.group_ids is not None:
        params.update(query.group_ids.params)
        by_user = False
    if by_user is None:
        by_user = False
        if key_returns and query.event is None and value_sql is None:
            coverage = backend.query_rows(COVERAGE_SQL, coverage_params(start_ms, params["returns_end_ms"]))
            by_user = by_user_pays(coverage)
    sql = retention_sql(
        bucketing.sql,
        birth_conditions,
        return_conditions,
        query.on.sql if query.on else None,
        first_ever=not query.compounded,
        monthly=query.unit == "month",
        per_user=per_user_mode(query),
        calendar=query.unit if query.calendar else None,
        key_births=not query.compounded and query.born_where is None and query.on is None,
        key_returns=key_returns,
        brackets=bool(query.bracket_sizes),
        value_sql=value_sql,
        undefined=query.undefined,
        by_user_returns=by_user,
        group_ids_sql=query.group_ids.sql if query.group_ids is not None else None,
    )
    return _answer(backend.query_rows(sql, params), bucketing.keys(query.dates), query)


def per_user_mode(query: RetentionQuery) -> str:
    """How the SQL reduces each user's returns (``query.retention.PER_USER_MODES``); ``_counts`` then adds up."""
    if query.consecutive:
        return "streak_first" if query.cumulative else "streak"
    if query.unbounded:
        return "any" if query.cumulative else "last"
    return "first" if query.on_or_before or query.cumulative else "on"


def _counts(back: list[Any], length: int, query: RetentionQuery) -> list[Any]:
    """The interval values from the SQL's ``(index, value)`` pairs, with the sums the per-user mode needs; sums of
    events (``measure``) add up only when cumulative."""
    summed = query.measure == "events"
    counts: list[Any] = [0] * length
    for index, value in back:
        if 0 <= int(index) < length:
            counts[int(index)] = float(value) if summed and query.value is not None else int(value)
    mode = ("first" if query.cumulative else "on") if summed else per_user_mode(query)
    if mode == "last":  # users by their last return: suffix sums are "in this interval or later"
        for i in range(length - 2, -1, -1):
            counts[i] += counts[i + 1]
    elif mode in ("first", "any", "streak_first"):  # by their first: prefix sums are "in this one or earlier"
        for i in range(1, length):
            counts[i] += counts[i - 1]
    return counts


def _answer(rows: list[dict[str, Any]], cohorts: list[str], query: RetentionQuery) -> dict[str, Any]:
    length = query.interval_count + 1
    per_segment: dict[str, dict[str, dict[str, Any]]] = {}
    sizes: dict[str, int] = {}
    for row in rows:
        segment, cohort = str(row["segment"]), str(row["cohort"])
        entry = {"counts": _counts(row["back"], length, query),
                 "first": int(row["first"])}
        per_segment.setdefault(segment, {})[cohort] = entry
        sizes[segment] = sizes.get(segment, 0) + int(row["first"])

    def filled(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {key: found.get(key, {"counts": [0] * length, "first": 0}) for key in cohorts}

    if query.on is None:
        return filled(per_segment.get("", {}))
    chosen = sorted(sizes, key=lambda segment: (-sizes[segment], segment))[: query.limit]
    return {segment: filled(per_segment[segment]) for segment in chosen}
