"""SQL of the custom-property formula functions (``expr.formula_parser.FORMULA_FUNCTIONS``), on the typed-value
representation of ``expr.compile_sql`` (a ``tag``, ``s``, ``n``, ``b`` quadruple per value; every user value a
bound parameter; nothing can make ClickHouse throw, whatever the filler in unused fields).

Semantics (``tests/support/reference_formula.py`` is the plain-Python statement of them):

* ``if(c, a, b)``: ``a`` when ``c`` is boolean ``true``, else ``b`` (undefined when left out); ``ifs(c1, v1, …)``:
  the value of the first true condition, undefined when none is.
* ``upper``/``lower``: of a string (Unicode case mapping); ``len``: characters of a string, items of a list.
* ``left(s, n)``/``right(s, n)``: the first/last ``floor(n)`` characters; ``mid(s, start, n)``: ``floor(n)``
  characters from the 1-based ``floor(start)``; undefined for a negative count or a start below 1.
* ``split(s, d)``: the list of the parts of ``s`` between occurrences of ``d`` (a non-empty string literal);
  ``split(s, d, n)``: the ``floor(n)``-th part (1-based), ``s`` itself when ``d`` does not occur in it (Mixpanel's
  documented example), undefined past the last part.
* ``regex_match(s, p)``: whether ``p`` matches part of ``s``; ``regex_extract(s, p[, k])``: the first match (its
  ``k``-th capture group, ``""`` if that group took no part), undefined without a match; ``regex_replace(s, p,
  r)``: every match replaced by ``r`` (``\\0`` the match, ``\\1``…``\\9`` its groups, ``\\\\`` a backslash).
  Patterns are RE2 syntax, case-insensitive unless they start with ``(?-i)``.
* ``min``/``max`` of numbers; ``sum(list)``: the sum of the list's numbers (others ignored), ``sum(n1, n2, …)``:
  of numbers. Any non-number argument gives undefined.
* ``has_suffix`` is compiled with ``has_prefix`` in ``compile_sql`` (both case-insensitive in formulas: the parser
  folds their arguments).
* ``datedif(start, end, unit)``: both read as ``datetime()`` reads them, compared by their UTC calendar dates;
  ``D`` days, ``M`` whole months, ``Y`` whole years, ``YM`` months left after the whole years; undefined when
  ``start`` is after ``end``.
* ``fold`` (written by the parser for ``==``, ``!=``, ``in`` and the prefix tests): strings lower-cased, lists with
  their strings lower-cased, other values kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from mixhouse.expr.ast import Call, Literal
from mixhouse.expr.compile_sql import (
    B,
    D,
    F,
    L,
    S,
    U,
    _and,
    _Compiler,
    _const,
    _guard,
    _is,
    _is_any,
    _lookup1,
    _lookup2,
    _multi,
    _not,
    _to_datetime,
    _Typed,
)
from mixhouse.expr.formula_parser import FOLD, UNDEFINED_CALL
from mixhouse.expr.values import T

#: Most SQL characters one field of a formula call's value may take.
FORMULA_SQL_BUDGET: Final = 16_000
#: Counts and positions are capped here before they become integers (no string is this long).
_CAP: Final = "1000000000"
_NOT_NUMBER_ITEM: Final = "('\"', '[', '{{', 'n', 't', 'f')"


def regex_sql_pattern(pattern: str, *, wrap: bool = False) -> str:
    """The RE2 pattern run for a formula's ``pattern``: case-insensitive unless it starts with ``(?-i)``; with
    ``wrap``, the whole match is group 1 (the pattern's own groups follow)."""
    body, flags = (pattern[5:], "") if pattern.startswith("(?-i)") else (pattern, "(?i)")
    return f"{flags}({body})" if wrap else flags + body


def compile_formula_call(compiler: _Compiler, call: Call) -> _Typed:
    """The typed value of a formula function call; ``ExpressionError`` when its SQL outgrows
    ``FORMULA_SQL_BUDGET`` (a query must stay under ClickHouse's ``max_query_size``)."""
    value = _call(compiler, call)
    if max(len(value.tag), len(value.s), len(value.n), len(value.b)) > FORMULA_SQL_BUDGET:
        raise compiler.fail(f"formula is too complex to compile to SQL (function '{call.name}' nests too deeply)",
                            call.pos)
    return value


def _call(compiler: _Compiler, call: Call) -> _Typed:
    name = call.name
    if name == UNDEFINED_CALL:
        return _const(U)
    if name in ("if", "ifs"):
        return _branches(compiler, call)
    if name.startswith("regex_"):
        return _regex(compiler, call)
    if name == "split":
        return _split(compiler, call)
    args = [compiler.compile(arg) for arg in call.args]
    if name in _UNARY:
        return _UNARY[name](compiler, args[0])
    if name in ("left", "right"):
        return _left_right(compiler, name, args[0], args[1])
    if name == "mid":
        return _mid(compiler, args[0], args[1], args[2])
    if name in ("min", "max"):
        return _extreme("least" if name == "min" else "greatest", args)
    if name == "sum":
        return _sum(args)
    if name == "datedif":
        unit = call.args[2]
        assert isinstance(unit, Literal) and isinstance(unit.value, str)
        return _datedif(compiler, args[0], args[1], unit.value)
    raise compiler.fail(f"unsupported function '{name}'", call.pos)


# ------------------------------------------------------------------------------------------------ helpers


def _bind(compiler: _Compiler, values: Sequence[str], body: Callable[..., str]) -> str:
    """``body`` over ``values`` each computed once (a lambda over one-item arrays), however often ``body`` reads
    them: keeps the SQL of nested calls from growing exponentially."""
    names = [compiler.lambda_var() for _ in values]
    arrays = ", ".join(f"[{value}]" for value in values)
    return f"arrayMap(({', '.join(names)}) -> {body(*names)}, {arrays})[1]"


def _true(c: _Typed) -> str:
    return _and(_is(c, B), c.b)


def _choose(cases: Sequence[tuple[str, _Typed]], default: _Typed) -> _Typed:
    """The value of the first case whose condition holds, else ``default`` (each field a ``multiIf``)."""
    kept: list[tuple[str, _Typed]] = []
    for cond, value in cases:
        if cond == "0":
            continue
        if cond == "1":
            default = value
            break
        kept.append((cond, value))
    values = [v for _, v in kept] + [default]
    types = frozenset().union(*(v.types for v in values))
    tag = str(int(next(iter(types)))) if len(types) == 1 else _multi([(c, v.tag) for c, v in kept], default.tag)

    def field(pick: Callable[[_Typed], str]) -> str:
        if all(pick(v) == pick(default) for _, v in kept):
            return pick(default)
        return _multi([(c, pick(v)) for c, v in kept], pick(default))

    return _Typed(types, tag, field(lambda v: v.s), field(lambda v: v.n), field(lambda v: v.b))


def _branches(compiler: _Compiler, call: Call) -> _Typed:
    """``if(c, a[, b])`` and ``ifs(c1, v1, c2, v2, …)``."""
    compiled = [compiler.compile(arg) for arg in call.args]
    if call.name == "if":
        pairs, default = [(compiled[0], compiled[1])], (compiled[2] if len(compiled) == 3 else _const(U))
    else:
        pairs, default = list(zip(compiled[0::2], compiled[1::2], strict=True)), _const(U)
    return _choose([(_true(c), v) for c, v in pairs], default)


def _string_to(kind: T, a: _Typed) -> tuple[frozenset[T], str]:
    return _lookup1(a, lambda t: kind if t == S else U)


def _case(function: str) -> Callable[[_Compiler, _Typed], _Typed]:
    def apply(compiler: _Compiler, a: _Typed) -> _Typed:
        types, tag = _string_to(S, a)
        return _Typed(types, tag, s=f"{function}({a.s})" if S in types else "''")

    return apply


def _fold(compiler: _Compiler, a: _Typed) -> _Typed:
    texts = _is_any(a, {S, L})
    if texts == "0":
        return a
    if texts == "1":
        return _Typed(a.types, a.tag, s=f"lowerUTF8({a.s})", n=a.n, b=a.b)
    return _Typed(a.types, a.tag, s=_bind(compiler, [a.s], lambda x: f"if({texts}, lowerUTF8({x}), {x})"), n=a.n,
                  b=a.b)


def _len(compiler: _Compiler, a: _Typed) -> _Typed:
    types, tag = _lookup1(a, lambda t: F if t in (S, L) else U)

    def length(x: str) -> str:
        return _multi([(_is(a, S), f"toFloat64(lengthUTF8({x}))"),
                       (_is(a, L), f"toFloat64(length(JSONExtractArrayRaw({x})))")], "0")

    return _Typed(types, tag, n=_bind(compiler, [a.s], length) if F in types else "0")


def _whole(compiler: _Compiler, n: _Typed, least: int) -> tuple[str, str]:
    """(valid, Int64 SQL) of ``floor(n)`` for a count (``least`` 0) or a 1-based position (``least`` 1)."""
    def ok(x: str) -> str:
        return f"(isFinite({x}) AND {x} >= {least})"

    valid = _and(_is(n, F), _bind(compiler, [n.n], ok))
    whole = _bind(compiler, [n.n], lambda x: f"toInt64(if({ok(x)}, least(floor({x}), {_CAP}), {least}))")
    return valid, whole


def _left_right(compiler: _Compiler, name: str, a: _Typed, n: _Typed) -> _Typed:
    types, tag = _lookup2(a, n, lambda ta, tn: S if ta == S and tn == F else U)
    valid, count = _whole(compiler, n, 0)
    types, tag = _guard(types, tag, _and(_is(n, F), _not(valid)), U)
    if name == "left":
        s = f"substringUTF8({a.s}, 1, toUInt64({count}))"
    else:
        s = _bind(compiler, [a.s, count],
                  lambda x, k: f"substringUTF8({x}, toInt64(greatest(toInt64(lengthUTF8({x})) - {k} + 1, 1)))")
    return _Typed(types, tag, s=s if S in types else "''")


def _mid(compiler: _Compiler, a: _Typed, start: _Typed, n: _Typed) -> _Typed:
    def rule(ta: T, tb: T) -> T:
        return S if ta == S and tb == F else U

    types, tag = _lookup2(a, start, rule)
    types, tag = _lookup2(_Typed(types, tag), n, rule)
    first_ok, first = _whole(compiler, start, 1)
    count_ok, count = _whole(compiler, n, 0)
    types, tag = _guard(types, tag, _and(_is(start, F), _is(n, F), _not(_and(first_ok, count_ok))), U)
    return _Typed(types, tag, s=f"substringUTF8({a.s}, {first}, toUInt64({count}))" if S in types else "''")


def _split(compiler: _Compiler, call: Call) -> _Typed:
    delimiter = call.args[1]
    assert isinstance(delimiter, Literal) and isinstance(delimiter.value, str)
    a = compiler.compile(call.args[0])
    separator = compiler.string(delimiter.value)
    parts = f"splitByString({separator}, {a.s})"
    if len(call.args) == 2:
        types, tag = _string_to(L, a)
        return _Typed(types, tag, s=f"toJSONString({parts})" if L in types else "''")
    n = compiler.compile(call.args[2])
    types, tag = _lookup2(a, n, lambda ta, tn: S if ta == S and tn == F else U)
    valid, k = _whole(compiler, n, 1)
    in_range = _and(valid, _bind(compiler, [parts, k], lambda p, i: f"(length({p}) = 1 OR {i} <= length({p}))"))
    types, tag = _guard(types, tag, _and(_is(a, S), _is(n, F), _not(in_range)), U)
    value = _bind(compiler, [a.s, k], lambda x, i: _bind(compiler, [f"splitByString({separator}, {x})"],
                                                         lambda p: f"if(length({p}) = 1, {x}, arrayElement({p}, {i}))"))
    return _Typed(types, tag, s=value if S in types else "''")


def _regex(compiler: _Compiler, call: Call) -> _Typed:  # reads the haystack twice at most (tag and value)
    pattern = call.args[1]
    assert isinstance(pattern, Literal) and isinstance(pattern.value, str)
    a = compiler.compile(call.args[0])
    if call.name == "regex_match":
        types, tag = _string_to(B, a)
        return _Typed(types, tag, b=f"match({a.s}, {compiler.string(regex_sql_pattern(pattern.value))})")
    types, tag = _string_to(S, a)
    if call.name == "regex_replace":
        replacement = call.args[2]
        assert isinstance(replacement, Literal) and isinstance(replacement.value, str)
        run = compiler.string(regex_sql_pattern(pattern.value))
        s = f"replaceRegexpAll({a.s}, {run}, {compiler.string(replacement.value)})"
        return _Typed(types, tag, s=s if S in types else "''")
    wrapped = compiler.string(regex_sql_pattern(pattern.value, wrap=True))
    group = 1
    if len(call.args) == 3:
        index = call.args[2]
        assert isinstance(index, Literal) and isinstance(index.value, float)
        group += int(index.value)
    types, tag = _guard(types, tag, _and(_is(a, S), f"(NOT match({a.s}, {wrapped}))"), U)
    return _Typed(types, tag, s=f"arrayElement(extractGroups({a.s}, {wrapped}), {group})" if S in types else "''")


def _numbers(args: Sequence[_Typed]) -> tuple[frozenset[T], str]:
    types, tag = _lookup1(args[0], lambda t: F if t == F else U)
    for arg in args[1:]:
        types, tag = _lookup2(_Typed(types, tag), arg, lambda ta, tb: F if ta == tb == F else U)
    return types, tag


def _extreme(function: str, args: Sequence[_Typed]) -> _Typed:
    types, tag = _numbers(args)
    n = args[0].n
    for arg in args[1:]:
        n = f"{function}({n}, {arg.n})"
    return _Typed(types, tag, n=n)


def _sum(args: Sequence[_Typed]) -> _Typed:
    if len(args) > 1:
        types, tag = _numbers(args)
        return _Typed(types, tag, n="(" + " + ".join(arg.n for arg in args) + ")")
    a = args[0]
    types, tag = _lookup1(a, lambda t: F if t in (F, L) else U)
    items = (f"arraySum(arrayMap(x -> if(substring(x, 1, 1) IN {_NOT_NUMBER_ITEM}, 0, JSONExtractFloat(x)), "
             f"JSONExtractArrayRaw({a.s})))")
    return _Typed(types, tag, n=_multi([(_is(a, L), f"toFloat64({items})")], a.n))


def _datedif(compiler: _Compiler, a: _Typed, b: _Typed, unit: str) -> _Typed:
    start, end = _to_datetime(a), _to_datetime(b)
    types, tag = _lookup2(start, end, lambda ta, tb: F if ta == tb == D else U)
    # filler (a value that is not a datetime) reads as 0 ms, always in range
    moments = [f"fromUnixTimestamp64Milli(toInt64({_multi([(_is(v, D), v.n)], '0')}), 'UTC')" for v in (start, end)]
    later = _bind(compiler, moments, lambda p, q: f"(toDate32({p}) > toDate32({q}))")
    types, tag = _guard(types, tag, _and(_is(start, D), _is(end, D), later), U)

    def whole(p: str, q: str) -> str:
        if unit == "D":
            return f"toFloat64(dateDiff('day', toDate32({p}), toDate32({q})))"
        months = (f"((toYear({q}) * 12 + toMonth({q})) - (toYear({p}) * 12 + toMonth({p})) "
                  f"- (toDayOfMonth({q}) < toDayOfMonth({p})))")
        return "toFloat64(" + {"M": months, "Y": f"intDiv({months}, 12)", "YM": f"({months} % 12)"}[unit] + ")"

    return _Typed(types, tag, n=_bind(compiler, moments, whole))


_UNARY: Final[dict[str, Callable[[_Compiler, _Typed], _Typed]]] = {
    FOLD: _fold,
    "upper": _case("upperUTF8"),
    "lower": _case("lowerUTF8"),
    "len": _len,
}
