"""``build_funnel_params`` and ``build_retention_params``: the bookmark params of a funnel and a retention report
(re-exported from ``mixhouse.client.builders``).

Rule codes as the client library names them: ``F1_MIN_STEPS``, ``F3_CONVERSION_WINDOW_POSITIVE``, ``F4_*`` for
exclusions, ``R5_BUCKET_SIZES_POSITIVE``, ``R10_INVALID_MODE``, ``R11_INVALID_UNIT``,
``CB3_RETENTION_MIXED_BREAKDOWN`` (a retention report breaks down by cohorts or by properties, not both), ``CP*`` for
custom properties in filters and breakdowns (path ``steps[0].filters[0]``, ``born_event.filters[0]``, ``where``,
``group_by``...).
"""

from __future__ import annotations

import copy
from typing import Any

from mixhouse.client.bookmark_sections import (
    GroupSpec,
    WhereSpec,
    filter_entries,
    filter_section,
    group_items,
    group_section,
    time_section,
    validate_time,
)
from mixhouse.client.query_specs import (
    CohortBreakdown,
    Exclusion,
    FunnelStep,
    HoldingConstant,
    RetentionEvent,
    TimeComparison,
    check_event_name,
)
from mixhouse.client.spec_validation import _fail

RETENTION_SORTING = {
    "bar": {"colSortAttrs": [], "sortBy": "column"},
    "line": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc",
                                                   "valueField": "averageValue"}]},
    "table": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc", "valueField": "size",
                                                    "viewNLimit": 12}]},
}


def _assemble(show: dict[str, Any], from_date: str | None, to_date: str | None, last: int, unit: str,
              where: WhereSpec, group_by: GroupSpec, time_comparison: TimeComparison | None,
              data_group_id: int | str | None, chart: str) -> dict[str, Any]:
    """The funnel and retention skeleton: one show clause, an empty formula list."""
    sections: dict[str, Any] = {"show": [show], "time": time_section(from_date, to_date, last, unit),
                                "filter": filter_section(where), "group": group_section(group_by, data_group_id),
                                "formula": []}
    if data_group_id is not None:
        sections["globalDataGroupId"] = str(data_group_id)
    display: dict[str, Any] = {"chartType": chart}
    if time_comparison is not None:
        display["timeComparison"] = time_comparison.entry()
    return {"sections": sections, "displayOptions": display}


def build_funnel_params(steps: list[str | FunnelStep], *, conversion_window: int = 14,
                        conversion_window_unit: str = "day", order: str = "loose", from_date: str | None = None,
                        to_date: str | None = None, last: int = 30, unit: str = "day",
                        math: str = "conversion_rate_unique", math_property: str | None = None,
                        group_by: GroupSpec = None, where: WhereSpec = None,
                        exclusions: list[str | Exclusion] | None = None,
                        holding_constant: str | HoldingConstant | list[str | HoldingConstant] | None = None,
                        mode: str = "steps", reentry_mode: str | None = None,
                        time_comparison: TimeComparison | None = None,
                        data_group_id: int | str | None = None) -> dict[str, Any]:
    items = [FunnelStep(s) if isinstance(s, str) else s for s in steps]
    if len(items) < 2:
        _fail("F1_MIN_STEPS", "a funnel needs at least two steps", "steps")
    if conversion_window < 1:
        _fail("F3_CONVERSION_WINDOW_POSITIVE", f"conversion_window must be positive, not {conversion_window}",
              "conversion_window")
    if order not in ("loose", "any"):
        _fail("F_INVALID_ORDER", f"order must be loose or any, not {order!r}", "order")
    if mode not in ("steps", "trends", "table"):
        _fail("F_INVALID_MODE", f"mode must be steps, trends or table, not {mode!r}", "mode")
    validate_time(from_date, to_date, last, unit)
    behaviors = []
    for n, step in enumerate(items):
        entry: dict[str, Any] = {"type": "event", "id": None, "name": step.event,
                                 "filters": filter_entries(step.filters, f"steps[{n}].filters"),
                                 "filtersDeterminer": step.filters_combinator, "funnelOrder": order}
        if step.label is not None:
            entry["renamed"] = step.label
        if step.order is not None:
            entry["funnelOrder"] = step.order
        behaviors.append(entry)
    excl = [Exclusion(e) if isinstance(e, str) else e for e in exclusions or []]
    for n, e in enumerate(excl):
        if e.from_step >= len(items) or (e.to_step is not None and e.to_step >= len(items)):
            _fail("F4_EXCLUSION_STEP_BOUNDS", f"exclusion steps must be within the funnel's {len(items)} steps",
                  f"exclusions[{n}]")
    held = holding_constant if isinstance(holding_constant, list | tuple) else (
        [] if holding_constant is None else [holding_constant])
    behavior: dict[str, Any] = {
        "type": "funnel", "resourceType": "events", "behaviors": behaviors,
        "conversionWindowDuration": conversion_window, "conversionWindowUnit": conversion_window_unit,
        "funnelOrder": order,
        "exclusions": [{"event": e.event, "steps": {"from": e.from_step + 1,
                                                    "to": (e.to_step + 1) if e.to_step is not None else len(items)}}
                       for e in excl],
        "aggregateBy": [{"value": h.property, "resourceType": h.resource_type}
                        for h in (HoldingConstant(x) if isinstance(x, str) else x for x in held)],
        "filter": []}
    if reentry_mode is not None:
        behavior["funnelReentryMode"] = reentry_mode
    measurement = {"math": math, "property": {"name": math_property, "type": "number", "resourceType": "events"}
                   if math_property else None, "stepIndex": None}
    return _assemble({"type": "metric", "behavior": behavior, "measurement": measurement}, from_date, to_date, last,
                     unit, where, group_by, time_comparison, data_group_id,
                     {"steps": "funnel-steps", "trends": "line", "table": "table"}[mode])


