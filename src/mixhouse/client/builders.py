"""Typed query builders: ``Metric``, ``Filter``, ``GroupBy``, ``Formula``, ``FunnelStep``, ``Exclusion``,
``HoldingConstant``, ``RetentionEvent``, ``FlowStep`` and the bookmark params the seeds' ``build_*`` methods make.

The shapes follow the recorded ``expect.output`` of the wire vectors (``tests/unit/test_client_builders.py`` checks
them). Not here yet: custom properties (``CustomPropertyRef``, ``InlineCustomProperty``), inline cohort definitions
(``CohortDefinition``), ``FrequencyBreakdown`` and flow-step filters.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn

from mixhouse.errors import BookmarkValidationError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PROPERTY_MATHS = frozenset({"average", "sum", "min", "max", "median", "p25", "p75", "p90", "p99", "percentile",
                            "custom_percentile"})
UNITS = frozenset({"minute", "hour", "day", "week", "month", "quarter"})


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


_PROPERTY_OPERATORS = {"equals": "==", "not_equals": "!=", "contains": "in", "not_contains": "not in",
                       "greater_than": ">", "less_than": "<", "is_set": "defined", "is_not_set": "not defined"}


def _cohort_date(value: str) -> None:
    if not _DATE.match(value):
        _fail("CD6_DATE_FORMAT", f"dates must be YYYY-MM-DD, not {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        _fail("CD6_DATE_INVALID", f"{value!r} is not a calendar date")


@dataclass(frozen=True)
class CohortCriteria:
    """One condition of an inline cohort definition (build it with the class methods)."""

    _selector_node: dict[str, Any]
    _behavior_key: str | None = None
    _behavior: dict[str, Any] | None = None

    @classmethod
    def did_event(cls, event: str, *, at_least: int | None = None, at_most: int | None = None,
                  exactly: int | None = None, within_days: int | None = None, within_weeks: int | None = None,
                  within_months: int | None = None, from_date: str | None = None, to_date: str | None = None,
                  where: Any = None, aggregation: str | None = None,
                  aggregation_property: str | None = None) -> CohortCriteria:
        """Users who did ``event`` at least / at most / exactly N times in a rolling window or between dates."""
        if not event or not event.strip():
            _fail("CD4_EMPTY_EVENT", "event must be non-empty")
        if (aggregation is None) != (aggregation_property is None):
            _fail("CA1_AGGREGATION_PAIR", "aggregation and aggregation_property go together")
        if aggregation_property is not None and not aggregation_property.strip():
            _fail("CA2_EMPTY_AGGREGATION_PROPERTY", "aggregation_property must be a non-empty string")
        counts = {k: v for k, v in (("at_least", at_least), ("at_most", at_most), ("exactly", exactly))
                  if v is not None}
        if len(counts) != 1:
            _fail("CD1_FREQUENCY_PARAM_REQUIRED", "exactly one of at_least, at_most, exactly must be set")
        name, value = next(iter(counts.items()))
        if value < 0:
            _fail("CD2_FREQUENCY_NEGATIVE", "frequency value must be >= 0")
        rolling = {k: v for k, v in (("day", within_days), ("week", within_weeks), ("month", within_months))
                   if v is not None}
        dated = from_date is not None or to_date is not None
        if len(rolling) + (1 if dated else 0) != 1:
            _fail("CD3_TIME_CONSTRAINT_REQUIRED",
                  "exactly one time constraint required (within_days/weeks/months or from_date+to_date)")
        if where is not None:
            from mixhouse.errors import NotSupportedError

            raise NotSupportedError("event filters in CohortCriteria.did_event are not supported by this client yet",
                                    details={"method": "CohortCriteria.did_event"})
        count: dict[str, Any] = {"event_selector": {"event": event, "selector": None}, "type": "absolute"}
        if aggregation is not None:
            count["aggregationOperator"] = aggregation
            count["property"] = aggregation_property
        behavior: dict[str, Any] = {"count": count}
        if rolling:
            unit, window = next(iter(rolling.items()))
            if window <= 0:
                _fail("CD3_WINDOW_NOT_POSITIVE", "time window value must be positive")
            behavior["window"] = {"unit": unit, "value": window}
        else:
            if from_date is None:
                _fail("CD5_TO_REQUIRES_FROM", "to_date requires from_date")
            if to_date is None:
                _fail("CD5_FROM_REQUIRES_TO", "from_date requires to_date")
            _cohort_date(from_date)
            _cohort_date(to_date)
            if from_date > to_date:
                _fail("CD6_DATE_ORDER", "from_date must be before or equal to to_date")
            behavior["from_date"] = from_date
            behavior["to_date"] = to_date
        operator = {"at_least": ">=", "at_most": "<=", "exactly": "=="}[name]
        return cls({"property": "behaviors", "value": "bhvr_0", "operator": operator, "operand": value},
                   "bhvr_0", behavior)

    @classmethod
    def did_not_do_event(cls, event: str, *, within_days: int | None = None, within_weeks: int | None = None,
                         within_months: int | None = None, from_date: str | None = None,
                         to_date: str | None = None) -> CohortCriteria:
        return cls.did_event(event, exactly=0, within_days=within_days, within_weeks=within_weeks,
                             within_months=within_months, from_date=from_date, to_date=to_date)

    @classmethod
    def has_property(cls, property: str, value: Any, *, operator: str = "equals",
                     property_type: str = "string") -> CohortCriteria:
        if not property or not property.strip():
            _fail("CD7_EMPTY_PROPERTY", "property name must be non-empty")
        if operator not in _PROPERTY_OPERATORS:
            _fail("CD7_OPERATOR", f"operator must be one of {sorted(_PROPERTY_OPERATORS)}, not {operator!r}")
        return cls({"property": "user", "value": property, "operator": _PROPERTY_OPERATORS[operator],
                    "operand": value, "type": property_type})

    @classmethod
    def property_is_set(cls, property: str) -> CohortCriteria:
        return cls.has_property(property, "", operator="is_set")

    @classmethod
    def property_is_not_set(cls, property: str) -> CohortCriteria:
        return cls.has_property(property, "", operator="is_not_set")

    @classmethod
    def in_cohort(cls, cohort_id: int) -> CohortCriteria:
        if cohort_id <= 0:
            _fail("CD8_COHORT_ID_NOT_POSITIVE", "cohort_id must be a positive integer")
        return cls({"property": "cohort", "value": cohort_id, "operator": "in"})

    @classmethod
    def not_in_cohort(cls, cohort_id: int) -> CohortCriteria:
        if cohort_id <= 0:
            _fail("CD8_COHORT_ID_NOT_POSITIVE", "cohort_id must be a positive integer")
        return cls({"property": "cohort", "value": cohort_id, "operator": "not in"})


class CohortDefinition:
    """An inline cohort: criteria combined with ``and`` (``CohortDefinition(...)``, ``all_of``) or ``or``
    (``any_of``); groups nest."""

    def __init__(self, *criteria: CohortCriteria | CohortDefinition, _operator: str = "and") -> None:
        if not criteria:
            _fail("CD9_EMPTY_CRITERIA", "CohortDefinition requires at least one criterion")
        self._criteria = criteria
        self._operator = _operator

    @classmethod
    def all_of(cls, *criteria: CohortCriteria | CohortDefinition) -> CohortDefinition:
        return cls(*criteria, _operator="and")

    @classmethod
    def any_of(cls, *criteria: CohortCriteria | CohortDefinition) -> CohortDefinition:
        return cls(*criteria, _operator="or")

    def to_dict(self) -> dict[str, Any]:
        """``{"selector", "behaviors"}`` with the behaviours numbered ``bhvr_0``, ``bhvr_1``... in order."""
        behaviors: dict[str, Any] = {}

        def build(item: CohortCriteria | CohortDefinition) -> dict[str, Any]:
            if isinstance(item, CohortCriteria):
                node = copy.deepcopy(item._selector_node)
                if item._behavior_key is not None and item._behavior is not None:
                    key = f"bhvr_{len(behaviors)}"
                    behaviors[key] = copy.deepcopy(item._behavior)
                    node["value"] = key
                return node
            return {"operator": item._operator, "children": [build(c) for c in item._criteria]}

        return {"selector": build(self), "behaviors": behaviors}


def raw_cohort(definition: CohortDefinition) -> dict[str, Any]:
    """The definition as a ``raw_cohort`` (``None`` values dropped, as the web app sends it)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out: dict[str, Any] = clean(definition.to_dict())
    return out


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


