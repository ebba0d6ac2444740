"""Inline cohort definitions: ``CohortCriteria`` conditions combined by ``CohortDefinition`` and sent as a
``raw_cohort`` (``raw_cohort(definition)``).

Re-exported from ``mixhouse.client.builders``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

from mixhouse.client.spec_validation import _DATE, _fail

_PROPERTY_OPERATORS = {"equals": "==", "not_equals": "!=", "contains": "in", "not_contains": "not in",
                       "greater_than": ">", "less_than": "<", "is_set": "defined", "is_not_set": "not defined"}


def _cohort_date(value: str) -> None:
    if not _DATE.match(value):
        _fail("CD6_DATE_FORMAT", f"dates must be YYYY-MM-DD, not {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        _fail("CD6_DATE_INVALID", f"{value!r} is not a calendar date")


#: the ``Filter`` operators an event selector of a behaviour takes (written as bookmark filters)
EVENT_SELECTOR_OPERATORS = frozenset({"equals", "does not equal", "contains", "does not contain", "is greater than",
                                      "is less than", "is set", "is not set", "is between"})


def _event_selector(where: Any) -> dict[str, Any] | None:
    """``did_event``'s ``where`` (a ``Filter`` or a list, all must hold) as ``{"operator": "and", "children":
    [bookmark filters]}``; ``CD10_UNSUPPORTED_FILTER_OPERATOR`` for operators outside
    ``EVENT_SELECTOR_OPERATORS`` (dates, booleans)."""
    if where is None:
        return None
    filters = list(where) if isinstance(where, list | tuple) else [where]
    children = []
    for f in filters:
        operator = getattr(f, "_operator", None)
        if operator not in EVENT_SELECTOR_OPERATORS:
            _fail("CD10_UNSUPPORTED_FILTER_OPERATOR", f"unsupported filter operator for a cohort event selector: "
                  f"{operator!r} (supported: {', '.join(sorted(EVENT_SELECTOR_OPERATORS))})")
        if not isinstance(getattr(f, "_property", None), str):
            _fail("CD10_UNSUPPORTED_FILTER_OPERATOR", "cohort event selectors take property names, not custom "
                  "properties")
        children.append(f.entry())
    return {"operator": "and", "children": children}


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
        """Users who did ``event`` at least / at most / exactly N times in a rolling window or between dates;
        ``where`` (Filters, all must hold) narrows the events counted."""
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
        count: dict[str, Any] = {"event_selector": {"event": event, "selector": _event_selector(where)},
                                 "type": "absolute"}
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
