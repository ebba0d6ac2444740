"""Which inputs a custom property's formula refers to (``services/custom_property_formula.py``): hand cases, and
formulas assembled from pieces whose letters are known (string literals full of capitals, function names, numbers,
names glued to digits), compared with the letters placed as references."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixhouse.services.custom_property_formula import formula_errors, input_letters


@pytest.mark.parametrize(("formula", "letters"), [
    ("A * B", {"A", "B"}),
    ('if(A == "Facebook" or A == "Twitter", "Social", A)', {"A"}),
    ('"A" + \'B\' + C', {"C"}),
    ('"say \\"B\\"" + C', {"C"}),  # escaped quotes stay inside the literal
    ("IF(A1 > 2, TODAY(), B)", {"B"}),  # A1 is one name; IF and TODAY are functions
    ("1e5 * A + 0x1F", {"A"}),
    ("let(X, A * 2, X + B)", {"A", "B"}),  # X is bound by let
    ("LET (Y, A, Y)", {"A"}),
    ("a + A", {"A"}),  # inputs are capitals
    ('properties["amount"]', set()),
])
def test_letters_the_formula_refers_to(formula: str, letters: set[str]) -> None:
    assert input_letters(formula) == (letters, None)


@pytest.mark.parametrize(("formula", "error"), [
    ('A + "open', "the string literal opened at character 5 is not closed"),
    ("concat(A, 'x)", "the string literal opened at character 11 is not closed"),
    ('"ends in a backslash\\"', "the string literal opened at character 1 is not closed"),
])
def test_an_open_string_literal_is_an_error(formula: str, error: str) -> None:
    assert formula_errors(formula, ["A"]) == [f"displayFormula: {error}"]


def test_missing_inputs_are_named_and_unused_inputs_are_fine() -> None:
    assert formula_errors("A + C + D", ["A", "B"]) == [
        "displayFormula uses C, D, which are not in composedProperties (its inputs: A, B)"]
    assert formula_errors("A", ["A", "B", "C"]) == []
    assert formula_errors("B", []) == ["displayFormula uses B, which is not in composedProperties (its inputs: none)"]


LETTER = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LITERAL_TEXT = st.text(alphabet="ABCXYZ abc,()+*=<>1.\\\"'", max_size=12)


def _literal(quote: str, text: str) -> str:
    """``text`` as a string literal in ``quote``: backslashes and that quote escaped."""
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


PIECE = st.one_of(
    LETTER.map(lambda letter: ("ref", letter)),
    st.tuples(st.sampled_from("\"'"), LITERAL_TEXT).map(lambda q: ("text", _literal(*q))),
    st.sampled_from(["IF(", "ifs(", "number(", "split(", "TODAY()", "properties", "lower(", "AB", "Z9"]).map(
        lambda name: ("text", name)),
    st.sampled_from(["+", "*", "==", "(", ")", ",", "and", "or", "not", "12", "3.5", "1e5", "[", "]"]).map(
        lambda op: ("text", op)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(PIECE, max_size=14))
def test_generated_formulas(pieces: list[tuple[str, str]]) -> None:
    formula = " ".join(text for _, text in pieces)
    expected = {text for kind, text in pieces if kind == "ref"}
    assert input_letters(formula) == (expected, None)
    missing = sorted(expected - {"A"})
    errors = formula_errors(formula, ["A"])
    if missing:  # the scanner's message, and the parser is not asked
        assert errors == [f"displayFormula uses {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                          "not in composedProperties (its inputs: A)"]
    else:  # what is left is the parser's verdict on these token soups: none, or one error with its position
        assert len(errors) <= 1 and all(e.startswith("displayFormula: ") and "position" in e for e in errors)


def test_the_parser_checks_what_the_scanner_cannot() -> None:
    assert formula_errors('if(A == "x", B, C)', ["A", "B", "C"]) == []
    assert formula_errors('number(properties["amount"]) * 2', ["amount"]) == []
    [unclosed] = formula_errors("A +", ["A"])
    assert unclosed.startswith("displayFormula: ") and "position" in unclosed
    [unknown] = formula_errors("nosuch(A)", ["A"])
    assert "nosuch" in unknown
