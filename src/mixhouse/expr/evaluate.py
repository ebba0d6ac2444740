"""Plain-Python evaluator: the reference semantics of the expression language (spec §4.14).

Semantic choices where the spec is silent (the SQL compiler implements exactly the same):

* ``undefined == undefined`` and ``null == null`` are true; ``==`` across types (null vs undefined, number vs
  datetime, …) is false. Lists and objects are equal when their canonical JSON texts are equal (``values.
  canonical_json``, ClickHouse's normalisation: ``1`` equals ``1.0``, key order matters, and inside a container
  ``-0.0`` differs from ``0``). Numbers are float64 everywhere; JSON integers outside the 64-bit range are read by
  ClickHouse as strings, so they are not supported.
* ``properties["list"] == "x"`` is plain equality (false), not Mixpanel's "any item" rule; use ``"x" in
  properties["list"]`` for membership. ``x in list`` compares ``x`` with each item using ``==``; an undefined
  left side gives undefined. ``in`` on strings is a case-sensitive substring test.
* ``and``/``or`` read a non-boolean operand (possible only for dynamically typed values; constant misuse is a parse
  error) as false, like undefined. ``x not in y`` is ``not (x in y)``.
* ``defined(null)`` is true (the property is set, to null).
* ``%`` is ``a - trunc(a / b) * b`` in float64 (dividend's sign); ``/ 0`` and ``% 0`` are undefined.
* ``round`` rounds half up (``floor(x + ½)`` computed exactly, as JavaScript's ``Math.round``).
* ``number("…")`` accepts only plain decimals (``-1.5e3``, ``.5``, ``5.``), no spaces; overflow is undefined.
  ``number(datetime)`` is milliseconds since the epoch. ``number(true)`` is 1.
* ``string(number)`` is JavaScript's ``Number#toString``; ``string(datetime)`` is ``YYYY-MM-DDTHH:MM:SS[.mmm]``;
  ``string(list|object)`` is undefined.
* ``datetime(number)`` reads seconds, or milliseconds when ``|n| ≥ 1e11``; ``datetime(string)`` accepts
  ``YYYY-MM-DD[(T| )HH:MM:SS[.f…][Z]]`` as UTC. Datetimes outside 1900–2299 are undefined. A *literal* string
  argument may also be a relative date (``"now"``, ``"today"``, ``"-7d"``, ``"today - 30d"``;
  ``mixhouse.expr.relative_dates``), resolved once when the expression is parsed.
* ``boolean(x)`` is false for ``"false"``, ``""``, ``0``, null, undefined and ``false``; true otherwise.
* ``event["time"|"$time"]`` is the event time (datetime), ``event["name"|"event"|"$event"]`` its name,
  ``event["distinct_id"|"$distinct_id"]`` its distinct id; any other ``event["x"]`` means ``properties["x"]``.
  ``user["x"]`` reads the record's user profile (undefined when there is none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mixhouse.expr.ast import Binary, Call, DatetimeLiteral, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.expr.parser import parse
from mixhouse.expr.values import (
    UNDEFINED,
    DateTime,
    T,
    Value,
    contains,
    datetime_from_number,
    format_datetime,
    format_number,
    from_json,
    parse_datetime,
    parse_number,
    type_of,
    values_equal,
)


@dataclass(frozen=True)
class Record:
    """What an expression is evaluated against: an event (or, with ``properties`` = profile properties, a profile)."""

    event: str = ""
    time_ms: int = 0
    distinct_id: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)
    user: Mapping[str, Any] | None = None


def evaluate(expr: Expr | str, record: Record) -> Value:
    """The value of ``expr`` for ``record`` (numbers come back as floats, missing values as ``UNDEFINED``)."""
    if isinstance(expr, str):
        expr = parse(expr)
    return _eval(expr, record)


def keeps(expr: Expr | str, record: Record) -> bool:
    """``where`` semantics: keep the record iff the expression is boolean ``true``."""
    return evaluate(expr, record) is True


def _eval(expr: Expr, record: Record) -> Value:
    if isinstance(expr, Property):
        return _property(expr, record)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, ListLiteral):
        return [item.value for item in expr.items]
    if isinstance(expr, DatetimeLiteral):
        return DateTime(expr.ms)
    if isinstance(expr, Unary):
        return _unary(expr.op, _eval(expr.operand, record))
    if isinstance(expr, Binary):
        return _binary(expr, record)
    if isinstance(expr, Call):
        args = [_eval(arg, record) for arg in expr.args]
        return _FUNCTIONS[expr.name](*args)
    raise TypeError(f"not an expression: {expr!r}")


def _property(expr: Property, record: Record) -> Value:
    if expr.source == "event":
        if expr.name == "time":
            return DateTime(int(record.time_ms))
        return record.event if expr.name == "name" else record.distinct_id
    props = record.user if expr.source == "user" else record.properties
    if props is None or expr.name not in props:
        return UNDEFINED
    return from_json(props[expr.name])


def _unary(op: str, value: Value) -> Value:
    if op == "not":
        if value is UNDEFINED:
            return True
        return (not value) if isinstance(value, bool) else UNDEFINED
    return -value if type_of(value) is T.NUMBER else UNDEFINED


def _truthy(value: Value) -> bool:
    return value is True


def _binary(expr: Binary, record: Record) -> Value:
    op = expr.op
    left = _eval(expr.left, record)
    if op == "and":
        return _truthy(left) and _truthy(_eval(expr.right, record))
    if op == "or":
        return _truthy(left) or _truthy(_eval(expr.right, record))
    right = _eval(expr.right, record)
    if op == "==":
        return values_equal(left, right)
    if op == "!=":
        return not values_equal(left, right)
    if op == "in":
        return _in(left, right)
    if op == "not in":
        return _unary("not", _in(left, right))
    lt, rt = type_of(left), type_of(right)
    if op in _COMPARE:
        if lt is not rt or lt not in (T.NUMBER, T.STRING, T.DATETIME):
            return UNDEFINED
        return _COMPARE[op](left, right)
    if op == "+" and lt is rt is T.STRING:
        return left + right
    if lt is not T.NUMBER or rt is not T.NUMBER:
        return UNDEFINED
    return _arithmetic(op, left, right)


_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
}


def _in(left: Value, right: Value) -> Value:
    lt, rt = type_of(left), type_of(right)
    if lt is T.STRING and rt is T.STRING:
        return left in right
    if rt is T.LIST and lt is not T.UNDEFINED:
        return contains(right, left)
    return UNDEFINED


def _trunc(x: float) -> float:
    return float(math.trunc(x)) if math.isfinite(x) else x


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


def _round(x: float) -> float:
    if not math.isfinite(x):
        return x
    down = float(math.floor(x))
    return down + (1.0 if x - down >= 0.5 else 0.0)


def _arithmetic(op: str, a: float, b: float) -> Value:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return UNDEFINED
    if op == "/":
        return a / b
    return a - _trunc(a / b) * b  # "%"


def _numeric(fn: Callable[[float], float]) -> Callable[[Value], Value]:
    def apply(value: Value) -> Value:
        return fn(value) if type_of(value) is T.NUMBER else UNDEFINED

    return apply


def _to_number(value: Value) -> Value:
    kind = type_of(value)
    if kind is T.NUMBER:
        return value
    if kind is T.BOOLEAN:
        return 1.0 if value else 0.0
    if kind is T.STRING:
        return parse_number(value)
    if kind is T.DATETIME:
        return float(value.ms)
    return UNDEFINED


def _to_string(value: Value) -> Value:
    kind = type_of(value)
    if kind in (T.STRING, T.NULL):
        return value
    if kind is T.NUMBER:
        return format_number(value)
    if kind is T.BOOLEAN:
        return "true" if value else "false"
    if kind is T.DATETIME:
        return format_datetime(value.ms)
    return UNDEFINED


def _to_boolean(value: Value) -> Value:
    kind = type_of(value)
    if kind in (T.UNDEFINED, T.NULL):
        return False
    if kind is T.BOOLEAN:
        return value
    if kind is T.NUMBER:
        return bool(value != 0)
    if kind is T.STRING:
        return value not in ("", "false")
    return True


def _to_datetime(value: Value) -> Value:
    kind = type_of(value)
    if kind is T.DATETIME:
        return value
    if kind is T.NUMBER:
        return datetime_from_number(value)
    if kind is T.STRING:
        return parse_datetime(value)
    return UNDEFINED


def _has_prefix(value: Value, prefix: Value) -> Value:
    if type_of(value) is T.STRING and type_of(prefix) is T.STRING:
        return bool(value.startswith(prefix))
    return UNDEFINED


def _has_suffix(value: Value, suffix: Value) -> Value:
    if type_of(value) is T.STRING and type_of(suffix) is T.STRING:
        return bool(value.endswith(suffix))
    return UNDEFINED


_FUNCTIONS: Final[dict[str, Callable[..., Value]]] = {
    "defined": lambda value: value is not UNDEFINED,
    "number": _to_number,
    "string": _to_string,
    "boolean": _to_boolean,
    "datetime": _to_datetime,
    "floor": _numeric(_floor),
    "ceil": _numeric(_ceil),
    "round": _numeric(_round),
    "has_prefix": _has_prefix,
    "has_suffix": _has_suffix,
}
