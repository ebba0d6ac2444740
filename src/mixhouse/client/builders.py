"""Typed query builders: ``Metric``, ``Filter``, ``GroupBy``, ``Formula``, ``FunnelStep``, ``Exclusion``,
``HoldingConstant``, ``RetentionEvent``, ``FlowStep`` and the bookmark params the seeds' ``build_*`` methods make.

The shapes follow the recorded ``expect.output`` of the wire vectors (``tests/unit/test_client_builders.py`` checks
them). Not here yet: custom properties (``CustomPropertyRef``, ``InlineCustomProperty``), ``FrequencyBreakdown`` and
flow-step filters.

The spec classes live in ``mixhouse.client.query_specs``, the inline cohort definitions in
``mixhouse.client.cohort_specs`` and the shared checks in ``mixhouse.client.spec_validation``; this module re-exports
them, so ``from mixhouse.client.builders import Filter`` keeps working.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from mixhouse.client.cohort_specs import CohortCriteria, CohortDefinition, raw_cohort
from mixhouse.client.query_specs import (
    FREQUENCY_OPERATORS,
    CohortBreakdown,
    CohortMetric,
    Exclusion,
    Filter,
    FlowStep,
    Formula,
    FrequencyFilter,
    FunnelStep,
    GroupBy,
    HoldingConstant,
    Metric,
    RetentionEvent,
    TimeComparison,
)
from mixhouse.client.spec_validation import _DATE, _fail

__all__ = [
    "FREQUENCY_OPERATORS",
    "PROPERTY_MATHS",
    "RETENTION_SORTING",
    "UNITS",
    "CohortBreakdown",
    "CohortCriteria",
    "CohortDefinition",
    "CohortMetric",
    "EventSpec",
    "Exclusion",
    "Filter",
    "FlowStep",
    "Formula",
    "FrequencyFilter",
    "FunnelStep",
    "GroupBy",
    "GroupSpec",
    "HoldingConstant",
    "Metric",
    "RetentionEvent",
    "TimeComparison",
    "build_flow_params",
    "build_funnel_params",
    "build_params",
    "build_retention_params",
    "build_user_params",
    "filter_section",
    "filter_to_selector",
    "group_section",
    "raw_cohort",
    "time_section",
    "validate_time",
]

PROPERTY_MATHS = frozenset({"average", "sum", "min", "max", "median", "p25", "p75", "p90", "p99", "percentile",
                            "custom_percentile"})
UNITS = frozenset({"minute", "hour", "day", "week", "month", "quarter"})


# ------------------------------------------------------------------------------------------------- shared pieces
def validate_time(from_date: str | None, to_date: str | None, last: int, unit: str | None = None) -> None:
    for name, value in (("from_date", from_date), ("to_date", to_date)):
        if value is not None and not _DATE.match(value):
            _fail("date_format", f"{name} must be YYYY-MM-DD, not {value!r}")
    if to_date is not None and from_date is None:
        _fail("to_date_requires_from_date", "to_date needs from_date")
    if from_date is not None and to_date is not None and from_date > to_date:
        _fail("date_order", f"from_date {from_date} is after to_date {to_date}")
    if last < 1:
        _fail("last_positive", f"last must be a positive number of days, not {last}")
    if unit is not None and unit not in UNITS:
        _fail("unit", f"unit must be one of {sorted(UNITS)}, not {unit!r}")


def time_section(from_date: str | None, to_date: str | None, last: int, unit: str) -> list[dict[str, Any]]:
    if from_date is not None:
        return [{"dateRangeType": "between", "unit": unit,
                 "value": [from_date, to_date if to_date is not None else date.today().isoformat()]}]
    return [{"dateRangeType": "in the last", "unit": unit, "window": {"unit": "day", "value": last}}]


def filter_section(where: Any) -> list[dict[str, Any]]:
    if where is None:
        return []
    items = where if isinstance(where, list | tuple) else [where]
    for item in items:
        if not isinstance(item, Filter | FrequencyFilter):
            _fail("filter_type", f"where takes Filter or FrequencyFilter objects, not {type(item).__name__}")
    return [f.entry() for f in items]


GroupSpec = str | GroupBy | CohortBreakdown | list[str | GroupBy | CohortBreakdown] | None


def group_section(group_by: GroupSpec, data_group_id: int | None = None) -> list[dict[str, Any]]:
    if group_by is None:
        return []
    dgid = str(data_group_id) if data_group_id is not None else None
    items = group_by if isinstance(group_by, list | tuple) else [group_by]
    out: list[dict[str, Any]] = []
    for g in items:
        if isinstance(g, str):
            out.append({"value": g, "propertyName": g, "resourceType": "events", "propertyType": "string",
                        "propertyDefaultType": "string"})
        elif isinstance(g, GroupBy):
            entry: dict[str, Any] = {"value": g.property, "propertyName": g.property, "resourceType": "events",
                                     "propertyType": g.property_type, "propertyDefaultType": g.property_type}
            if g.bucket_size is not None:
                bucket: dict[str, Any] = {"bucketSize": g.bucket_size}
                if g.bucket_min is not None:
                    bucket["min"] = g.bucket_min
                if g.bucket_max is not None:
                    bucket["max"] = g.bucket_max
                entry["customBucket"] = bucket
            out.append(entry)
        elif isinstance(g, CohortBreakdown):
            name = g.name or ""
            base: dict[str, Any] = {"name": name, "negated": False, "data_group_id": dgid}
            if isinstance(g.cohort, CohortDefinition):
                base["raw_cohort"] = raw_cohort(g.cohort)
            else:
                base.update({"id": g.cohort, "groups": []})
            cohorts = [base] + ([{**base, "negated": True}] if g.include_negated else [])
            labels = [name] + ([f"Not In {name}"] if g.include_negated else [])
            out.append({"value": labels, "resourceType": "events", "profileType": None, "search": "",
                        "dataGroupId": dgid, "propertyType": None, "typeCast": None, "cohorts": cohorts,
                        "isHidden": False})
        else:
            _fail("group_by_type", f"group_by takes property names, GroupBy or CohortBreakdown, not "
                  f"{type(g).__name__}")
    return out


def _measurement(math: str, prop: str | None, per_user: str | None, percentile: float | None,
                 segment_method: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"math": "custom_percentile" if math == "percentile" else math}
    if prop is not None:
        out["property"] = {"name": prop, "resourceType": "events"}
    if per_user is not None:
        out["perUserAggregation"] = per_user
    if percentile is not None:
        out["percentile"] = percentile
    if segment_method is not None:
        out["segmentMethod"] = segment_method
    return out


def _check_math(math: str, prop: str | None, where: str) -> None:
    if math in PROPERTY_MATHS and prop is None:
        _fail("math_requires_property", f"{where}: math {math!r} needs a property (math_property=...)")


# ----------------------------------------------------------------------------------------------------- insights


EventSpec = str | Metric | CohortMetric | Formula


def build_params(events: EventSpec | list[EventSpec], *, from_date: str | None = None,
                 to_date: str | None = None, last: int = 30, unit: str = "day", math: str = "total",
                 math_property: str | None = None, per_user: str | None = None,
                 percentile_value: float | None = None, group_by: GroupSpec = None,
                 where: Filter | list[Filter] | None = None, formula: str | None = None,
                 formula_label: str | None = None, rolling: int | None = None, cumulative: bool = False,
                 mode: str = "timeseries", time_comparison: TimeComparison | None = None,
                 data_group_id: int | None = None) -> dict[str, Any]:
    items = list(events) if isinstance(events, list | tuple) else [events]
    formulas = [i for i in items if isinstance(i, Formula)]
    metrics = [i for i in items if not isinstance(i, Formula)]
    if not metrics:
        _fail("events_required", "events must name at least one event or Metric")
    for m in metrics:
        if not isinstance(m, str | Metric | CohortMetric):
            _fail("events_type", f"events takes event names, Metric, CohortMetric or Formula, not "
                  f"{type(m).__name__}")
        if isinstance(m, str) and not m.strip():
            _fail("event_name", "event names must not be empty")
    if formula is not None:
        formulas.append(Formula(formula, formula_label))
    if formulas and len(metrics) < 2:
        _fail("formula_requires_two_metrics", "a formula needs at least two metrics (A, B, ...)")
    if rolling is not None and cumulative:
        _fail("rolling_and_cumulative", "rolling and cumulative cannot be combined")
    if rolling is not None and rolling < 1:
        _fail("rolling_positive", f"rolling must be positive, not {rolling}")
    if mode not in ("timeseries", "total", "table"):
        _fail("mode", f"mode must be timeseries, total or table, not {mode!r}")
    validate_time(from_date, to_date, last, unit)
    hidden = bool(formulas)
    show: list[dict[str, Any]] = []
    for m in metrics:
        if isinstance(m, CohortMetric):
            show.append({"type": "metric", "behavior": {
                "type": "cohort", "name": m.name or "", "resourceType": "cohorts", "dataGroupId": None,
                "dataset": "$mixpanel", "filtersDeterminer": "all", "filters": [], "id": m.cohort},
                "measurement": {"math": "unique", "property": None, "perUserAggregation": None},
                "isHidden": hidden})
            continue
        if isinstance(m, str):
            _check_math(math, math_property, m)
            behavior: dict[str, Any] = {"type": "event", "name": m, "resourceType": "events",
                                        "filtersDeterminer": "all", "filters": []}
            measurement = _measurement(math, math_property, per_user, percentile_value)
        else:
            _check_math(m.math, m.property, m.event)
            behavior = {"type": "event", "name": m.event, "resourceType": "events",
                        "filtersDeterminer": m.filters_combinator,
                        "filters": [f.entry() for f in m.filters or []]}
            measurement = _measurement(m.math, m.property, m.per_user, m.percentile_value, m.segment_method)
        clause: dict[str, Any] = {"type": "metric", "behavior": behavior, "measurement": measurement}
        if hidden:
            clause["isHidden"] = True
        show.append(clause)
    for f in formulas:
        clause = {"type": "formula", "definition": f.expression, "measurement": {}, "referencedMetrics": []}
        if f.label:
            clause["name"] = f.label
        show.append(clause)
    display: dict[str, Any] = {"chartType": {"timeseries": "line", "total": "bar", "table": "table"}[mode],
                               "analysis": "linear"}
    if rolling is not None:
        display["analysis"] = "rolling"
        display["rollingWindowSize"] = rolling
    elif cumulative:
        display["analysis"] = "cumulative"
    if time_comparison is not None:
        display["timeComparison"] = time_comparison.entry()
    sections: dict[str, Any] = {"show": show, "time": time_section(from_date, to_date, last, unit),
                                "filter": filter_section(where), "group": group_section(group_by, data_group_id)}
    if data_group_id is not None:
        sections["globalDataGroupId"] = str(data_group_id)
    return {"sections": sections, "displayOptions": display}


# ------------------------------------------------------------------------------------------------------ funnels


def build_funnel_params(steps: list[str | FunnelStep], *, conversion_window: int = 14,
                        conversion_window_unit: str = "day", order: str = "loose", from_date: str | None = None,
                        to_date: str | None = None, last: int = 30, unit: str = "day",
                        math: str = "conversion_rate_unique", math_property: str | None = None,
                        group_by: GroupSpec = None,
                        where: Filter | list[Filter] | None = None, exclusions: list[str | Exclusion] | None = None,
                        holding_constant: str | HoldingConstant | list[str | HoldingConstant] | None = None,
                        mode: str = "steps", reentry_mode: str | None = None,
                        time_comparison: TimeComparison | None = None,
                        data_group_id: int | None = None) -> dict[str, Any]:
    items = [FunnelStep(s) if isinstance(s, str) else s for s in steps]
    if len(items) < 2:
        _fail("funnel_min_steps", "a funnel needs at least two steps")
    if conversion_window < 1:
        _fail("conversion_window_positive", f"conversion_window must be positive, not {conversion_window}")
    if order not in ("loose", "any"):
        _fail("funnel_order", f"order must be loose or any, not {order!r}")
    if mode not in ("steps", "trends", "table"):
        _fail("mode", f"mode must be steps, trends or table, not {mode!r}")
    validate_time(from_date, to_date, last, unit)
    behaviors = []
    for step in items:
        entry: dict[str, Any] = {"type": "event", "id": None, "name": step.event,
                                 "filters": [f.entry() for f in step.filters or []],
                                 "filtersDeterminer": step.filters_combinator, "funnelOrder": order}
        if step.label is not None:
            entry["renamed"] = step.label
        if step.order is not None:
            entry["funnelOrder"] = step.order
        behaviors.append(entry)
    excl = [Exclusion(e) if isinstance(e, str) else e for e in exclusions or []]
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


def _assemble(show: dict[str, Any], from_date: str | None, to_date: str | None, last: int, unit: str,
              where: Filter | list[Filter] | None, group_by: GroupSpec, time_comparison: TimeComparison | None,
              data_group_id: int | None, chart: str) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------------- retention

RETENTION_SORTING = {
    "bar": {"colSortAttrs": [], "sortBy": "column"},
    "line": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc",
                                                   "valueField": "averageValue"}]},
    "table": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc", "valueField": "size",
                                                    "viewNLimit": 12}]},
}


def build_retention_params(born_event: str | RetentionEvent, return_event: str | RetentionEvent | None = None, *,
                           retention_unit: str = "week", alignment: str = "birth",
                           bucket_sizes: list[int] | None = None, from_date: str | None = None,
                           to_date: str | None = None, last: int = 30, unit: str = "day",
                           math: str = "retention_rate", group_by: GroupSpec = None,
                           where: Filter | list[Filter] | None = None, mode: str = "curve",
                           unbounded_mode: str | None = None, retention_cumulative: bool = False,
                           time_comparison: TimeComparison | None = None,
                           data_group_id: int | None = None) -> dict[str, Any]:
    born = RetentionEvent(born_event) if isinstance(born_event, str) else born_event
    ret_raw = return_event if return_event is not None else born
    ret = RetentionEvent(ret_raw) if isinstance(ret_raw, str) else ret_raw
    if mode not in ("curve", "trends", "table"):
        _fail("mode", f"mode must be curve, trends or table, not {mode!r}")
    if bucket_sizes is not None and any(b < 1 for b in bucket_sizes):
        _fail("bucket_sizes_positive", "bucket_sizes must be positive")
    validate_time(from_date, to_date, last, unit)

    def event_entry(e: RetentionEvent) -> dict[str, Any]:
        return {"type": "event", "id": None, "name": e.event, "filters": [f.entry() for f in e.filters or []],
                "filtersDeterminer": e.filters_combinator}

    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events", "behaviors": [event_entry(born), event_entry(ret)],
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


# -------------------------------------------------------------------------------------------------------- flows


def build_flow_params(event: str | FlowStep | list[str | FlowStep], *, forward: int = 3, reverse: int = 0,
                      from_date: str | None = None, to_date: str | None = None, last: int = 30,
                      conversion_window: int = 7, conversion_window_unit: str = "day", count_type: str = "unique",
                      cardinality: int = 3, collapse_repeated: bool = False, hidden_events: list[str] | None = None,
                      mode: str = "sankey", where: Filter | list[Filter] | None = None,
                      data_group_id: int | None = None) -> dict[str, Any]:
    raw = event if isinstance(event, list | tuple) else [event]
    steps = [FlowStep(s) if isinstance(s, str) else s for s in raw]
    if not steps:
        _fail("flow_steps_required", "a flow needs at least one step")
    if mode not in ("sankey", "paths", "tree"):
        _fail("flow_mode", f"mode must be sankey, paths or tree, not {mode!r}")
    if any(s.filters for s in steps):
        from mixhouse.errors import NotSupportedError

        raise NotSupportedError("flow-step filters are not supported by this client yet",
                                details={"method": "build_flow_params"})
    validate_time(from_date, to_date, last)
    step_dicts = []
    for s in steps:
        step_dicts.append({"event": s.event, "step_label": s.label or s.event,
                           "forward": s.forward if s.forward is not None else forward,
                           "reverse": s.reverse if s.reverse is not None else reverse,
                           "bool_op": "or" if s.filters_combinator == "any" else "and",
                           "property_filter_params_list": []})
    date_range: dict[str, Any] = (
        {"type": "between", "from_date": from_date, "to_date": to_date}
        if from_date is not None and to_date is not None
        else {"type": "in the last", "from_date": {"unit": "day", "value": last}, "to_date": "$now"})
    params: dict[str, Any] = {
        "steps": step_dicts, "date_range": date_range, "chartType": "top-paths" if mode == "paths" else "sankey",
        "flows_merge_type": "tree" if mode == "tree" else "list" if mode == "paths" else "graph",
        "count_type": count_type, "cardinality_threshold": cardinality, "version": 2,
        "conversion_window": {"unit": conversion_window_unit, "value": conversion_window},
        "anchor_position": 1, "collapse_repeated": collapse_repeated, "show_custom_events": True,
        "hidden_events": hidden_events or [], "exclusions": []}
    if data_group_id is not None:
        params["data_group_id"] = data_group_id
    if where is not None:
        filters = where if isinstance(where, list | tuple) else [where]
        cohorts = [f for f in filters if f._property == "$cohorts"]
        if len(cohorts) != len(filters):
            from mixhouse.errors import NotSupportedError

            raise NotSupportedError("flow property filters (filter_by_event) are not supported by this client yet; "
                                    "Filter.in_cohort / not_in_cohort are", details={"method": "build_flow_params"})
        if len(cohorts) > 1:
            _fail("BB5_FLOW_MULTIPLE_COHORT_FILTERS", "a flow takes a single cohort filter")
        if cohorts:
            f = cohorts[0]
            inner = f._value[0].get("cohort") if isinstance(f._value, list) and f._value and \
                isinstance(f._value[0], dict) else None
            if not isinstance(inner, dict):
                _fail("BB8_COHORT_KEY_MISSING", "the cohort filter has no cohort")
            entry: dict[str, Any] = {"name": inner.get("name", ""), "negated": f._operator == "does not contain"}
            for key in ("id", "raw_cohort"):
                if key in inner:
                    entry[key] = inner[key]
            params["filter_by_cohort"] = entry
    return params


# --------------------------------------------------------------------------------------------------------- users


def _selector_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail("U_FILTER", f"a selector value must be a string or a number, not {value!r}")
    return str(value)


def _selector_prop(name: str) -> str:
    return 'properties["' + name.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def filter_to_selector(f: Filter) -> str:
    """An engage ``where`` selector expression for one filter."""
    prop, op, value = _selector_prop(f._property), f._operator, f._value
    if op in ("equals", "does not equal"):
        if not isinstance(value, list):
            _fail("U_FILTER", f"{op} expects a list of values")
        comparator, joiner = ("==", " or ") if op == "equals" else ("!=", " and ")
        parts = [f"{prop} {comparator} {_selector_value(v)}" for v in value if isinstance(v, str | int | float)]
        if not parts:
            _fail("U_FILTER", f"{op} has no scalar values")
        return f"({joiner.join(parts)})" if len(parts) > 1 and op == "equals" else joiner.join(parts)
    simple = {"contains": "{v} in {p}", "does not contain": "not {v} in {p}", "is greater than": "{p} > {v}",
              "is less than": "{p} < {v}", "is at least": "{p} >= {v}", "is at most": "{p} <= {v}"}
    if op in simple:
        return simple[op].format(p=prop, v=_selector_value(value))
    if op in ("is between", "not between"):
        if not isinstance(value, list) or len(value) != 2:
            _fail("U_FILTER", f"{op} expects two values")
        lo, hi = (_selector_value(v) for v in value)
        return f"{prop} >= {lo} and {prop} <= {hi}" if op == "is between" else f"({prop} < {lo} or {prop} > {hi})"
    named = {"is set": "defined({p})", "is not set": "not defined({p})", "true": "{p} == true",
             "false": "{p} == false"}
    if op in named:
        return named[op].format(p=prop)
    from mixhouse.errors import NotSupportedError

    raise NotSupportedError(f"the {op!r} filter has no engage selector in this client yet",
                            details={"method": "query_user"})


def build_user_params(*, where: Filter | list[Filter] | str | None = None,
                      cohort: int | CohortDefinition | None = None,
                      properties: list[str] | None = None, sort_by: str | None = None,
                      sort_order: str = "descending", search: str | None = None, distinct_id: str | None = None,
                      distinct_ids: list[str] | None = None, group_id: str | None = None,
                      as_of: str | int | None = None, mode: str = "aggregate", aggregate: str = "count",
                      aggregate_property: str | None = None, percentile: float | None = None,
                      include_all_users: bool = False, **_ignored: Any) -> dict[str, Any]:
    """The engage params ``query_user`` sends (profiles mode: ``POST /engage``; aggregate: ``/engage/stats``)."""
    if mode not in ("profiles", "aggregate"):
        _fail("U_MODE", f"mode must be profiles or aggregate, not {mode!r}")
    if sort_order not in ("ascending", "descending"):
        _fail("U_SORT_ORDER", f"sort_order must be ascending or descending, not {sort_order!r}")
    if distinct_id is not None and distinct_ids is not None:
        _fail("U_DISTINCT_IDS", "pass distinct_id or distinct_ids, not both")
    if aggregate not in ("count", "extremes", "percentile", "numeric_summary"):
        _fail("U_AGGREGATE", f"aggregate must be count, extremes, percentile or numeric_summary, not {aggregate!r}")
    if mode == "aggregate" and aggregate != "count" and not aggregate_property:
        _fail("U_AGGREGATE_PROPERTY", f"aggregate {aggregate!r} needs aggregate_property")
    if aggregate == "percentile" and percentile is None:
        _fail("U_PERCENTILE", "aggregate 'percentile' needs percentile")
    params: dict[str, Any] = {}
    cohort_filter: Filter | None = None
    if isinstance(where, str):
        params["where"] = where
    elif where is not None:
        items = [where] if isinstance(where, Filter) else list(where)
        plain = []
        for f in items:
            if not isinstance(f, Filter):
                _fail("U9", f"where must be a Filter, list[Filter], str, or None (got {type(f).__name__})")
            if f._property == "$cohorts" and isinstance(f._value, list) and f._value and \
                    isinstance(f._value[0], dict):
                cohort_filter = f
            else:
                plain.append(f)
        if plain:
            params["where"] = " and ".join(filter_to_selector(f) for f in plain)
    import json

    if isinstance(cohort, CohortDefinition):
        params["filter_by_cohort"] = json.dumps({"raw_cohort": raw_cohort(cohort)})
    elif cohort is not None:
        params["filter_by_cohort"] = json.dumps({"id": cohort})
    elif cohort_filter is not None:
        inner = cohort_filter._value[0].get("cohort") or {}
        if "id" in inner:
            params["filter_by_cohort"] = json.dumps({"id": inner["id"]})
        elif "raw_cohort" in inner:
            params["filter_by_cohort"] = json.dumps({"raw_cohort": inner["raw_cohort"]})
        else:
            _fail("U_COHORT", "Filter.in_cohort() value has no id or raw_cohort")
    if properties is not None:
        params["output_properties"] = json.dumps(properties)
    if sort_by is not None:
        params["sort_key"] = _selector_prop(sort_by)
        params["sort_order"] = sort_order
    if as_of is not None:
        if isinstance(as_of, str):
            import calendar

            params["as_of_timestamp"] = calendar.timegm(date.fromisoformat(as_of).timetuple())
        else:
            params["as_of_timestamp"] = as_of
    if distinct_id is not None:
        params["distinct_id"] = distinct_id
    if distinct_ids is not None:
        params["distinct_ids"] = json.dumps(distinct_ids)
    if group_id is not None:
        params["data_group_id"] = group_id
    if search is not None:
        params["search"] = search
    if "filter_by_cohort" in params:
        params["include_all_users"] = include_all_users
    if mode == "aggregate":
        prop = _selector_prop(aggregate_property or "")
        params["action"] = {"count": "count()", "percentile": f"percentile({prop}, {percentile})"}.get(
            aggregate, f"{aggregate}({prop})")
    return params
