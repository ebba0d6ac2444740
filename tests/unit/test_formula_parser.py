"""The custom-property formula parser (``expr.formula_parser``): what it accepts, the tree it writes (inputs and
``let`` variables substituted, comparisons case-folded) and every error with its position."""

from __future__ import annotations

import pytest

from mixhouse.errors import ExpressionError
from mixhouse.expr.ast import Call, DatetimeLiteral, Property, to_text
from mixhouse.expr.formula_parser import parse_formula

INPUTS = {"A": Property("price"), "B": Property("qty"), "_A": Property("utm_source")}


def _text(formula: str) -> str:
    return to_text(parse_formula(formula, INPUTS, now_ms=86_400_000 * 3 + 5))


@pytest.mark.parametrize(("formula", "tree"), [
    ("A * B", '(properties["price"] * properties["qty"])'),
    ("A*B + -2", '((properties["price"] * properties["qty"]) + (-2.0))'),
    ('_A = "Google"', '(fold(properties["utm_source"]) == "google")'),
    ('_A <> "x"', '(fold(properties["utm_source"]) != "x")'),
    ('_A IN ["Google", 1]', '(fold(properties["utm_source"]) in ["google", 1.0])'),
    ('NOT _A = "" AND DEFINED(_A)',
     '((not (fold(properties["utm_source"]) == "")) and defined(properties["utm_source"]))'),
    ('not(A > 1)', '(not (properties["price"] > 1.0))'),
    ("let(x, A * 2, x + x)", '((properties["price"] * 2.0) + (properties["price"] * 2.0))'),
    ("LET(A, 1, LET(y, A + 1, y))", "(1.0 + 1.0)"),
    ("// a comment\nA /* inline */ + 1", '(properties["price"] + 1.0)'),
    ('IF(A > 1, "x", UNDEFINED)', 'if((properties["price"] > 1.0), "x", undefined())'),
    ('has_prefix(_A, "Go")', 'has_prefix(fold(properties["utm_source"]), "go")'),
    ('properties["plan"] == TRUE', '(fold(properties["plan"]) == true)'),
    ('A not in [1, 2]', '(fold(properties["price"]) not in [1.0, 2.0])'),
])
def test_trees(formula: str, tree: str) -> None:
    assert _text(formula) == tree


def test_today_is_the_utc_day_of_now() -> None:
    expr = parse_formula("today()", INPUTS, now_ms=86_400_000 * 3 + 5)
    assert isinstance(expr, DatetimeLiteral) and expr.ms == 86_400_000 * 3


def test_datedif_unit_is_normalised() -> None:
    expr = parse_formula('datedif(A, B, "ym")', INPUTS)
    assert isinstance(expr, Call) and to_text(expr.args[2]) == '"YM"'


@pytest.mark.parametrize(("formula", "position", "message"), [
    ("", 0, "needs a formula"),
    ("A +", 3, "unexpected end of formula"),
    ("(A", 2, "expected ')'"),
    ("A B", 2, "unexpected 'B'"),
    ("C + 1", 0, "unknown name 'C' (the inputs are A, B, _A)"),
    ("foo(A)", 0, "unknown function 'foo'"),
    ("map(X, A, X)", 0, "function 'map' is not supported"),
    ("A + any(X, A, X > 1)", 4, "function 'any' is not supported"),
    ("left(A)", 0, "function 'left' takes 2 arguments, got 1"),
    ("min(A)", 0, "function 'min' takes 2 or more arguments"),
    ("if(A)", 0, "function 'if' takes 2 to 3 arguments"),
    ("ifs(A > 1, 1, A > 2)", 0, "ifs takes pairs"),
    ('regex_match(A, B)', 15, "the pattern must be a quoted string"),
    ('regex_match(A, "(")', 15, "invalid regular expression"),
    ('regex_match(A, "(?=x)")', 15, "look-around or back-references"),
    ('regex_extract(A, "a(b)", 2)', 25, "capture group must be a whole number from 1 to 1"),
    ('regex_replace(A, "a", B)', 22, "the replacement must be a quoted string"),
    ('split(A, "")', 9, "the delimiter must not be empty"),
    ('split(A, B, 1)', 9, "the delimiter must be a quoted string"),
    ('datedif(A, B, "MD")', 14, "datedif unit 'MD' is not supported"),
    ("let(1, 2, 3)", 4, "let needs a variable name"),
    ("let(x, 2)", 8, "expected ','"),
    ('user["plan"]', 0, "user profile properties"),
    ("[A]", 1, "list items must be string, number or boolean literals"),
    ('"open', 0, "unterminated string"),
    ("A /* open", 2, "unterminated comment"),
    ("A ! B", 2, "'!' is not an operator"),
    ("A == not B", 5, "'not' must be parenthesised"),
    ("A and", 5, "unexpected end of formula"),
])
def test_errors_name_the_position(formula: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_formula(formula, INPUTS)
    assert caught.value.position == position, caught.value
    assert message in caught.value.reason, caught.value


def test_limits() -> None:
    with pytest.raises(ExpressionError, match="longer than 20000"):
        parse_formula("A" + " " * 20_000, INPUTS)
    with pytest.raises(ExpressionError, match="nested more than"):
        parse_formula("(" * 70 + "A" + ")" * 70, INPUTS)
    with pytest.raises(ExpressionError, match="deeper than 256"):
        parse_formula(" + ".join(["A"] * 300), INPUTS)
