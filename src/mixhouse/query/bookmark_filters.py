"""Bookmark-params filters (``{"value", "resourceType", "filterOperator", "filterType", "filterValue"}``, the shape
the client library's ``Filter`` builders send) as expression trees, so they compile like any ``where``: every value
a bound parameter.

Supported operators: ``equals``/``does not equal`` (any of the values), ``contains``/``does not contain``,
``starts with``/``ends with`` (case-sensitive, like ``contains``; a value that is not a string never matches),
``is set``/``is not set``, ``true``/``false``, the number comparisons (``is equal to``, ``is greater than``, ...,
``is between``/``not between``). Others are refused by name rather than guessed at. Where the caller allows it,
the property may be an inline custom property (``query/custom_properties.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Binary, Call, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.query.custom_properties import (
    CUSTOM_PROPERTY_KEYS,
    custom_property_definition,
    custom_property_expr,
    has_custom_property,
)
from mixhouse.query.datetime_filters import datetime_filter_expr, is_datetime_filter

_NUMBER_OPS = {
    "is equal to": "==",
    "is greater than": ">",
    "is greater than or equal to": ">=",
    "is at least": ">=",
    "is less than": "<",
    "is less than or equal to": "<=",
    "is at most": "<=",
}


def _literal(value: Any) -> Literal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"filter values must be strings or numbers, not {value!r}")
    return Literal(float(value) if isinstance(value, int | float) else value)


def _values(raw: Any) -> list[Any]:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ValidationError("filterValue must not be empty")
    return values


def _number(value: Any) -> Literal:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return Literal(float(value))
        except (TypeError, ValueError):
            raise ValidationError(f"filterValue must be a number, not {value!r}") from None
    return Literal(float(value))


def filter_expr(spec: Any, *, custom_properties: bool = False, timezone: str | None = None) -> Expr:
    """One filter as an expression over the event's properties; with ``custom_properties``, the property may be an
    inline custom property (``query/custom_properties.py``), filtered like a property holding its value. Datetime
    filters (``query/datetime_filters.py``) need the project's ``timezone``; without one they are refused."""
    if not isinstance(spec, dict):
        raise ValidationError("a filter must be an object")
    if spec.get("resourceType", "events") not in ("events", "event"):
        raise ValidationError(f"filters on {spec.get('resourceType')} properties are not supported here yet")
    prop: Expr
    if custom_properties and has_custom_property(spec):
        prop = custom_property_expr(spec)
    else:
        name = spec.get("value")
        if not isinstance(name, str) or not name:
            raise ValidationError("a filter needs the property name in value")
        prop = Property(name)
    op = spec.get("filterOperator")
    raw = spec.get("filterValue")
    if is_datetime_filter(spec):
        if timezone is None:
            raise ValidationError(f"datetime filters ({op!r}) are not supported here yet")
        return datetime_filter_expr(prop, spec, timezone)
    if op in ("is set", "is not set"):
        defined = Call("defined", (prop,))
        return defined if op == "is set" else Unary("not", defined)
    if op in ("true", "false"):
        return Binary("==", prop, Literal(op == "true"))
    if op in ("equals", "does not equal"):
        items = tuple(_literal(value) for value in _values(raw))
        test: Expr = Binary("==", prop, items[0]) if len(items) == 1 else Binary("in", prop, ListLiteral(items))
        return test if op == "equals" else Unary("not", test)
    if op in ("contains", "does not contain"):
        values = _values(raw)
        found: Expr = Binary("in", _literal(values[0]), prop)
        for value in values[1:]:
            found = Binary("or", found, Binary("in", _literal(value), prop))
        return found if op == "contains" else Unary("not", found)
    if op in ("starts with", "ends with"):
        value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
        if not isinstance(value, str):
            raise ValidationError(f"{op} needs a string filterValue, not {raw!r}")
        return Call("has_prefix" if op == "starts with" else "has_suffix", (prop, Literal(value)))
    if op in _NUMBER_OPS:
        value = raw[0] if isinstance(raw, list) and raw else raw
        return Binary(_NUMBER_OPS[op], prop, _number(value))
    if op in ("is between", "between", "not between"):
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValidationError(f"{op} needs filterValue [low, high]")
        inside = Binary("and", Binary(">=", prop, _number(raw[0])), Binary("<=", prop, _number(raw[1])))
        return Unary("not", inside) if op == "not between" else inside
    raise ValidationError(f"filter operator {op!r} is not supported yet")


def filters_expr(specs: Sequence[Any], determiner: str = "all", *, custom_properties: bool = False,
                 timezone: str | None = None) -> Expr | None:
    """The filters joined by ``and`` (``all``) or ``or`` (``any``); ``None`` when there are none."""
    if determiner not in ("all", "any"):
        raise ValidationError("filtersDeterminer must be all or any")
    joined: Expr | None = None
    for spec in specs:
        expr = filter_expr(spec, custom_properties=custom_properties, timezone=timezone)
        joined = expr if joined is None else Binary("and" if determiner == "all" else "or", joined, expr)
    return joined


#: Where bookmark params name a data group (group analytics: count groups, not users).
DATA_GROUP_KEYS = ("globalDataGroupId", "dataGroupId", "data_group_id")


def refuse_unevaluated(params: Any, evaluated: Collection[int] = (), *, data_groups: bool = False) -> None:
    """400 naming the feature when bookmark params use a custom property (``customPropertyId`` or an inline
    ``customProperty``, what the client library writes in place of a property name) or a data group (a non-null
    ``globalDataGroupId``, ``dataGroupId`` or ``data_group_id``: group analytics) where it is not evaluated:
    reading the params without them would answer something else (a property without its name, users instead of
    groups). ``evaluated``: the ``id()`` of the objects whose inline custom property the caller does evaluate
    (Insights event metrics, decision 0040); a saved one (``customPropertyId``) is refused everywhere.
    ``data_groups``: the caller reads data groups itself (Insights event and funnel metrics, decision 0043)."""
    pending = [params]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if has_custom_property(node):
                if id(node) in evaluated:
                    custom_property_definition(node)  # refuses customPropertyId by name
                else:
                    key = next(key for key in CUSTOM_PROPERTY_KEYS if node.get(key) is not None)
                    raise ValidationError(f"custom properties ({key}) are not supported by this server here yet; "
                                          "Insights event metrics take inline ones (customProperty)")
            for key in () if data_groups else DATA_GROUP_KEYS:
                if node.get(key) not in (None, ""):
                    raise ValidationError(f"group analytics ({key}) in these reports is not supported by this server "
                                          "yet; engage and cohorts take data_group_id")
            pending.extend(value for key, value in node.items() if key not in CUSTOM_PROPERTY_KEYS)
        elif isinstance(node, list):
            pending.extend(node)
