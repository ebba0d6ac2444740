"""Typed query specs: ``Filter``, ``Metric``, ``GroupBy``, ``Formula``, ``FunnelStep``, ``Exclusion``,
``HoldingConstant``, ``RetentionEvent``, ``FlowStep``, ``FrequencyFilter``, ``CohortMetric``, ``CohortBreakdown`` and
``TimeComparison``, ``FrequencyBreakdown``: the values the ``build_*`` functions turn into bookmark params.

A property argument (``Filter``'s property, ``GroupBy.property``, ``Metric.property``) takes a name or a custom
property (``CustomPropertyRef``/``InlineCustomProperty``, ``mixhouse.client.custom_properties``). The constructors
refuse what no bookmark could hold (``BookmarkValidationError`` with the client library's rule code: ``EV1``/``EV2``
event names, ``GB1``/``V12``/``V18`` breakdowns, ``V13``/``V26``/``MT2`` metrics, ``EX1``/``EX2`` exclusions,
``FF1``-``FF5`` frequency filters, ``FB1``-``FB4`` frequency breakdowns, ``CM1``/``CM2`` cohort metrics).

Re-exported from ``mixhouse.client.builders``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mixhouse.client.cohort_specs import CohortDefinition, raw_cohort
from mixhouse.client.custom_properties import (
    CustomPropertyRef,
    InlineCustomProperty,
    PropertySpec,
    custom_property_keys,
)
from mixhouse.client.spec_validation import _DATE, _fail

#: maths that measure a property (``Metric`` refuses them without one)
PROPERTY_MATHS = frozenset({"average", "sum", "min", "max", "median", "p25", "p75", "p90", "p99", "percentile",
                            "custom_percentile", "first_value", "histogram", "most_frequent", "multi_attribution",
                            "numeric_summary", "unique_values"})
SEGMENT_METHODS = ("all", "first")


def check_event_name(event: Any, what: str = "event", path: str | None = None) -> None:
    """``EV1_EMPTY_EVENT`` / ``EV2_CONTROL_CHAR_EVENT``: an event name is a non-blank string without control
    characters."""
    if not isinstance(event, str) or not event.strip():
        _fail("EV1_EMPTY_EVENT", f"{what} must be a non-empty event name", path)
    if any(ord(c) < 32 or ord(c) == 127 for c in event):
        _fail("EV2_CONTROL_CHAR_EVENT", f"{what} {event!r} contains a control character", path)


@dataclass(frozen=True)
class Filter:
    """One filter condition; build it with the class methods (``Filter.equals("country", "US")``)."""

    _property: PropertySpec
    _operator: str
    _value: Any = None
    _property_type: str = "string"
    _resource_type: str = "events"
    _date_unit: str | None = None

    def __post_init__(self) -> None:
        if self._operator == "list_contains":
            _fail("LC1_MISSING_ITEM_FILTERS", "list_contains filters need item filters, which this client does not "
                  "build yet")

    @classmethod
    def equals(cls, property: PropertySpec, value: str | list[str], *, resource_type: str = "events") -> Filter:
        return cls(property, "equals", [value] if isinstance(value, str) else list(value), "string", resource_type)

    @classmethod
    def not_equals(cls, property: PropertySpec, value: str | list[str], *, resource_type: str = "events") -> Filter:
        return cls(property, "does not equal", [value] if isinstance(value, str) else list(value), "string",
                   resource_type)

    @classmethod
    def contains(cls, property: PropertySpec, value: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "contains", value, "string", resource_type)

    @classmethod
    def not_contains(cls, property: PropertySpec, value: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "does not contain", value, "string", resource_type)

    @classmethod
    def starts_with(cls, property: PropertySpec, prefix: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "starts with", prefix, "string", resource_type)

    @classmethod
    def ends_with(cls, property: PropertySpec, suffix: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "ends with", suffix, "string", resource_type)

    @classmethod
    def greater_than(cls, property: PropertySpec, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is greater than", value, "number", resource_type)

    @classmethod
    def less_than(cls, property: PropertySpec, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is less than", value, "number", resource_type)

    @classmethod
    def at_least(cls, property: PropertySpec, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is at least", value, "number", resource_type)

    @classmethod
    def at_most(cls, property: PropertySpec, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is at most", value, "number", resource_type)

    @classmethod
    def between(cls, property: PropertySpec, min_val: float, max_val: float, *,
                resource_type: str = "events") -> Filter:
        return cls(property, "is between", [min_val, max_val], "number", resource_type)

    @classmethod
    def not_between(cls, property: PropertySpec, min_val: float, max_val: float, *,
                    resource_type: str = "events") -> Filter:
        return cls(property, "not between", [min_val, max_val], "number", resource_type)

    @classmethod
    def is_set(cls, property: PropertySpec, *, resource_type: str = "events") -> Filter:
        return cls(property, "is set", None, "string", resource_type)

    @classmethod
    def is_not_set(cls, property: PropertySpec, *, resource_type: str = "events") -> Filter:
        return cls(property, "is not set", None, "string", resource_type)

    @classmethod
    def is_true(cls, property: PropertySpec, *, resource_type: str = "events") -> Filter:
        return cls(property, "true", None, "boolean", resource_type)

    @classmethod
    def is_false(cls, property: PropertySpec, *, resource_type: str = "events") -> Filter:
        return cls(property, "false", None, "boolean", resource_type)

    @classmethod
    def in_cohort(cls, cohort: int | CohortDefinition, name: str | None = None) -> Filter:
        """Events of users in a cohort (``$cohorts contains``): a saved id or an inline ``CohortDefinition``."""
        return cls("$cohorts", "contains", [{"cohort": _cohort_ref(cohort, name, negated=False)}], "list", "events")

    @classmethod
    def not_in_cohort(cls, cohort: int | CohortDefinition, name: str | None = None) -> Filter:
        return cls("$cohorts", "does not contain", [{"cohort": _cohort_ref(cohort, name, negated=True)}], "list",
                   "events")

    def entry(self) -> dict[str, Any]:
        """The bookmark ``filter`` entry (a custom property stands in place of ``value``, with ``dataset``)."""
        out: dict[str, Any] = {"resourceType": self._resource_type, "filterType": self._property_type,
                               "defaultType": self._property_type, "filterValue": self._value,
                               "filterOperator": self._operator}
        if isinstance(self._property, CustomPropertyRef | InlineCustomProperty):
            out.update(custom_property_keys(self._property, self._property_type))
            out["dataset"] = "$mixpanel"
            if isinstance(self._property, InlineCustomProperty):  # its own type and resource win
                kind = self._property.property_type or self._property_type
                out.update(filterType=kind, defaultType=kind, resourceType=self._property.resource_type)
        else:
            out["value"] = self._property
        if self._date_unit is not None:
            out["filterDateUnit"] = self._date_unit
        return out


def _cohort_ref(cohort: Any, name: str | None, *, negated: bool) -> dict[str, Any]:
    if isinstance(cohort, CohortDefinition):
        return {"negated": negated, "name": name or "", "raw_cohort": raw_cohort(cohort)}
    if not isinstance(cohort, int) or isinstance(cohort, bool) or cohort <= 0:
        _fail("CD8_COHORT_ID_NOT_POSITIVE", f"a cohort is a positive id or a CohortDefinition, not {cohort!r}")
    return {"id": cohort, "name": name or "", "negated": negated}


@dataclass(frozen=True)
class Metric:
    """One event metric with its own math, property, per-user aggregation and filters."""

    event: str
    math: str = "total"
    property: PropertySpec | None = None
    per_user: str | None = None
    percentile_value: float | None = None
    filters: list[Filter] | None = None
    filters_combinator: str = "all"
    segment_method: str | None = None

    def __post_init__(self) -> None:
        check_event_name(self.event)
        if self.math in PROPERTY_MATHS and self.property is None:
            _fail("V13_METRIC_MATH_PROPERTY", f"Metric math {self.math!r} needs a property")
        if self.math in ("percentile", "custom_percentile") and self.percentile_value is None:
            _fail("V26_PERCENTILE_REQUIRES_VALUE", f"Metric math {self.math!r} needs percentile_value")
        if self.segment_method is not None and self.segment_method not in SEGMENT_METHODS:
            _fail("MT2_INVALID_SEGMENT_METHOD", f"segment_method must be all or first, not {self.segment_method!r}")


@dataclass(frozen=True)
class GroupBy:
    """A breakdown by a property (name or custom property), numeric ones optionally in buckets of
    ``bucket_size`` from ``bucket_min`` to ``bucket_max``."""

    property: PropertySpec
    property_type: str = "string"
    bucket_size: float | None = None
    bucket_min: float | None = None
    bucket_max: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.property, str) and not self.property.strip():
            _fail("GB1_EMPTY_PROPERTY", "GroupBy needs a property name")
        if self.bucket_size is not None and self.bucket_size <= 0:
            _fail("V12_BUCKET_SIZE_POSITIVE", f"bucket_size must be positive, not {self.bucket_size}")
        if self.bucket_min is not None and self.bucket_max is not None and self.bucket_min >= self.bucket_max:
            _fail("V18_BUCKET_ORDER", f"bucket_min {self.bucket_min} must be below bucket_max {self.bucket_max}")


@dataclass(frozen=True)
class Formula:
    expression: str
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.expression, str) or not self.expression.strip():
            _fail("FM1_EMPTY_EXPRESSION", "a formula needs an expression")


@dataclass(frozen=True)
class FunnelStep:
    event: str
    label: str | None = None
    filters: list[Filter] | None = None
    filters_combinator: str = "all"
    order: str | None = None

    def __post_init__(self) -> None:
        check_event_name(self.event, "a funnel step's event")


@dataclass(frozen=True)
class Exclusion:
    """Drop conversions where ``event`` happens between steps ``from_step`` and ``to_step`` (0-based; ``None``: the
    last step)."""

    event: str
    from_step: int = 0
    to_step: int | None = None

    def __post_init__(self) -> None:
        check_event_name(self.event, "an exclusion's event")
        if self.from_step < 0:
            _fail("EX1_FROM_STEP_NEGATIVE", f"from_step must be 0 or more, not {self.from_step}")
        if self.to_step is not None and self.to_step < self.from_step:
            _fail("EX2_STEP_ORDER", f"to_step {self.to_step} is before from_step {self.from_step}")


@dataclass(frozen=True)
class HoldingConstant:
    property: str
    resource_type: str = "events"

    def __post_init__(self) -> None:
        if not isinstance(self.property, str) or not self.property.strip():
            _fail("HC1_EMPTY_PROPERTY", "holding_constant needs a property name")


@dataclass(frozen=True)
class RetentionEvent:
    event: str
    filters: list[Filter] | None = None
    filters_combinator: str = "all"

    def __post_init__(self) -> None:
        check_event_name(self.event, "a retention event")


@dataclass(frozen=True)
class FlowStep:
    event: str
    forward: int | None = None
    reverse: int | None = None
    label: str | None = None
    filters: list[Filter] | None = field(default=None)
    filters_combinator: str = "all"
    #: ``"start"``/``"end"``: anchor on session start or end (the ``$session_start``/``$session_end`` step)
    session_event: str | None = None

    def __post_init__(self) -> None:
        for code, name, value in (("FL3_FORWARD_RANGE", "forward", self.forward),
                                  ("FL4_REVERSE_RANGE", "reverse", self.reverse)):
            if value is not None and not 0 <= value <= 5:
                _fail(code, f"{name} must be 0 to 5, not {value}")
        if self.session_event is not None and self.event != {"start": "$session_start",
                                                             "end": "$session_end"}.get(self.session_event):
            _fail("FS1_SESSION_EVENT_MISMATCH", f"session_event {self.session_event!r} goes with the "
                  f"$session_start/$session_end step, not {self.event!r}")


FREQUENCY_OPERATORS = ("is at least", "is at most", "is greater than", "is less than", "is equal to", "is between")


@dataclass(frozen=True)
class FrequencyFilter:
    """Keep users who did ``event`` (``operator``) ``value`` times, in the report's range or the filter's own
    ``in the last`` window."""

    event: str
    value: float | list[float]
    operator: str = "is at least"
    date_range_value: int | None = None
    date_range_unit: str | None = None
    event_filters: list[Filter] | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not self.event.strip():
            _fail("FF1_EMPTY_EVENT", "a frequency filter needs an event")
        if self.operator not in FREQUENCY_OPERATORS:
            _fail("FF2_INVALID_OPERATOR", f"operator must be one of {list(FREQUENCY_OPERATORS)}, not "
                  f"{self.operator!r}")
        values = self.value if isinstance(self.value, list) else [self.value]
        if any(v < 0 for v in values):
            _fail("FF3_VALUE_NEGATIVE", f"a frequency is 0 or more, not {self.value!r}")
        if (self.date_range_value is None) != (self.date_range_unit is None):
            _fail("FF4_DATE_RANGE_PAIR", "date_range_value and date_range_unit go together")
        if self.date_range_value is not None and self.date_range_value <= 0:
            _fail("FF5_DATE_RANGE_VALUE_NOT_POSITIVE", f"date_range_value must be positive, not "
                  f"{self.date_range_value}")
        if self.date_range_unit is not None and self.date_range_unit not in ("day", "week", "month"):
            _fail("FF4_DATE_RANGE_PAIR", f"date_range_unit must be day, week or month, not {self.date_range_unit!r}")

    def entry(self) -> dict[str, Any]:
        behavior: dict[str, Any] = {
            "aggregationOperator": "total", "behaviorType": "$frequency", "dateRange": None,
            "event": {"label": self.event, "value": self.event}, "filters": [], "filtersOperator": "and"}
        if self.date_range_value is not None and self.date_range_unit is not None:
            behavior["dateRange"] = {"type": "in the last", "unit": self.date_range_unit,
                                     "window": {"unit": self.date_range_unit, "value": self.date_range_value}}
        if self.event_filters is not None:
            behavior["filters"] = [f.entry() for f in self.event_filters]
        return {"dataset": "$mixpanel", "resourceType": "people", "profileType": None, "search": "",
                "dataGroupId": None, "behavior": behavior, "filterType": "number", "defaultType": "number",
                "filterOperator": self.operator, "filterValue": self.value, "propertyObjectKey": None,
                "value": self.label if self.label is not None else f"{self.event} Frequency"}


@dataclass(frozen=True)
class CohortMetric:
    """Unique users of a saved cohort over time (a show clause of type ``cohort``)."""

    cohort: int
    name: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.cohort, CohortDefinition):
            _fail("CM5_INLINE_COHORT_METRIC", "CohortMetric takes a saved cohort id, not an inline CohortDefinition")
        if isinstance(self.cohort, bool) or not isinstance(self.cohort, int) or self.cohort <= 0:
            _fail("CM1_COHORT_ID_NOT_POSITIVE", f"a cohort id is a positive whole number, not {self.cohort!r}")
        if self.name is not None and not self.name.strip():
            _fail("CM2_COHORT_NAME_EMPTY", "a cohort name must not be blank")


@dataclass(frozen=True)
class FrequencyBreakdown:
    """Segments users by how many times they did ``event`` in the report's range, in buckets of ``bucket_size``
    from ``bucket_min`` to ``bucket_max`` (labelled ``label`` or "EVENT Frequency")."""

    event: str
    bucket_size: int = 1
    bucket_min: int = 0
    bucket_max: int = 10
    label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.event, str) or not self.event.strip():
            _fail("FB1_EMPTY_EVENT", "a frequency breakdown needs an event")
        if self.bucket_size <= 0:
            _fail("FB2_BUCKET_SIZE_NOT_POSITIVE", f"bucket_size must be positive, not {self.bucket_size}")
        if self.bucket_min >= self.bucket_max:
            _fail("FB3_BUCKET_ORDER", f"bucket_min {self.bucket_min} must be below bucket_max {self.bucket_max}")
        if self.bucket_min < 0:
            _fail("FB4_BUCKET_MIN_NEGATIVE", f"bucket_min must be 0 or more, not {self.bucket_min}")

    def entry(self, data_group_id: str | None = None) -> dict[str, Any]:
        """The bookmark ``group`` entry (a ``$frequency`` behaviour on ``people``)."""
        return {"behavior": {"aggregationOperator": "total", "behaviorType": "$frequency", "dateRange": None,
                             "event": {"label": self.event, "value": self.event}, "filters": [],
                             "filtersOperator": "and"},
                "customBucket": {"bucketSize": self.bucket_size, "disabled": False, "max": self.bucket_max,
                                 "min": self.bucket_min},
                "dataGroupId": data_group_id, "dataset": "$mixpanel", "propertyType": "number",
                "resourceType": "people",
                "value": self.label if self.label is not None else f"{self.event} Frequency"}


@dataclass(frozen=True)
class CohortBreakdown:
    """Segments by membership of a saved cohort ("Name" and, with ``include_negated``, "Not In Name")."""

    cohort: int | CohortDefinition
    name: str | None = None
    include_negated: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.cohort, CohortDefinition) and (
                isinstance(self.cohort, bool) or not isinstance(self.cohort, int) or self.cohort <= 0):
            _fail("CB1_COHORT_ID_NOT_POSITIVE", f"a cohort id is a positive whole number, not {self.cohort!r}")
        if self.name is not None and not self.name.strip():
            _fail("CB2_COHORT_NAME_EMPTY", "a cohort name must not be blank")


@dataclass(frozen=True)
class TimeComparison:
    """Compare with an earlier period: ``relative`` with a ``unit``, or ``absolute-start``/``absolute-end`` with a
    ``date``."""

    type: str
    unit: str | None = None
    date: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ("relative", "absolute-start", "absolute-end"):
            _fail("TC0_INVALID_TYPE", f"time comparison type must be relative, absolute-start or absolute-end, "
                  f"not {self.type!r}")
        if self.type == "relative":
            if self.unit is None:
                _fail("TC1_REQUIRES_UNIT", "a relative time comparison needs a unit")
            if self.unit not in ("day", "week", "month", "quarter", "year"):
                _fail("TC1B_INVALID_UNIT", f"unit must be day, week, month, quarter or year, not {self.unit!r}")
            if self.date is not None:
                _fail("TC1_REJECTS_DATE", "a relative time comparison takes no date")
        else:
            if self.date is None:
                _fail("TC2_REQUIRES_DATE", f"an {self.type} time comparison needs a date")
            if self.unit is not None:
                _fail("TC2_REJECTS_UNIT", f"an {self.type} time comparison takes no unit")
            if not _DATE.match(str(self.date)):
                _fail("TC3_DATE_FORMAT", f"date must be YYYY-MM-DD, not {self.date!r}")
            try:
                date.fromisoformat(str(self.date))
            except ValueError:
                _fail("TC3B_DATE_INVALID", f"{self.date!r} is not a calendar date")

    @classmethod
    def relative(cls, unit: str) -> TimeComparison:
        return cls("relative", unit=unit)

    @classmethod
    def absolute_start(cls, date: str) -> TimeComparison:
        return cls("absolute-start", date=date)

    @classmethod
    def absolute_end(cls, date: str) -> TimeComparison:
        return cls("absolute-end", date=date)

    def entry(self) -> dict[str, str]:
        return {"type": self.type, "value": str(self.unit if self.type == "relative" else self.date)}
