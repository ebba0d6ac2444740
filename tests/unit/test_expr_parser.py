"""Parser and lexer: precedence, every literal/operator/function, error messages and positions."""

from __future__ import annotations

import json

import pytest

from mixhouse.errors import ExpressionError, QueryError
from mixhouse.expr import (
    Record,
    SqlContext,
    compile_filter,
    compile_value,
    evaluate,
    parse,
    to_text,
)
from mixhouse.expr.ast import Binary, Call, DatetimeLiteral, ListLiteral, Literal, Property, Unary
from mixhouse.expr.tokens import Kind, tokenize

P = 'properties["p"]'


def shape(text: str) -> str:
    return to_text(parse(text))


# ------------------------------------------------------------------------------------------------ precedence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", "(1.0 + (2.0 * 3.0))"),
        ("1 * 2 + 3", "((1.0 * 2.0) + 3.0)"),
        ("10 - 2 - 3", "((10.0 - 2.0) - 3.0)"),
        ("8 / 4 % 3 * 2", "(((8.0 / 4.0) % 3.0) * 2.0)"),
        ("-2 * 3", "((-2.0) * 3.0)"),
        ("- -2", "(-(-2.0))"),
        ("2 * -3", "(2.0 * (-3.0))"),
        ("-floor(2)", "(-floor(2.0))"),
        ("(1 + 2) * 3", "((1.0 + 2.0) * 3.0)"),
        ("1 + 2 == 3", "((1.0 + 2.0) == 3.0)"),
        ("1 < 2 == true", "((1.0 < 2.0) == true)"),
        ('"a" in "abc" == true', '(("a" in "abc") == true)'),
        ("true or false and false", "(true or (false and false))"),
        ("true and false or true", "((true and false) or true)"),
        ("not true and false", "((not true) and false)"),
        ("not true or true", "((not true) or true)"),
        ("not 1 == 2", "(not (1.0 == 2.0))"),
        (f'not "Facebook" in {P}', f'(not ("Facebook" in {P}))'),
        (f"not not {P}", f"(not (not {P}))"),
        (f"{P} not in [1, 2]", f"({P} not in [1.0, 2.0])"),
        (f"not {P} not in [1]", f"(not ({P} not in [1.0]))"),
        (f"{P} + 1 in [2]", f"(({P} + 1.0) in [2.0])"),
        ("true && false || true", "((true and false) or true)"),
        (
            "1 != 2 and 3 >= 2 and 1 <= 1 and 2 > 1",
            "((((1.0 != 2.0) and (3.0 >= 2.0)) and (1.0 <= 1.0)) and (2.0 > 1.0))",
        ),
    ],
)
def test_precedence(text: str, expected: str) -> None:
    assert shape(text) == expected


def test_not_binds_looser_than_in_and_the_value_follows() -> None:
    expr = parse('not "Facebook" in properties["r"]')
    assert isinstance(expr, Unary) and expr.op == "not"
    assert isinstance(expr.operand, Binary) and expr.operand.op == "in"
    assert evaluate(expr, Record(properties={"r": "google.com"})) is True
    assert evaluate(expr, Record(properties={"r": "Facebook.com"})) is False


# ------------------------------------------------------------------------------------------------ literals


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("42", 42.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("2.5e+2", 250.0),
        ("true", True),
        ("false", False),
        ('"double"', "double"),
        ("'single'", "single"),
        ('""', ""),
        (r'"q\"b\\s\/n\b\f\n\r\t"', 'q"b\\s/n\b\f\n\r\t'),
        (r"'it\'s'", "it's"),
        (r'"\u00e9\ud83d\ude00"', "é😀"),
        ('"raw é 😀"', "raw é 😀"),
        ("'say \"hi\"'", 'say "hi"'),
    ],
)
def test_literals(text: str, value: object) -> None:
    expr = parse(text)
    assert isinstance(expr, Literal)
    assert expr.value == value
    assert type(expr.value) is type(value)


def test_list_literal() -> None:
    expr = parse('[1, "a", true, -2.5, false]')
    assert isinstance(expr, ListLiteral)
    assert [item.value for item in expr.items] == [1.0, "a", True, -2.5, False]
    empty = parse("[]")
    assert isinstance(empty, ListLiteral) and empty.items == ()


