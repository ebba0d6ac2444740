"""The checks a saved custom property's formula gets before it is stored: ``formula_errors``.

A small scanner first reads just enough of the formula to say which inputs it refers to (a clear message for a
letter with no input); then the formula parser (``expr.formula_parser``, what Insights evaluates) checks the rest.
An input reference is a name of one capital letter (``A``..``Z``) standing on its own: ``A * B``,
``if(A == "x", B, C)``. Not references: letters inside string literals (``"A"``, ``'B'``, with backslash escapes),
longer names (function names such as ``IF`` or ``TODAY``, ``properties``), names glued to digits (``A1``) and the
names a ``let(X, value, expression)`` binds (anywhere in the formula: the scanner does not track scopes). Every
letter referred to must be a key of ``composedProperties``; inputs the formula does not use are allowed. A string
literal left open is an error too.

Inputs keyed by a property's name (the client library's example: ``{"amount": {...}}`` with
``properties["amount"]`` in the formula) are allowed; the formula reads such properties directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from mixhouse.errors import MixhouseError
from mixhouse.expr.ast import Property
from mixhouse.expr.formula_parser import parse_formula

MAX_FORMULA_LENGTH: Final = 20_000

_NAME_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_NAME_CHARS: Final = _NAME_START | frozenset("0123456789")
_DIGITS: Final = frozenset("0123456789")
_QUOTES: Final = frozenset("\"'")


def _names(formula: str) -> tuple[list[tuple[str, int]], str | None]:
    """The names the formula uses (with their offsets), outside string literals, and an error for a string
    literal left open (``None`` when all close)."""
    names: list[tuple[str, int]] = []
    i, size = 0, len(formula)
    while i < size:
        char = formula[i]
        if char in _QUOTES:
            start, i = i, i + 1
            while i < size and formula[i] != char:
                i += 2 if formula[i] == "\\" else 1
            if i >= size:
                return names, f"displayFormula: the string literal opened at character {start + 1} is not closed"
            i += 1
        elif char in _DIGITS:  # a number, with any letters glued to it (1e5, 0x1f)
            while i < size and (formula[i] in _NAME_CHARS or formula[i] == "."):
                i += 1
        elif char in _NAME_START:
            start = i
            while i < size and formula[i] in _NAME_CHARS:
                i += 1
            names.append((formula[start:i], start))
        else:
            i += 1
    return names, None


def _let_bound(formula: str, names: list[tuple[str, int]]) -> set[str]:
    """Names bound by ``let(NAME, ...)``: the first name after a ``let`` followed by ``(``."""
    bound: set[str] = set()
    for n, (name, offset) in enumerate(names[:-1]):
        if name.lower() != "let":
            continue
        rest = formula[offset + len(name):names[n + 1][1]]
        if rest.strip() == "(":
            bound.add(names[n + 1][0])
    return bound


def input_letters(formula: str) -> tuple[set[str], str | None]:
    """The input letters ``formula`` refers to, and an error for a string literal left open (or ``None``)."""
    names, error = _names(formula)
    bound = _let_bound(formula, names)
    letters = {name for name, _ in names if len(name) == 1 and "A" <= name <= "Z" and name not in bound}
    return letters, error


def formula_errors(formula: str, input_keys: Iterable[str]) -> list[str]:
    """What is wrong with ``formula`` over inputs keyed ``input_keys`` (empty: nothing found). The caller has
    already checked that the formula is non-empty text of at most ``MAX_FORMULA_LENGTH`` characters."""
    letters, error = input_letters(formula)
    errors = [error] if error else []
    keys = set(input_keys)
    missing = sorted(letters - keys)
    if missing:
        have = ", ".join(sorted(keys)) or "none"
        errors.append(f"displayFormula uses {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                      f"not in composedProperties (its inputs: {have})")
    if not errors:  # then the parser: syntax, functions, argument types (what Insights will evaluate)
        try:
            parse_formula(formula, {key: Property(key) for key in keys})
        except MixhouseError as exc:
            errors.append(f"displayFormula: {exc.message}")
    return errors
