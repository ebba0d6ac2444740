"""Static type inference: the set of runtime types an expression can produce.

Used by the parser to reject ``and``/``or`` operands that can never be boolean (spec: "other types → error").
The sets are conservative (a superset of what can happen at runtime).
"""

from __future__ import annotations

from itertools import product

from mixhouse.expr.ast import Binary, DatetimeLiteral, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.expr.values import JSON_TYPES, T

Types = frozenset[T]

_B = frozenset({T.BOOLEAN})
_ORDERED = frozenset({T.NUMBER, T.STRING, T.DATETIME})


def infer(expr: Expr) -> Types:
    if isinstance(expr, Property):
        if expr.source == "event":
            return frozenset({T.DATETIME}) if expr.name == "time" else frozenset({T.STRING})
        return JSON_TYPES
    if isinstance(expr, Literal):
        value = expr.value
        if isinstance(value, bool):
            return _B
        return frozenset({T.STRING}) if isinstance(value, str) else frozenset({T.NUMBER})
    if isinstance(expr, ListLiteral):
        return frozenset({T.LIST})
    if isinstance(expr, DatetimeLiteral):
        return frozenset({T.DATETIME})
    if isinstance(expr, Unary):
        inner = infer(expr.operand)
        if expr.op == "-":
            return _numeric(inner)
        return _either(bool(inner & {T.BOOLEAN, T.UNDEFINED}), T.BOOLEAN, bool(inner - {T.BOOLEAN, T.UNDEFINED}))
    if isinstance(expr, Binary):
        return _binary(expr.op, infer(expr.left), infer(expr.right))
    return _call(expr.name, [infer(arg) for arg in expr.args])


def _either(ok: bool, kind: T, undefined: bool) -> Types:
    out = set()
    if ok:
        out.add(kind)
    if undefined:
        out.add(T.UNDEFINED)
    return frozenset(out)


def _numeric(inner: Types) -> Types:
    return _either(T.NUMBER in inner, T.NUMBER, bool(inner - {T.NUMBER}))


def _binary(op: str, left: Types, right: Types) -> Types:
    pairs = list(product(left, right))
    if op in ("and", "or", "==", "!=", "not in"):
        return _B
    if op in ("<", "<=", ">", ">="):
        ok = [a == b and a in _ORDERED for a, b in pairs]
        return _either(any(ok), T.BOOLEAN, not all(ok))
    if op == "in":
        ok = [(a == b == T.STRING) or (b == T.LIST and a != T.UNDEFINED) for a, b in pairs]
        return _either(any(ok), T.BOOLEAN, not all(ok))
    if op == "+":
        out: set[T] = {a for a, b in pairs if a == b and a in (T.NUMBER, T.STRING)}
        if any(not (a == b and a in (T.NUMBER, T.STRING)) for a, b in pairs):
            out.add(T.UNDEFINED)
        return frozenset(out)
    both_numbers = T.NUMBER in left and T.NUMBER in right
    partial = any(a != T.NUMBER or b != T.NUMBER for a, b in pairs)
    return _either(both_numbers, T.NUMBER, partial or op in ("/", "%"))


def _call(name: str, args: list[Types]) -> Types:
    arg = args[0]
    if name in ("defined", "boolean"):
        return _B
    if name in ("floor", "round", "ceil"):
        return _numeric(arg)
    if name == "number":
        convertible = bool(arg & {T.NUMBER, T.BOOLEAN, T.DATETIME, T.STRING})
        return _either(convertible, T.NUMBER, bool(arg - {T.NUMBER, T.BOOLEAN, T.DATETIME}))
    if name == "string":
        out = {T.STRING} if arg & {T.STRING, T.NUMBER, T.BOOLEAN, T.DATETIME} else set()
        if T.NULL in arg:
            out.add(T.NULL)
        if arg & {T.UNDEFINED, T.LIST, T.OBJECT}:
            out.add(T.UNDEFINED)
        return frozenset(out)
    if name == "datetime":
        return _either(bool(arg & {T.DATETIME, T.NUMBER, T.STRING}), T.DATETIME, bool(arg - {T.DATETIME}))
    # has_prefix, has_suffix
    other = args[1]
    return _either(T.STRING in arg and T.STRING in other, T.BOOLEAN, bool((arg | other) - {T.STRING}))