# ------------------------------------------------------------------------------------------------- shared pieces


def _fail(rule: str, message: str) -> NoReturn:
    raise BookmarkValidationError(message, rule=rule)


def validate_time(from_date: str | None, to_date: str | None, last: int, unit: str | None = None) -> None:
    for name, value in (("from_date", from_date), ("to_date", to_date)):
        if value is not None and not _DATE.match(value):
            _fail("date_format", f"{name} must be YYYY-MM-DD, not {value!r}")
    if to_date is not None and from_date is None:
        _fail("to_date_requires_from_date", "to_date needs from_date")
    if from_date is not None and to_date is not None and from_date > to_date:
        _fail("date_order", f"from_date {from_date} is after to_date {to_date}")
    if last < 1:
        _fail("last_positive", f"last must be a positive number of days, not {last}")
    if unit is not None and unit not in UNITS:
        _fail("unit", f"unit must be one of {sorted(UNITS)}, not {unit!r}")


def time_section(from_date: str | None, to_date: str | None, last: int, unit: str) -> list[dict[str, Any]]:
    if from_date is not None:
        return [{"dateRangeType": "between", "unit": unit,
                 "value": [from_date, to_date if to_date is not None else date.today().isoformat()]}]
    return [{"dateRangeType": "in the last", "unit": unit, "window": {"unit": "day", "value": last}}]


