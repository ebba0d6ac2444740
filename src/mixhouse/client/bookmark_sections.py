"""The bookmark sections every ``build_*`` function shares: ``time``, ``filter`` and ``group``, and the checks of
their arguments (rule codes as the client library names them: ``V7_LAST_POSITIVE``, ``V8_DATE_FORMAT``,
``V8_DATE_INVALID``, ``V9_TO_REQUIRES_FROM``, ``V15_DATE_ORDER``, ``CP*`` for custom properties, with the argument
they are about as ``details["path"]``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mixhouse.client.cohort_specs import CohortDefinition, raw_cohort
from mixhouse.client.custom_properties import (
    CustomPropertyRef,
    InlineCustomProperty,
    check_custom_property,
    custom_property_keys,
)
from mixhouse.client.query_specs import CohortBreakdown, Filter, FrequencyBreakdown, FrequencyFilter, GroupBy
from mixhouse.client.spec_validation import _DATE, _fail

UNITS = frozenset({"minute", "hour", "day", "week", "month", "quarter"})

GroupItem = str | GroupBy | CohortBreakdown | FrequencyBreakdown
GroupSpec = GroupItem | list[GroupItem] | None
WhereSpec = Filter | FrequencyFilter | list[Filter | FrequencyFilter] | None


def validate_time(from_date: str | None, to_date: str | None, last: int, unit: str | None = None,
                  unit_rule: str = "B12_INVALID_TIME_UNIT") -> None:
    """The date range: ``YYYY-MM-DD`` calendar dates, ``to_date`` only with ``from_date`` and not before it,
    ``last`` positive, ``unit`` one of ``UNITS``."""
    for name, value in (("from_date", from_date), ("to_date", to_date)):
        if value is None:
            continue
        if not _DATE.match(value):
            _fail("V8_DATE_FORMAT", f"{name} must be YYYY-MM-DD, not {value!r}", name)
        try:
            date.fromisoformat(value)
        except ValueError:
            _fail("V8_DATE_INVALID", f"{name} {value!r} is not a calendar date", name)
    if to_date is not None and from_date is None:
        _fail("V9_TO_REQUIRES_FROM", "to_date needs from_date", "to_date")
    if from_date is not None and to_date is not None and from_date > to_date:
        _fail("V15_DATE_ORDER", f"from_date {from_date} is after to_date {to_date}", "from_date")
    if last < 1:
        _fail("V7_LAST_POSITIVE", f"last must be a positive number of days, not {last}", "last")
    if unit is not None and unit not in UNITS:
        _fail(unit_rule, f"unit must be one of {sorted(UNITS)}, not {unit!r}", "unit")


def time_section(from_date: str | None, to_date: str | None, last: int, unit: str) -> list[dict[str, Any]]:
    if from_date is not None:
        return [{"dateRangeType": "between", "unit": unit,
                 "value": [from_date, to_date if to_date is not None else date.today().isoformat()]}]
    return [{"dateRangeType": "in the last", "unit": unit, "window": {"unit": "day", "value": last}}]


def check_filters(filters: Any, path: str) -> list[Filter]:
    """The ``Filter``s of a metric, step or event (``path`` names them); their custom properties checked."""
    items = list(filters or [])
    for n, f in enumerate(items):
        if not isinstance(f, Filter):
            _fail("B14_INVALID_FILTER_TYPE", f"{path} takes Filter objects, not {type(f).__name__}", f"{path}[{n}]")
        check_custom_property(f._property, f"{path}[{n}]")
    return items


def filter_entries(filters: Any, path: str) -> list[dict[str, Any]]:
    return [f.entry() for f in check_filters(filters, path)]


def filter_section(where: Any) -> list[dict[str, Any]]:
    if where is None:
        return []
    items = where if isinstance(where, list | tuple) else [where]
    for item in items:
        if not isinstance(item, Filter | FrequencyFilter):
            _fail("B14_INVALID_FILTER_TYPE", f"where takes Filter or FrequencyFilter objects, not "
                  f"{type(item).__name__}", "where")
        if isinstance(item, Filter):
            check_custom_property(item._property, "where")
    return [f.entry() for f in items]


def _property_entry(g: GroupBy, dgid: str | None) -> dict[str, Any]:
    if isinstance(g.property, CustomPropertyRef | InlineCustomProperty):
        own_type = g.property.property_type if isinstance(g.property, InlineCustomProperty) else None
        entry: dict[str, Any] = {**custom_property_keys(g.property, g.property_type), "dataGroupId": dgid,
                                 "dataset": "$mixpanel", "isHidden": False, "profileType": None,
                                 "propertyType": own_type or g.property_type, "resourceType": "events", "search": "",
                                 "typeCast": None, "unit": None, "value": None}
    else:
        entry = {"value": g.property, "propertyName": g.property, "resourceType": "events",
                 "propertyType": g.property_type, "propertyDefaultType": g.property_type}
    if g.bucket_size is not None:
        bucket: dict[str, Any] = {"bucketSize": g.bucket_size}
        if g.bucket_min is not None:
            bucket["min"] = g.bucket_min
        if g.bucket_max is not None:
            bucket["max"] = g.bucket_max
        entry["customBucket"] = bucket
    return entry


def _cohort_entry(g: CohortBreakdown, dgid: str | None) -> dict[str, Any]:
    name = g.name or ""
    base: dict[str, Any] = {"name": name, "negated": False, "data_group_id": dgid}
    if isinstance(g.cohort, CohortDefinition):
        base["raw_cohort"] = raw_cohort(g.cohort)
    else:
        base.update({"id": g.cohort, "groups": []})
    cohorts = [base] + ([{**base, "negated": True}] if g.include_negated else [])
    labels = [name] + ([f"Not In {name}"] if g.include_negated else [])
    return {"value": labels, "resourceType": "events", "profileType": None, "search": "", "dataGroupId": dgid,
            "propertyType": None, "typeCast": None, "cohorts": cohorts, "isHidden": False}


def group_items(group_by: GroupSpec) -> list[GroupItem]:
    if group_by is None:
        return []
    return list(group_by) if isinstance(group_by, list | tuple) else [group_by]


def group_section(group_by: GroupSpec, data_group_id: int | str | None = None) -> list[dict[str, Any]]:
    """The ``group`` section: property names, ``GroupBy`` (a name or custom property, optionally bucketed),
    ``CohortBreakdown`` and ``FrequencyBreakdown``."""
    dgid = str(data_group_id) if data_group_id is not None else None
    out: list[dict[str, Any]] = []
    for g in group_items(group_by):
        if isinstance(g, str):
            out.append(_property_entry(GroupBy(g), dgid))
        elif isinstance(g, GroupBy):
            check_custom_property(g.property, "group_by")
            out.append(_property_entry(g, dgid))
        elif isinstance(g, CohortBreakdown):
            out.append(_cohort_entry(g, dgid))
        elif isinstance(g, FrequencyBreakdown):
            out.append(g.entry(dgid))
        else:
            _fail("BB1_GROUP_BY_ELEMENT_TYPE", f"group_by takes property names, GroupBy, CohortBreakdown or "
                  f"FrequencyBreakdown, not {type(g).__name__}", "group_by")
    return out
