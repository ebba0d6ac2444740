"""The filters of flow params as expressions: a step's segfilters (``property_filter_params_list``, datetime ones
included) and the flow's ``filter_by_event``; profile properties (``"source": "user"``, ``resourceType: people``)
become ``user[...]`` reads.

Datetime step filters, in the shape the client library writes them (``MM/DD/YYYY`` days in the project's
timezone): ``==`` was on the day, ``!=`` was not on it (a missing value is "not on"), ``>`` was before it (the client's
"was before"), ``<`` was on or after it ("was since"), ``><`` was between two days (both included). ``$time`` is the
event's time; other properties are read with ``datetime(...)``. Relative ones (``{"operand": N, "unit": "days"}``)
are refused: the client writes "was in the last N" and "was not in the last N" the same way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Binary, Call, DatetimeLiteral, Expr, Property, Unary, children
from mixhouse.query.bookmark_filters import filter_expr
from mixhouse.query.segfilters import segfilters_expr

PROFILE_RESOURCES = ("people", "user")


def reads_user(expr: Expr) -> bool:
    """Whether ``expr`` reads the user's profile."""
    return (isinstance(expr, Property) and expr.source == "user") or any(map(reads_user, children(expr)))


def on_profiles(expr: Expr) -> Expr:
    """``expr`` with every ``properties[...]`` read from the user's profile instead (``user[...]``)."""
    if isinstance(expr, Property):
        return replace(expr, source="user")
    if isinstance(expr, Unary):
        return replace(expr, operand=on_profiles(expr.operand))
    if isinstance(expr, Binary):
        return replace(expr, left=on_profiles(expr.left), right=on_profiles(expr.right))
    if isinstance(expr, Call):
        return replace(expr, args=tuple(map(on_profiles, expr.args)))
    return expr


def _day(value: Any) -> date:
    for form in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(str(value), form).date()
        except ValueError:
            continue
    raise ValidationError(f"a datetime step filter takes MM/DD/YYYY days, not {value!r}")


def _datetime_filter(name: Any, spec: dict[str, Any], timezone: str) -> Expr:
    if not isinstance(name, str) or not name:
        raise ValidationError("a datetime step filter needs a property name")
    if spec.get("unit") is not None:
        raise ValidationError("relative datetime step filters (was in the last / was not in the last) are not "
                              "supported: both reach the server as the same filter")
    operator, operand = spec.get("operator"), spec.get("operand")
    value: Expr = Property("time", "event") if name == "$time" else Call("datetime", (Property(name),))

    def at(ms: int) -> DatetimeLiteral:
        return DatetimeLiteral(ms, datetime.fromtimestamp(ms / 1000, UTC).strftime('"%Y-%m-%dT%H:%M:%S"'))

    if operator == "><":
        if not isinstance(operand, list) or len(operand) != 2:
            raise ValidationError("a between datetime step filter takes [from, to] days")
        start, _ = DateRange(_day(operand[0]), _day(operand[0])).bounds_ms(timezone)
        _, end = DateRange(_day(operand[1]), _day(operand[1])).bounds_ms(timezone)
        return Binary("and", Binary(">=", value, at(start)), Binary("<", value, at(end)))
    start, end = DateRange(_day(operand), _day(operand)).bounds_ms(timezone)
    on_day = Binary("and", Binary(">=", value, at(start)), Binary("<", value, at(end)))
    tests: dict[Any, Expr] = {"==": on_day, "!=": Unary("not", on_day), ">": Binary("<", value, at(start)),
                              "<": Binary(">=", value, at(start))}
    if operator not in tests:
        raise ValidationError(f"datetime step filter operator {operator!r} is not supported")
    return tests[operator]


def step_filter(entries: list[Any], bool_op: Any, timezone: str) -> Expr | None:
    """A step's segfilters joined by ``bool_op``; ``"source": "user"`` ones read the user's profile."""
    if bool_op not in ("and", "or"):
        raise ValidationError("bool_op must be and or or")
    joined: Expr | None = None
    for entry in entries:
        prop = entry.get("property") if isinstance(entry, dict) else None
        on_profile = False
        if isinstance(prop, dict) and prop.get("source") in PROFILE_RESOURCES:
            on_profile, entry = True, {**entry, "property": {**prop, "source": "properties"}}
        kind = (prop.get("type") or entry.get("type")) if isinstance(prop, dict) else None
        if kind == "datetime":
            raw = entry.get("filter")
            test: Expr | None = _datetime_filter(prop.get("name") if isinstance(prop, dict) else None,
                                                 raw if isinstance(raw, dict) else {}, timezone)
        else:
            test = segfilters_expr([entry], bool_op)
        if test is None:
            continue
        test = on_profiles(test) if on_profile else test
        joined = test if joined is None else Binary(bool_op, joined, test)
    return joined


def event_filter(spec: Any) -> Expr | None:
    """``filter_by_event``: ``{"operator": "and"|"or", "children": [{"propertyName", "filterOperator",
    "filterType", "filterValue", "resourceType"}]}`` as one expression over the event's properties (``resourceType``
    ``people``: its user's profile properties)."""
    if not spec:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("children", []), list):
        raise ValidationError("filter_by_event must be {\"operator\", \"children\": [...]}")
    operator = spec.get("operator", "and")
    if operator not in ("and", "or"):
        raise ValidationError("filter_by_event operator must be and or or")
    joined: Expr | None = None
    for child in spec.get("children") or []:
        if not isinstance(child, dict):
            raise ValidationError("a filter_by_event child must be an object")
        resource = child.get("resourceType", "events")
        if resource not in ("events", "event", *PROFILE_RESOURCES):
            raise ValidationError(f"filter_by_event on {resource} properties is not supported")
        test = filter_expr({**child, "value": child.get("propertyName") or child.get("value"),
                            "resourceType": "events"})
        test = on_profiles(test) if resource in PROFILE_RESOURCES else test
        joined = test if joined is None else Binary(operator, joined, test)
    return joined
