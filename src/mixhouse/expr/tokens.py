"""Lexer for segmentation expressions: text → tokens carrying their 0-based character offsets."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from mixhouse.errors import ExpressionError


class Kind(Enum):
    NUMBER = "number"
    STRING = "string"
    NAME = "name"  # identifiers and keywords (and, or, not, in, true, false, properties, function names…)
    OP = "operator"
    END = "end"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str  # the source text of the token
    pos: int
    value: str | float | None = None  # decoded string or number

    def describe(self) -> str:
        return "end of expression" if self.kind is Kind.END else repr(self.text)


#: Longest first, so ``<=`` wins over ``<``.
OPERATORS: Final = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",")

_ESCAPES: Final = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NAME_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_NAME_CHARS: Final = _NAME_START | frozenset("0123456789")
_DIGITS: Final = frozenset("0123456789")
_SPACE: Final = frozenset(" \t\r\n\f\v")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token; raises ``ExpressionError`` with a position."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n:
            tokens.append(Token(Kind.END, "", n))
            return tokens
        ch = text[i]
        if ch in "\"'":
            token = _string(text, i)
        elif ch in _DIGITS or (ch == "." and i + 1 < n and text[i + 1] in _DIGITS):
            token = _number(text, i)
        elif ch in _NAME_START:
            j = i + 1
            while j < n and text[j] in _NAME_CHARS:
                j += 1
            token = Token(Kind.NAME, text[i:j], i)
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            if op is None:
                if ch == "=":
                    raise ExpressionError("'=' is not an operator (use '==')", position=i, expression=text)
                if ch == "!":
                    raise ExpressionError("'!' is not an operator (use 'not' or '!=')", position=i, expression=text)
                raise ExpressionError(f"unexpected character {ch!r}", position=i, expression=text)
            token = Token(Kind.OP, op, i)
        tokens.append(token)
        i = token.pos + len(token.text)


def _number(text: str, start: int) -> Token:
    n = len(text)
    i = start
    while i < n and text[i] in _DIGITS:
        i += 1
    if i < n and text[i] == ".":
        i += 1
        if i >= n or text[i] not in _DIGITS:
            raise ExpressionError("digits expected after '.'", position=i, expression=text)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j >= n or text[j] not in _DIGITS:
            raise ExpressionError("digits expected in exponent", position=j, expression=text)
        while j < n and text[j] in _DIGITS:
            j += 1
        i = j
    if i < n and text[i] in _NAME_CHARS:
        raise ExpressionError("invalid number", position=start, expression=text)
    literal = text[start:i]
    value = float(literal)
    if value == float("inf"):
        raise ExpressionError("number literal out of range", position=start, expression=text)
    return Token(Kind.NUMBER, literal, start, value)


def _string(text: str, start: int) -> Token:
    quote = text[start]
    n = len(text)
    out: list[str] = []
    i = start + 1
    while True:
        if i >= n:
            raise ExpressionError("unterminated string", position=start, expression=text)
        ch = text[i]
        if ch == quote:
            break
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= n:
            raise ExpressionError("unterminated string", position=start, expression=text)
        esc = text[i + 1]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc == "u":
            code, i = _unicode_escape(text, i)
            out.append(code)
        else:
            raise ExpressionError(f"invalid escape '\\{esc}' in string", position=i, expression=text)
    value = "".join(out)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExpressionError("string is not valid Unicode", position=start, expression=text) from exc
    return Token(Kind.STRING, text[start : i + 1], start, value)


def _hex4(text: str, i: int) -> int | None:
    digits = text[i + 2 : i + 6]
    if text[i : i + 2] != "\\u" or len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    return int(digits, 16)


def _unicode_escape(text: str, i: int) -> tuple[str, int]:
    """Decode a ``\\u`` escape (four hex digits) at ``i``, joining a surrogate pair.

    Returns the character and the next offset.
    """
    code = _hex4(text, i)
    if code is None:
        raise ExpressionError("invalid \\u escape (4 hex digits expected)", position=i, expression=text)
    if 0xDC00 <= code <= 0xDFFF:
        raise ExpressionError("unpaired surrogate in \\u escape", position=i, expression=text)
    if 0xD800 <= code <= 0xDBFF:
        low = _hex4(text, i + 6)
        if low is None or not 0xDC00 <= low <= 0xDFFF:
            raise ExpressionError("unpaired surrogate in \\u escape", position=i, expression=text)
        return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), i + 12
    return chr(code), i + 6
