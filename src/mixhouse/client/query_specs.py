"""Typed query specs: ``Filter``, ``Metric``, ``GroupBy``, ``Formula``, ``FunnelStep``, ``Exclusion``,
``HoldingConstant``, ``RetentionEvent``, ``FlowStep``, ``FrequencyFilter``, ``CohortMetric``, ``CohortBreakdown`` and
``TimeComparison``: the values the ``build_*`` functions turn into bookmark params.

Re-exported from ``mixhouse.client.builders``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mixhouse.client.cohort_specs import CohortDefinition, raw_cohort
from mixhouse.client.spec_validation import _DATE, _fail


@dataclass(frozen=True)
class Filter:
    """One filter condition; build it with the class methods (``Filter.equals("country", "US")``)."""

    _property: str
    _operator: str
    _value: Any = None
    _property_type: str = "string"
    _resource_type: str = "events"
    _date_unit: str | None = None

    @classmethod
    def equals(cls, property: str, value: str | list[str], *, resource_type: str = "events") -> Filter:
        return cls(property, "equals", [value] if isinstance(value, str) else list(value), "string", resource_type)

    @classmethod
    def not_equals(cls, property: str, value: str | list[str], *, resource_type: str = "events") -> Filter:
        return cls(property, "does not equal", [value] if isinstance(value, str) else list(value), "string",
                   resource_type)

    @classmethod
    def contains(cls, property: str, value: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "contains", value, "string", resource_type)

    @classmethod
    def not_contains(cls, property: str, value: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "does not contain", value, "string", resource_type)

    @classmethod
    def starts_with(cls, property: str, prefix: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "starts with", prefix, "string", resource_type)

    @classmethod
    def ends_with(cls, property: str, suffix: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "ends with", suffix, "string", resource_type)

    @classmethod
    def greater_than(cls, property: str, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is greater than", value, "number", resource_type)

    @classmethod
    def less_than(cls, property: str, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is less than", value, "number", resource_type)

    @classmethod
    def at_least(cls, property: str, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is at least", value, "number", resource_type)

    @classmethod
    def at_most(cls, property: str, value: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is at most", value, "number", resource_type)

    @classmethod
    def between(cls, property: str, min_val: float, max_val: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "is between", [min_val, max_val], "number", resource_type)

    @classmethod
    def not_between(cls, property: str, min_val: float, max_val: float, *, resource_type: str = "events") -> Filter:
        return cls(property, "not between", [min_val, max_val], "number", resource_type)

    @classmethod
    def is_set(cls, property: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "is set", None, "string", resource_type)

    @classmethod
    def is_not_set(cls, property: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "is not set", None, "string", resource_type)

    @classmethod
    def is_true(cls, property: str, *, resource_type: str = "events") -> Filter:
        return cls(property, "true", None, "boolean", resource_type)

    @classmethod
    def is_false(cls, property: str, *, resource_type: str = "events") -> Filter:
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
        """The bookmark ``filter`` entry."""
        out: dict[str, Any] = {"resourceType": self._resource_type, "filterType": self._property_type,
                               "defaultType": self._property_type, "filterValue": self._value,
                               "filterOperator": self._operator, "value": self._property}
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
    property: str | None = None
    per_user: str | None = None
    percentile_value: float | None = None
    filters: list[Filter] | None = None
    filters_combinator: str = "all"
    segment_method: str | None = None


@dataclass(frozen=True)
class GroupBy:
    property: str
    property_type: str = "string"
    bucket_size: float | None = None
    bucket_min: float | None = None
    bucket_max: float | None = None


@dataclass(frozen=True)
class Formula:
    expression: str
    label: str | None = None


@dataclass(frozen=True)
class FunnelStep:
    event: str
    label: str | None = None
    filters: list[Filter] | None = None
    filters_combinator: str = "all"
    order: str | None = None


@dataclass(frozen=True)
class Exclusion:
    event: str
    from_step: int = 0
    to_step: int | None = None


@dataclass(frozen=True)
class HoldingConstant:
    property: str
    resource_type: str = "events"


@dataclass(frozen=True)
class RetentionEvent:
    event: str
    filters: list[Filter] | None = None
    filters_combinator: str = "all"


@dataclass(frozen=True)
class FlowStep:
    event: str
    forward: int | None = None
    reverse: int | None = None
    label: str | None = None
    filters: list[Filter] | None = field(default=None)
    filters_combinator: str = "all"


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
        if not self.event:
            _fail("FF_EVENT", "a frequency filter needs an event")
        if self.operator not in FREQUENCY_OPERATORS:
            _fail("FF_OPERATOR", f"operator must be one of {list(FREQUENCY_OPERATORS)}, not {self.operator!r}")
        if (self.date_range_value is None) != (self.date_range_unit is None):
            _fail("FF_DATE_RANGE", "date_range_value and date_range_unit go together")
        if self.date_range_unit is not None and self.date_range_unit not in ("day", "week", "month"):
            _fail("FF_DATE_RANGE_UNIT", f"date_range_unit must be day, week or month, not {self.date_range_unit!r}")

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


@dataclass(frozen=True)
class CohortBreakdown:
    """Segments by membership of a saved cohort ("Name" and, with ``include_negated``, "Not In Name")."""

    cohort: int | CohortDefinition
    name: str | None = None
    include_negated: bool = True


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
