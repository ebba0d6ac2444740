"""Lexer for custom-property formulas (Mixpanel's spreadsheet-like formula language).

The tokens are those of the segmentation expression language (``expr.tokens``: numbers, quoted strings, names,
operators, each with its 0-based offset), plus what formulas write differently: ``//`` line comments and ``/* */``
block comments are skipped, a single ``=`` is equality (``==``) and ``<>`` is ``!=``.
"""

from __future__ import annotations

from typing import Final

from mixhouse.errors import ExpressionError
from mixhouse.expr.tokens import _DIGITS, _NAME_CHARS, _NAME_START, _SPACE, OPERATORS, Kind, Token, _number, _string

#: Longest first; ``=`` and ``<>`` are read as ``==`` and ``!=``.
_FORMULA_OPERATORS: Final = ("<>", *OPERATORS, "=")
_SPELLINGS: Final = {"=": "==", "<>": "!="}


def _skip_comment(text: str, i: int) -> int:
    """The offset after the comment starting at ``i`` (``i`` itself when there is none)."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise ExpressionError("unterminated comment", position=i, expression=text)
        return end + 2
    return i


def tokenize_formula(text: str) -> list[Token]:
    """Split a formula into tokens, ending with an ``END`` token; ``ExpressionError`` with a position."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        while True:
            while i < n and text[i] in _SPACE:
                i += 1
            after = _skip_comment(text, i)
            if after == i:
                break
            i = after
        if i >= n:
            tokens.append(Token(Kind.END, "", n))
            return tokens
        ch = text[i]
        if ch in "\"'":
            token = _string(text, i)
            width = len(token.text)
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            token = _number(text, i)
            width = len(token.text)
        elif ch in _NAME_START:
            j = i + 1
            while j < n and text[j] in _NAME_CHARS:
                j += 1
            token = Token(Kind.NAME, text[i:j], i)
            width = j - i
        else:
            op = next((o for o in _FORMULA_OPERATORS if text.startswith(o, i)), None)
            if op is None:
                if ch == "!":
                    raise ExpressionError("'!' is not an operator (use 'not' or '!=')", position=i, expression=text)
                raise ExpressionError(f"unexpected character {ch!r}", position=i, expression=text)
            token = Token(Kind.OP, _SPELLINGS.get(op, op), i)
            width = len(op)
        tokens.append(token)
        i += width
