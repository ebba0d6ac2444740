"""Brute-force ``customBucket`` labels of a numeric property breakdown (decision 0039), in exact rational
arithmetic: plain Python sharing nothing with the SQL path but ``number()``'s text rule and number formatting.

A segment key ``number()`` reads as a number falls in bucket k of ``[origin + k·size, origin + (k+1)·size)``, the
bounds being the decimals ``origin + k·size`` (as written) rounded once to a double; ``"< low"`` below ``low``,
``"high+"`` at or above ``high``. Other keys are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from mixhouse.expr.values import UNDEFINED, format_number, parse_number


@dataclass(frozen=True)
class Buckets:
    size: float
    low: float | None = None
    high: float | None = None


def _written(value: float) -> Fraction:
    """The decimal the client wrote (the shortest one that reads back as ``value``)."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def bucket_label(key: str, buckets: Buckets) -> str:
    number = parse_number(key)
    if number is UNDEFINED:
        return key
    assert isinstance(number, float)
    if buckets.low is not None and number < buckets.low:
        return f"< {format_number(float(buckets.low))}"
    if buckets.high is not None and number >= buckets.high:
        return f"{format_number(float(buckets.high))}+"
    origin = _written(buckets.low) if buckets.low is not None else Fraction(0)
    step = _written(buckets.size)

    def bound(k: int) -> float:
        return float(origin + k * step)  # the exact decimal, rounded once

    k = math.floor((Fraction(number) - origin) / step)
    for _ in range(3):  # the exact quotient is at most one bucket off the double bounds
        if bound(k) > number:
            k -= 1
        elif bound(k + 1) <= number:
            k += 1
    # fails for values so far out that the server's bounds are no longer exact (beyond 2^53 grid units)
    assert bound(k) <= number < bound(k + 1), (key, buckets, k)
    upper = bound(k + 1) if buckets.high is None else min(bound(k + 1), float(buckets.high))
    return f"{format_number(bound(k))} - {format_number(upper)}"


def bucketed(keys: list[str], buckets: Buckets | None) -> list[str]:
    """The segment keys of one event, numbers replaced by their bucket's label, each label once."""
    if buckets is None:
        return keys
    return list(dict.fromkeys(bucket_label(key, buckets) for key in keys))
