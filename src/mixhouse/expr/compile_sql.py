"""Compile expressions to ClickHouse SQL with exactly the evaluator's semantics.

Representation: every sub-expression compiles to a ``_Typed`` value made of four SQL expressions,

* ``tag`` – UInt8 runtime type (``values.T``: 0 undefined, 1 null, 2 boolean, 3 number, 4 string, 5 datetime,
  6 list, 7 object),
* ``s`` – String: the string value; for lists and objects their canonical JSON text (``JSONExtractRaw``),
* ``n`` – Float64: the number value; for datetimes milliseconds since the epoch,
* ``b`` – UInt8: the boolean value,

plus the static set of tags it can take, which prunes impossible branches (a literal's tag is a constant, and
``==`` is statically boolean). A field is meaningful only when ``tag`` says so; the others hold harmless filler,
and every expression is written so that filler can never make ClickHouse throw. Type tags of results are computed
with ``transform`` lookups so each node refers to its children's tags once; longer fields are read by name and
written once per fragment where they are read often (``expr.sql_bindings``), so SQL size stays near-linear.

Every user value (property names, strings, numbers, lists) is a bound query parameter. Strings are bound
hex-encoded, ``unhex({p0:String})``: ClickHouse/chDB parse ``String`` parameters in escaped form, so a raw value
with a backslash or newline would be mangled or rejected; hex text survives any parameter transport unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mixhouse.errors import ExpressionError
from mixhouse.expr.ast import Binary, Call, DatetimeLiteral, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.expr.parser import parse
from mixhouse.expr.sql_bindings import Bindings
from mixhouse.expr.values import (
    DATETIME_PATTERN,
    JSON_TYPES,
    MAX_DATETIME_MS,
    MIN_DATETIME_MS,
    MS_THRESHOLD,
    NUMBER_PATTERN,
    T,
)

#: Refuse to emit more SQL than this (pathological nesting of number↔string conversions, divisions …).
MAX_SQL_CHARS: Final = 1_000_000

U, N, B, F, S, D, L, OBJ = (T.UNDEFINED, T.NULL, T.BOOLEAN, T.NUMBER, T.STRING, T.DATETIME, T.LIST, T.OBJECT)
_ORDERED: Final = frozenset({F, S, D})


@dataclass(frozen=True)
class SqlContext:
    """Which SQL expressions a compiled expression reads (trusted SQL, never user text)."""

    properties_column: str = "properties"
    event_column: str = "event"
    time_column: str = "time"
    distinct_id_sql: str = "distinct_id"
    #: JSON object text of the record's user profile (may be NULL); ``None`` makes ``user[...]`` an error.
    user_properties_column: str | None = None
    #: Parameter names are ``{prefix}{n}``; use distinct prefixes for fragments that share one query.
    param_prefix: str = "p"
    #: Columns that already hold ``JSONExtractRaw(properties_column, key)`` for some keys (read instead of parsing).
    raw_property_columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SqlFragment:
    """A SQL expression and the query parameters its ``{name:Type}`` placeholders need."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def compile_filter(expr: Expr | str, ctx: SqlContext | None = None) -> SqlFragment:
    """A UInt8 SQL condition that is 1 exactly for the records the ``where`` expression keeps."""
    compiler = _Compiler(ctx or SqlContext(), expr)
    value = compiler.compile(compiler.expr)
    return compiler.fragment(_and(_is(value, B), value.b))


def compile_value(expr: Expr | str, ctx: SqlContext | None = None) -> SqlFragment:
    """A Nullable(String) SQL expression: the ``on`` segment key (``values.segment_key``); NULL when there is no
    key (undefined, list, object). Use ``compile_values`` for the list fan-out."""
    compiler = _Compiler(ctx or SqlContext(), expr)
    value = compiler.compile(compiler.expr)
    keyable = _is_any(value, {N, B, F, S, D})
    if keyable == "0":
        return compiler.fragment("CAST(NULL AS Nullable(String))")
    return compiler.fragment(f"if({keyable}, {_key(value)}, NULL)")


