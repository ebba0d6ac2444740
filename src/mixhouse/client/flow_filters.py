"""The filters of a flow report: ``segfilter_entry`` (a flow step's filter, the legacy segfilter shape of
``property_filter_params_list``), ``flow_property_filter`` (``where`` property filters → ``filter_by_event``) and
``flow_cohort_filter`` (``where=Filter.in_cohort(...)`` → ``filter_by_cohort``).

Segfilter operators, as the client library writes them: strings ``==`` ``!=`` ``in`` (contains) ``not in`` ``set``
``not set`` (the operand a list, a string, or ``""``); numbers ``==`` ``!=`` ``>`` ``<`` ``>=`` ``<=`` ``><``
(between) ``!><`` ``is set`` ``is not set`` with the operand as text; booleans just ``{"operand": "true"|"false"}``;
datetimes ``==`` (was on) ``!=`` (was not on) ``>`` (was before) ``<`` (was since) ``><`` (was between) on
``MM/DD/YYYY`` dates, and ``was in the`` / ``was not in the`` N units as ``{"operand": N, "operator": ">", "unit":
"days"}`` (both the same: that is the recorded wire shape; a Mixhouse server refuses those relative ones by name).
A saved custom property is ``{"name": {"id": ID}}``; inline custom properties have no segfilter form (refused).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mixhouse.client.custom_properties import CustomPropertyRef, InlineCustomProperty, check_custom_property
from mixhouse.client.query_specs import Filter
from mixhouse.client.spec_validation import _fail

_STRING = {"equals": "==", "does not equal": "!=", "contains": "in", "does not contain": "not in",
           "is set": "set", "is not set": "not set"}
_NUMBER = {"equals": "==", "is equal to": "==", "does not equal": "!=", "is greater than": ">",
           "is less than": "<", "is at least": ">=", "is at most": "<=", "is between": "><", "not between": "!><",
           "is set": "is set", "is not set": "is not set"}
_DATETIME = {"was on": "==", "was not on": "!=", "was before": ">", "was since": "<", "was between": "><"}
_RELATIVE = ("was in the", "was not in the")


def _us_date(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%m/%d/%Y")
    except ValueError:
        _fail("SG3_UNKNOWN_DATETIME_OPERATOR", f"a datetime step filter takes YYYY-MM-DD dates, not {value!r}")


def _number_text(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def _segfilter_spec(f: Filter) -> dict[str, Any]:
    op, value, kind = f._operator, f._value, f._property_type
    if kind == "string":
        if op not in _STRING:
            _fail("SG1_UNKNOWN_STRING_OPERATOR", f"no step filter for the string operator {op!r}")
        return {"operand": "" if op in ("is set", "is not set") else value, "operator": _STRING[op]}
    if kind == "number":
        if op not in _NUMBER:
            _fail("SG2_UNKNOWN_NUMBER_OPERATOR", f"no step filter for the number operator {op!r}")
        return {"operand": "" if op in ("is set", "is not set") else _number_text(value), "operator": _NUMBER[op]}
    if kind == "boolean":
        return {"operand": "true" if op == "true" else "false"}
    if kind == "datetime":
        if op in _RELATIVE:
            return {"operand": value, "operator": ">", "unit": f"{f._date_unit or 'day'}s"}
        if op not in _DATETIME:
            _fail("SG3_UNKNOWN_DATETIME_OPERATOR", f"no step filter for the datetime operator {op!r}")
        operand = [_us_date(v) for v in value] if isinstance(value, list) else _us_date(value)
        return {"operand": operand, "operator": _DATETIME[op]}
    _fail("SG4_UNSUPPORTED_PROPERTY_TYPE", f"step filters take string, number, boolean or datetime properties, "
          f"not {kind!r}")


def segfilter_entry(f: Filter) -> dict[str, Any]:
    """One flow-step filter in the segfilter shape."""
    if isinstance(f._property, InlineCustomProperty):
        _fail("BB3_FLOW_PROPERTY_FILTER_TYPE", "flow step filters take property names or saved custom properties "
              "(CustomPropertyRef), not an InlineCustomProperty")
    name: Any = {"id": f._property.id} if isinstance(f._property, CustomPropertyRef) else f._property
    source = "user" if f._resource_type in ("people", "user") else "properties"
    return {"filter": _segfilter_spec(f), "property": {"name": name, "source": source, "type": f._property_type},
            "selected_property_type": f._property_type, "type": f._property_type}


def step_filters(filters: list[Filter] | None, path: str) -> list[dict[str, Any]]:
    out = []
    for n, f in enumerate(filters or []):
        if not isinstance(f, Filter):
            _fail("B14_INVALID_FILTER_TYPE", f"{path} takes Filter objects, not {type(f).__name__}", f"{path}[{n}]")
        check_custom_property(f._property, f"{path}[{n}]")
        out.append(segfilter_entry(f))
    return out


def is_cohort_filter(f: Filter) -> bool:
    return f._property == "$cohorts"


def flow_property_filter(filters: list[Filter]) -> dict[str, Any]:
    """``filter_by_event``: the report's property filters, all of them (``and``)."""
    if not filters:
        _fail("BB2_FLOW_PROPERTY_FILTER_EMPTY", "a flow property filter needs at least one filter", "where")
    children = []
    for f in filters:
        if not isinstance(f._property, str):
            _fail("BB3_FLOW_PROPERTY_FILTER_TYPE", "flow property filters take property names, not custom "
                  "properties", "where")
        children.append({"filterOperator": f._operator, "filterType": f._property_type, "filterValue": f._value,
                         "propertyName": f._property, "resourceType": f._resource_type})
    return {"children": children, "operator": "and"}


def flow_cohort_filter(filters: list[Filter]) -> dict[str, Any]:
    """``filter_by_cohort``: the one ``Filter.in_cohort`` / ``not_in_cohort`` of the report."""
    if any(not is_cohort_filter(f) for f in filters):
        _fail("BB4_FLOW_COHORT_FILTER_TYPE", "filter_by_cohort takes Filter.in_cohort / not_in_cohort only", "where")
    if len(filters) > 1:
        _fail("BB5_FLOW_MULTIPLE_COHORT_FILTERS", "a flow takes a single cohort filter", "where")
    f = filters[0]
    if not isinstance(f._value, list) or not f._value:
        _fail("BB6_COHORT_VALUE_NOT_LIST", "the cohort filter's value must be a non-empty list", "where")
    if not isinstance(f._value[0], dict):
        _fail("BB7_COHORT_VALUE_NOT_DICT", "the cohort filter's value must hold a dict", "where")
    inner = f._value[0].get("cohort")
    if not isinstance(inner, dict):
        _fail("BB8_COHORT_KEY_MISSING", "the cohort filter has no cohort", "where")
    entry: dict[str, Any] = {"name": inner.get("name", ""), "negated": f._operator == "does not contain"}
    for key in ("id", "raw_cohort"):
        if key in inner:
            entry[key] = inner[key]
    return entry
