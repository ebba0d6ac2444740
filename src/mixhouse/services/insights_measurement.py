"""An Insights metric's ``measurement``: the math, its property, the per-user aggregation first, a custom
percentile's level and a multi-touch attribution model, read and checked (``ValidationError`` naming what is wrong
or not supported).

``multi_attribution`` (decision 0030): the metric's events are conversions, credited to the values of
``measurement.property`` (the "attributed by" property) that the user's events — any event carrying it, the
conversion included — had in the look-back window ending at the conversion. ``measurement.multiAttribution`` is
``{"model", "lookbackWindow": {"unit": "day" | "week", "value"}}``, by default ``last_touch`` over 30 days; the models
are Mixpanel's: ``first_touch``, ``last_touch``, ``linear``, ``participation`` (every distinct value gets the whole
conversion), ``time_decay`` (weights halving every 7 days before the conversion), ``u_shaped`` (40 % first, 40 %
last, 20 % shared by the others; 50/50 for two), ``j_shaped`` (20/60, 25/75 for two) and ``inverse_j_shaped``
(60/20, 75/25 for two). ``custom`` weights are refused.

The measured property may be an inline custom property (decision 0040, ``query/custom_properties.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr
from mixhouse.query.custom_properties import custom_property_expr, custom_property_label, has_custom_property
from mixhouse.query.params import json_object

PROPERTY_MATHS = ("sum", "average", "min", "max", "median", "p25", "p75", "p90", "p99", "custom_percentile")
#: A string per bucket (the property's most common value, or its value on the earliest event).
VALUE_MATHS = ("most_frequent", "first_value")
#: An object per bucket (``{value: count}``, or count/sum/sum_squares/avg/stddev).
DISTRIBUTION_MATHS = ("histogram", "numeric_summary")
#: Maths whose answer is not one number per bucket: no formulas, analyses or time comparisons over them.
NON_SCALAR_MATHS = (*VALUE_MATHS, *DISTRIBUTION_MATHS, "multi_attribution")
#: Maths that read a property of the events (``unique_values``, ``multi_attribution``: any value; the others: numbers).
NEEDS_PROPERTY = (*PROPERTY_MATHS, "unique_values", *NON_SCALAR_MATHS)
#: Maths that read the property's segment keys (``compile_values``) rather than its numbers.
KEYED_MATHS = ("unique_values", *VALUE_MATHS, "multi_attribution")
#: Per-user aggregations (``perUserAggregation``): each user's value first, then the math across users.
PER_USER = ("total", "average", "min", "max", "unique_values")
PER_USER_MATHS = ("average", "min", "max", "median", "p25", "p75", "p90", "p99", "custom_percentile",
                  *DISTRIBUTION_MATHS)
#: Users active on the day, or in the 7 or 30 days ending on it (daily buckets only).
ACTIVE_DAYS = {"dau": 1, "wau": 7, "mau": 30}
#: ``sessions``: sessions with the event (timeout based, ``query/sessions.py``).
MATHS = ("total", "unique", "cumulative_unique", "sessions", *ACTIVE_DAYS, *PROPERTY_MATHS, "unique_values",
         *NON_SCALAR_MATHS)
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "participation", "time_decay", "u_shaped", "j_shaped",
                      "inverse_j_shaped")
MAX_LOOKBACK_DAYS = 366
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Attribution:
    model: str  # one of ATTRIBUTION_MODELS
    lookback_ms: int


@dataclass(frozen=True)
class Measurement:
    math: str
    prop: str | None
    per_user: str | None
    percentile: float | None  # custom_percentile's level, 0–100
    attribution: Attribution | None
    #: The measured property when it is a custom property (``prop`` then only names it).
    prop_expr: Expr | None = None


def _attribution(raw: Any) -> Attribution:
    spec = json_object(raw or {}, "measurement.multiAttribution")
    model = str(spec.get("model") or "last_touch").lower().replace("-", "_").replace(" ", "_")
    if model not in ATTRIBUTION_MODELS:
        raise ValidationError(f"attribution model {model!r} is not supported yet; use one of "
                              f"{', '.join(ATTRIBUTION_MODELS)}")
    window = json_object(spec.get("lookbackWindow") or {"unit": "day", "value": 30},
                         "measurement.multiAttribution.lookbackWindow")
    unit, value = window.get("unit", "day"), window.get("value")
    days = {"day": 1, "week": 7}.get(str(unit))
    if days is None:
        raise ValidationError("an attribution look-back window's unit is day or week")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value * days <= MAX_LOOKBACK_DAYS:
        raise ValidationError(f"an attribution look-back window is a whole number of days or weeks, up to "
                              f"{MAX_LOOKBACK_DAYS} days")
    return Attribution(model, value * days * DAY_MS)


def parse_measurement(measurement: dict[str, Any]) -> Measurement:
    """The measurement of an event metric."""
    math = measurement.get("math", "total")
    if math == "percentile":  # the client library's name for custom_percentile
        math = "custom_percentile"
    if math not in MATHS:
        raise ValidationError(f"math {math!r} is not supported yet")
    per_user = measurement.get("perUserAggregation") or None
    if per_user is not None and per_user not in PER_USER:
        raise ValidationError(f"per-user aggregation {per_user!r} is not supported yet")
    if per_user is not None and math not in PER_USER_MATHS:
        raise ValidationError(f"math {math!r} cannot follow a per-user aggregation")
    attribution = None
    if math == "multi_attribution":
        attribution = _attribution(measurement.get("multiAttribution"))
    elif measurement.get("multiAttribution"):
        raise ValidationError("measurement.multiAttribution goes with math multi_attribution")
    percentile = None
    if math == "custom_percentile":
        percentile = measurement.get("percentile")
        if isinstance(percentile, bool) or not isinstance(percentile, int | float) or not 0 <= percentile <= 100:
            raise ValidationError("custom_percentile needs measurement.percentile from 0 to 100")
    prop, prop_expr = None, None
    if per_user == "unique_values" or (
            math in NEEDS_PROPERTY and not (per_user == "total" and not measurement.get("property"))):
        raw = measurement.get("property")
        if has_custom_property(raw):  # an inline custom property, measured like a property holding its value
            assert isinstance(raw, dict)
            prop_expr = custom_property_expr(raw)
            return Measurement(math, custom_property_label(raw), per_user, _level(percentile), attribution, prop_expr)
        prop = raw.get("name") if isinstance(raw, dict) else raw
        if not isinstance(prop, str) or not prop:
            named = per_user if per_user == "unique_values" else math
            raise ValidationError(f"math {named!r} needs measurement.property")
        if isinstance(raw, dict) and raw.get("resourceType", "events") not in ("events", "event"):
            raise ValidationError("only event properties can be aggregated yet")
    return Measurement(math, prop, per_user, _level(percentile), attribution)


def _level(percentile: Any) -> float | None:
    return float(percentile) if percentile is not None else None