def filter_section(where: Any) -> list[dict[str, Any]]:
    if where is None:
        return []
    items = where if isinstance(where, list | tuple) else [where]
    for item in items:
        if not isinstance(item, Filter | FrequencyFilter):
            _fail("filter_type", f"where takes Filter or FrequencyFilter objects, not {type(item).__name__}")
    return [f.entry() for f in items]


GroupSpec = str | GroupBy | CohortBreakdown | list[str | GroupBy | CohortBreakdown] | None


def group_section(group_by: GroupSpec, data_group_id: int | None = None) -> list[dict[str, Any]]:
    if group_by is None:
        return []
    dgid = str(data_group_id) if data_group_id is not None else None
    items = group_by if isinstance(group_by, list | tuple) else [group_by]
    out: list[dict[str, Any]] = []
    for g in items:
        if isinstance(g, str):
            out.append({"value": g, "propertyName": g, "resourceType": "events", "propertyType": "string",
                        "propertyDefaultType": "string"})
        elif isinstance(g, GroupBy):
            entry: dict[str, Any] = {"value": g.property, "propertyName": g.property, "resourceType": "events",
                                     "propertyType": g.property_type, "propertyDefaultType": g.property_type}
            if g.bucket_size is not None:
                bucket: dict[str, Any] = {"bucketSize": g.bucket_size}
                if g.bucket_min is not None:
                    bucket["min"] = g.bucket_min
                if g.bucket_max is not None:
                    bucket["max"] = g.bucket_max
                entry["customBucket"] = bucket
            out.append(entry)
        elif isinstance(g, CohortBreakdown):
            name = g.name or ""
            base: dict[str, Any] = {"name": name, "negated": False, "data_group_id": dgid}
            if isinstance(g.cohort, CohortDefinition):
                base["raw_cohort"] = raw_cohort(g.cohort)
            else:
                base.update({"id": g.cohort, "groups": []})
            cohorts = [base] + ([{**base, "negated": True}] if g.include_negated else [])
            labels = [name] + ([f"Not In {name}"] if g.include_negated else [])
            out.append({"value": labels, "resourceType": "events", "profileType": None, "search": "",
                        "dataGroupId": dgid, "propertyType": None, "typeCast": None, "cohorts": cohorts,
                        "isHidden": False})
        else:
            _fail("group_by_type", f"group_by takes property names, GroupBy or CohortBreakdown, not "
                  f"{type(g).__name__}")
    return out


def _measurement(math: str, prop: str | None, per_user: str | None, percentile: float | None,
                 segment_method: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"math": "custom_percentile" if math == "percentile" else math}
    if prop is not None:
        out["property"] = {"name": prop, "resourceType": "events"}
    if per_user is not None:
        out["perUserAggregation"] = per_user
    if percentile is not None:
        out["percentile"] = percentile
    if segment_method is not None:
        out["segmentMethod"] = segment_method
    return out


