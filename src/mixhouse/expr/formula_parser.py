"""Custom-property formulas (Mixpanel's formula language) parsed into segmentation-expression trees.

A formula reads its inputs by name (``A``..``Z``, or any key of ``composedProperties`` such as ``_A``), each
standing for an event property, and ``properties["name"]`` directly. The tree it becomes uses the nodes of
``expr.ast``; what the segmentation language lacks is a ``Call`` of a function listed in ``FORMULA_FUNCTIONS``,
compiled by ``expr.formula_sql``. ``let`` variables and inputs are substituted where they are used, so no new node
kinds are needed.

Syntax (keywords and function names are case-insensitive; variables and inputs are not)::

    or (||)  <  and (&&)  <  not  <  == = != <> < <= > >= in "not in"  <  + -  <  * / %  <  unary -  <  atoms

Atoms: numbers, ``"…"``/``'…'`` strings, ``true``, ``false``, ``undefined``, ``[literal, …]`` lists, inputs,
``let`` variables, ``properties["name"]``, ``name(args…)`` calls and parentheses; ``//`` and ``/* */`` comments.

Where the formula language differs from ``where`` expressions (Mixpanel's documented semantics): ``==``/``!=`` and
``in`` compare strings case-insensitively (both sides are case-folded, the items of lists included), and so do
``has_prefix``/``has_suffix`` and the ``regex_*`` functions (``(?-i)`` at the start of a pattern turns that off).
Everything else (undefined propagation, number formatting, ``and``/``or`` on non-booleans) is the expression
language's (``expr.evaluate``). Every error is an ``ExpressionError`` with the 0-based position in the formula.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from mixhouse.errors import ExpressionError
from mixhouse.expr.ast import (
    EVENT_FIELDS,
    Binary,
    Call,
    DatetimeLiteral,
    Expr,
    ListLiteral,
    Literal,
    Property,
    Unary,
    children,
)
from mixhouse.expr.formula_tokens import tokenize_formula
from mixhouse.expr.parser import MAX_LENGTH, MAX_NESTING, _Parser
from mixhouse.expr.tokens import Kind, Token

#: Function → (fewest, most) arguments; ``None``: any number more.
FORMULA_FUNCTIONS: Final[dict[str, tuple[int, int | None]]] = {
    "if": (2, 3), "ifs": (2, None), "let": (3, 3), "defined": (1, 1), "number": (1, 1), "string": (1, 1),
    "boolean": (1, 1), "datetime": (1, 1), "upper": (1, 1), "lower": (1, 1), "len": (1, 1), "left": (2, 2),
    "right": (2, 2), "mid": (3, 3), "split": (2, 3), "regex_extract": (2, 3), "regex_match": (2, 2),
    "regex_replace": (3, 3), "round": (1, 1), "floor": (1, 1), "ceil": (1, 1), "min": (2, None), "max": (2, None),
    "sum": (1, None), "has_prefix": (2, 2), "has_suffix": (2, 2), "today": (0, 0), "datedif": (3, 3),
}
#: Mixpanel functions refused by name (they bind a variable per list item).
REFUSED_FUNCTIONS: Final = frozenset({"any", "all", "filter", "map"})
#: ``datedif`` units evaluated (whole days, months, years; months left after whole years).
DATEDIF_UNITS: Final = ("D", "M", "Y", "YM")
#: Internal functions the parser writes (not callable from a formula): case folding and the undefined constant.
FOLD, UNDEFINED_CALL = "fold", "undefined"
MAX_DEPTH: Final = 256
_DAY_MS: Final = 86_400_000
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false", "undefined"})
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})
_UNSUPPORTED_REGEX: Final = re.compile(r"\(\?<?[=!]|\\[1-9]")


def parse_formula(text: str, inputs: Mapping[str, Expr], *, now_ms: int | None = None) -> Expr:
    """The tree of ``text``, each input name replaced by its expression (``today()`` is the UTC day of ``now_ms``,
    default the clock)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("a custom property needs a formula", position=0, expression=str(text))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"formula longer than {MAX_LENGTH} characters", position=MAX_LENGTH, expression=text)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    expr = _FormulaParser(text, inputs, now).parse()
    _check_depth(expr, text)
    return expr


def fold(expr: Expr) -> Expr:
    """``expr`` case-folded for a comparison (strings and the strings in lists lower-cased, other values kept);
    literals are folded here."""
    if isinstance(expr, Literal):
        return Literal(expr.value.lower(), expr.pos) if isinstance(expr.value, str) else expr
    if isinstance(expr, ListLiteral):
        return ListLiteral(tuple(fold(item) for item in expr.items), expr.pos)  # type: ignore[misc]
    return Call(FOLD, (expr,), expr.pos)


