"""Runtime values of the segmentation expression language and the conversions between them.

Runtime types (spec §4.14, plus the list, object and datetime types we add):

=========  ==========================================================================
undefined  ``UNDEFINED`` – a missing property, or the result of an ill-typed operation
null       ``None`` – a property explicitly set to JSON ``null``
boolean    ``bool``
number     ``float`` – every JSON number is read as a float64 (ints included), as ClickHouse does
string     ``str``
datetime   ``DateTime`` – milliseconds since the Unix epoch, UTC, 1900-01-01 ≤ t < 2300-01-01
list       ``list`` – a JSON array, items kept as raw JSON values
object     ``dict`` – a JSON object
=========  ==========================================================================

This module holds the pieces that the Python evaluator and the SQL compiler must agree on byte for byte: number
formatting, number and datetime parsing, and the canonical JSON text used to compare lists and objects.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final


class T(IntEnum):
    """Runtime type tags; the SQL compiler uses the same numbers."""

    UNDEFINED = 0
    NULL = 1
    BOOLEAN = 2
    NUMBER = 3
    STRING = 4
    DATETIME = 5
    LIST = 6
    OBJECT = 7


ALL_TYPES: Final = frozenset(T)
#: What a property read from JSON can be.
JSON_TYPES: Final = frozenset({T.UNDEFINED, T.NULL, T.BOOLEAN, T.NUMBER, T.STRING, T.LIST, T.OBJECT})

TYPE_NAMES: Final = {
    T.UNDEFINED: "undefined",
    T.NULL: "null",
    T.BOOLEAN: "boolean",
    T.NUMBER: "number",
    T.STRING: "string",
    T.DATETIME: "datetime",
    T.LIST: "list",
    T.OBJECT: "object",
}


class _Undefined:
    """The ``undefined`` singleton (falsy, distinct from ``None`` = null)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()


@dataclass(frozen=True, order=True)
class DateTime:
    """A point in time, milliseconds since the Unix epoch (UTC)."""

    ms: int

    def isoformat(self) -> str:
        return format_datetime(self.ms)


Value = Any  # UNDEFINED | None | bool | float | str | DateTime | list[Any] | dict[str, Any]

#: Datetimes are kept inside the range ClickHouse's DateTime64 can represent.
MIN_DATETIME_MS: Final = -2208988800000  # 1900-01-01T00:00:00Z
MAX_DATETIME_MS: Final = 10413792000000  # 2300-01-01T00:00:00Z (exclusive)
#: ``datetime(n)``: |n| ≥ 1e11 is milliseconds, otherwise seconds (the ingestion rule of spec §2).
MS_THRESHOLD: Final = 1e11

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

#: Strings ``number()`` accepts: plain decimal, optional sign/fraction/exponent, no spaces (ASCII digits only).
NUMBER_PATTERN: Final = r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?"
#: Strings ``datetime()`` accepts: ``YYYY-MM-DD``, optionally ``[T ]HH:MM:SS[.ffffff][Z]``, read as UTC.
DATETIME_PATTERN: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?Z?)?"
_NUMBER_RE: Final = re.compile(NUMBER_PATTERN, re.ASCII)
_DATETIME_RE: Final = re.compile(DATETIME_PATTERN, re.ASCII)


def type_of(value: Value) -> T:
    """The runtime type of an evaluator value (numbers must already be floats)."""
    if value is UNDEFINED:
        return T.UNDEFINED
    if value is None:
        return T.NULL
    if isinstance(value, bool):
        return T.BOOLEAN
    if isinstance(value, float):
        return T.NUMBER
    if isinstance(value, str):
        return T.STRING
    if isinstance(value, DateTime):
        return T.DATETIME
    if isinstance(value, list):
        return T.LIST
    if isinstance(value, dict):
        return T.OBJECT
    raise TypeError(f"not an expression value: {value!r}")


def from_json(raw: Any) -> Value:
    """A JSON value (as decoded by ``json``/``orjson``) as an evaluator value; non-JSON values are undefined."""
    if raw is None or isinstance(raw, (bool, str)):
        return raw
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:
            return math.inf if raw > 0 else -math.inf
    if isinstance(raw, float):
        return raw
    if isinstance(raw, (list, tuple)):
        return list(raw)
    if isinstance(raw, Mapping):
        return dict(raw)
    return UNDEFINED


# --------------------------------------------------------------------------------------------- number formatting


def _shortest_digits(x: float) -> tuple[str, int]:
    """Shortest round-trip digits of finite ``x > 0`` and the decimal point position ``n`` (x = 0.d1d2… × 10^n)."""
    _sign, digits, exponent = Decimal(repr(x)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).lstrip("0")
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    return stripped, len(stripped) + exponent