def test_datetime_literals_are_resolved() -> None:
    expr = parse('datetime("2024-01-01T00:00:00")')
    assert isinstance(expr, DatetimeLiteral) and expr.ms == 1704067200000 and expr.text == '"2024-01-01T00:00:00"'
    assert isinstance(parse('datetime("2024-01-01")'), DatetimeLiteral)
    assert isinstance(parse('datetime("2024-01-01 10:11:12.345Z")'), DatetimeLiteral)
    seconds = parse("datetime(1704067200)")
    assert isinstance(seconds, DatetimeLiteral) and seconds.ms == 1704067200000
    millis = parse("datetime(1704067200123)")
    assert isinstance(millis, DatetimeLiteral) and millis.ms == 1704067200123
    negative = parse("datetime(-5)")
    assert isinstance(negative, DatetimeLiteral) and negative.ms == -5000
    dynamic = parse('datetime(properties["d"])')
    assert isinstance(dynamic, Call) and dynamic.name == "datetime"


def test_property_sources() -> None:
    assert parse('properties["a b"]') == Property("a b", "properties", 0)
    assert parse("properties['x']") == Property("x", "properties", 0)
    assert parse('user["$email"]') == Property("$email", "user", 0)
    for spelling, field in [
        ("$time", "time"),
        ("time", "time"),
        ("name", "name"),
        ("event", "name"),
        ("$event", "name"),
        ("distinct_id", "distinct_id"),
        ("$distinct_id", "distinct_id"),
    ]:
        assert parse(f'event["{spelling}"]') == Property(field, "event", 0)
    assert parse('event["$os"]') == Property("$os", "properties", 0)
    assert parse(r'properties["a\"b\\c"]') == Property('a"b\\c', "properties", 0)


@pytest.mark.parametrize(
    ("text", "name", "arity"),
    [
        ("defined(1)", "defined", 1),
        ("number(1)", "number", 1),
        ("string(1)", "string", 1),
        ("boolean(1)", "boolean", 1),
        (f"datetime({P})", "datetime", 1),
        ("floor(1)", "floor", 1),
        ("round(1)", "round", 1),
        ("ceil(1)", "ceil", 1),
        ('has_prefix("ab", "a")', "has_prefix", 2),
    ],
)
def test_functions(text: str, name: str, arity: int) -> None:
    expr = parse(text)
    assert isinstance(expr, Call) and expr.name == name and len(expr.args) == arity


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%", "and", "or"])
def test_every_binary_operator(op: str) -> None:
    left, right = ("true", "false") if op in ("and", "or") else ("1", "2")
    expr = parse(f"{left} {op} {right}")
    assert isinstance(expr, Binary) and expr.op == op and expr.pos == len(left) + 1


def test_positions_of_nodes() -> None:
    expr = parse('properties["a"] + floor(2)')
    assert isinstance(expr, Binary) and expr.pos == 16
    assert isinstance(expr.right, Call) and expr.right.pos == 18
    assert isinstance(expr.left, Property) and expr.left.pos == 0


def test_whitespace_is_free() -> None:
    assert shape(' \t\n properties [ "a" ] == 1 \n') == '(properties["a"] == 1.0)'


def test_tokens_carry_positions() -> None:
    toks = tokenize('a >= "x" ,')
    assert [(t.kind, t.text, t.pos) for t in toks] == [
        (Kind.NAME, "a", 0),
        (Kind.OP, ">=", 2),
        (Kind.STRING, '"x"', 5),
        (Kind.OP, ",", 9),
        (Kind.END, "", 10),
    ]


