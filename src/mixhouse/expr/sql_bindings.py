"""Shared sub-expressions of one compiled SQL expression, written once.

The compiler (``expr.compile_sql``) gives each longer piece of SQL it builds a name (``Bindings.name``) and writes
the name wherever the piece is read. ``Bindings.resolve`` then turns the text with names back into SQL:

* while the result stays short (``INLINE_MAX_CHARS``), every name is replaced by its SQL: the same text as
  compiling without names (ClickHouse computes a repeated sub-expression once anyway);
* past that, a name read once is still replaced, and a name read more than once is bound once around the whole
  expression, ``arrayMap(name -> <expression>, [<its SQL>])[1]``, so the text grows with the expression rather
  than with how often each part is read (nested ``if``/``datedif`` formulas otherwise grow exponentially).

Binding at the top is safe because every named piece is a closed expression (it reads columns and parameters,
never a lambda variable of the piece around it) that cannot throw, so evaluating it for every row changes nothing.
"""

from __future__ import annotations

import re
from typing import Final

#: Pieces shorter than this are never named (names would cost more than they save).
NAME_MIN_CHARS: Final = 64
#: Results up to this long are written with every piece inlined.
INLINE_MAX_CHARS: Final = 8_000


class Bindings:
    """The named pieces of one compiled expression, in the order they were named (a piece reads only earlier
    names)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._pieces: list[tuple[str, str]] = []

    def name(self, sql: str) -> str:
        """A name standing for ``sql`` (``sql`` itself when it is too short to be worth one)."""
        if len(sql) < NAME_MIN_CHARS:
            return sql
        name = f"__mh_{self._prefix}_v{len(self._pieces) + 1}"
        self._pieces.append((name, sql))
        return name

    def resolve(self, sql: str, *, limit: int) -> str:
        """``sql`` with every name replaced or bound (see the module docstring); at most about ``limit``
        characters are built before giving up (the caller then refuses the expression as too complex)."""
        inlined = self._inline_all(sql, limit=INLINE_MAX_CHARS)
        if inlined is not None:
            return inlined
        for name, piece in reversed(self._pieces):
            pattern = _word(name)
            uses = len(pattern.findall(sql))
            if uses == 1:
                sql = _substitute(pattern, piece, sql, count=1)
            elif uses > 1:
                sql = f"arrayMap({name} -> {sql}, [{piece}])[1]"
            if len(sql) > limit:
                break
        return sql

    def _inline_all(self, sql: str, *, limit: int) -> str | None:
        """``sql`` with every name replaced by its SQL, or None once that passes ``limit`` characters."""
        for name, piece in reversed(self._pieces):
            sql = _substitute(_word(name), piece, sql)
            if len(sql) > limit:
                return None
        return sql


def _substitute(pattern: re.Pattern[str], piece: str, sql: str, *, count: int = 0) -> str:
    """``sql`` with ``pattern``'s matches replaced by ``piece`` taken literally (no backslash escapes)."""
    return pattern.sub(lambda _: piece, sql, count=count)


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(name)}\b")