class _FormulaParser(_Parser):
    """The segmentation-expression parser's machinery (tokens, the ``or``/``and`` and arithmetic levels), with the
    formula language's own keywords (any case), comparisons, names, literals and calls."""

    def __init__(self, text: str, inputs: Mapping[str, Expr], now_ms: int) -> None:
        self.text = text
        self.inputs = inputs
        self.now_ms = now_ms
        self.tokens = tokenize_formula(text)
        self.i = 0
        self.nesting = 0
        self.scope: list[tuple[str, Expr]] = []

    # ------------------------------------------------------------------------------------------------ helpers

    def is_word(self, *words: str) -> bool:
        return self.tok.kind is Kind.NAME and self.tok.text.lower() in words

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            self.fail(f"formula nested more than {MAX_NESTING} levels deep")

    # ------------------------------------------------------------------------------------------------ grammar

    def parse(self) -> Expr:
        if self.tok.kind is Kind.END:
            self.fail("empty formula")
        expr = self.or_expr()
        if not self.at_end():
            self.fail(f"unexpected {self.tok.describe()}")
        return expr

    def not_expr(self) -> Expr:
        if self.is_word("not") and not (self.peek().kind is Kind.NAME and self.peek().text.lower() == "in"):
            op = self.advance()
            self.enter()
            operand = self.not_expr()
            self.nesting -= 1
            return Unary("not", operand, op.pos)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        while True:
            if self.tok.kind is Kind.OP and self.tok.text in _COMPARISONS:
                op = self.advance()
                right = self.additive()
                left = Binary(op.text, fold(left), fold(right), op.pos) if op.text in ("==", "!=") else \
                    Binary(op.text, left, right, op.pos)
            elif self.is_word("in"):
                op = self.advance()
                left = Binary("in", fold(left), fold(self.additive()), op.pos)
            elif self.is_word("not") and self.peek().kind is Kind.NAME and self.peek().text.lower() == "in":
                op = self.advance()
                self.advance()
                left = Binary("not in", fold(left), fold(self.additive()), op.pos)
            else:
                return left

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind in (Kind.NUMBER, Kind.STRING):
            self.advance()
            assert isinstance(tok.value, str | float)
            return Literal(tok.value, tok.pos)
        if self.is_op("("):
            self.advance()
            self.enter()
            inner = self.or_expr()
            self.nesting -= 1
            self.expect(")", "to close '('")
            return inner
        if self.is_op("["):
            return self.list_literal()
        if tok.kind is Kind.NAME:
            return self.name()
        self.fail("unexpected end of formula" if tok.kind is Kind.END else f"unexpected {tok.describe()}")

    def name(self) -> Expr:
        tok = self.advance()
        word, lowered = tok.text, tok.text.lower()
        if lowered in ("true", "false"):
            return Literal(lowered == "true", tok.pos)
        if lowered == "undefined":
            return Call(UNDEFINED_CALL, (), tok.pos)
        if lowered in _KEYWORDS:
            self.fail(f"unexpected {tok.describe()}", tok.pos)
        if self.is_op("("):
            return self.call(tok)
        if self.is_op("[") and lowered in ("properties", "event", "user"):
            return self.property(tok, lowered)
        for name, value in reversed(self.scope):
            if name == word:
                return value
        if word in self.inputs:
            found = self.inputs[word]
            return replace(found, pos=tok.pos) if isinstance(found, Property) else found
        known = ", ".join(sorted(self.inputs)) or "none"
        self.fail(f"unknown name '{word}' (the inputs are {known})", tok.pos)

    def property(self, tok: Token, source: str) -> Expr:
        self.advance()
        key = self.tok
        if key.kind is not Kind.STRING:
            self.fail(f"{tok.text}[...] needs a quoted property name")
        self.advance()
        self.expect("]", "after the property name")
        assert isinstance(key.value, str)
        if source == "user":
            self.fail("user profile properties in custom properties are not supported yet", tok.pos)
        if source == "event" and key.value in EVENT_FIELDS:
            return Property(EVENT_FIELDS[key.value], "event", tok.pos)
        return Property(key.value, "properties", tok.pos)

    def list_literal(self) -> Expr:
        start = self.advance()
        items: list[Literal] = []
        while not self.is_op("]"):
            if items:
                self.expect(",", "between list items")
            tok = self.tok
            negative = self.is_op("-") and self.peek().kind is Kind.NUMBER
            if negative:
                self.advance()
            item = self.advance()
            if item.kind is Kind.NUMBER:
                assert isinstance(item.value, float)
                items.append(Literal(-item.value if negative else item.value, tok.pos))
            elif item.kind is Kind.STRING and not negative:
                assert isinstance(item.value, str)
                items.append(Literal(item.value, tok.pos))
            elif item.kind is Kind.NAME and item.text.lower() in ("true", "false") and not negative:
                items.append(Literal(item.text.lower() == "true", tok.pos))
            else:
                self.fail(f"list items must be string, number or boolean literals, found {item.describe()}", tok.pos)
        self.advance()
        return ListLiteral(tuple(items), start.pos)

    # ------------------------------------------------------------------------------------------------ calls

    def call(self, tok: Token) -> Expr:
        name = tok.text.lower()
        if name in REFUSED_FUNCTIONS:
            self.fail(f"function '{name}' is not supported by this server yet", tok.pos)
        if name not in FORMULA_FUNCTIONS:
            self.fail(f"unknown function '{tok.text}'", tok.pos)
        self.advance()
        self.enter()
        args = self.let_arguments(tok) if name == "let" else self.arguments()
        self.nesting -= 1
        fewest, most = FORMULA_FUNCTIONS[name]
        if len(args) < fewest or (most is not None and len(args) > most):
            wanted = str(fewest) if fewest == most else (f"{fewest} or more" if most is None else f"{fewest} to {most}")
            self.fail(f"function '{name}' takes {wanted} argument{'' if wanted == '1' else 's'}, got {len(args)}",
                      tok.pos)
        if name == "let":
            return args[-1]
        if name == "ifs" and len(args) % 2:
            self.fail("ifs takes pairs of condition and value", tok.pos)
        if name == "today":
            return DatetimeLiteral(self.now_ms - self.now_ms % _DAY_MS, '"today"', tok.pos)
        if name in ("has_prefix", "has_suffix"):
            args = [fold(arg) for arg in args]
        self.check_constants(name, args, tok)
        return Call(name, tuple(args), tok.pos)

    def arguments(self) -> list[Expr]:
        args: list[Expr] = []
        if not self.is_op(")"):
            args.append(self.or_expr())
            while self.is_op(","):
                self.advance()
                args.append(self.or_expr())
        self.expect(")", "to close the arguments")
        return args

    def let_arguments(self, tok: Token) -> list[Expr]:
        """``let(name, definition, expression)``: the expression is parsed with ``name`` bound to the definition."""
        variable = self.advance()
        if variable.kind is not Kind.NAME or variable.text.lower() in _KEYWORDS:
            self.fail("let needs a variable name first", variable.pos)
        self.expect(",", "after the let variable")
        definition = self.or_expr()
        self.expect(",", "after the let definition")
        self.scope.append((variable.text, definition))
        body = self.or_expr()
        self.scope.pop()
        self.expect(")", "to close let")
        return [definition, definition, body]

    def check_constants(self, name: str, args: list[Expr], tok: Token) -> None:
        """Regex patterns, replacements, capture groups and ``datedif`` units must be literals (checked here)."""
        if name.startswith("regex_"):
            pattern = self.literal_text(args[1], "the pattern")
            self.check_pattern(pattern, args[1].pos)
            if name == "regex_replace":
                self.check_replacement(pattern, self.literal_text(args[2], "the replacement"), args[2].pos)
            if name == "regex_extract" and len(args) == 3:
                group = args[2]
                groups = re.compile(pattern.removeprefix("(?-i)")).groups
                if not (isinstance(group, Literal) and isinstance(group.value, float) and group.value.is_integer()
                        and 1 <= group.value <= groups):
                    self.fail(f"the capture group must be a whole number from 1 to {groups} (the pattern's groups)",
                              group.pos)
        if name == "split" and not self.literal_text(args[1], "the delimiter"):
            self.fail("the delimiter must not be empty", args[1].pos)
        if name == "datedif":
            unit = self.literal_text(args[2], "the unit").upper()
            if unit not in DATEDIF_UNITS:
                self.fail(f"datedif unit {unit!r} is not supported yet (use one of {', '.join(DATEDIF_UNITS)})",
                          args[2].pos)
            args[2] = Literal(unit, args[2].pos)

    def literal_text(self, arg: Expr, what: str) -> str:
        if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
            self.fail(f"{what} must be a quoted string", arg.pos)
        return arg.value

    def check_replacement(self, pattern: str, replacement: str, pos: int) -> None:
        """Group references ``\\N`` must name a group of the pattern; a pattern that can match the empty string
        (found between two characters) only takes an empty replacement, which cannot split a character."""
        compiled = re.compile(pattern.removeprefix("(?-i)"))
        for reference in re.findall(r"\\(.)", replacement):
            if reference.isdigit() and int(reference) > compiled.groups:
                self.fail(f"the replacement refers to group {reference}; the pattern has {compiled.groups}", pos)
        probes = ("", "a", "ab", "a b", "a-1", "\u00e9\u00e9")
        if replacement and any(m.start() == m.end() for probe in probes for m in compiled.finditer(probe)):
            self.fail("a pattern that can match the empty string must have an empty replacement", pos)

    def check_pattern(self, pattern: str, pos: int) -> None:
        if _UNSUPPORTED_REGEX.search(pattern):
            self.fail("regular expressions cannot use look-around or back-references", pos)
        try:
            re.compile(pattern.removeprefix("(?-i)"))
        except re.error as exc:
            self.fail(f"invalid regular expression: {exc.msg}", pos)


def _check_depth(expr: Expr, text: str) -> None:
    """Refuse trees deeper than ``MAX_DEPTH`` (long operator chains), each shared subtree measured once."""
    depth: dict[int, int] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in depth:
            continue
        kids = children(node)
        if done:
            depth[id(node)] = 1 + max((depth[id(k)] for k in kids), default=0)
            if depth[id(node)] > MAX_DEPTH:
                raise ExpressionError(f"formula deeper than {MAX_DEPTH} levels", position=node.pos, expression=text)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in depth)

