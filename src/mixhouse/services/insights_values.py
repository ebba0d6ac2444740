"""Insights maths answered by something other than one number per bucket (decision 0030).

The answer keeps the series envelope (``series[metric][segment…][bucket]``, ``$overall`` rollups computed, not
merged); only the value at each bucket differs:

- ``most_frequent``: the property's most common value in the bucket (a string: the value's segment key, a list
  counting each of its items; the smallest key on a tie), ``null`` without any value;
- ``first_value``: the property's value on the bucket's earliest event that has one (its smallest key for a list),
  ``null`` without any;
- ``histogram``: ``{value: count}``, the events by the property's number, or with ``perUserAggregation`` the users
  by their per-user value (Mixpanel's "Distribution"); one entry per distinct number (formatted as segment keys are,
  ``"3"``, ``"2.5"``), ``{}`` when empty;
- ``numeric_summary``: ``{"count", "sum", "sum_squares", "avg", "stddev"}`` (the fields of Mixpanel's JQL
  ``numeric_summary``; ``stddev`` is the population standard deviation) of the property's numbers, or of the per-user
  values; all 0 when empty;
- ``multi_attribution``: ``{touch value: credited conversions}`` (``$direct`` for conversions without a touchpoint;
  ``query/insights_attribution.py``), ``{}`` when empty.

They cannot feed formulas, cumulative or rolling analyses or time comparisons (400).
"""

from __future__ import annotations

import math
from typing import Any

from mixhouse.expr.values import format_number

SUMMARY_FIELDS = ("count", "sum", "sum_squares", "avg", "stddev")
Path = tuple[str, ...]


def empty_value(metric_math: str) -> Any:
    """A bucket's value when nothing was found."""
    if metric_math in ("histogram", "multi_attribution"):
        return {}
    if metric_math == "numeric_summary":
        return dict.fromkeys(SUMMARY_FIELDS, 0)
    return None


def _finite(value: Any) -> float:
    number = float(value) if value is not None else 0.0
    return number if math.isfinite(number) else 0.0


def _whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


def collect(metric_math: str, rows: list[dict[str, Any]], depth: int, into: dict[Path, dict[str, Any]]) -> None:
    """Add the rows of ``insights_values.distribution_sql``/``value_sql`` at ``depth`` to ``into`` (by segment path
    and bucket key)."""
    for row in rows:
        path = tuple(str(row[f"g{n}"]) for n in range(1, depth + 1))
        bucket = str(row["bucket"]) or "all"
        found = into.setdefault(path, {})
        if metric_math == "histogram":
            found[bucket] = {format_number(_finite(number)): int(count)
                             for number, count in zip(row["numbers"], row["counts"], strict=True)}
        elif metric_math == "multi_attribution":
            found.setdefault(bucket, {})[str(row["touch"])] = _finite(row["value"])
        elif metric_math == "numeric_summary":
            found[bucket] = {"count": int(_finite(row["n"])), "sum": _whole(_finite(row["total"])),
                             "sum_squares": _whole(_finite(row["squares"])), "avg": _finite(row["mean"]),
                             "stddev": _finite(row["spread"])}
        else:
            found[bucket] = None if row["value"] is None else str(row["value"])
    if metric_math == "histogram":  # bins in numeric order
        for found in into.values():
            for bucket, bins in found.items():
                found[bucket] = dict(sorted(bins.items(), key=lambda item: float(item[0])))