def compile_values(expr: Expr | str, ctx: SqlContext | None = None) -> SqlFragment:
    """An Array(String) SQL expression: the ``on`` segment keys with list fan-out (``values.segment_keys``), for
    ``arrayJoin``; empty when there is no key."""
    compiler = _Compiler(ctx or SqlContext(), expr)
    value = compiler.compile(compiler.expr)
    x = compiler.lambda_var()
    number_key = _fmt(f"JSONExtractFloat({x})")
    item_key = (
        f"multiIf(startsWith({x}, '\"'), JSONExtractString({x}), {x} IN ('null', 'true', 'false'), {x}, {number_key})"
    )
    scalar_items = f"arrayFilter({x} -> substring({x}, 1, 1) NOT IN ('[', '{{'), JSONExtractArrayRaw({value.s}))"
    fanned = f"arraySort(arrayDistinct(arrayMap({x} -> {item_key}, {scalar_items})))"
    keyable = _is_any(value, {N, B, F, S, D})
    sql = _multi([(_is(value, L), fanned), (keyable, f"[{_key(value)}]")], "CAST([] AS Array(String))")
    return compiler.fragment(sql)


def compile_typed(expr: Expr | str, ctx: SqlContext | None = None) -> SqlFragment:
    """The raw representation, ``tuple(tag UInt8, s String, n Float64, b UInt8)`` (see the module docstring); for
    tests and debugging."""
    compiler = _Compiler(ctx or SqlContext(), expr)
    value = compiler.compile(compiler.expr)
    return compiler.fragment(
        f"tuple(toUInt8({value.tag}), toString({value.s}), toFloat64({value.n}), toUInt8({value.b}))"
    )


def parse_number_sql(text_sql: str) -> tuple[str, str]:
    """(condition, Float64) SQL of ``number(string)`` over a String expression (``values.parse_number``): whether
    the text is a plain decimal number that does not overflow, and its value (0 when it is not)."""
    return _number_ok(text_sql), f"toFloat64OrZero({text_sql})"


def format_number_sql(number_sql: str) -> str:
    """``values.format_number`` (``string(number)``, how a number prints as a segment key) over a Float64 expression."""
    return _fmt(number_sql)


# ------------------------------------------------------------------------------------------------ SQL helpers


def _and(*parts: str) -> str:
    kept = [p for p in parts if p != "1"]
    if "0" in kept:
        return "0"
    if not kept:
        return "1"
    return kept[0] if len(kept) == 1 else "(" + " AND ".join(kept) + ")"


def _or(*parts: str) -> str:
    kept = [p for p in parts if p != "0"]
    if "1" in kept:
        return "1"
    if not kept:
        return "0"
    return kept[0] if len(kept) == 1 else "(" + " OR ".join(kept) + ")"


def _not(part: str) -> str:
    if part in ("0", "1"):
        return "1" if part == "0" else "0"
    return f"(NOT {part})"


def _multi(cases: Iterable[tuple[str, str]], default: str) -> str:
    """``multiIf`` over (condition, value) pairs, dropping constant-false and stopping at constant-true."""
    kept: list[tuple[str, str]] = []
    for cond, value in cases:
        if cond == "0":
            continue
        if cond == "1":
            default = value
            break
        kept.append((cond, value))
    if not kept:
        return default
    args = ", ".join(f"{c}, {v}" for c, v in kept)
    return f"multiIf({args}, {default})"


@dataclass(frozen=True)
class _Typed:
    types: frozenset[T]
    tag: str
    s: str = "''"
    n: str = "0"
    b: str = "0"


def _const(kind: T, *, s: str = "''", n: str = "0", b: str = "0") -> _Typed:
    return _Typed(frozenset({kind}), str(int(kind)), s, n, b)


def _is(v: _Typed, kind: T) -> str:
    if kind not in v.types:
        return "0"
    if len(v.types) == 1:
        return "1"
    return f"({v.tag} = {int(kind)})"


def _is_any(v: _Typed, kinds: Iterable[T]) -> str:
    wanted = frozenset(kinds) & v.types
    if not wanted:
        return "0"
    if wanted == v.types:
        return "1"
    if len(wanted) == 1:
        return _is(v, next(iter(wanted)))
    return f"({v.tag} IN ({', '.join(str(int(k)) for k in sorted(wanted))}))"


def _tag_sql(key: str, mapping: dict[int, T]) -> tuple[frozenset[T], str]:
    results = frozenset(mapping.values())
    if len(results) == 1:
        only = next(iter(results))
        return results, str(int(only))
    keys = sorted(mapping)
    values = ", ".join(str(int(mapping[k])) for k in keys)
    return results, f"transform({key}, [{', '.join(map(str, keys))}], [{values}], 0)"


