"""Hypothesis: for random events and random custom-property formulas from a small grammar (every formula function,
well- and ill-typed arguments), the chDB-compiled SQL gives each event the value the plain-Python reference
(``tests/support/reference_formula.py``) gives, and the same breakdown segment keys."""

from __future__ import annotations

from collections.abc import Iterator

import chdb.session
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mixhouse.errors import ExpressionError
from mixhouse.expr.ast import Property
from mixhouse.expr.compile_sql import compile_typed
from mixhouse.expr.evaluate import Record
from mixhouse.expr.formula_parser import parse_formula
from mixhouse.expr.values import segment_keys
from tests.support import reference_formula as ref
from tests.support.expr_sqlcheck import RecordTable, same_value

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

INPUTS = {"A": Property("a"), "N": Property("n"), "L": Property("l"), "D": Property("d")}
STRINGS = ["", "Ann@Example.com", "bob@shop.io", "a//b/c", "Google", "google", "ÄÖ-ß", "12", "-3.5", "x y",
           "2024-02-29", "2023-12-31T23:00:00", "no-at"]
NUMBERS = [0, 1, -1, 2.5, 3, 10, -7.25, 1e6, 0.1]
PATTERNS = ["@(.*)", "[a-z]+", "(o+)(g)?", "^a", "[.]com$", "(?-i)G", "[0-9]+", "x*"]

#: A property left out of the event.
MISSING = object()

texts = st.sampled_from(STRINGS)
numbers = st.sampled_from(NUMBERS)
values = st.one_of(texts, numbers, st.booleans(), st.none(),
                   st.lists(st.one_of(texts, numbers), max_size=4))
records = st.lists(st.builds(lambda a, n, items, d: Record("E", 0, "u", {k: v for k, v in
                                                                       {"a": a, "n": n, "l": items, "d": d}.items()
                                                                       if v is not MISSING}),
                             st.one_of(texts, values, st.just(MISSING)),
                             st.one_of(numbers, values, st.just(MISSING)),
                             st.one_of(st.lists(st.one_of(texts, numbers), max_size=4), values, st.just(MISSING)),
                             st.one_of(st.sampled_from(["2024-01-31", "2024-03-01T10:00:00", "2020-02-29"]),
                                       numbers, st.just(MISSING))),
                   min_size=1, max_size=6)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _call(name: str, *args: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*args).map(lambda parts: f"{name}({', '.join(parts)})")


