"""Recursive-descent parser for segmentation expressions.

Precedence, loosest first (spec §4.14 [INF], Python-like)::

    or  (also ||)
    and (also &&)
    not
    == != < <= > >= in "not in"      (left-associative)
    + -
    * / %
    unary -
    call, literal, property, ( … )

Besides syntax, ``parse`` rejects ``and``/``or`` operands that can never be boolean, unknown functions, wrong
argument counts and invalid constant datetimes. Every error is an ``ExpressionError`` with a 0-based position.
Relative date literals (``datetime("-7d")``, ``mixhouse.expr.relative_dates``) are resolved against ``now_ms``.
"""

from __future__ import annotations

import time
from typing import Final, NoReturn

from mixhouse.errors import ExpressionError
from mixhouse.expr.ast import (
    EVENT_FIELDS,
    FUNCTIONS,
    Binary,
    Call,
    DatetimeLiteral,
    Expr,
    ListLiteral,
    Literal,
    Property,
    Source,
    Unary,
    children,
)
from mixhouse.expr.relative_dates import resolve_relative
from mixhouse.expr.tokens import Kind, Token, tokenize
from mixhouse.expr.typecheck import infer
from mixhouse.expr.values import (
    MAX_DATETIME_MS,
    MIN_DATETIME_MS,
    TYPE_NAMES,
    UNDEFINED,
    DateTime,
    T,
    Value,
    datetime_from_number,
    parse_datetime,
)

MAX_LENGTH: Final = 20_000
#: Nesting of parentheses, unary operators, calls and lists.
MAX_NESTING: Final = 64
#: Depth of the resulting tree (long ``a and b and c …`` chains).
MAX_DEPTH: Final = 256

_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false"})
_SOURCES: Final[dict[str, Source]] = {"properties": "properties", "event": "event", "user": "user"}
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


def parse(text: str, *, now_ms: int | None = None) -> Expr:
    """Parse (and statically check) an expression; relative dates count from ``now_ms`` (default: the clock)."""
    if not isinstance(text, str):
        raise ExpressionError("expression must be a string", position=0, expression=str(text))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", position=MAX_LENGTH, expression=text)
    parser = _Parser(text, int(time.time() * 1000) if now_ms is None else now_ms)
    expr = parser.parse()
    _check(expr, text)
    return expr


