"""Hypothesis: for random records and random (well- and ill-typed) expressions, the chDB-compiled SQL agrees with
the Python evaluator — on the set of records a ``where`` keeps, on every value, and on ``on`` segment keys."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.errors import ExpressionError
from mixhouse.expr import Record, evaluate, keeps, parse, segment_key, segment_keys, to_text
from mixhouse.expr.ast import FUNCTIONS, Binary, Call, DatetimeLiteral, Expr, ListLiteral, Literal, Property, Unary
from mixhouse.expr.values import MAX_DATETIME_MS, MIN_DATETIME_MS, format_number
from tests.support.expr_sqlcheck import RecordTable, same_value

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

KEYS = ["a", "b", "c", "ü k", 'q"\\', "$os", "", "list"]

INTERESTING_STRINGS = [
    "",
    "a",
    "abc",
    "A",
    "false",
    "true",
    "0",
    "12",
    "-1.5e3",
    ".5",
    "5.",
    " 7",
    "1e999",
    "0x10",
    "NaN",
    "2024-01-01",
    "2024-02-29T12:30:00",
    "2023-02-29",
    "2024-01-01 00:00:00.5Z",
    "1899-12-31",
    "2024-13-01",
    "é",
    "😀",
    "a\\b",
    'q"',
    "line\nbreak",
    "\x00",
]

texts = st.one_of(
    st.sampled_from(INTERESTING_STRINGS),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z?)?\Z"),
    st.from_regex(r"\A[+-]?[0-9]{0,4}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?\Z"),
)
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.5, 2.5, -2.5, 1e21, 1e-7, 0.1, 1704067200, 1704067200123, 1e11, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6,
)
typical_values = st.one_of(
    st.integers(-3, 5),
    st.sampled_from([0.5, 2.5, -2.5, 1.5, 1704067200, True, False, None, "2016-01", "2024-01-01", "12", "false"]),
    st.sampled_from(["a", "ab", "abc", "b", ""]),
    st.lists(st.one_of(st.integers(0, 3), st.sampled_from(["a", "b", "abc"])), max_size=3),
)
property_maps = st.dictionaries(st.sampled_from(KEYS), st.one_of(typical_values, json_values), max_size=len(KEYS))
records = st.builds(
    Record,
    event=st.sampled_from(["Signup", "Purchase", "é"]),
    time_ms=st.one_of(
        st.integers(MIN_DATETIME_MS, MAX_DATETIME_MS - 1),
        st.sampled_from([0, -1, 1704067200000, 1704067200123]),
    ),
    distinct_id=st.sampled_from(["u1", "u2", ""]),
    properties=property_maps,
    user=st.one_of(st.none(), property_maps),
)

# ------------------------------------------------------------------------------------------------ expressions

properties_refs = st.builds(Property, st.sampled_from(KEYS), st.sampled_from(["properties", "properties", "user"]))
event_refs = st.builds(Property, st.sampled_from(["time", "name", "distinct_id"]), st.just("event"))
literal_numbers = st.one_of(
    st.integers(0, 5).map(float),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, 2.5, 1e11, 1704067200.0, 1704067200123.0, 1e21]),
)
literals = st.one_of(
    st.builds(Literal, literal_numbers),
    st.builds(Literal, st.booleans()),
    st.builds(Literal, texts),
)
list_items = st.one_of(
    st.builds(Literal, st.integers(-3, 3).map(float)),
    st.builds(Literal, st.booleans()),
    st.builds(Literal, texts),
)
lists = st.builds(ListLiteral, st.lists(list_items, max_size=4).map(tuple))
datetimes = st.builds(
    lambda ms: DatetimeLiteral(ms, f"{ms / 1000!r}"),
    st.integers(MIN_DATETIME_MS // 1000, MAX_DATETIME_MS // 1000 - 1).map(lambda s: s * 1000),
)
leaves = st.one_of(properties_refs, properties_refs, event_refs, literals, lists, datetimes)

OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%", "and", "or"]


def extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    unary = st.builds(Unary, st.sampled_from(["not", "-"]), inner)
    binary = st.builds(Binary, st.sampled_from(OPERATORS), inner, inner)
    calls = st.one_of(
        st.builds(
            lambda name, arg: Call(name, (arg,)),
            st.sampled_from(sorted(n for n, k in FUNCTIONS.items() if k == 1)),
            inner,
        ),
        st.builds(lambda a, b: Call("has_prefix", (a, b)), inner, inner),
    )
    return st.one_of(unary, binary, calls)


random_expressions = st.recursive(leaves, extend, max_leaves=7)

# Well-typed predicates over values that records often hold, so that filters split the batch.
SMALL_STRINGS = ["a", "ab", "abc", "b", "2016-01", "2024-01-01", "12", "false", ""]
prop = st.builds(Property, st.sampled_from(["a", "b", "c", "list"]), st.just("properties"))
num_leaf = st.one_of(
    prop,
    st.builds(Literal, st.integers(0, 4).map(float)),
    st.builds(Literal, st.sampled_from([0.5, 2.5, 1e21])),
    st.builds(lambda p: Call("number", (p,)), prop),
)
num_expr = st.recursive(
    num_leaf,
    lambda inner: st.one_of(
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "%"]), inner, inner),
        st.builds(Unary, st.just("-"), inner),
        st.builds(lambda f, x: Call(f, (x,)), st.sampled_from(["floor", "round", "ceil"]), inner),
    ),
    max_leaves=3,
)
str_leaf = st.one_of(
    prop, st.builds(Literal, st.sampled_from(SMALL_STRINGS)), st.builds(lambda x: Call("string", (x,)), num_expr)
)
str_expr = st.one_of(str_leaf, st.builds(Binary, st.just("+"), str_leaf, str_leaf))
time_expr = st.one_of(
    st.just(Property("time", "event")),
    st.builds(lambda p: Call("datetime", (p,)), prop),
    datetimes,
)
atoms = st.one_of(
    st.builds(Binary, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num_expr, num_expr),
    st.builds(Binary, st.sampled_from(["==", "!=", "<", ">=", "in", "not in"]), str_expr, str_expr),
    st.builds(Binary, st.sampled_from(["<", ">=", "=="]), time_expr, time_expr),
    st.builds(Binary, st.sampled_from(["in", "not in"]), st.one_of(num_expr, str_expr), st.one_of(lists, prop)),
    st.builds(lambda p: Call("defined", (p,)), prop),
    st.builds(lambda p: Call("boolean", (p,)), prop),
    st.builds(lambda a, b: Call("has_prefix", (a, b)), str_expr, str_expr),
    st.builds(Binary, st.sampled_from(["==", "!="]), prop, prop),
    prop,
)
predicates = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(Binary, st.sampled_from(["and", "or"]), inner, inner),
        st.builds(Unary, st.just("not"), inner),
    ),
    max_leaves=4,
)
expressions = st.one_of(random_expressions, predicates)


def parsed(expr: Expr) -> Expr | None:
    """Round-trip through text (so the parser is exercised too); None when the parser rejects it (and/or typing)."""
    try:
        return parse(to_text(expr))
    except ExpressionError as exc:
        assert "must be boolean" in exc.reason or "invalid datetime" in exc.reason, exc
        return None


@pytest.fixture(scope="module")
def table(chdb_path: str) -> Iterator[RecordTable]:
    import chdb.session as cs

    session = cs.Session(chdb_path)  # chDB binds the process to one path: the suite's in-process one
    yield RecordTable(session, "pbt_records")
    session.close()


def describe(expr: Expr, batch: list[Record], i: int) -> str:
    return f"{to_text(expr)} on record {i}: {batch[i]!r}"


@SETTINGS
@given(data=st.data())
def test_where_keeps_the_same_records(table: RecordTable, data: st.DataObject) -> None:
    batch = data.draw(st.lists(records, min_size=1, max_size=25), label="records")
    expr = data.draw(expressions.map(parsed).filter(lambda e: e is not None), label="expression")
    assert expr is not None
    table.replace(batch)

    expected = {i for i, record in enumerate(batch) if keeps(expr, record)}
    assert table.kept_ids(expr) == expected, to_text(expr)

    values = table.values(expr)
    for i, record in enumerate(batch):
        want = evaluate(expr, record)
        assert same_value(values[i], want), f"SQL {values[i]!r} != Python {want!r} for {describe(expr, batch, i)}"

    keys = table.keys(expr)
    key_lists = table.key_lists(expr)
    for i, record in enumerate(batch):
        value = evaluate(expr, record)
        assert keys[i] == segment_key(value), describe(expr, batch, i)
        assert key_lists[i] == segment_keys(value), describe(expr, batch, i)


@SETTINGS
@given(values=st.lists(st.one_of(numbers, st.floats()), min_size=1, max_size=40))
def test_number_formatting_matches(table: RecordTable, values: list[Any]) -> None:
    batch = [Record(properties={"a": v}) for v in values if not (isinstance(v, float) and not math.isfinite(v))]
    if not batch:
        return
    table.replace(batch)
    assert table.keys('string(properties["a"])') == [format_number(float(r.properties["a"])) for r in batch]
    # Arithmetic can reach inf/NaN; their text must agree too.
    expr = parse('string(properties["a"] * 1e300 * 1e300) + string(properties["a"] * 1e300 * 1e300 - 1 / 0)')
    assert table.keys(expr) == [segment_key(evaluate(expr, r)) for r in batch]


@SETTINGS
@given(values=st.lists(texts, min_size=1, max_size=40))
def test_string_parsing_matches(table: RecordTable, values: list[str]) -> None:
    batch = [Record(properties={"a": v}) for v in values]
    table.replace(batch)
    for text in ('number(properties["a"])', 'datetime(properties["a"])', 'boolean(properties["a"])'):
        expr = parse(text)
        got = table.values(expr)
        for i, record in enumerate(batch):
            assert same_value(got[i], evaluate(expr, record)), (text, record.properties)
