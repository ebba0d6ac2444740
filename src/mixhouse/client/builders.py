"""Typed query builders: the bookmark params the seeds' ``build_*`` methods make, and the facade of the typed query
specs (``from mixhouse.client.builders import Filter`` keeps working).

``build_params`` (insights) lives here; ``build_funnel_params`` and ``build_retention_params`` in
``funnel_retention_params``, ``build_flow_params`` in ``flow_params`` (step filters in ``flow_filters``),
``build_user_params`` in ``user_params``; the shared ``time``/``filter``/``group`` sections in
``bookmark_sections``; the specs in ``query_specs``, ``custom_properties`` and ``cohort_specs``; the refusals in
``spec_validation``. The shapes follow the recorded ``expect.output`` of the wire vectors and every refusal names
the rule code the vectors record (``tests/unit/test_client_builders.py`` checks both).

Insights rules: ``V0_NO_EVENTS``, ``V21_INVALID_EVENT_TYPE``, ``EV1``/``EV2`` (event names),
``V1_MATH_REQUIRES_PROPERTY``, ``V26_PERCENTILE_REQUIRES_VALUE`` and ``V27_HISTOGRAM_REQUIRES_PER_USER`` (collected
together), ``V4_FORMULA_MIN_EVENTS``, ``V5_ROLLING_CUMULATIVE_EXCLUSIVE``, ``V6_ROLLING_POSITIVE``,
``V_INVALID_MODE``, the date rules of ``bookmark_sections.validate_time`` and ``CP*`` for custom properties.
"""

from __future__ import annotations

from typing import Any

from mixhouse.client.bookmark_sections import (
    UNITS,
    GroupSpec,
    WhereSpec,
    filter_entries,
    filter_section,
    group_section,
    time_section,
    validate_time,
)
from mixhouse.client.cohort_specs import CohortCriteria, CohortDefinition, raw_cohort
from mixhouse.client.custom_properties import (
    CustomPropertyRef,
    InlineCustomProperty,
    PropertyInput,
    PropertySpec,
    check_custom_property,
    inline_definition,
)
from mixhouse.client.flow_filters import segfilter_entry
from mixhouse.client.flow_params import build_flow_params
from mixhouse.client.funnel_retention_params import (
    RETENTION_SORTING,
    build_funnel_params,
    build_retention_params,
)
from mixhouse.client.query_specs import (
    FREQUENCY_OPERATORS,
    PROPERTY_MATHS,
    CohortBreakdown,
    CohortMetric,
    Exclusion,
    Filter,
    FlowStep,
    Formula,
    FrequencyBreakdown,
    FrequencyFilter,
    FunnelStep,
    GroupBy,
    HoldingConstant,
    Metric,
    RetentionEvent,
    TimeComparison,
    check_event_name,
)
from mixhouse.client.spec_validation import Problems, _fail
from mixhouse.client.user_params import build_user_params, filter_to_selector

__all__ = [
    "FREQUENCY_OPERATORS",
    "PROPERTY_MATHS",
    "RETENTION_SORTING",
    "UNITS",
    "CohortBreakdown",
    "CohortCriteria",
    "CohortDefinition",
    "CohortMetric",
    "CustomPropertyRef",
    "EventSpec",
    "Exclusion",
    "Filter",
    "FlowStep",
    "Formula",
    "FrequencyBreakdown",
    "FrequencyFilter",
    "FunnelStep",
    "GroupBy",
    "GroupSpec",
    "HoldingConstant",
    "InlineCustomProperty",
    "Metric",
    "PropertyInput",
    "PropertySpec",
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
    "segfilter_entry",
    "time_section",
    "validate_time",
]

EventSpec = str | Metric | CohortMetric | Formula


def _measurement(math: str, prop: PropertySpec | None, per_user: str | None, percentile: float | None,
                 segment_method: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"math": "custom_percentile" if math == "percentile" else math}
    if isinstance(prop, CustomPropertyRef):
        out["property"] = {"customPropertyId": prop.id, "name": "", "resourceType": "events"}
    elif isinstance(prop, InlineCustomProperty):
        out["property"] = {"customProperty": inline_definition(prop, "number"), "dataGroupId": None,
                           "dataset": "$mixpanel", "name": "", "resourceType": "events"}
    elif prop is not None:
        out["property"] = {"name": prop, "resourceType": "events"}
    if per_user is not None:
        out["perUserAggregation"] = per_user
    if percentile is not None:
        out["percentile"] = percentile
    if segment_method is not None:
        out["segmentMethod"] = segment_method
    return out