def _check_math(math: str, prop: str | None, where: str) -> None:
    if math in PROPERTY_MATHS and prop is None:
        _fail("math_requires_property", f"{where}: math {math!r} needs a property (math_property=...)")


# ----------------------------------------------------------------------------------------------------- insights


EventSpec = str | Metric | CohortMetric | Formula


def build_params(events: EventSpec | list[EventSpec], *, from_date: str | None = None,
                 to_date: str | None = None, last: int = 30, unit: str = "day", math: str = "total",
                 math_property: str | None = None, per_user: str | None = None,
                 percentile_value: float | None = None, group_by: GroupSpec = None,
                 where: Filter | list[Filter] | None = None, formula: str | None = None,
                 formula_label: str | None = None, rolling: int | None = None, cumulative: bool = False,
                 mode: str = "timeseries", time_comparison: TimeComparison | None = None,
                 data_group_id: int | None = None) -> dict[str, Any]:
    items = list(events) if isinstance(events, list | tuple) else [events]
    formulas = [i for i in items if isinstance(i, Formula)]
    metrics = [i for i in items if not isinstance(i, Formula)]
    if not metrics:
        _fail("events_required", "events must name at least one event or Metric")
    for m in metrics:
        if not isinstance(m, str | Metric | CohortMetric):
            _fail("events_type", f"events takes event names, Metric, CohortMetric or Formula, not "
                  f"{type(m).__name__}")
        if isinstance(m, str) and not m.strip():
            _fail("event_name", "event names must not be empty")
    if formula is not None:
        formulas.append(Formula(formula, formula_label))
    if formulas and len(metrics) < 2:
        _fail("formula_requires_two_metrics", "a formula needs at least two metrics (A, B, ...)")
    if rolling is not None and cumulative:
        _fail("rolling_and_cumulative", "rolling and cumulative cannot be combined")
    if rolling is not None and rolling < 1:
        _fail("rolling_positive", f"rolling must be positive, not {rolling}")
    if mode not in ("timeseries", "total", "table"):
        _fail("mode", f"mode must be timeseries, total or table, not {mode!r}")
    validate_time(from_date, to_date, last, unit)
    hidden = bool(formulas)
    show: list[dict[str, Any]] = []
    for m in metrics:
        if isinstance(m, CohortMetric):
            show.append({"type": "metric", "behavior": {
                "type": "cohort", "name": m.name or "", "resourceType": "cohorts", "dataGroupId": None,
                "dataset": "$mixpanel", "filtersDeterminer": "all", "filters": [], "id": m.cohort},
                "measurement": {"math": "unique", "property": None, "perUserAggregation": None},
                "isHidden": hidden})
            continue
        if isinstance(m, str):
            _check_math(math, math_property, m)
            behavior: dict[str, Any] = {"type": "event", "name": m, "resourceType": "events",
                                        "filtersDeterminer": "all", "filters": []}
            measurement = _measurement(math, math_property, per_user, percentile_value)
        else:
            _check_math(m.math, m.property, m.event)
            behavior = {"type": "event", "name": m.event, "resourceType": "events",
                        "filtersDeterminer": m.filters_combinator,
                        "filters": [f.entry() for f in m.filters or []]}
            measurement = _measurement(m.math, m.property, m.per_user, m.percentile_value, m.segment_method)
        clause: dict[str, Any] = {"type": "metric", "behavior": behavior, "measurement": measurement}
        if hidden:
            clause["isHidden"] = True
        show.append(clause)
    for f in formulas:
        clause = {"type": "formula", "definition": f.expression, "measurement": {}, "referencedMetrics": []}
        if f.label:
            clause["name"] = f.label
        show.append(clause)
    display: dict[str, Any] = {"chartType": {"timeseries": "line", "total": "bar", "table": "table"}[mode],
                               "analysis": "linear"}
    if rolling is not None:
        display["analysis"] = "rolling"
        display["rollingWindowSize"] = rolling
    elif cumulative:
        display["analysis"] = "cumulative"
    if time_comparison is not None:
        display["timeComparison"] = time_comparison.entry()
    sections: dict[str, Any] = {"show": show, "time": time_section(from_date, to_date, last, unit),
                                "filter": filter_section(where), "group": group_section(group_by, data_group_id)}
    if data_group_id is not None:
        sections["globalDataGroupId"] = str(data_group_id)
    return {"sections": sections, "displayOptions": display}


