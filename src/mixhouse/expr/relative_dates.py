"""Relative date literals: ``datetime("now")``, ``datetime("today")``, ``datetime("-7d")``, ``datetime("today-30d")``.

Mixpanel's docs show only absolute ``datetime(...)`` literals; a saved report or a script that asks about "the last
7 days" needs a moment relative to when the query runs. The form (case-insensitive, spaces allowed)::

    [now | today | yesterday] [(+|-) N (s|m|h|d|w)]...     (at least one part)

``now`` is the moment the expression is parsed, ``today``/``yesterday`` that day's 00:00 UTC (absolute
``datetime("YYYY-MM-DD")`` strings are UTC too); a bare offset counts from ``now``. The literal is resolved once, at
parse time, so the SQL and the Python evaluation of one parsed expression see the same instant.
"""

from __future__ import annotations

import re
from typing import Final

_UNIT_MS: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DAY_MS: Final = 86_400_000
#: Matched against the stripped text; every repetition starts with a sign, so matching is linear.
_FORM: Final = re.compile(r"(now|today|yesterday)?((?:\s*[+-]\s*\d{1,6}\s*[smhdw])*)", re.IGNORECASE)
_OFFSET: Final = re.compile(r"([+-])\s*(\d{1,6})\s*([smhdw])", re.IGNORECASE)


def resolve_relative(text: str, now_ms: int) -> int | None:
    """The epoch milliseconds ``text`` names relative to ``now_ms``, or ``None`` if it is not a relative date."""
    match = _FORM.fullmatch(text.strip())
    if match is None or not (match.group(1) or match.group(2).strip()):
        return None
    base = (match.group(1) or "now").lower()
    moment = now_ms if base == "now" else now_ms - now_ms % _DAY_MS - (_DAY_MS if base == "yesterday" else 0)
    for sign, amount, unit in _OFFSET.findall(match.group(2)):
        delta = int(amount) * _UNIT_MS[unit.lower()]
        moment += delta if sign == "+" else -delta
    return moment