def build_retention_params(born_event: str | RetentionEvent, return_event: str | RetentionEvent | None = None, *,
                           retention_unit: str = "week", alignment: str = "birth",
                           bucket_sizes: list[int] | None = None, from_date: str | None = None,
                           to_date: str | None = None, last: int = 30, unit: str = "day",
                           math: str = "retention_rate", group_by: GroupSpec = None,
                           where: WhereSpec = None, mode: str = "curve",
                           unbounded_mode: str | None = None, retention_cumulative: bool = False,
                           time_comparison: TimeComparison | None = None,
                           data_group_id: int | str | None = None) -> dict[str, Any]:
    born = RetentionEvent(born_event) if isinstance(born_event, str) else born_event
    ret_raw = return_event if return_event is not None else born
    ret = RetentionEvent(ret_raw) if isinstance(ret_raw, str) else ret_raw
    check_event_name(born.event, "born_event", "born_event")
    check_event_name(ret.event, "return_event", "return_event")
    if mode not in ("curve", "trends", "table"):
        _fail("R10_INVALID_MODE", f"mode must be curve, trends or table, not {mode!r}", "mode")
    if bucket_sizes is not None and any(b < 1 for b in bucket_sizes):
        _fail("R5_BUCKET_SIZES_POSITIVE", "bucket_sizes must be positive", "bucket_sizes")
    groups = group_items(group_by)
    if any(isinstance(g, CohortBreakdown) for g in groups) and not all(isinstance(g, CohortBreakdown)
                                                                       for g in groups):
        _fail("CB3_RETENTION_MIXED_BREAKDOWN", "a retention report breaks down by cohorts or by properties, not "
              "both", "group_by")
    validate_time(from_date, to_date, last, unit, unit_rule="R11_INVALID_UNIT")

    def event_entry(e: RetentionEvent, path: str) -> dict[str, Any]:
        return {"type": "event", "id": None, "name": e.event, "filters": filter_entries(e.filters, path),
                "filtersDeterminer": e.filters_combinator}

    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events",
        "behaviors": [event_entry(born, "born_event.filters"), event_entry(ret, "return_event.filters")],
        "retentionUnit": retention_unit, "retentionAlignmentType": alignment,
        "retentionCustomBucketSizes": list(bucket_sizes) if bucket_sizes else [], "filter": []}
    if unbounded_mode is not None:
        behavior["retentionUnboundedMode"] = unbounded_mode
    measurement: dict[str, Any] = {"math": math}
    if retention_cumulative:
        measurement["retentionCumulative"] = True
    params = _assemble({"type": "metric", "behavior": behavior, "measurement": measurement}, from_date, to_date,
                       last, unit, where, group_by, time_comparison, data_group_id,
                       {"curve": "retention-curve", "trends": "line", "table": "table"}[mode])
    return {**params, "sorting": copy.deepcopy(RETENTION_SORTING), "columnWidths": {"bar": {}}}