# ------------------------------------------------------------------------------------------------------ funnels


def build_funnel_params(steps: list[str | FunnelStep], *, conversion_window: int = 14,
                        conversion_window_unit: str = "day", order: str = "loose", from_date: str | None = None,
                        to_date: str | None = None, last: int = 30, unit: str = "day",
                        math: str = "conversion_rate_unique", math_property: str | None = None,
                        group_by: GroupSpec = None,
                        where: Filter | list[Filter] | None = None, exclusions: list[str | Exclusion] | None = None,
                        holding_constant: str | HoldingConstant | list[str | HoldingConstant] | None = None,
                        mode: str = "steps", reentry_mode: str | None = None,
                        time_comparison: TimeComparison | None = None,
                        data_group_id: int | None = None) -> dict[str, Any]:
    items = [FunnelStep(s) if isinstance(s, str) else s for s in steps]
    if len(items) < 2:
        _fail("funnel_min_steps", "a funnel needs at least two steps")
    if conversion_window < 1:
        _fail("conversion_window_positive", f"conversion_window must be positive, not {conversion_window}")
    if order not in ("loose", "any"):
        _fail("funnel_order", f"order must be loose or any, not {order!r}")
    if mode not in ("steps", "trends", "table"):
        _fail("mode", f"mode must be steps, trends or table, not {mode!r}")
    validate_time(from_date, to_date, last, unit)
    behaviors = []
    for step in items:
        entry: dict[str, Any] = {"type": "event", "id": None, "name": step.event,
                                 "filters": [f.entry() for f in step.filters or []],
                                 "filtersDeterminer": step.filters_combinator, "funnelOrder": order}
        if step.label is not None:
            entry["renamed"] = step.label
        if step.order is not None:
            entry["funnelOrder"] = step.order
        behaviors.append(entry)
    excl = [Exclusion(e) if isinstance(e, str) else e for e in exclusions or []]
    held = holding_constant if isinstance(holding_constant, list | tuple) else (
        [] if holding_constant is None else [holding_constant])
    behavior: dict[str, Any] = {
        "type": "funnel", "resourceType": "events", "behaviors": behaviors,
        "conversionWindowDuration": conversion_window, "conversionWindowUnit": conversion_window_unit,
        "funnelOrder": order,
        "exclusions": [{"event": e.event, "steps": {"from": e.from_step + 1,
                                                    "to": (e.to_step + 1) if e.to_step is not None else len(items)}}
                       for e in excl],
        "aggregateBy": [{"value": h.property, "resourceType": h.resource_type}
                        for h in (HoldingConstant(x) if isinstance(x, str) else x for x in held)],
        "filter": []}
    if reentry_mode is not None:
        behavior["funnelReentryMode"] = reentry_mode
    measurement = {"math": math, "property": {"name": math_property, "type": "number", "resourceType": "events"}
                   if math_property else None, "stepIndex": None}
    return _assemble({"type": "metric", "behavior": behavior, "measurement": measurement}, from_date, to_date, last,
                     unit, where, group_by, time_comparison, data_group_id,
                     {"steps": "funnel-steps", "trends": "line", "table": "table"}[mode])


def _assemble(show: dict[str, Any], from_date: str | None, to_date: str | None, last: int, unit: str,
              where: Filter | list[Filter] | None, group_by: GroupSpec, time_comparison: TimeComparison | None,
              data_group_id: int | None, chart: str) -> dict[str, Any]:
    """The funnel and retention skeleton: one show clause, an empty formula list."""
    sections: dict[str, Any] = {"show": [show], "time": time_section(from_date, to_date, last, unit),
                                "filter": filter_section(where), "group": group_section(group_by, data_group_id),
                                "formula": []}
    if data_group_id is not None:
        sections["globalDataGroupId"] = str(data_group_id)
    display: dict[str, Any] = {"chartType": chart}
    if time_comparison is not None:
        display["timeComparison"] = time_comparison.entry()
    return {"sections": sections, "displayOptions": display}