def test_to_text_round_trips() -> None:
    text = (
        'not (properties["a\\"b"] in [1, "x", -2.5] or user["e"] >= datetime("2024-01-01"))'
        ' and has_prefix(string(event["name"]), "S")'
    )
    once = to_text(parse(text))
    assert to_text(parse(once)) == once


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty expression"),
        ("   ", 3, "empty expression"),
        ('properties["x"] ==', 18, "unexpected end of expression"),
        ('properties["x" == 1', 15, "expected ']'"),
        ("(1 + 2", 6, "expected ')'"),
        ("1 + * 2", 4, "unexpected '*'"),
        ("1 2", 2, "unexpected '2'"),
        ("1 + 2)", 5, "unexpected ')'"),
        ('"abc', 0, "unterminated string"),
        ("x == 'abc", 5, "unterminated string"),
        (r'"a\q"', 2, "invalid escape"),
        (r'"\u12"', 1, "invalid \\u escape"),
        (r'"\ud800"', 1, "unpaired surrogate"),
        ("foo(1)", 0, "unknown function 'foo'"),
        ("1 + bar", 4, "unknown identifier 'bar'"),
        ("floor(1, 2)", 0, "takes 1 argument, got 2"),
        ('has_prefix("a")', 0, "takes 2 arguments, got 1"),
        ("floor()", 0, "takes 1 argument, got 0"),
        ("floor", 5, "expected '(' after function 'floor'"),
        ("properties[1]", 11, "needs a quoted property name"),
        ('properties"x"', 10, "expected '['"),
        ("properties.x", 10, "unexpected character '.'"),
        ('properties["a"] = 1', 16, "'=' is not an operator"),
        ('!properties["a"]', 0, "'!' is not an operator"),
        ("1 # 2", 2, "unexpected character '#'"),
        ("1 and 2", 0, "operand of 'and' must be boolean, got number"),
        ('true or "x"', 8, "operand of 'or' must be boolean, got string"),
        ("true and [1]", 9, "operand of 'and' must be boolean, got list"),
        ('datetime("2024-13-01")', 9, "invalid datetime"),
        ('datetime("2024-02-30")', 9, "invalid datetime"),
        ("datetime(1e15)", 9, "invalid datetime"),
        ("1e999", 0, "number literal out of range"),
        ("1.", 2, "digits expected after '.'"),
        ("1e", 2, "digits expected in exponent"),
        ("12abc", 0, "invalid number"),
        ('[1, properties["x"]]', 4, "list items must be string, number or boolean literals"),
        ("[1, 2", 5, "expected ']'"),
        ("1 + not true", 4, "'not' must be parenthesised"),
        ("and", 0, "unexpected 'and'"),
        ("1 in", 4, "unexpected end of expression"),
        ('properties["a"] not', 16, "unexpected 'not'"),
    ],
)
def test_errors_name_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    err = info.value
    assert fragment in err.reason
    assert err.position == position
    assert err.expression == text
    assert f"at position {position}" in str(err)
    assert err.code == "expression_error"
    assert isinstance(err, QueryError)
    assert err.details == {"position": position, "expression": text}


def test_nesting_limits() -> None:
    with pytest.raises(ExpressionError, match="nested more than"):
        parse("(" * 100 + "1" + ")" * 100)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse("-" * 100 + "1")
    with pytest.raises(ExpressionError, match="deeper than"):
        parse(" + ".join(["1"] * 400))
    with pytest.raises(ExpressionError, match="longer than"):
        parse('"' + "x" * 30000 + '"')
    chain = " and ".join([f'properties["k{i}"] == {i}' for i in range(100)])
    assert isinstance(parse(chain), Binary)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(ExpressionError):
        parse(123)  # type: ignore[arg-type]


def test_and_or_accept_dynamic_operands() -> None:
    parse(f"{P} and {P} + 1 or string({P})")
    parse("defined(1) and has_prefix('a', 'b') and not 1 and boolean(1)")


# ------------------------------------------------------------------------------------------------ compile errors


def test_user_properties_need_a_column() -> None:
    with pytest.raises(ExpressionError, match=r"user\[\.\.\.\]") as info:
        compile_filter('1 == 1 and user["$email"] == "x"', SqlContext())
    assert info.value.position == 11
    fragment = compile_filter('user["$email"] == "x"', SqlContext(user_properties_column="profile"))
    assert "profile" in fragment.sql


def test_nested_conversions_compile_to_sql_linear_in_depth() -> None:
    """Each level reads its child several times; shared pieces are bound once, so the SQL grows by a constant per
    level instead of multiplying (``expr.sql_bindings``), and past the parser's nesting limit the text is refused."""
    sizes = {}
    text = 'properties["a"]'
    for depth in range(1, 31):
        text = f"string(number({text}))"
        sizes[depth] = len(compile_value(text).sql)
    assert sizes[30] - sizes[20] < 2 * (sizes[20] - sizes[10]) < 20_000
    assert "arrayMap(__mh_p_v" in compile_value(text).sql
    with pytest.raises(ExpressionError, match="nested more than"):
        compile_value("string(number(" * 40 + 'properties["a"]' + "))" * 40)


def test_user_text_is_never_interpolated() -> None:
    nasty = "x'); DROP TABLE t; --\\"
    quoted = json.dumps(nasty)
    fragment = compile_filter(f"properties[{quoted}] == {quoted} or properties['n'] == 12.5")
    assert "DROP" not in fragment.sql and "12.5" not in fragment.sql
    assert nasty.encode().hex() in fragment.params.values()
    assert 12.5 in fragment.params.values()
    assert all(f"{{{name}:" in fragment.sql for name in fragment.params)


def test_param_prefix_and_dedup() -> None:
    fragment = compile_filter('properties["a"] == "a" and properties["a"] != "b"', SqlContext(param_prefix="w"))
    assert sorted(fragment.params) == ["w0", "w1"]
