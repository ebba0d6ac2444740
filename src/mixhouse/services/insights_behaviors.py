"""Funnel and retention metrics in the Insights API (what ``query_funnel`` and ``query_retention`` post): the bookmark
params run by the funnel and retention engines, answered in the shapes the client library reads.

* Funnels (``behavior.type == "funnel"``; the definition as in ``services.funnel_definition``):
  ``series = {"<first> through <last>": metrics}`` where ``metrics`` maps ``count``, ``step_conv_ratio``,
  ``overall_conv_ratio``, ``avg_time`` and ``avg_time_from_start`` to ``{"1. <event>": {"all": value}, …}``. One
  funnel over the whole range (``funnel-steps`` and other charts); a ``line`` chart gives one per ``unit`` bucket,
  ``{name: {"<bucket start>": metrics}}``. One breakdown (an event property) gives ``{name: {"$overall": metrics,
  "<segment>": metrics}}``.
* Retention (``behavior.type == "retention"``; ``behaviors`` = [birth event, return event], ``retentionUnit``):
  ``series = {"<birth> and then <return>": {"<cohort start>": {"first", "counts", "rates"}, "$average": {…}}}``;
  with one breakdown, ``{name: {"$overall": cohorts, "<segment>": cohorts}}``. Cohorts are births (a user's first
  birth event ever, as ``/retention`` counts them), rolling intervals, as many as the range has units (at least
  one). ``retentionUnboundedMode`` ``carry_back`` carries a return back to the intervals before it ("on or after":
  counted in an interval when they came back in it or later, ``/retention``'s ``unbounded_retention``);
  ``carry_forward`` carries it forward ("on or before": in it or earlier); docs/decisions/0020.
  ``$average`` adds up the cohorts (``rates`` = counts / first). Refused (400): custom buckets, cumulative,
  ``consecutive_forward``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr import compile_filter, compile_values
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.services import funnels, retention
from mixhouse.services.funnel_definition import parse_definition
from mixhouse.services.insights_params import parse_time
from mixhouse.storage.base import Backend

FUNNEL_METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


def behavior_type(params: Any) -> str | None:
    """``funnel``, ``retention``, … for the first metric of bookmark params (``None`` if it cannot be told)."""
    try:
        return str(params["sections"]["show"][0]["behavior"]["type"])
    except (KeyError, IndexError, TypeError):
        return None


def _one_group(sections: dict[str, Any]) -> str | None:
    groups = sections.get("group") or []
    if not isinstance(groups, list) or len(groups) > 1:
        raise ValidationError("funnels and retention take at most one breakdown here")
    if not groups:
        return None
    spec = groups[0]
    name = spec.get("value") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name or spec.get("resourceType", "events") not in ("events", "event"):
        raise ValidationError("only a breakdown by an event property is supported yet")
    return name


def _funnel_metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        metric: {f"{k + 1}. {step['event']}": {"all": step[metric]} for k, step in enumerate(steps)}
        for metric in FUNNEL_METRICS
    }


def run_funnel_metric(backend: Backend, project: Project, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a funnel metric."""
    timezone = project.timezone or "UTC"
    definition = parse_definition(params)
    sections = params["sections"]
    dates, unit = parse_time(sections, timezone)
    check_not_future(dates, timezone)
    trends = (params.get("displayOptions") or {}).get("chartType") in ("line", "funnel-trend")
    if trends:
        if unit == "hour":
            raise ValidationError("funnel trends are by day, week or month")
        bucketing = Bucketing(unit, timezone)
    else:
        days = (dates.to_date - dates.from_date).days + 1
        bucketing = Bucketing("day", timezone, days=days, anchor=dates.from_date)
    group = _one_group(sections)
    query = funnels.FunnelQuery(funnel_id=0, dates=dates, bucketing=bucketing, window_ms=None, where=None,
                                on=Property(group) if group else None, limit=funnels.MAX_LIMIT)
    answer = funnels.run_funnel(backend, project, definition, query)

    def metrics_of(entry: dict[str, Any]) -> dict[str, Any]:
        if group is None:
            return _funnel_metrics(entry["steps"])
        return {segment: _funnel_metrics(steps) for segment, steps in entry.items()}

    name = f"{definition.steps[0].event} through {definition.steps[-1].event}"
    data = answer["data"]
    if trends:
        node: Any = {bucket_start_iso(day, timezone): metrics_of(entry) for day, entry in data.items()}
    else:
        node = metrics_of(next(iter(data.values())))
    return {name: node}, ["$metric", *([group] if group else [])]


