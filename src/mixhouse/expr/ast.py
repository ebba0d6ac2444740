"""Syntax tree of segmentation expressions (immutable; ``pos`` is the 0-based offset of the node's first/operator
token in the source text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from typing import Literal as TypingLiteral

Source = TypingLiteral["properties", "event", "user"]

#: ``event[...]`` fields that are columns rather than properties, keyed by every accepted spelling.
EVENT_FIELDS: Final = {
    "time": "time",
    "$time": "time",
    "name": "name",
    "event": "name",
    "$event": "name",
    "distinct_id": "distinct_id",
    "$distinct_id": "distinct_id",
}

BINARY_OPS: Final = ("or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%")
UNARY_OPS: Final = ("not", "-")
#: Function name → number of arguments.
FUNCTIONS: Final = {
    "defined": 1,
    "number": 1,
    "string": 1,
    "boolean": 1,
    "datetime": 1,
    "floor": 1,
    "round": 1,
    "ceil": 1,
    "has_prefix": 2,
}
#: Functions bookmark filters compile to but the expression language does not offer (the parser refuses them):
#: ``has_suffix(s, suffix)``, the "ends with" filter, typed like ``has_prefix``.
INTERNAL_FUNCTIONS: Final = {"has_suffix": 2}


@dataclass(frozen=True)
class Property:
    """``properties["name"]`` (event or profile record), ``user["name"]`` (profile of the event's user), or
    ``event["time"|"name"|"distinct_id"]`` (``source="event"``, ``name`` normalised to one of those three)."""

    name: str
    source: Source = "properties"
    pos: int = 0


@dataclass(frozen=True)
class Literal:
    """A string, number (always a float) or boolean literal."""

    value: str | float | bool
    pos: int = 0


@dataclass(frozen=True)
class ListLiteral:
    """``[literal, …]``; items are literals (a leading ``-`` on a number is folded in)."""

    items: tuple[Literal, ...]
    pos: int = 0


@dataclass(frozen=True)
class DatetimeLiteral:
    """``datetime("…")`` or ``datetime(number)`` with a constant argument, resolved at parse time; ``text`` is the
    argument's source text (quotes included)."""

    ms: int
    text: str
    pos: int = 0


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    pos: int = 0


@dataclass(frozen=True)
class Binary:
    op: str  # one of BINARY_OPS
    left: Expr
    right: Expr
    pos: int = 0


@dataclass(frozen=True)
class Call:
    name: str  # one of FUNCTIONS or INTERNAL_FUNCTIONS
    args: tuple[Expr, ...]
    pos: int = 0


Expr = Property | Literal | ListLiteral | DatetimeLiteral | Unary | Binary | Call


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    return ()


def to_text(expr: Expr) -> str:
    """Source text for an expression (fully parenthesised), which parses back to an equal tree up to positions."""
    if isinstance(expr, Property):
        return f"{expr.source}[{_quote(expr.name)}]"
    if isinstance(expr, Literal):
        return _literal_text(expr.value)
    if isinstance(expr, ListLiteral):
        return "[" + ", ".join(_literal_text(item.value) for item in expr.items) + "]"
    if isinstance(expr, DatetimeLiteral):
        return f"datetime({expr.text})"
    if isinstance(expr, Unary):
        sep = " " if expr.op == "not" else ""
        return f"({expr.op}{sep}{to_text(expr.operand)})"
    if isinstance(expr, Binary):
        return f"({to_text(expr.left)} {expr.op} {to_text(expr.right)})"
    return f"{expr.name}(" + ", ".join(to_text(arg) for arg in expr.args) + ")"


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _literal_text(value: str | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    return repr(value) if value >= 0 else f"-{-value!r}"
