"""``customBucket`` on property breakdowns (``GroupBy(..., bucket_size=, bucket_min=, bucket_max=)``), read and
checked: ``{"bucketSize": s, "min": m, "max": M}`` (min and max optional) buckets the property's numbers
(``query/number_buckets.py``, decision 0039); absent, ``null`` or ``{"disabled": true}``: raw values.

Insights event metrics, funnel and retention metrics (their event and profile property breakdowns) and flow
segments bucket, all through ``query/number_buckets.py``.
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

