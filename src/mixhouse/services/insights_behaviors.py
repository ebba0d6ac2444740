"""Funnel and retention metrics in the Insights API (what ``query_funnel`` and ``query_retention`` post): the bookmark
params run by the funnel and retention engines, answered in the shapes the client library reads.

* Funnels (``behavior.type == "funnel"``; the definition as in ``services.funnel_definition``):
  ``series = {"<first> through <last>": metrics}`` where ``metrics`` maps ``count``, ``step_conv_ratio``,
  ``overall_conv_ratio``, ``avg_time`` and ``avg_time_from_start`` to ``{"1. <event>": {"all": value}, …}``. One
  funnel over the whole range (``funnel-steps`` and other charts); a ``line`` chart gives one per ``unit`` bucket,
  ``{name: {"<bucket start>": metrics}}``. One breakdown (an event property) gives ``{name: {"$overall": metrics,
  "<segment>": metrics}}``.
* Retention (``behavior.type == "retention"``): ``services/insights_retention.py`` (re-exported here).
"""

from __future__ import annotations

from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Property
from mixhouse.meta.records import Project
from mixhouse.query.timebuckets import Bucketing, bucket_start_iso, check_not_future
from mixhouse.services import funnels
from mixhouse.services.funnel_definition import parse_definition
from mixhouse.services.insights_params import parse_time
from mixhouse.services.insights_retention import retention_query, run_retention_metric
from mixhouse.storage.base import Backend

__all__ = ["behavior_type", "retention_query", "run_funnel_metric", "run_retention_metric"]

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