def _lookup1(v: _Typed, fn: Callable[[T], T]) -> tuple[frozenset[T], str]:
    return _tag_sql(v.tag, {int(t): fn(t) for t in v.types})


def _lookup2(a: _Typed, b: _Typed, fn: Callable[[T, T], T]) -> tuple[frozenset[T], str]:
    if len(a.types) == 1:
        ta = next(iter(a.types))
        return _lookup1(b, lambda tb: fn(ta, tb))
    if len(b.types) == 1:
        tb = next(iter(b.types))
        return _lookup1(a, lambda ta: fn(ta, tb))
    mapping = {int(ta) * 8 + int(tb): fn(ta, tb) for ta in a.types for tb in b.types}
    return _tag_sql(f"({a.tag} * 8 + {b.tag})", mapping)


def _guard(types: frozenset[T], tag: str, cond: str, fallback: T) -> tuple[frozenset[T], str]:
    """Tag that becomes ``fallback`` where ``cond`` holds (e.g. undefined on division by zero)."""
    if cond == "0":
        return types, tag
    if cond == "1":
        return frozenset({fallback}), str(int(fallback))
    return types | {fallback}, f"if({cond}, {int(fallback)}, {tag})"


def _fmt(n: str) -> str:
    """``values.format_number`` in SQL (ClickHouse prints doubles like JavaScript, minus the exponent's '+')."""
    return (
        f"multiIf(isNaN({n}), 'NaN', isInfinite({n}), if({n} > 0, 'Infinity', '-Infinity'), {n} = 0, '0', "
        f"replaceRegexpOne(toString({n}), 'e([0-9])', 'e+\\\\1'))"
    )


def _iso(v: _Typed) -> str:
    """``values.format_datetime`` in SQL (``toString`` of a DateTime64(3) is ``YYYY-MM-DD HH:MM:SS.mmm``)."""
    ms = f"toInt64({_multi([(_is(v, D), v.n)], '0')})"
    text = f"replaceOne(toString(fromUnixTimestamp64Milli({ms}, 'UTC')), ' ', 'T')"
    return f"replaceRegexpOne({text}, '[.]000$', '')"


def _key(v: _Typed) -> str:
    """``values.segment_key`` for the keyable types (null, boolean, number, string, datetime)."""
    return _multi(
        [
            (_is(v, S), v.s),
            (_is(v, F), _fmt(v.n)),
            (_is(v, B), f"if({v.b}, 'true', 'false')"),
            (_is(v, D), _iso(v)),
        ],
        "'null'",
    )


def _number_ok(s: str) -> str:
    return f"(match({s}, '^{NUMBER_PATTERN}$') AND isFinite(toFloat64OrZero({s})))"


def _datetime_parts(text: str) -> tuple[str, str]:
    """(valid, milliseconds) SQL for ``values.parse_datetime``; pure arithmetic, so junk input cannot throw. The text
    and its numeric parts are bound once (lambdas over one-item arrays) and read by name, so ``text`` appears twice
    in the result and each part's SQL once."""
    s = "__mh_dt"
    names = ("__mh_y", "__mh_mo", "__mh_d", "__mh_h", "__mh_mi", "__mh_sec", "__mh_frac")
    y, mo, d, h, mi, sec, frac = names
    parts = [f"toInt64OrZero(substring({s}, {start}, {length}))"
             for start, length in ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2), (18, 2))]
    parts.append(f"toInt64OrZero(substring(concat(extract({s}, '[.]([0-9]+)'), '000'), 1, 3))")
    leap = f"(({y} % 4 = 0 AND {y} % 100 != 0) OR {y} % 400 = 0)"
    days_in_month = f"multiIf({mo} = 2, if({leap}, 29, 28), {mo} IN (4, 6, 9, 11), 30, 31)"
    valid = (
        f"(match({s}, '^{DATETIME_PATTERN}$') AND {y} BETWEEN 1900 AND 2299 AND {mo} BETWEEN 1 AND 12 "
        f"AND {d} BETWEEN 1 AND {days_in_month} AND {h} <= 23 AND {mi} <= 59 AND {sec} <= 59)"
    )
    # Days since 1970-01-01 of a proleptic Gregorian date (the classic era/day-of-era decomposition).
    yy = f"({y} - ({mo} <= 2))"
    era = f"intDiv({yy}, 400)"
    yoe = f"({yy} - {era} * 400)"
    doy = f"(intDiv(153 * (({mo} + 9) % 12) + 2, 5) + {d} - 1)"
    doe = f"({yoe} * 365 + intDiv({yoe}, 4) - intDiv({yoe}, 100) + {doy})"
    days = f"({era} * 146097 + {doe} - 719468)"
    ms = f"toFloat64((({days} * 86400 + {h} * 3600 + {mi} * 60 + {sec}) * 1000) + {frac})"
    bound = ", ".join(f"[{part}]" for part in parts)
    body = f"arrayMap(({', '.join(names)}) -> tuple({valid}, {ms}), {bound})[1]"
    pair = f"arrayMap({s} -> {body}, [{text}])[1]"
    return f"tupleElement({pair}, 1)", f"tupleElement({pair}, 2)"


