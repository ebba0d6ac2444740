"""Brute-force custom-property formulas: the value of a parsed formula (``expr.formula_parser``) for one event, in
plain Python. It shares the parser and the expression language's value helpers (``expr.values``, the operators of
``expr.evaluate``) with the server, nothing of the SQL path.

``with_custom_property`` copies events with the formula's value stored under a property name, so the brute-force
Insights reference (``reference_insights``) can filter, break down and aggregate by it like by any property.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mixhouse.expr.ast import Binary, Call, Expr, Unary
from mixhouse.expr.evaluate import _COMPARE, _FUNCTIONS, Record, _arithmetic, _eval, _in, _to_datetime, _unary
from mixhouse.expr.values import UNDEFINED, DateTime, T, Value, canonical_json, type_of, values_equal
from tests.support.reference_event_queries import Event


def value(expr: Expr, record: Record) -> Value:
    """The formula's value for ``record`` (``UNDEFINED`` when it has none)."""
    if isinstance(expr, Call) and expr.name in _FORMULA:
        return _FORMULA[expr.name](expr, record)
    if isinstance(expr, Call):
        return _FUNCTIONS[expr.name](*(value(arg, record) for arg in expr.args))
    if isinstance(expr, Unary):
        return _unary(expr.op, value(expr.operand, record))
    if isinstance(expr, Binary):
        return _binary(expr, record)
    return _eval(expr, record)  # leaves: properties and literals


def _binary(expr: Binary, record: Record) -> Value:
    left, right = value(expr.left, record), value(expr.right, record)
    op = expr.op
    if op == "and":
        return left is True and right is True
    if op == "or":
        return left is True or right is True
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
        if lt is T.STRING:  # ClickHouse compares the UTF-8 bytes
            return _COMPARE[op](left.encode(), right.encode())
        return _COMPARE[op](left, right)
    if op == "+" and lt is rt is T.STRING:
        return left + right
    if lt is not T.NUMBER or rt is not T.NUMBER:
        return UNDEFINED
    return _arithmetic(op, left, right)


def _args(expr: Call, record: Record) -> list[Value]:
    return [value(arg, record) for arg in expr.args]


def _folded(raw: Any) -> Any:
    if isinstance(raw, str):
        return raw.lower()
    if isinstance(raw, list):
        return [_folded(item) for item in raw]
    if isinstance(raw, dict):
        return {str(k).lower(): _folded(v) for k, v in raw.items()}
    return raw


def _fold(expr: Call, record: Record) -> Value:
    (found,) = _args(expr, record)
    return _folded(found) if type_of(found) in (T.STRING, T.LIST) else found


def _branches(expr: Call, record: Record) -> Value:
    args = list(expr.args)
    if expr.name == "if" and len(args) == 2:
        args.append(Call("undefined", ()))
    pairs = list(zip(args[0::2], args[1::2], strict=False))
    for condition, then in pairs:
        if value(condition, record) is True:
            return value(then, record)
    return value(args[-1], record) if expr.name == "if" else UNDEFINED


def _is_str(v: Value) -> bool:
    return type_of(v) is T.STRING


def _is_num(v: Value) -> bool:
    return type_of(v) is T.NUMBER


def _count(n: Value, least: int) -> int | None:
    if not _is_num(n) or not math.isfinite(n) or n < least:
        return None
    return min(math.floor(n), 10**9)


def _case(convert: Callable[[str], str]) -> Callable[[Call, Record], Value]:
    def apply(expr: Call, record: Record) -> Value:
        (found,) = _args(expr, record)
        return convert(found) if _is_str(found) else UNDEFINED
    return apply


def _len(expr: Call, record: Record) -> Value:
    (found,) = _args(expr, record)
    return float(len(found)) if type_of(found) in (T.STRING, T.LIST) else UNDEFINED


def _left_right(expr: Call, record: Record) -> Value:
    text, n = _args(expr, record)
    k = _count(n, 0)
    if not _is_str(text) or k is None:
        return UNDEFINED
    return text[:k] if expr.name == "left" else text[max(0, len(text) - k):] if k else ""


def _mid(expr: Call, record: Record) -> Value:
    text, start, n = _args(expr, record)
    first, k = _count(start, 1), _count(n, 0)
    if not _is_str(text) or first is None or k is None:
        return UNDEFINED
    return text[first - 1: first - 1 + k]


def _split(expr: Call, record: Record) -> Value:
    args = _args(expr, record)
    text, delimiter = args[0], args[1]
    if not _is_str(text):
        return UNDEFINED
    parts = text.split(delimiter)
    if len(args) == 2:
        return parts
    k = _count(args[2], 1)
    if k is None:
        return UNDEFINED
    if len(parts) == 1:
        return text
    return parts[k - 1] if k <= len(parts) else UNDEFINED