def _typed(depth: int) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(string, number, boolean) formulas: well-typed, so that the functions' real work is what gets compared."""
    strs: st.SearchStrategy[str] = st.one_of(st.just("A"), texts.map(_quote), st.just("string(N)"))
    nums: st.SearchStrategy[str] = st.one_of(st.just("N"), numbers.map(repr), st.just("len(A)"))
    bools: st.SearchStrategy[str] = st.sampled_from(["defined(A)", "true", "A == N"])
    if depth == 0:
        return strs, nums, bools
    s, n, b = _typed(depth - 1)
    patterns = st.sampled_from(PATTERNS).map(_quote)
    strs = st.one_of(
        strs, st.sampled_from(["upper", "lower"]).flatmap(lambda f: _call(f, s)),
        _call("left", s, n), _call("right", s, n), _call("mid", s, n, n),
        _call("split", s, st.sampled_from(['"@"', '"/"', '"."']), n),
        _call("regex_extract", s, patterns),
        _call("regex_extract", s, st.just('"(o+)(g)?"'), st.sampled_from(["1", "2"])),
        _call("regex_replace", s, patterns, st.sampled_from(['"-"', '"<\\\\1>"', '""', '"\\\\0\\\\0"'])),
        _call("if", b, s, s), _call("ifs", b, s, b, s), st.tuples(s, s).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(s, s).map(lambda t: f"let(v, {t[0]}, v + {t[1]})"),
    )
    nums = st.one_of(
        nums, st.tuples(n, st.sampled_from(["+", "-", "*", "/", "%"]), n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        _call("len", s), _call("len", _call("split", s, st.just('"/"'))), _call("min", n, n), _call("max", n, n, n),
        _call("sum", n, n), _call("sum", st.just("L")), _call("number", s),
        st.sampled_from(["round", "floor", "ceil"]).flatmap(lambda f: _call(f, n)),
        _call("datedif", st.sampled_from(["D", "A"]), st.sampled_from(['"2024-03-01"', "today()", "D"]),
              st.sampled_from(['"D"', '"M"', '"Y"', '"YM"'])),
        _call("if", b, n, n),
    )
    bools = st.one_of(
        bools, st.tuples(s, st.sampled_from(["==", "=", "!=", "<>", "<", ">=", "in", "not in"]), s).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(s, st.sampled_from(['["google", "Bing", 3]', "L", "split(A, \"@\")"])).map(
            lambda t: f"({t[0]} in {t[1]})"),
        st.tuples(n, st.sampled_from(["<", "<=", ">", "==", "!="]), n).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        _call("regex_match", s, patterns), _call("has_prefix", s, s), _call("has_suffix", s, s),
        st.tuples(b, st.sampled_from(["and", "or", "AND", "||"]), b).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        b.map(lambda x: f"(not {x})"), _call("defined", s),
    )
    return strs, nums, bools


def _formula(depth: int) -> st.SearchStrategy[str]:
    """Any formula: mostly well-typed ones, and ill-typed mixes (undefined propagation, conversions)."""
    typed = st.one_of(*_typed(depth))
    atoms = st.one_of(st.sampled_from(["A", "N", "L", "D", "true", "false", "undefined", "today()"]),
                      texts.map(_quote), numbers.map(repr), st.just('["google", "Bing", 3]'))
    if depth == 0:
        return st.one_of(atoms, typed)
    sub = _formula(depth - 1)
    patterns = st.sampled_from(PATTERNS).map(_quote)
    return st.one_of(
        typed, atoms,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "%", "==", "=", "!=", "<", ">=", "in", "not in", "and",
                                        "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda s: f"(not {s})"),
        _call("if", sub, sub, sub), _call("if", sub, sub), _call("ifs", sub, sub, sub, sub),
        st.tuples(st.sampled_from(["upper", "lower", "len", "defined", "number", "string", "boolean", "round",
                                   "floor", "ceil", "sum"]), sub).map(lambda t: f"{t[0]}({t[1]})"),
        _call("left", sub, sub), _call("right", sub, sub), _call("mid", sub, sub, sub),
        _call("split", sub, st.sampled_from(['"@"', '"/"', '"-"'])), _call("split", sub, st.just('"@"'), sub),
        _call("regex_match", sub, patterns), _call("regex_extract", sub, patterns),
        _call("min", sub, sub), _call("max", sub, sub, sub), _call("sum", sub, sub),
        _call("has_prefix", sub, sub), _call("has_suffix", sub, sub),
        _call("datedif", sub, sub, st.sampled_from(['"D"', '"M"', '"Y"', '"YM"'])),
    )


def _families() -> dict[str, st.SearchStrategy[str]]:
    """Formulas rooted in one family of functions, their arguments well-typed formulas (``_typed(1)``)."""
    s, n, b = _typed(1)
    patterns = st.sampled_from(PATTERNS).map(_quote)
    return {
        "text": st.one_of(_call("left", s, n), _call("right", s, n), _call("mid", s, n, n),
                          _call("upper", s), _call("lower", s), _call("len", s),
                          _call("split", s, st.sampled_from(['"@"', '"/"', '"."']), n),
                          _call("split", s, st.sampled_from(['"@"', '"/"']))),
        "regex": st.one_of(_call("regex_match", s, patterns), _call("regex_extract", s, patterns),
                           _call("regex_extract", s, st.just('"(o+)(g)?"'), st.sampled_from(["1", "2"])),
                           _call("regex_replace", s, patterns, st.sampled_from(['"-"', '"<\\\\1>"', '""']))),
        "compare": st.one_of(
            st.tuples(s, st.sampled_from(["==", "=", "!=", "<>", "in", "not in", "<", ">="]), s).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(s, st.sampled_from(['["google", "Bing", 3]', "L"])).map(lambda t: f"({t[0]} in {t[1]})"),
            _call("has_prefix", s, s), _call("has_suffix", s, s)),
        "numbers": st.one_of(
            st.tuples(n, st.sampled_from(["+", "-", "*", "/", "%", "<", "=="]), n).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            _call("min", n, n), _call("max", n, n, n), _call("sum", n, n), _call("sum", st.just("L")),
            _call("round", n), _call("floor", n), _call("ceil", n), _call("number", s)),
        "branches": st.one_of(_call("if", b, s, n), _call("if", b, s), _call("ifs", b, s, b, n, st.just("true"), s),
                              st.tuples(s, s).map(lambda t: f"let(v, {t[0]}, v + {t[1]})"),
                              st.tuples(b, b).map(lambda t: f"(not {t[0]} and {t[1]})")),
        "dates": _call("datedif", st.sampled_from(["D", "A", '"2023-12-31"']),
                       st.sampled_from(['"2024-03-01"', "today()", "D", '"2024-02-29T23:59:59"']),
                       st.sampled_from(['"D"', '"M"', '"Y"', '"YM"', '"ym"'])),
        "mixed": _formula(2),
    }


FAMILIES = _families()


@pytest.fixture(scope="module")
def table(chdb_path: str) -> Iterator[RecordTable]:
    session = chdb.session.Session(chdb_path)  # chDB binds the process to one path: the suite's in-process one
    yield RecordTable(session, "formula_pbt_records")
    session.close()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sql_agrees_with_reference(table: RecordTable, family: str) -> None:
    check = SETTINGS(given(rows=records, formula=FAMILIES[family])(_agrees))
    check(table)


def _agrees(table: RecordTable, rows: list[Record], formula: str) -> None:
    try:
        expr = parse_formula(formula, INPUTS)
        compile_typed(expr, table.context)
    except ExpressionError as exc:  # a clean refusal (a replacement the pattern cannot take, SQL too large)
        assume(not str(exc))
    table.replace(rows)
    want = [ref.value(expr, row) for row in rows]
    got = table.values(expr)
    assert all(same_value(g, w) for g, w in zip(got, want, strict=True)), (formula, rows, got, want)
    assert table.key_lists(expr) == [segment_keys(w) for w in want], (formula, rows)