# ------------------------------------------------------------------------------------------------ compiler


class _Compiler:
    def __init__(self, ctx: SqlContext, expr: Expr | str) -> None:
        self.ctx = ctx
        self.text = expr if isinstance(expr, str) else None
        self.expr = parse(expr) if isinstance(expr, str) else expr
        self.params: dict[str, Any] = {}
        self._names: dict[tuple[str, Any], str] = {}
        self._lambdas = 0
        self._bindings = Bindings(ctx.param_prefix)

    def fragment(self, sql: str) -> SqlFragment:
        sql = self._bindings.resolve(sql, limit=MAX_SQL_CHARS)
        if len(sql) > MAX_SQL_CHARS:
            raise ExpressionError("expression is too complex to compile to SQL", position=0, expression=self.text)
        return SqlFragment(sql if sql in ("0", "1") else f"({sql})", dict(self.params))

    def fail(self, message: str, pos: int) -> ExpressionError:
        return ExpressionError(message, position=pos, expression=self.text)

    def lambda_var(self) -> str:
        self._lambdas += 1
        return f"__mh_{self.ctx.param_prefix}_x{self._lambdas}"

    def _param(self, sql_type: str, value: Any) -> str:
        key = (sql_type, value)
        name = self._names.get(key)
        if name is None:
            name = f"{self.ctx.param_prefix}{len(self._names)}"
            self._names[key] = name
            self.params[name] = value
        return f"{{{name}:{sql_type}}}"

    def string(self, value: str) -> str:
        return f"unhex({self._param('String', value.encode('utf-8').hex())})"

    def number(self, value: float) -> str:
        return self._param("Float64", float(value))

    # ------------------------------------------------------------------------------------------- nodes

    def compile(self, expr: Expr) -> _Typed:
        value = self._compile(expr)
        if max(len(value.tag), len(value.s), len(value.n), len(value.b)) > MAX_SQL_CHARS:
            # Checked per node: each node grows its children's SQL by a bounded factor, so this stops runaway
            # growth (e.g. deeply nested number/string conversions) early.
            raise self.fail("expression is too complex to compile to SQL", expr.pos)
        name = self._bindings.name  # parents read each longer field by name (``expr.sql_bindings``)
        return _Typed(value.types, name(value.tag), name(value.s), name(value.n), name(value.b))

    def _compile(self, expr: Expr) -> _Typed:
        if isinstance(expr, Property):
            return self.property(expr)
        if isinstance(expr, Literal):
            value = expr.value
            if isinstance(value, bool):
                return _const(B, b="1" if value else "0")
            if isinstance(value, str):
                return _const(S, s=self.string(value))
            return _const(F, n=self.number(value))
        if isinstance(expr, ListLiteral):
            text = json.dumps([item.value for item in expr.items])
            return _const(L, s=f"JSONExtractRaw({self.string(text)})")
        if isinstance(expr, DatetimeLiteral):
            return _const(D, n=self.number(float(expr.ms)))
        if isinstance(expr, Unary):
            operand = self.compile(expr.operand)
            return _negate(operand) if expr.op == "not" else _minus(operand)
        if isinstance(expr, Binary):
            return self.binary(expr)
        if isinstance(expr, Call):
            if expr.name not in _CALLS and expr.name not in ("has_prefix", "has_suffix"):  # formula functions
                from mixhouse.expr.formula_sql import compile_formula_call  # late: that module builds on this one

                return compile_formula_call(self, expr)
            args = [self.compile(arg) for arg in expr.args]
            if expr.name == "has_prefix":
                return _affix("startsWith", args[0], args[1])
            if expr.name == "has_suffix":
                return _affix("endsWith", args[0], args[1])
            return _CALLS[expr.name](args[0])
        raise self.fail(f"unsupported expression node {type(expr).__name__}", 0)

    def property(self, expr: Property) -> _Typed:
        ctx = self.ctx
        if expr.source == "event":
            if expr.name == "time":
                return _const(D, n=f"toFloat64(toUnixTimestamp64Milli({ctx.time_column}))")
            if expr.name == "name":
                return _const(S, s=f"toString({ctx.event_column})")
            return _const(S, s=f"toString({ctx.distinct_id_sql})")
        if expr.source == "user":
            if ctx.user_properties_column is None:
                raise self.fail("user[...] properties are not available in this query", expr.pos)
            column = f"coalesce({ctx.user_properties_column}, '')"
        else:
            column = ctx.properties_column
        stored = ctx.raw_property_columns.get(expr.name) if expr.source == "properties" else None
        raw = stored or f"JSONExtractRaw({column}, {self.string(expr.name)})"
        tag = f"transform(substring({raw}, 1, 1), ['', '\"', '[', '{{', 'n', 't', 'f'], [0, 4, 6, 7, 1, 2, 2], 3)"
        return _Typed(
            JSON_TYPES,
            tag,
            s=f"if(startsWith({raw}, '\"'), JSONExtractString({raw}), {raw})",
            n=f"JSONExtractFloat({raw})",
            b=f"({raw} = 'true')",
        )

    def binary(self, expr: Binary) -> _Typed:
        op = expr.op
        a = self.compile(expr.left)
        b = self.compile(expr.right)
        if op == "and":
            return _const(B, b=_and(_is(a, B), a.b, _is(b, B), b.b))
        if op == "or":
            return _const(B, b=_or(_and(_is(a, B), a.b), _and(_is(b, B), b.b)))
        if op == "==":
            return _const(B, b=_equal(a, b))
        if op == "!=":
            return _const(B, b=_not(_equal(a, b)))
        if op in ("<", "<=", ">", ">="):
            return _compare(op, a, b)
        if op == "in":
            return self.contains(a, b)
        if op == "not in":
            return _negate(self.contains(a, b))
        return _arithmetic(op, a, b)

    def contains(self, a: _Typed, b: _Typed) -> _Typed:
        def rule(ta: T, tb: T) -> T:
            if (ta == tb == S) or (tb == L and ta != U):
                return B
            return U

        types, tag = _lookup2(a, b, rule)
        substring = f"(position({b.s}, {a.s}) > 0)"
        x = self.lambda_var()
        first = f"substring({x}, 1, 1)"
        same_item = _or(
            _and(_is(a, N), f"({x} = 'null')"),
            _and(_is(a, B), f"({x} = if({a.b}, 'true', 'false'))"),
            _and(_is(a, F), f"({first} NOT IN ('\"', '[', '{{', 'n', 't', 'f'))", f"(JSONExtractFloat({x}) = {a.n})"),
            _and(_is(a, S), f"startsWith({x}, '\"')", f"(JSONExtractString({x}) = {a.s})"),
            _and(_is_any(a, {L, OBJ}), f"({x} = {a.s})"),
        )
        member = f"arrayExists({x} -> {same_item}, JSONExtractArrayRaw({b.s}))"
        value = _multi([(_and(_is(a, S), _is(b, S)), substring), (_is(b, L), member)], "0")
        return _Typed(types, tag, b=value)