def _check_top_math(problems: Problems, math: str, prop: str | None, per_user: str | None,
                    percentile: float | None) -> None:
    """The rules of the top-level ``math`` (it applies to the plain event names)."""
    if math in PROPERTY_MATHS and prop is None:
        problems.add("V1_MATH_REQUIRES_PROPERTY", f"math {math!r} needs a property (math_property=...)", "math")
    if math in ("percentile", "custom_percentile") and percentile is None:
        problems.add("V26_PERCENTILE_REQUIRES_VALUE", f"math {math!r} needs percentile_value", "percentile_value")
    if math == "histogram" and per_user is None:
        problems.add("V27_HISTOGRAM_REQUIRES_PER_USER", "math 'histogram' needs per_user", "per_user")


def _show_clause(n: int, m: str | Metric | CohortMetric, hidden: bool, math: str, math_property: str | None,
                 per_user: str | None, percentile_value: float | None) -> dict[str, Any]:
    if isinstance(m, CohortMetric):
        return {"type": "metric", "behavior": {
            "type": "cohort", "name": m.name or "", "resourceType": "cohorts", "dataGroupId": None,
            "dataset": "$mixpanel", "filtersDeterminer": "all", "filters": [], "id": m.cohort},
            "measurement": {"math": "unique", "property": None, "perUserAggregation": None}, "isHidden": hidden}
    if isinstance(m, str):
        behavior: dict[str, Any] = {"type": "event", "name": m, "resourceType": "events",
                                    "filtersDeterminer": "all", "filters": []}
        measurement = _measurement(math, math_property, per_user, percentile_value)
    else:
        if m.math == "histogram" and m.per_user is None:
            _fail("V27_HISTOGRAM_REQUIRES_PER_USER", "Metric math 'histogram' needs per_user", f"events[{n}]")
        check_custom_property(m.property, f"events[{n}]")
        behavior = {"type": "event", "name": m.event, "resourceType": "events",
                    "filtersDeterminer": m.filters_combinator,
                    "filters": filter_entries(m.filters, f"events[{n}].filters")}
        measurement = _measurement(m.math, m.property, m.per_user, m.percentile_value, m.segment_method)
    clause: dict[str, Any] = {"type": "metric", "behavior": behavior, "measurement": measurement}
    if hidden:
        clause["isHidden"] = True
    return clause


def build_params(events: EventSpec | list[EventSpec], *, from_date: str | None = None,
                 to_date: str | None = None, last: int = 30, unit: str = "day", math: str = "total",
                 math_property: str | None = None, per_user: str | None = None,
                 percentile_value: float | None = None, group_by: GroupSpec = None,
                 where: WhereSpec = None, formula: str | None = None,
                 formula_label: str | None = None, rolling: int | None = None, cumulative: bool = False,
                 mode: str = "timeseries", time_comparison: TimeComparison | None = None,
                 data_group_id: int | str | None = None) -> dict[str, Any]:
    """Insights bookmark params: one show clause per event, Metric or CohortMetric, then the formulas."""
    items = list(events) if isinstance(events, list | tuple) else [events]
    formulas = [i for i in items if isinstance(i, Formula)]
    metrics = [i for i in items if not isinstance(i, Formula)]
    if not metrics:
        _fail("V0_NO_EVENTS", "events must name at least one event or Metric", "events")
    for n, m in enumerate(metrics):
        if not isinstance(m, str | Metric | CohortMetric):
            _fail("V21_INVALID_EVENT_TYPE", f"events takes event names, Metric, CohortMetric or Formula, not "
                  f"{type(m).__name__}", f"events[{n}]")
        if isinstance(m, str):
            check_event_name(m, "an event name", f"events[{n}]")
    if any(isinstance(m, str) for m in metrics):
        problems = Problems()
        _check_top_math(problems, math, math_property, per_user, percentile_value)
        problems.raise_if_any()
    if formula is not None:
        formulas.append(Formula(formula, formula_label))
    if formulas and len(metrics) < 2:
        _fail("V4_FORMULA_MIN_EVENTS", "a formula needs at least two metrics (A, B, ...)", "formula")
    if rolling is not None and cumulative:
        _fail("V5_ROLLING_CUMULATIVE_EXCLUSIVE", "rolling and cumulative cannot be combined", "rolling")
    if rolling is not None and rolling < 1:
        _fail("V6_ROLLING_POSITIVE", f"rolling must be positive, not {rolling}", "rolling")
    if mode not in ("timeseries", "total", "table"):
        _fail("V_INVALID_MODE", f"mode must be timeseries, total or table, not {mode!r}", "mode")
    validate_time(from_date, to_date, last, unit)
    hidden = bool(formulas)
    show = [_show_clause(n, m, hidden, math, math_property, per_user, percentile_value)
            for n, m in enumerate(metrics)]
    for f in formulas:
        clause: dict[str, Any] = {"type": "formula", "definition": f.expression, "measurement": {},
                                  "referencedMetrics": []}
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
