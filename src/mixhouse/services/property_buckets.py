"""``customBucket`` on property breakdowns (``GroupBy(..., bucket_size=, bucket_min=, bucket_max=)``), read and
checked: ``{"bucketSize": s, "min": m, "max": M}`` (min and max optional) buckets the property's numbers
(``query/number_buckets.py``, decision 0039); absent, ``null`` or ``{"disabled": true}``: raw values.

Insights event metrics and flow segments bucket; funnel and retention metrics do not yet, and a bucketed breakdown
on one is refused (400) rather than answered with raw values.
"""

from __future__ import annotations

import math
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.query.number_buckets import NumberBuckets, number_buckets
from mixhouse.query.params import json_object


def _number(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"customBucket's {what} must be a number")
    return value


def property_buckets(raw: Any) -> NumberBuckets | None:
    """The buckets of a property breakdown's ``customBucket`` (``None``: no bucketing)."""
    if raw is None:
        return None
    spec = json_object(raw, "customBucket")
    disabled = spec.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ValidationError("customBucket's disabled must be true or false")
    if disabled:
        return None
    size = _number(spec.get("bucketSize"), "bucketSize")
    if size is None or size <= 0:
        raise ValidationError("customBucket needs a bucketSize above 0")
    low, high = _number(spec.get("min"), "min"), _number(spec.get("max"), "max")
    if low is not None and high is not None and high <= low:
        raise ValidationError("customBucket's max must be above its min")
    return number_buckets(size, low, high)


def refuse_bucketed_breakdowns(params: Any, metric: str) -> None:
    """400 naming ``customBucket`` when a property breakdown of a ``metric`` (funnel or retention) metric's
    bookmark params asks for buckets, which those metrics do not compute yet."""
    sections = params.get("sections") if isinstance(params, dict) else None
    groups = sections.get("group") if isinstance(sections, dict) else None
    for spec in groups if isinstance(groups, list) else []:
        if not isinstance(spec, dict) or isinstance(spec.get("behavior"), dict):
            continue  # frequency breakdowns bucket counts; the metric's own parser says what it takes
        if property_buckets(spec.get("customBucket")) is not None:
            raise ValidationError(f"bucketed breakdowns (customBucket) are not supported on {metric} metrics yet")