# ------------------------------------------------------------------------------------------------ operators


def _negate(a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: B if t in (B, U) else U)
    return _Typed(types, tag, b=_multi([(_is(a, U), "1")], _not(a.b)))


def _minus(a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: F if t == F else U)
    return _Typed(types, tag, n=f"(-{a.n})")


def _equal(a: _Typed, b: _Typed) -> str:
    def same(kind: T) -> str:
        if kind in (U, N):
            return "1"
        if kind == B:
            return f"({a.b} = {b.b})"
        if kind in (F, D):
            return f"({a.n} = {b.n})"
        return f"({a.s} = {b.s})"

    return _or(*(_and(_is(a, t), _is(b, t), same(t)) for t in sorted(a.types & b.types)))


def _compare(op: str, a: _Typed, b: _Typed) -> _Typed:
    types, tag = _lookup2(a, b, lambda ta, tb: B if ta == tb and ta in _ORDERED else U)
    both = a.types & b.types & _ORDERED
    numeric = f"({a.n} {op} {b.n})" if both & {F, D} else "0"
    text = f"({a.s} {op} {b.s})" if S in both else "0"
    return _Typed(types, tag, b=_multi([(_is(a, S), text)], numeric))


def _arithmetic(op: str, a: _Typed, b: _Typed) -> _Typed:
    if op == "+":
        types, tag = _lookup2(a, b, lambda ta, tb: ta if ta == tb and ta in (F, S) else U)
        return _Typed(types, tag, s=f"concat({a.s}, {b.s})" if S in types else "''", n=f"({a.n} + {b.n})")
    types, tag = _lookup2(a, b, lambda ta, tb: F if ta == tb == F else U)
    if op in ("-", "*"):
        return _Typed(types, tag, n=f"({a.n} {op} {b.n})")
    if F in types:
        types, tag = _guard(types, tag, f"({b.n} = 0)", U)
    if op == "/":
        return _Typed(types, tag, n=f"({a.n} / {b.n})")
    return _Typed(types, tag, n=f"({a.n} - trunc({a.n} / {b.n}) * {b.n})")


