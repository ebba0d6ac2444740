"""Numeric property breakdowns in buckets (``customBucket``, decision 0039): segment keys that are numbers
relabelled as the range they fall in, in SQL over the ``Array(String)`` of keys a breakdown already computes.

A key is a number when ``number()`` of the expression language reads it as one (``values.parse_number``: a plain
decimal, so the key of a number property, or of a string holding a number, which the unbucketed breakdown already
puts in the same segment); other keys (text, ``true``/``false``, ``null``, dates) are kept as they are, and an
event with no key stays in the ``undefined`` segment. A list's items are keyed one by one as today, each number
item bucketed; an event counts once per distinct label.

Buckets of ``size`` s start at ``origin`` (``low`` when a minimum is given, else 0): bucket k is
``[origin + k·s, origin + (k+1)·s)``. The bounds are the decimal numbers ``origin + k·s`` rounded once to the
nearest double (the integers ``origin_units + k·size_units`` over ``10^decimals``), so ``0.3`` is the lower edge
of a ``0.1`` bucket and a value equal to an edge (as the same JSON number) falls in the bucket starting there.
Labels: ``"lo - hi"`` (``hi`` excluded, capped at ``high``), numbers written as segment keys write them
(``values.format_number``); below ``low`` one bucket ``"< low"``, at or above ``high`` one bucket ``"high+"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mixhouse.errors import ValidationError
from mixhouse.expr import SqlFragment, format_number
from mixhouse.expr.compile_sql import format_number_sql, parse_number_sql

#: Bucket bounds are exact integers over a power of ten: at most this many digits after the point ...
MAX_DECIMALS = 9
#: ... and integers a double holds exactly.
MAX_UNITS = 2**53


@dataclass(frozen=True)
class NumberBuckets:
    """Buckets of ``size`` from ``low`` (or from 0, unbounded below, when ``low`` is ``None``) up to ``high``
    (unbounded when ``None``). ``scale``, ``origin_units``, ``size_units``: the grid as exact integers,
    bound ``k`` = ``(origin_units + k * size_units) / scale``."""

    size: float
    low: float | None
    high: float | None
    scale: int
    origin_units: int
    size_units: int

    @property
    def below_label(self) -> str:
        return f"< {format_number(float(self.low))}" if self.low is not None else ""

    @property
    def above_label(self) -> str:
        return f"{format_number(float(self.high))}+" if self.high is not None else ""


def _decimal(value: float) -> Decimal:
    """The number as the shortest decimal that reads back as it (what the client wrote)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def number_buckets(size: float, low: float | None, high: float | None) -> NumberBuckets:
    """The buckets, their grid worked out; ``ValidationError`` when a number needs more than ``MAX_DECIMALS``
    digits after the point or more digits than a double holds exactly."""
    written = [_decimal(v) for v in (size, low, high) if v is not None]
    decimals = max(max(0, -int(d.as_tuple().exponent)) for d in written)
    if decimals > MAX_DECIMALS or any(abs(d) * 10**decimals >= MAX_UNITS for d in written):
        raise ValidationError(f"customBucket's bucketSize, min and max take at most {MAX_DECIMALS} digits after the "
                              "point and 15 digits in all")
    scale = 10**decimals
    origin = _decimal(low) if low is not None else Decimal(0)
    return NumberBuckets(float(size), None if low is None else float(low), None if high is None else float(high),
                         scale, int(origin * scale), int(_decimal(size) * scale))


def bucketed_keys_sql(keys_sql: str, buckets: NumberBuckets, prefix: str) -> SqlFragment:
    """``keys_sql`` (an ``Array(String)`` of segment keys) with every number key replaced by its bucket's label,
    distinct labels once. Parameters are named ``{prefix}_…``."""
    p = prefix
    params: dict[str, object] = {f"{p}_origin": buckets.origin_units, f"{p}_step": buckets.size_units,
                                 f"{p}_scale": buckets.scale}

    def bound(k: str) -> str:
        return (f"((toFloat64({{{p}_origin:Int64}}) + ({k}) * toFloat64({{{p}_step:Int64}})) "
                f"/ toFloat64({{{p}_scale:Int64}}))")

    is_number, number = parse_number_sql("x")
    values = f"arrayMap(x -> tuple(x, if({is_number}, {number}, nan)), {keys_sql})"
    origin = f"(toFloat64({{{p}_origin:Int64}}) / toFloat64({{{p}_scale:Int64}}))"
    size = f"(toFloat64({{{p}_step:Int64}}) / toFloat64({{{p}_scale:Int64}}))"
    estimated = f"arrayMap(t -> tuple(t.1, t.2, floor((t.2 - {origin}) / {size})), {values})"
    # the estimate can be one off where the division rounds; the bounds themselves decide
    exact = f"arrayMap(t -> tuple(t.1, t.2, t.3 + (t.2 >= {bound('t.3 + 1')}) - (t.2 < {bound('t.3')})), {estimated})"
    upper = bound("t.3 + 1")
    cases = ["isNaN(t.2)", "t.1"]
    if buckets.low is not None:
        params[f"{p}_low"], params[f"{p}_below"] = buckets.low, buckets.below_label
        cases += [f"t.2 < {{{p}_low:Float64}}", f"{{{p}_below:String}}"]
    if buckets.high is not None:
        params[f"{p}_high"], params[f"{p}_above"] = buckets.high, buckets.above_label
        cases += [f"t.2 >= {{{p}_high:Float64}}", f"{{{p}_above:String}}"]
        upper = f"least({upper}, {{{p}_high:Float64}})"
    label = f"concat({format_number_sql(bound('t.3'))}, ' - ', {format_number_sql(upper)})"
    return SqlFragment(f"arrayDistinct(arrayMap(t -> multiIf({', '.join(cases)}, {label}), {exact}))", params)