class _Parser:
    def __init__(self, text: str, now_ms: int) -> None:
        self.text = text
        self.now_ms = now_ms
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    # ----------------------------------------------------------------------------------------------- helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind is not Kind.END:
            self.i += 1
        return token

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        raise ExpressionError(message, position=self.tok.pos if pos is None else pos, expression=self.text)

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind is Kind.OP and self.tok.text in ops

    def is_word(self, *words: str) -> bool:
        return self.tok.kind is Kind.NAME and self.tok.text in words

    def expect(self, op: str, what: str) -> Token:
        if not self.is_op(op):
            self.fail(f"expected '{op}' {what}, found {self.tok.describe()}")
        return self.advance()

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            self.fail(f"expression nested more than {MAX_NESTING} levels deep")

    # ----------------------------------------------------------------------------------------------- grammar

    def parse(self) -> Expr:
        if self.at_end():
            self.fail("empty expression")
        expr = self.or_expr()
        if not self.at_end():
            self.fail(f"unexpected {self.tok.describe()}")
        return expr

    def at_end(self) -> bool:
        return self.tok.kind is Kind.END

    def or_expr(self) -> Expr:
        left = self.and_expr()
        while self.is_word("or") or self.is_op("||"):
            op = self.advance()
            left = Binary("or", left, self.and_expr(), op.pos)
        return left

    def and_expr(self) -> Expr:
        left = self.not_expr()
        while self.is_word("and") or self.is_op("&&"):
            op = self.advance()
            left = Binary("and", left, self.not_expr(), op.pos)
        return left

    def not_expr(self) -> Expr:
        if self.is_word("not"):
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
                left = Binary(op.text, left, self.additive(), op.pos)
            elif self.is_word("in"):
                op = self.advance()
                left = Binary("in", left, self.additive(), op.pos)
            elif self.is_word("not") and self.peek().kind is Kind.NAME and self.peek().text == "in":
                op = self.advance()
                self.advance()
                left = Binary("not in", left, self.additive(), op.pos)
            else:
                return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.is_op("+", "-"):
            op = self.advance()
            left = Binary(op.text, left, self.multiplicative(), op.pos)
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while self.is_op("*", "/", "%"):
            op = self.advance()
            left = Binary(op.text, left, self.unary(), op.pos)
        return left

    def unary(self) -> Expr:
        if self.is_op("-"):
            op = self.advance()
            self.enter()
            operand = self.unary()
            self.nesting -= 1
            return Unary("-", operand, op.pos)
        if self.is_word("not"):
            self.fail("'not' must be parenthesised here, e.g. x == (not y)")
        return self.primary()

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind is Kind.NUMBER:
            self.advance()
            assert isinstance(tok.value, float)
            return Literal(tok.value, tok.pos)
        if tok.kind is Kind.STRING:
            self.advance()
            assert isinstance(tok.value, str)
            return Literal(tok.value, tok.pos)
        if tok.kind is Kind.OP and tok.text == "(":
            self.advance()
            self.enter()
            inner = self.or_expr()
            self.nesting -= 1
            self.expect(")", "to close '('")
            return inner
        if tok.kind is Kind.OP and tok.text == "[":
            return self.list_literal()
        if tok.kind is Kind.NAME:
            return self.name()
        self.fail("unexpected end of expression" if tok.kind is Kind.END else f"unexpected {tok.describe()}")

    def name(self) -> Expr:
        tok = self.advance()
        word = tok.text
        if word in ("true", "false"):
            return Literal(word == "true", tok.pos)
        if word in _KEYWORDS:
            self.fail(f"unexpected {tok.describe()}", tok.pos)
        if word in _SOURCES:
            return self.property(tok, _SOURCES[word])
        if self.is_op("("):
            return self.call(tok)
        if word in FUNCTIONS:
            self.fail(f"expected '(' after function '{word}'")
        self.fail(f"unknown identifier '{word}'", tok.pos)

    def property(self, tok: Token, source: Source) -> Expr:
        self.expect("[", f"after '{tok.text}'")
        key = self.tok
        if key.kind is not Kind.STRING:
            self.fail(f"{tok.text}[...] needs a quoted property name")
        self.advance()
        self.expect("]", "after the property name")
        assert isinstance(key.value, str)
        name = key.value
        if source == "event":
            if name in EVENT_FIELDS:
                return Property(EVENT_FIELDS[name], "event", tok.pos)
            return Property(name, "properties", tok.pos)
        return Property(name, source, tok.pos)

    def call(self, tok: Token) -> Expr:
        name = tok.text
        if name not in FUNCTIONS:
            self.fail(f"unknown function '{name}'", tok.pos)
        opening = self.advance()
        self.enter()
        args: list[Expr] = []
        if not self.is_op(")"):
            args.append(self.or_expr())
            while self.is_op(","):
                self.advance()
                args.append(self.or_expr())
        self.nesting -= 1
        closing = self.expect(")", f"to close the arguments of '{name}'")
        arity = FUNCTIONS[name]
        if len(args) != arity:
            plural = "" if arity == 1 else "s"
            self.fail(f"function '{name}' takes {arity} argument{plural}, got {len(args)}", tok.pos)
        if name == "datetime":
            source = self.text[opening.pos + 1 : closing.pos].strip()
            return self._datetime(tok, args[0], source)
        return Call(name, tuple(args), tok.pos)

    def _datetime(self, tok: Token, arg: Expr, source: str) -> Expr:
        """Resolve ``datetime(<constant>)`` now, so that an invalid constant is a parse error."""
        constant = _constant_number(arg)
        if isinstance(arg, Literal) and isinstance(arg.value, str):
            value = parse_datetime(arg.value)
            if value is UNDEFINED:
                value = self._relative(arg.value)
        elif constant is not None:
            value = datetime_from_number(constant)
        else:
            return Call("datetime", (arg,), tok.pos)
        if value is UNDEFINED:
            self.fail(
                "invalid datetime (expected YYYY-MM-DD[THH:MM:SS] between 1900 and 2299, or a relative date such as"
                ' "now", "today", "-7d")',
                _start(arg),
            )
        return DatetimeLiteral(value.ms, source, tok.pos)

    def _relative(self, text: str) -> Value:
        ms = resolve_relative(text, self.now_ms)
        return DateTime(ms) if ms is not None and MIN_DATETIME_MS <= ms < MAX_DATETIME_MS else UNDEFINED

    def list_literal(self) -> Expr:
        start = self.advance()
        items: list[Literal] = []
        if not self.is_op("]"):
            items.append(self.list_item())
            while self.is_op(","):
                self.advance()
                items.append(self.list_item())
        self.expect("]", "to close the list")
        return ListLiteral(tuple(items), start.pos)

    def list_item(self) -> Literal:
        tok = self.tok
        if self.is_op("-") and self.peek().kind is Kind.NUMBER:
            self.advance()
            number = self.advance()
            assert isinstance(number.value, float)
            return Literal(-number.value, tok.pos)
        if tok.kind in (Kind.NUMBER, Kind.STRING):
            self.advance()
            assert isinstance(tok.value, (str, float))
            return Literal(tok.value, tok.pos)
        if self.is_word("true", "false"):
            self.advance()
            return Literal(tok.text == "true", tok.pos)
        self.fail(f"list items must be string, number or boolean literals, found {tok.describe()}")


def _constant_number(expr: Expr) -> float | None:
    if isinstance(expr, Literal) and isinstance(expr.value, float):
        return expr.value
    if isinstance(expr, Unary) and expr.op == "-":
        inner = _constant_number(expr.operand)
        return None if inner is None else -inner
    return None


def _start(expr: Expr) -> int:
    """Offset of the first character of an expression's source."""
    first = expr.pos
    for child in children(expr):
        first = min(first, _start(child))
    return first


def _check(expr: Expr, text: str) -> None:
    """Depth limit, then the ``and``/``or`` operand rule (iteratively: trees can be deep)."""
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    nodes: list[Expr] = []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression deeper than {MAX_DEPTH} levels", position=node.pos, expression=text)
        nodes.append(node)
        stack.extend((child, depth + 1) for child in children(node))
    for node in nodes:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            for operand in (node.left, node.right):
                types = infer(operand)
                if not types & {T.BOOLEAN, T.UNDEFINED}:
                    names = "/".join(sorted(TYPE_NAMES[t] for t in types))
                    raise ExpressionError(
                        f"operand of '{node.op}' must be boolean, got {names}",
                        position=_start(operand),
                        expression=text,
                    )