def _pattern(raw: str) -> re.Pattern[str]:
    if raw.startswith("(?-i)"):
        return re.compile(raw[5:])
    return re.compile(raw, re.IGNORECASE)


def _replacement(template: str) -> Callable[[re.Match[str]], str]:
    """ClickHouse's replacement syntax: ``\\0``-``\\9`` groups, ``\\\\`` a backslash."""
    def build(match: re.Match[str]) -> str:
        out, i = [], 0
        while i < len(template):
            ch = template[i]
            if ch == "\\" and i + 1 < len(template) and template[i + 1].isdigit():
                out.append(match.group(int(template[i + 1])) or "")
                i += 2
            elif ch == "\\" and i + 1 < len(template) and template[i + 1] == "\\":
                out.append("\\")
                i += 2
            else:
                out.append(ch)
                i += 1
        return "".join(out)
    return build


def _regex(expr: Call, record: Record) -> Value:
    text = value(expr.args[0], record)
    pattern = _pattern(expr.args[1].value)  # type: ignore[union-attr]
    if not _is_str(text):
        return UNDEFINED
    if expr.name == "regex_match":
        return pattern.search(text) is not None
    if expr.name == "regex_replace":
        return pattern.sub(_replacement(expr.args[2].value), text)  # type: ignore[union-attr]
    match = pattern.search(text)
    if match is None:
        return UNDEFINED
    group = int(expr.args[2].value) if len(expr.args) == 3 else 0  # type: ignore[union-attr]
    return match.group(group) or ""


def _extreme(expr: Call, record: Record) -> Value:
    args = _args(expr, record)
    if not all(map(_is_num, args)):
        return UNDEFINED
    return min(args) if expr.name == "min" else max(args)


def _sum(expr: Call, record: Record) -> Value:
    args = _args(expr, record)
    if len(args) == 1 and type_of(args[0]) is T.LIST:
        return float(sum(float(v) for v in args[0] if isinstance(v, int | float) and not isinstance(v, bool)))
    if not all(map(_is_num, args)):
        return UNDEFINED
    return float(sum(args))


def _has_suffix(expr: Call, record: Record) -> Value:
    text, suffix = _args(expr, record)
    return text.endswith(suffix) if _is_str(text) and _is_str(suffix) else UNDEFINED


def _datedif(expr: Call, record: Record) -> Value:
    start, end = (_to_datetime(v) for v in _args(expr, record)[:2])
    unit = expr.args[2].value  # type: ignore[union-attr]
    if not isinstance(start, DateTime) or not isinstance(end, DateTime):
        return UNDEFINED
    first, last = (datetime.fromtimestamp(0, UTC) + (v.ms // 86_400_000) * _DAY for v in (start, end))
    if first > last:
        return UNDEFINED
    if unit == "D":
        return float((last - first).days)
    months = (last.year * 12 + last.month) - (first.year * 12 + first.month) - (last.day < first.day)
    return float({"M": months, "Y": months // 12, "YM": months % 12}[unit])


_DAY = datetime.fromtimestamp(86_400, UTC) - datetime.fromtimestamp(0, UTC)

_FORMULA: dict[str, Callable[[Call, Record], Value]] = {
    "undefined": lambda expr, record: UNDEFINED,
    "fold": _fold,
    "if": _branches,
    "ifs": _branches,
    "upper": _case(str.upper),
    "lower": _case(str.lower),
    "len": _len,
    "left": _left_right,
    "right": _left_right,
    "mid": _mid,
    "split": _split,
    "regex_match": _regex,
    "regex_extract": _regex,
    "regex_replace": _regex,
    "min": _extreme,
    "max": _extreme,
    "sum": _sum,
    "has_suffix": _has_suffix,
    "datedif": _datedif,
}


def stored(found: Value) -> Any:
    """How a formula's value is stored as a JSON property (``None`` for undefined: leave it out)."""
    if isinstance(found, DateTime):
        return found.isoformat()
    return found


def with_custom_property(events: Sequence[Event], expr: Expr, name: str) -> list[Event]:
    """The events with the formula's value under ``name`` (left out where it is undefined)."""
    out = []
    for e in events:
        found = value(expr, Record(e.name, e.time_ms, e.user, e.properties))
        props = {k: v for k, v in e.properties.items() if k != name}
        if found is not UNDEFINED:
            props[name] = stored(found)
        out.append(replace(e, properties=props))
    return out


__all__ = ["canonical_json", "stored", "value", "with_custom_property"]