def _layout(x: float, plus: str) -> str:
    """ECMAScript ``Number#toString`` layout of a finite non-zero number; ``plus`` is put before positive exponents."""
    sign = "-" if x < 0 else ""
    digits, n = _shortest_digits(abs(x))
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{plus if e >= 0 else '-'}{abs(e)}"
    return sign + body


def format_number(x: float) -> str:
    """``string(number)``: ECMAScript ``Number#toString`` (``1e+21``, ``0.000001``, ``NaN``, ``-0`` → ``0``)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    return _layout(x, "+")


def _clickhouse_number_text(x: float) -> str:
    """How ClickHouse re-serialises a JSON double (``1e21``, ``-0``, ``1`` for 1.0)."""
    if x == 0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    return _layout(x, "")


def canonical_json(raw: Any) -> str:
    """Canonical text of a raw JSON value; two lists/objects are equal iff their canonical texts are equal.

    It mirrors what ``JSONExtractRaw`` produces (minified, integers as written, doubles in shortest form) up to the
    escaping of strings, which only has to be injective.
    """
    if raw is None:
        return "null"
    if raw is True:
        return "true"
    if raw is False:
        return "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return _clickhouse_number_text(raw) if math.isfinite(raw) else repr(raw)
    if isinstance(raw, str):
        return json.dumps(raw)
    if isinstance(raw, (list, tuple)):
        return "[" + ",".join(canonical_json(item) for item in raw) + "]"
    if isinstance(raw, Mapping):
        return "{" + ",".join(json.dumps(str(k)) + ":" + canonical_json(v) for k, v in raw.items()) + "}"
    return json.dumps(str(raw))


# --------------------------------------------------------------------------------------------- parsing


def parse_number(text: str) -> Value:
    """``number(string)``: a plain decimal number, else undefined (also when it overflows)."""
    if _NUMBER_RE.fullmatch(text) is None:
        return UNDEFINED
    value = float(text)
    return value if math.isfinite(value) else UNDEFINED


def parse_datetime(text: str) -> Value:
    """``datetime(string)``: ``YYYY-MM-DD[(T| )HH:MM:SS[.ffffff][Z]]`` as UTC, else undefined."""
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        return UNDEFINED
    year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
    hour = minute = second = 0
    if len(text) > 10:
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    frac = m.group(2)
    millis = int((frac[1:] + "000")[:3]) if frac else 0
    if not 1900 <= year <= 2299:
        return UNDEFINED
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return UNDEFINED
    delta = moment - _EPOCH
    return DateTime((delta.days * 86400 + delta.seconds) * 1000 + millis)


def datetime_from_number(x: float) -> Value:
    """``datetime(number)``: seconds since the epoch, or milliseconds when ``|x| ≥ 1e11``; fractions floored."""
    if not math.isfinite(x):
        return UNDEFINED
    ms = math.floor(x) if abs(x) >= MS_THRESHOLD else math.floor(x * 1000)
    if not MIN_DATETIME_MS <= ms < MAX_DATETIME_MS:
        return UNDEFINED
    return DateTime(ms)


def format_datetime(ms: int) -> str:
    """``string(datetime)``: ``YYYY-MM-DDTHH:MM:SS``, plus ``.mmm`` when the milliseconds are not zero."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}"
    frac = ms % 1000
    return f"{text}.{frac:03d}" if frac else text


# --------------------------------------------------------------------------------------------- segment keys


def segment_key(value: Value) -> str | None:
    """The ``on`` segment key of a value: its string form; ``None`` (no segment) for undefined, lists, objects."""
    kind = type_of(value)
    if kind is T.STRING:
        return str(value)
    if kind is T.NUMBER:
        return format_number(value)
    if kind is T.BOOLEAN:
        return "true" if value else "false"
    if kind is T.NULL:
        return "null"
    if kind is T.DATETIME:
        return format_datetime(value.ms)
    return None


def segment_keys(value: Value) -> list[str]:
    """``on`` keys with list fan-out: a list gives one key per distinct scalar item (sorted), nested
    lists/objects are skipped; any other value gives ``[segment_key(value)]`` or ``[]``."""
    if isinstance(value, list):
        keys = {segment_key(from_json(item)) for item in value if not isinstance(item, (list, tuple, Mapping))}
        return sorted(k for k in keys if k is not None)
    key = segment_key(value)
    return [] if key is None else [key]


def values_equal(left: Value, right: Value) -> bool:
    """``==``: same type and same value; lists/objects compare by canonical JSON text."""
    kind = type_of(left)
    if kind is not type_of(right):
        return False
    if kind in (T.LIST, T.OBJECT):
        return canonical_json(left) == canonical_json(right)
    if kind in (T.UNDEFINED, T.NULL):
        return True
    return bool(left == right)


def contains(items: Sequence[Any], needle: Value) -> bool:
    """List membership with ``==`` semantics (items are raw JSON values)."""
    return any(values_equal(needle, from_json(item)) for item in items)