# ---------------------------------------------------------------------------------------------------- retention

RETENTION_SORTING = {
    "bar": {"colSortAttrs": [], "sortBy": "column"},
    "line": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc",
                                                   "valueField": "averageValue"}]},
    "table": {"sortBy": "column", "colSortAttrs": [{"sortBy": "value", "sortOrder": "desc", "valueField": "size",
                                                    "viewNLimit": 12}]},
}


def build_retention_params(born_event: str | RetentionEvent, return_event: str | RetentionEvent | None = None, *,
                           retention_unit: str = "week", alignment: str = "birth",
                           bucket_sizes: list[int] | None = None, from_date: str | None = None,
                           to_date: str | None = None, last: int = 30, unit: str = "day",
                           math: str = "retention_rate", group_by: GroupSpec = None,
                           where: Filter | list[Filter] | None = None, mode: str = "curve",
                           unbounded_mode: str | None = None, retention_cumulative: bool = False,
                           time_comparison: TimeComparison | None = None,
                           data_group_id: int | None = None) -> dict[str, Any]:
    born = RetentionEvent(born_event) if isinstance(born_event, str) else born_event
    ret_raw = return_event if return_event is not None else born
    ret = RetentionEvent(ret_raw) if isinstance(ret_raw, str) else ret_raw
    if mode not in ("curve", "trends", "table"):
        _fail("mode", f"mode must be curve, trends or table, not {mode!r}")
    if bucket_sizes is not None and any(b < 1 for b in bucket_sizes):
        _fail("bucket_sizes_positive", "bucket_sizes must be positive")
    validate_time(from_date, to_date, last, unit)

    def event_entry(e: RetentionEvent) -> dict[str, Any]:
        return {"type": "event", "id": None, "name": e.event, "filters": [f.entry() for f in e.filters or []],
                "filtersDeterminer": e.filters_combinator}

    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events", "behaviors": [event_entry(born), event_entry(ret)],
        "retentionUnit": retention_unit, "retentionAlignmentType": alignment,
        "retentionCustomBucketSizes": list(bucket_sizes) if bucket_sizes else [], "filter": []}
    if unbounded_mode is not None:
        behavior["retentionUnboundedMode"] = unbounded_mode
    measurement: dict[str, Any] = {"math": math}
    if retention_cumulative:
        measurement["retentionCumulative"] = True
    params = _assemble({"type": "metric", "behavior": behavior, "measurement": measurement}, from_date, to_date,
                       last, unit, where, group_by, time_comparison, data_group_id,
                       {"curve": "retention-curve", "trends": "line", "table": "table"}[mode])
    return {**params, "sorting": copy.deepcopy(RETENTION_SORTING), "columnWidths": {"bar": {}}}


# -------------------------------------------------------------------------------------------------------- flows


