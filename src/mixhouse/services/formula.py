"""Insights formulas: arithmetic over metric letters (``(A + B) / 2``, ``A * 100 / B``).

``+ - * /``, parentheses, unary minus, numbers and the letters of the query's metrics. Division by zero gives 0 (the
chart shows a gap as 0). Parsed once (``compile_formula``) into a function of the letters' values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from mixhouse.errors import ValidationError

Values = Mapping[str, float]
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z])|(.))")


def _tokens(text: str) -> list[str]:
    out = []
    for number, letter, other in _TOKEN.findall(text):
        if other and other not in "+-*/()":
            raise ValidationError(f"unexpected {other!r} in formula {text!r}")
        out.append(number or letter.upper() or other)
    return out


def compile_formula(text: str, letters: set[str]) -> Callable[[Values], float]:
    tokens = _tokens(text)
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValidationError(f"formula {text!r} ends early")
        position += 1
        return tokens[position - 1]

    def atom() -> Callable[[Values], float]:
        token = take()
        if token == "(":
            inner = expression()
            if take() != ")":
                raise ValidationError(f"unbalanced parentheses in formula {text!r}")
            return inner
        if token == "-":
            operand = atom()
            return lambda values: -operand(values)
        if token.isalpha():
            if token not in letters:
                raise ValidationError(f"formula {text!r} uses {token}, which is not a metric of the query")
            return lambda values: float(values.get(token, 0.0))
        try:
            number = float(token)
        except ValueError:
            raise ValidationError(f"unexpected {token!r} in formula {text!r}") from None
        return lambda values: number

    def term() -> Callable[[Values], float]:
        left = atom()
        while peek() in ("*", "/"):
            op = take()
            left = _binary(op, left, atom())
        return left

    def expression() -> Callable[[Values], float]:
        left = term()
        while peek() in ("+", "-"):
            op = take()
            left = _binary(op, left, term())
        return left

    compiled = expression()
    if position != len(tokens):
        raise ValidationError(f"unexpected {tokens[position]!r} in formula {text!r}")
    return compiled


def _binary(op: str, left: Callable[[Values], float], right: Callable[[Values], float]) -> Callable[[Values], float]:
    def apply(values: Values) -> float:
        a, b = left(values), right(values)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if b else 0.0

    return apply