def _numeric_fn(sql: Callable[[str], str]) -> Callable[[_Typed], _Typed]:
    def apply(a: _Typed) -> _Typed:
        types, tag = _lookup1(a, lambda t: F if t == F else U)
        return _Typed(types, tag, n=sql(a.n))

    return apply


def _to_number(a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: F if t in (F, B, D, S) else U)
    if S in a.types:
        types, tag = _guard(types, tag, _and(_is(a, S), _not(_number_ok(a.s))), U)
    n = _multi([(_is(a, S), f"toFloat64OrZero({a.s})"), (_is(a, B), f"toFloat64({a.b})")], a.n)
    return _Typed(types, tag, n=n)


def _to_string(a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: S if t in (S, F, B, D) else (N if t == N else U))
    s = _multi(
        [
            (_is(a, F), _fmt(a.n)),
            (_is(a, B), f"if({a.b}, 'true', 'false')"),
            (_is(a, D), _iso(a)),
        ],
        a.s,
    )
    return _Typed(types, tag, s=s if S in types else "''")


def _to_boolean(a: _Typed) -> _Typed:
    value = _multi(
        [
            (_is_any(a, {U, N}), "0"),
            (_is(a, B), a.b),
            (_is(a, F), f"({a.n} != 0)"),
            (_is(a, S), f"({a.s} NOT IN ('', 'false'))"),
        ],
        "1",
    )
    return _const(B, b=value)


def _to_datetime(a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: D if t in (D, F, S) else U)
    from_number = f"if(abs({a.n}) >= {MS_THRESHOLD:.0f}, floor({a.n}), floor({a.n} * 1000))"
    valid_text, from_text = _datetime_parts(a.s) if S in a.types else ("0", "0")
    invalid = _or(
        _and(_is(a, F), f"(NOT ({from_number} >= {MIN_DATETIME_MS} AND {from_number} < {MAX_DATETIME_MS}))"),
        _and(_is(a, S), _not(valid_text)),
    )
    types, tag = _guard(types, tag, invalid, U)
    n = _multi([(_is(a, F), from_number), (_is(a, S), from_text)], a.n)
    return _Typed(types, tag, n=n if D in types else "0")


def _defined(a: _Typed) -> _Typed:
    return _const(B, b=_not(_is(a, U)))


def _affix(function: str, a: _Typed, b: _Typed) -> _Typed:
    """``has_prefix`` / ``has_suffix``: whether string ``a`` starts / ends with string ``b`` (case-sensitive);
    undefined unless both are strings."""
    types, tag = _lookup2(a, b, lambda ta, tb: B if ta == tb == S else U)
    return _Typed(types, tag, b=f"{function}({a.s}, {b.s})" if B in types else "0")


_CALLS: Final[dict[str, Callable[[_Typed], _Typed]]] = {
    "defined": _defined,
    "number": _to_number,
    "string": _to_string,
    "boolean": _to_boolean,
    "datetime": _to_datetime,
    "floor": _numeric_fn(lambda n: f"floor({n})"),
    "ceil": _numeric_fn(lambda n: f"ceil({n})"),
    "round": _numeric_fn(lambda n: f"(floor({n}) + (({n} - floor({n})) >= 0.5))"),
}