def build_flow_params(event: str | FlowStep | list[str | FlowStep], *, forward: int = 3, reverse: int = 0,
                      from_date: str | None = None, to_date: str | None = None, last: int = 30,
                      conversion_window: int = 7, conversion_window_unit: str = "day", count_type: str = "unique",
                      cardinality: int = 3, collapse_repeated: bool = False, hidden_events: list[str] | None = None,
                      mode: str = "sankey", where: Filter | list[Filter] | None = None,
                      data_group_id: int | None = None) -> dict[str, Any]:
    raw = event if isinstance(event, list | tuple) else [event]
    steps = [FlowStep(s) if isinstance(s, str) else s for s in raw]
    if not steps:
        _fail("flow_steps_required", "a flow needs at least one step")
    if mode not in ("sankey", "paths", "tree"):
        _fail("flow_mode", f"mode must be sankey, paths or tree, not {mode!r}")
    if any(s.filters for s in steps):
        from mixhouse.errors import NotSupportedError

        raise NotSupportedError("flow-step filters are not supported by this client yet",
                                details={"method": "build_flow_params"})
    validate_time(from_date, to_date, last)
    step_dicts = []
    for s in steps:
        step_dicts.append({"event": s.event, "step_label": s.label or s.event,
                           "forward": s.forward if s.forward is not None else forward,
                           "reverse": s.reverse if s.reverse is not None else reverse,
                           "bool_op": "or" if s.filters_combinator == "any" else "and",
                           "property_filter_params_list": []})
    date_range: dict[str, Any] = (
        {"type": "between", "from_date": from_date, "to_date": to_date}
        if from_date is not None and to_date is not None
        else {"type": "in the last", "from_date": {"unit": "day", "value": last}, "to_date": "$now"})
    params: dict[str, Any] = {
        "steps": step_dicts, "date_range": date_range, "chartType": "top-paths" if mode == "paths" else "sankey",
        "flows_merge_type": "tree" if mode == "tree" else "list" if mode == "paths" else "graph",
        "count_type": count_type, "cardinality_threshold": cardinality, "version": 2,
        "conversion_window": {"unit": conversion_window_unit, "value": conversion_window},
        "anchor_position": 1, "collapse_repeated": collapse_repeated, "show_custom_events": True,
        "hidden_events": hidden_events or [], "exclusions": []}
    if data_group_id is not None:
        params["data_group_id"] = data_group_id
    if where is not None:
        filters = where if isinstance(where, list | tuple) else [where]
        cohorts = [f for f in filters if f._property == "$cohorts"]
        if len(cohorts) != len(filters):
            from mixhouse.errors import NotSupportedError

            raise NotSupportedError("flow property filters (filter_by_event) are not supported by this client yet; "
                                    "Filter.in_cohort / not_in_cohort are", details={"method": "build_flow_params"})
        if len(cohorts) > 1:
            _fail("BB5_FLOW_MULTIPLE_COHORT_FILTERS", "a flow takes a single cohort filter")
        if cohorts:
            f = cohorts[0]
            inner = f._value[0].get("cohort") if isinstance(f._value, list) and f._value and \
                isinstance(f._value[0], dict) else None
            if not isinstance(inner, dict):
                _fail("BB8_COHORT_KEY_MISSING", "the cohort filter has no cohort")
            entry: dict[str, Any] = {"name": inner.get("name", ""), "negated": f._operator == "does not contain"}
            for key in ("id", "raw_cohort"):
                if key in inner:
                    entry[key] = inner[key]
            params["filter_by_cohort"] = entry
    return params


# --------------------------------------------------------------------------------------------------------- users


def _selector_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail("U_FILTER", f"a selector value must be a string or a number, not {value!r}")
    return str(value)


def _selector_prop(name: str) -> str:
    return 'properties["' + name.replace("\\", "\\\\").replace('"', '\\"') + '"]'


def filter_to_selector(f: Filter) -> str:
    """An engage ``where`` selector expression for one filter."""
    prop, op, value = _selector_prop(f._property), f._operator, f._value
    if op in ("equals", "does not equal"):
        if not isinstance(value, list):
            _fail("U_FILTER", f"{op} expects a list of values")
        comparator, joiner = ("==", " or ") if op == "equals" else ("!=", " and ")
        parts = [f"{prop} {comparator} {_selector_value(v)}" for v in value if isinstance(v, str | int | float)]
        if not parts:
            _fail("U_FILTER", f"{op} has no scalar values")
        return f"({joiner.join(parts)})" if len(parts) > 1 and op == "equals" else joiner.join(parts)
    simple = {"contains": "{v} in {p}", "does not contain": "not {v} in {p}", "is greater than": "{p} > {v}",
              "is less than": "{p} < {v}", "is at least": "{p} >= {v}", "is at most": "{p} <= {v}"}
    if op in simple:
        return simple[op].format(p=prop, v=_selector_value(value))
    if op in ("is between", "not between"):
        if not isinstance(value, list) or len(value) != 2:
            _fail("U_FILTER", f"{op} expects two values")
        lo, hi = (_selector_value(v) for v in value)
        return f"{prop} >= {lo} and {prop} <= {hi}" if op == "is between" else f"({prop} < {lo} or {prop} > {hi})"
    named = {"is set": "defined({p})", "is not set": "not defined({p})", "true": "{p} == true",
             "false": "{p} == false"}
    if op in named:
        return named[op].format(p=prop)
    from mixhouse.errors import NotSupportedError

    raise NotSupportedError(f"the {op!r} filter has no engage selector in this client yet",
                            details={"method": "query_user"})


