"""Segfilters (``{"property": {"name", "source", "type"}, "filter": {"operator", "operand"}}``), the legacy filter
shape flow steps carry in ``property_filter_params_list``, read as bookmark filters (``query/bookmark_filters.py``).

The operators are the ones the client library writes for each property type: strings ``==``, ``!=``, ``in``
(contains), ``not in``, ``set``, ``not set``; numbers ``>``, ``<``, ``==``, ``!=``, ``>=``, ``<=``, ``><`` (between),
``!><``, ``is set``, ``is not set``; booleans an ``operand`` of ``"true"``/``"false"``. Date filters and profile
properties are refused by name. A property object holding a custom property (``customProperty``, or a
``customPropertyId`` its caller resolves; ``services/flows_custom_properties.py``) filters like a property holding
its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.custom_properties import CUSTOM_PROPERTY_KEYS, has_custom_property

_STRING_OPS = {"==": "equals", "!=": "does not equal", "in": "contains", "not in": "does not contain",
               "set": "is set", "not set": "is not set"}
_NUMBER_OPS = {">": "is greater than", "<": "is less than", "==": "is equal to", "!=": "does not equal",
               ">=": "is at least", "<=": "is at most", "><": "is between", "!><": "not between",
               "is set": "is set", "is not set": "is not set"}


def _as_bookmark_filter(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("property"), dict):
        raise ValidationError("a step filter needs a property object")
    prop = entry["property"]
    if prop.get("source", "properties") not in ("properties", "events", "event"):
        raise ValidationError(f"step filters on {prop.get('source')} properties are not supported yet")
    kind = prop.get("type") or entry.get("type") or "string"
    raw = entry.get("filter")
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {}
    operator, operand = spec.get("operator"), spec.get("operand")
    base = {"value": prop.get("name"), "resourceType": "events", "filterType": kind}
    if has_custom_property(prop):  # a saved custom property, resolved to its definition (decision 0040)
        base = {key: prop[key] for key in CUSTOM_PROPERTY_KEYS if key in prop} | {
            "resourceType": "events", "filterType": kind}
    if kind == "boolean":
        if operand not in ("true", "false"):
            raise ValidationError("a boolean step filter's operand must be true or false")
        return {**base, "filterOperator": operand}
    table = {"string": _STRING_OPS, "number": _NUMBER_OPS}.get(kind)
    if table is None:
        raise ValidationError(f"step filters on {kind} properties are not supported yet")
    if operator not in table:
        raise ValidationError(f"step filter operator {operator!r} is not supported for {kind} properties")
    if kind == "number" and operator == "!=":
        operand = [operand] if not isinstance(operand, list) else operand
    return {**base, "filterOperator": table[operator], "filterValue": operand}


def segfilters_expr(entries: Sequence[Any], bool_op: Any = "and") -> Expr | None:
    """The step's filters joined by ``and``/``or`` (``bool_op``); ``None`` when there are none."""
    if bool_op not in ("and", "or"):
        raise ValidationError("bool_op must be and or or")
    return filters_expr([_as_bookmark_filter(entry) for entry in entries], "all" if bool_op == "and" else "any",
                        custom_properties=True)