def retention_query(params: dict[str, Any], timezone: str) -> tuple[retention.RetentionQuery, str, str]:
    sections = params["sections"]
    behavior = sections["show"][0]["behavior"]
    measurement = sections["show"][0].get("measurement") or {}
    steps = behavior.get("behaviors") or []
    if not isinstance(steps, list) or len(steps) != 2 or not all(isinstance(s, dict) for s in steps):
        raise ValidationError("a retention metric has two behaviors: the birth event, then the return event")
    names = [s.get("name") for s in steps]
    if not all(isinstance(n, str) and n for n in names):
        raise ValidationError("both retention behaviors need an event name")
    alignment = behavior.get("retentionAlignmentType", "birth")
    if alignment not in ("birth", "interval_start"):
        raise ValidationError("retentionAlignmentType must be birth or interval_start")
    if behavior.get("retentionCustomBucketSizes"):
        raise ValidationError("custom retention buckets are not supported yet")
    mode = behavior.get("retentionUnboundedMode") or "none"
    if mode not in ("none", "carry_back", "carry_forward"):
        raise ValidationError(f"unbounded mode {mode!r} is not supported yet")
    if measurement.get("retentionCumulative"):
        raise ValidationError("cumulative retention is not supported yet")
    if measurement.get("math", "retention_rate") not in ("retention_rate", "unique"):
        raise ValidationError(f"retention math {measurement.get('math')!r} is not supported yet")
    unit = behavior.get("retentionUnit", "week")
    if unit not in retention.UNITS:
        raise ValidationError("retentionUnit must be day, week or month")
    dates, _ = parse_time(sections, timezone)
    check_not_future(dates, timezone)
    span = (dates.to_date - dates.from_date).days + 1
    months = (dates.to_date.year - dates.from_date.year) * 12 + dates.to_date.month - dates.from_date.month + 1
    count = {"day": span, "week": math.ceil(span / 7), "month": months}[unit]
    wheres = []
    for n, step in enumerate(steps):
        expr = filters_expr(step.get("filters") or [], step.get("filtersDeterminer", "all"))
        wheres.append(compile_filter(expr, replace(EVENT_CONTEXT, param_prefix=f"rw{n}")) if expr else None)
    group = _one_group(sections)
    on = compile_values(Property(group), replace(EVENT_CONTEXT, param_prefix="on")) if group else None
    query = retention.RetentionQuery(
        dates=dates, compounded=False, born_event=names[0], event=names[1], born_where=wheres[0], where=wheres[1],
        unit=unit, interval=1, interval_count=max(1, min(count, retention.MAX_INTERVAL_COUNT)),
        unbounded=mode == "carry_back", on=on, limit=retention.MAX_LIMIT, timezone=timezone,
        calendar=alignment == "interval_start", on_or_before=mode == "carry_forward",
    )
    return query, f"{names[0]} and then {names[1]}", group or ""


def _cohorts(found: dict[str, dict[str, Any]], timezone: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first = 0
    counts: list[int] = []
    for day, cohort in found.items():
        size, back = int(cohort["first"]), [int(c) for c in cohort["counts"]]
        out[bucket_start_iso(day, timezone)] = {"first": size, "counts": back,
                                    "rates": [round(c / size, 4) if size else 0 for c in back]}
        first += size
        counts = [a + b for a, b in zip(counts, back, strict=True)] if counts else list(back)
    out["$average"] = {"first": first, "counts": counts, "rates": [round(c / first, 4) if first else 0 for c in counts]}
    return out


def run_retention_metric(
    backend: Backend, project: Project, params: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """``series`` and ``headers`` of a retention metric."""
    timezone = project.timezone or "UTC"
    query, name, group = retention_query(params, timezone)
    answer = retention.retention(backend, project, query)
    if not group:
        return {name: _cohorts(answer, timezone)}, ["$metric"]
    overall = retention.retention(backend, project, replace(query, on=None))
    node = {"$overall": _cohorts(overall, timezone)}
    node.update({segment: _cohorts(found, timezone) for segment, found in answer.items()})
    return {name: node}, ["$metric", group]