def build_user_params(*, where: Filter | list[Filter] | str | None = None,
                      cohort: int | CohortDefinition | None = None,
                      properties: list[str] | None = None, sort_by: str | None = None,
                      sort_order: str = "descending", search: str | None = None, distinct_id: str | None = None,
                      distinct_ids: list[str] | None = None, group_id: str | None = None,
                      as_of: str | int | None = None, mode: str = "aggregate", aggregate: str = "count",
                      aggregate_property: str | None = None, percentile: float | None = None,
                      include_all_users: bool = False, **_ignored: Any) -> dict[str, Any]:
    """The engage params ``query_user`` sends (profiles mode: ``POST /engage``; aggregate: ``/engage/stats``)."""
    if mode not in ("profiles", "aggregate"):
        _fail("U_MODE", f"mode must be profiles or aggregate, not {mode!r}")
    if sort_order not in ("ascending", "descending"):
        _fail("U_SORT_ORDER", f"sort_order must be ascending or descending, not {sort_order!r}")
    if distinct_id is not None and distinct_ids is not None:
        _fail("U_DISTINCT_IDS", "pass distinct_id or distinct_ids, not both")
    if aggregate not in ("count", "extremes", "percentile", "numeric_summary"):
        _fail("U_AGGREGATE", f"aggregate must be count, extremes, percentile or numeric_summary, not {aggregate!r}")
    if mode == "aggregate" and aggregate != "count" and not aggregate_property:
        _fail("U_AGGREGATE_PROPERTY", f"aggregate {aggregate!r} needs aggregate_property")
    if aggregate == "percentile" and percentile is None:
        _fail("U_PERCENTILE", "aggregate 'percentile' needs percentile")
    params: dict[str, Any] = {}
    cohort_filter: Filter | None = None
    if isinstance(where, str):
        params["where"] = where
    elif where is not None:
        items = [where] if isinstance(where, Filter) else list(where)
        plain = []
        for f in items:
            if not isinstance(f, Filter):
                _fail("U9", f"where must be a Filter, list[Filter], str, or None (got {type(f).__name__})")
            if f._property == "$cohorts" and isinstance(f._value, list) and f._value and \
                    isinstance(f._value[0], dict):
                cohort_filter = f
            else:
                plain.append(f)
        if plain:
            params["where"] = " and ".join(filter_to_selector(f) for f in plain)
    import json

    if isinstance(cohort, CohortDefinition):
        params["filter_by_cohort"] = json.dumps({"raw_cohort": raw_cohort(cohort)})
    elif cohort is not None:
        params["filter_by_cohort"] = json.dumps({"id": cohort})
    elif cohort_filter is not None:
        inner = cohort_filter._value[0].get("cohort") or {}
        if "id" in inner:
            params["filter_by_cohort"] = json.dumps({"id": inner["id"]})
        elif "raw_cohort" in inner:
            params["filter_by_cohort"] = json.dumps({"raw_cohort": inner["raw_cohort"]})
        else:
            _fail("U_COHORT", "Filter.in_cohort() value has no id or raw_cohort")
    if properties is not None:
        params["output_properties"] = json.dumps(properties)
    if sort_by is not None:
        params["sort_key"] = _selector_prop(sort_by)
        params["sort_order"] = sort_order
    if as_of is not None:
        if isinstance(as_of, str):
            import calendar

            params["as_of_timestamp"] = calendar.timegm(date.fromisoformat(as_of).timetuple())
        else:
            params["as_of_timestamp"] = as_of
    if distinct_id is not None:
        params["distinct_id"] = distinct_id
    if distinct_ids is not None:
        params["distinct_ids"] = json.dumps(distinct_ids)
    if group_id is not None:
        params["data_group_id"] = group_id
    if search is not None:
        params["search"] = search
    if "filter_by_cohort" in params:
        params["include_all_users"] = include_all_users
    if mode == "aggregate":
        prop = _selector_prop(aggregate_property or "")
        params["action"] = {"count": "count()", "percentile": f"percentile({prop}, {percentile})"}.get(
            aggregate, f"{aggregate}({prop})")
    return params
