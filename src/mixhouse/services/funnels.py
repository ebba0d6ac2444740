"""Funnels (``/funnels`` and ``/funnels/list``, spec §4.8, §6.2): a saved funnel run over a date range.

Semantics (uniques counting, the default re-entry mode, specific loose order):

* Each bucket of the range (``unit`` day/week/month, or ``interval`` days from ``from_date``; daily by default; the
  project's timezone) runs its own funnel: a user enters at their first step-1 event in the bucket, so a user may
  count in several buckets. Totals funnels count every attempt: after an attempt exits (at its last step when it
  converts, at the exclusion event that cut it, else when its window closes) the user re-enters at their next
  step-1 event in the bucket.
* From the entry, each step is the earliest not-yet-used event of that step that is no more than 2 seconds before
  the step matched before it (the 2-second grace: steps within 2 s count in either order) and no later than the
  conversion window after the entry. Other events may come in between; repeats are fine (A B D C D E converts
  A→…→E). The window is the saved one, or ``length`` × ``length_unit`` (at most 90 days).
* Exclusions: an exclusion event between two steps it covers, more than 2 s from both, ends the attempt at the
  earlier step.
* Held-constant properties: every step's event must carry the entry event's values (an absent value matches only
  absence).
* ``where``, the saved ``sections.filter`` and ``behavior.filter`` keep only step events that match; ``on``
  segments each attempt by the value of the first reached step whose event has one ("first step defined"; with the
  saved ``propertyAttribution`` ``last_defined`` the last such step, with a step number that step's event; list
  values fan out; none is ``"undefined"``), and the answer is then ``{date: {"$overall": [steps], segment:
  [steps]}}`` for the ``limit`` segments with the most entries (default 255, at most 10,000).
* Totals re-entry (``funnelReentryMode``): ``basic`` lets the user enter again only once the attempt's window has
  closed; ``aggressive`` makes every step-1 event an attempt (attempts overlap). Uniques and sessions counting enter
  once per bucket or session, so the modes do not change them.
* ``count`` = attempts reaching the step; ``avg_time``/``avg_time_from_start`` = mean whole seconds from the previous
  step / the entry over those attempts (``null`` for step 1 and when nobody reached the step); ratios are rounded to
  4 places (0 when the base is 0); ``worst`` = the 0-based index of the step with the largest drop.
* A property math (Insights only; ``definition.aggregate``, docs/decisions/0037) adds to each step ``value``: the
  math over the numbers of the property on the events that completed the step in the attempts counted there
  (``query/funnel_values.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from mixhouse.core.dates import DateRange, parse_range
from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.expr import SqlFragment, compile_filter, compile_values, parse
from mixhouse.expr.ast import Expr
from mixhouse.expr.compile_sql import compile_typed
from mixhouse.meta.records import Project, Report
from mixhouse.query.funnel_values import event_value_sql, step_value
from mixhouse.query.funnels import OVERALL, FunnelShape, funnel_sql, scan_bounds, step_pairs
from mixhouse.query.params import parse_limit, parse_whole, text_param
from mixhouse.query.timebuckets import Bucketing, check_not_future, parse_interval_days, parse_unit
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services.funnel_definition import FunnelDefinition, classic_definition, window_ms
from mixhouse.storage.base import Backend

GRACE_MS = 2_000
MAX_LENGTH_MS = 90 * 86_400_000
LENGTH_UNITS = ("second", "minute", "hour", "day")
DEFAULT_LIMIT = 255
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class FunnelQuery:
    funnel_id: int
    dates: DateRange
    bucketing: Bucketing
    window_ms: int | None  # None: the saved window
    where: Expr | None
    on: Expr | None
    limit: int
    #: A condition on the user (SQL over the event source, e.g. cohort membership) every step event must pass.
    user_where: SqlFragment | None = None
    #: Breakdowns instead of ``on`` (Insights; one or more): each one's segment keys (``Array(String)`` SQL over the
    #: event source) and whether they are the user's (the same on every event of the user, e.g. cohort membership:
    #: an attempt counts in its user's segments, a user with none in none). With several, the answer's segments are
    #: the paths of keys joined by ``PATH_SEPARATOR``, every prefix included.
    breakdowns: tuple[tuple[SqlFragment, bool], ...] = ()
    #: Counting groups (Insights, decision 0043): the event's group ids (``compile_values`` of the group key).
    group_ids: SqlFragment | None = None


def parse_query(project: Project, params: dict[str, Any]) -> FunnelQuery:
    timezone = project.timezone or "UTC"
    funnel_id = parse_whole(params.get("funnel_id"), "funnel_id", low=1, high=2**63 - 1, default=0)
    if funnel_id == 0:
        raise ValidationError("funnel_id is required")
    dates = parse_range(text_param(params, "from_date"), text_param(params, "to_date"))
    check_not_future(dates, timezone)
    days = parse_interval_days(params.get("interval"))
    if days is not None and days > 1:
        bucketing = Bucketing("day", timezone, days=days, anchor=dates.from_date)
    else:
        bucketing = Bucketing(parse_unit(text_param(params, "unit"), allowed=("day", "week", "month")), timezone)
    length = text_param(params, "length")
    span = None
    if length is not None:
        unit = text_param(params, "length_unit") or "day"
        if unit not in LENGTH_UNITS:
            raise ValidationError(f"length_unit must be one of {', '.join(LENGTH_UNITS)}")
        span = window_ms(parse_whole(length, "length", low=1, high=10**9, default=1), unit)
        if span > MAX_LENGTH_MS:
            raise ValidationError("length may be at most 90 days")
    where_text, on_text = text_param(params, "where"), text_param(params, "on")
    return FunnelQuery(
        funnel_id=funnel_id,
        dates=dates,
        bucketing=bucketing,
        window_ms=span,
        where=parse(where_text) if where_text else None,
        on=parse(on_text) if on_text else None,
        limit=parse_limit(text_param(params, "limit"), default=DEFAULT_LIMIT, maximum=MAX_LIMIT),
    )


def saved_funnel(report: Report | None, funnel_id: int, timezone: str) -> FunnelDefinition:
    if report is None or report.type != "funnels":
        raise NotFoundError(f"no funnel with id {funnel_id}", details={"funnel_id": funnel_id})
    return classic_definition(report.params, timezone)


def list_funnels(reports: list[Report]) -> list[dict[str, Any]]:
    return [{"funnel_id": report.id, "name": report.name} for report in reports if report.type == "funnels"]


def _shape(definition: FunnelDefinition, query: FunnelQuery, params: dict[str, Any]) -> FunnelShape:
    # a window given with the query (``length``) replaces the saved one, sessions or not
    window_sessions = definition.window_sessions if query.window_ms is None else None
    if window_sessions is not None:
        params["window_sessions"] = window_sessions
    wheres = [expr for expr in (definition.where, definition.step_where, query.where) if expr is not None]
    global_sql = []
    for n, expr in enumerate(wheres):
        fragment = compile_filter(expr, replace(EVENT_CONTEXT, param_prefix=f"fw{n}"))
        global_sql.append(f"({fragment.sql})")
        params.update(fragment.params)
    if query.user_where is not None:
        global_sql.append(f"({query.user_where.sql})")
        params.update(query.user_where.params)
    steps = []
    for k, step in enumerate(definition.steps):
        params[f"fs{k}"] = step.event
        parts = [f"event = {{fs{k}:String}}", *global_sql]
        if step.filter is not None:
            fragment = compile_filter(step.filter, replace(EVENT_CONTEXT, param_prefix=f"ff{k}"))
            parts.append(f"({fragment.sql})")
            params.update(fragment.params)
        steps.append(" AND ".join(parts))
    exclusions = []
    for x, exclusion in enumerate(definition.exclusions):
        params[f"fx{x}"] = exclusion.event
        exclusions.append((f"event = {{fx{x}:String}}", step_pairs(exclusion.first, exclusion.last)))
    held_sql = None
    if definition.held:
        for h, name in enumerate(definition.held):
            params[f"fh{h}"] = name
        raw = (f"JSONExtractRaw(properties, {{fh{h}:String}})" for h in range(len(definition.held)))
        held_sql = f"[{', '.join(raw)}]"  # the raw JSON of each held property (absent: '')
    breakdowns = query.breakdowns
    if query.on is not None:
        breakdowns = ((compile_values(query.on, replace(EVENT_CONTEXT, param_prefix="on")), False),)
    for keys, _ in breakdowns:
        params.update(keys.params)
    keys_sql = f"[{', '.join(keys.sql for keys, _ in breakdowns)}]" if breakdowns else None
    if query.group_ids is not None:
        params.update(query.group_ids.params)
    value_sql = None
    if definition.aggregate is not None:
        typed = compile_typed(definition.aggregate.prop, replace(EVENT_CONTEXT, param_prefix="fv"))
        params.update(typed.params)
        value_sql = event_value_sql(typed.sql)
    return FunnelShape(
        tuple(steps), tuple(exclusions), held_sql, keys_sql, definition.totals,
        definition.optimized, definition.free, window_sessions, definition.per_session,
        reentry=definition.reentry, attribution=definition.attribution,
        user_level=tuple(user for _, user in breakdowns) or (False,),
        value_sql=value_sql, value_math=definition.aggregate.math if definition.aggregate else None,
        group_ids_sql=query.group_ids.sql if query.group_ids is not None else None,
    )


def run_funnel(backend: Backend, project: Project, definition: FunnelDefinition, query: FunnelQuery) -> dict[str, Any]:
    timezone = project.timezone or "UTC"
    span = query.window_ms if query.window_ms is not None else definition.window_ms
    start_ms, end_ms = query.dates.bounds_ms(timezone)
    scan_from, scan_to = scan_bounds(start_ms, end_ms, window_ms=span, grace_ms=GRACE_MS,
                                     steps=len(definition.steps))
    params: dict[str, Any] = {
        "project_id": project.id,
        **query.bucketing.params(),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "scan_from_ms": scan_from,
        "scan_to_ms": scan_to,
        "window_ms": span,
        "grace_ms": GRACE_MS,
        "funnel_events": sorted({step.event for step in definition.steps} | {x.event for x in definition.exclusions}),
    }
    shape = _shape(definition, query, params)
    rows = backend.query_rows(funnel_sql(shape, query.bucketing.sql_of), params)
    return _answer(rows, definition, query)


def _steps(row: dict[str, Any] | None, definition: FunnelDefinition) -> list[dict[str, Any]]:
    n = len(definition.steps)
    counts = [int(row[f"c{k}"]) if row else 0 for k in range(n)]
    steps = []
    for k, step in enumerate(definition.steps):
        timed = row if k > 0 and counts[k] > 0 else None  # step 1, or nobody reached it: no times
        previous = counts[k - 1] if k else counts[0]
        steps.append({
            "count": counts[k],
            "avg_time": round(float(timed[f"d{k}"]) / 1000) if timed else None,
            "avg_time_from_start": round(float(timed[f"s{k}"]) / 1000) if timed else None,
            "step_conv_ratio": 1 if k == 0 else (round(counts[k] / previous, 4) if previous else 0),
            "overall_conv_ratio": 1 if k == 0 else (round(counts[k] / counts[0], 4) if counts[0] else 0),
            "goal": step.event,
            "event": step.event,
            **({"value": step_value(definition.aggregate.math, row, k)} if definition.aggregate else {}),
        })
    return steps


def _analysis(steps: list[dict[str, Any]]) -> dict[str, int]:
    counts = [step["count"] for step in steps]
    drops = [counts[k - 1] - counts[k] for k in range(1, len(counts))]
    worst = 1 + max(range(len(drops)), key=lambda k: (drops[k], -k))
    return {"completion": counts[-1], "starting_amount": counts[0], "steps": len(counts), "worst": worst}


def _answer(rows: list[dict[str, Any]], definition: FunnelDefinition, query: FunnelQuery) -> dict[str, Any]:
    dates = query.bucketing.keys(query.dates)
    found: dict[tuple[str, str], dict[str, Any]] = {(str(r["bucket"]), str(r["segment"])): r for r in rows}
    if query.on is None and not query.breakdowns:
        data: dict[str, Any] = {}
        for key in dates:
            steps = _steps(found.get((key, OVERALL)), definition)
            data[key] = {"steps": steps, "analysis": _analysis(steps)}
        return {"meta": {"dates": dates}, "data": data}
    entries: dict[str, int] = {}
    for (_, segment), row in found.items():
        if segment != OVERALL:
            entries[segment] = entries.get(segment, 0) + int(row["c0"])
    chosen = sorted(entries, key=lambda segment: (-entries[segment], segment))[: query.limit]
    data = {
        key: {segment: _steps(found.get((key, segment)), definition) for segment in (OVERALL, *chosen)}
        for key in dates
    }
    return {"meta": {"dates": dates}, "data": data}
