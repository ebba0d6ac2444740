"""Insights bookmark params (``sections`` show/time/filter/group/formula, ``displayOptions``), read and checked.

What runs: event metrics (the measurement — math, property, per-user aggregation, attribution model — is read by
``services/insights_measurement.py``: counts, users, DAU/WAU/MAU, sessions, property maths, per-user values, and the
maths of decision 0030 whose value per bucket is a string or an object, ``services/insights_values.py``); cohort
metrics; ``cumulative`` (running sums) and ``rolling`` (mean of the last ``rollingWindowSize`` buckets of the range)
analysis; step filters and global filters (bookmark filters), frequency filters, profile-property and cohort
filters; breakdowns by event or profile properties (numbers optionally in ``customBucket`` buckets,
``services/property_buckets.py``), cohorts, and how many times each user did an event (``FrequencyBreakdown``,
``services/insights_frequency.py``); formulas over the metrics' letters (A, B, … in ``show`` order); inline custom
properties (decision 0040) in place of an event property in filters, breakdowns and the measured property;
``between``, ``in the last`` and ``since`` ranges by hour, day, week or month; line-type charts (a series per date)
or total charts (``bar``, ``table``, ``metric``, ``pie``: one ``"all"`` value); the data group the metrics count
(``services/data_groups.py``, group analytics). Anything else is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from mixhouse.core.dates import DateRange, months_earlier, parse_date, units_before
from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.custom_properties import custom_property_expr, custom_property_label, has_custom_property
from mixhouse.query.number_buckets import NumberBuckets
from mixhouse.query.params import json_list, json_object
from mixhouse.services.cohort_definition import parse_definition
from mixhouse.services.data_groups import report_data_group
from mixhouse.services.insights_frequency import FrequencyBreakdown, is_frequency_breakdown, parse_frequency_breakdown
from mixhouse.services.insights_measurement import (
    ACTIVE_DAYS,
    NON_SCALAR_MATHS,
    VALUE_MATHS,
    Attribution,
    parse_measurement,
)
from mixhouse.services.property_buckets import property_buckets

__all__ = ["ACTIVE_DAYS", "NON_SCALAR_MATHS", "VALUE_MATHS", "InsightsQuery", "Metric", "parse_insights", "parse_time"]

MAX_ROLLING = 366
UNITS = ("hour", "day", "week", "month")
TOTAL_CHARTS = ("bar", "table", "metric", "pie", "insights-metric")
MAX_GROUPS = 3


@dataclass(frozen=True)
class Metric:
    event: str
    math: str
    prop: str | None
    filter: Expr | None
    hidden: bool
    letter: str
    per_user: str | None = None
    percentile: float | None = None  # custom_percentile's level, 0–100
    cohort: CohortRef | None = None  # a cohort metric (``CohortMetric``): the cohort's size, not an event
    attribution: Attribution | None = None  # ``multi_attribution``: the model and look-back
    prop_expr: Expr | None = None  # the measured property when it is a custom property (``prop`` names it)

@dataclass(frozen=True)
class Formula:
    definition: str
    name: str


#: Frequency filter operators (``FrequencyFilter``): how many times a user did the event.
FREQUENCY_OPS = {"is at least": ">=", "is at most": "<=", "is greater than": ">", "is less than": "<",
                 "is equal to": "==", "equals": "==", "is between": "between", "between": "between"}


@dataclass(frozen=True)
class FrequencyFilter:
    """Keep only users who did ``event`` (passing ``where``) an ``operator`` ``values`` number of times in
    ``dates`` (the report's range unless the filter has its own ``in the last`` window)."""

    event: str
    operator: str  # ">=", "<=", ">", "<", "==" or "between"
    values: tuple[float, ...]
    where: Expr | None
    dates: DateRange | None


@dataclass(frozen=True)
class CohortRef:
    """A cohort a filter or breakdown names: a saved one (``cohort_id``) or an inline definition (``raw``, the JSON
    text of ``{"selector", "behaviors"}``)."""

    cohort_id: int | None
    raw: str | None


@dataclass(frozen=True)
class CohortFilter:
    """Keep the users in any of ``cohorts`` (each one's membership flipped when its flag is set); ``excluded``: keep
    the others instead (``does not contain``)."""

    cohorts: tuple[tuple[CohortRef, bool], ...]
    excluded: bool


#: A cohort breakdown's segments: each a cohort, whether it is the "not in" side, and its label.
CohortSegments = tuple[tuple[CohortRef, bool, str], ...]


@dataclass(frozen=True)
class InsightsQuery:
    metrics: tuple[Metric, ...]
    formulas: tuple[Formula, ...]
    dates: DateRange
    unit: str
    total: bool  # one "all" value instead of a series per date
    where: Expr | None
    groups: tuple[str, ...]
    analysis: str = "linear"  # or "cumulative" (running sums) or "rolling" (mean of the last ``rolling`` buckets)
    rolling: int = 1
    frequency: tuple[FrequencyFilter, ...] = ()
    #: Filter on the user's profile (``resourceType: people`` filters), over ``properties[...]`` of the profile.
    people_where: Expr | None = None
    #: Positions in ``groups`` that are user profile properties (``resourceType: people``) or cohorts, not event
    #: properties.
    people_groups: frozenset[int] = frozenset()
    #: Filters on cohort membership (``$cohorts`` filters).
    cohort_filters: tuple[CohortFilter, ...] = ()
    #: Breakdowns by cohort: (position in ``groups``, segments).
    cohort_groups: tuple[tuple[int, CohortSegments], ...] = ()
    #: Breakdowns by how many times the user did an event: (position in ``groups``, breakdown).
    frequency_groups: tuple[tuple[int, FrequencyBreakdown], ...] = ()
    #: Property breakdowns whose numbers go in buckets (``customBucket``): (position in ``groups``, buckets).
    group_buckets: tuple[tuple[int, NumberBuckets], ...] = ()
    #: Breakdowns by a custom property: (position in ``groups``, the expression its segments are keys of).
    group_exprs: tuple[tuple[int, Expr], ...] = ()
    #: The group key the metrics count (group analytics, ``services/insights_groups.py``); ``None``: users.
    data_group: str | None = None


def parse_time(sections: dict[str, Any], timezone: str) -> tuple[DateRange, str]:
    """The range (inclusive days) and unit of ``sections.time``; the last 30 days by day when absent.

    ``dateRangeType``: ``between`` (``value: [from, to]``), ``since`` (``value: [from]``, to today), ``on`` (one day,
    ``value: day`` or ``[day]``), ``in the last`` (``window: {unit, value}`` days, weeks or months ending today; a
    bare ``value: N`` is N of the ``unit`` when that is day, week or month, else N days) and ``relative_after``
    (``window`` days, weeks or calendar months before today, to today, as the activity feed reads it)."""
    today = datetime.now(ZoneInfo(timezone) if timezone != "UTC" else None).date()
    spec = (json_list(sections.get("time"), "sections.time") or [{}])[0]
    spec = json_object(spec, "sections.time[0]")
    unit = spec.get("unit", "day")
    if unit not in UNITS:
        raise ValidationError(f"time unit must be one of {', '.join(UNITS)}, not {unit!r}")
    kind = spec.get("dateRangeType", "in the last")
    if kind == "between":
        value = json_list(spec.get("value"), "time value")
        if len(value) != 2:
            raise ValidationError("a between range needs value [from_date, to_date]")
        dates = DateRange(parse_date(value[0], "from_date"), parse_date(value[1], "to_date"))
    elif kind == "since":
        raw = spec.get("value")
        first = raw[0] if isinstance(raw, list) and raw else raw
        dates = DateRange(parse_date(first if isinstance(first, str) else None, "from_date"), today)
    elif kind == "on":
        raw = spec.get("value")
        day = raw[0] if isinstance(raw, list) and raw else raw
        dates = DateRange(parse_date(day if isinstance(day, str) else None, "time value"),
                          parse_date(day if isinstance(day, str) else None, "time value"))
    elif kind == "relative_after":
        window = json_object(spec.get("window"), "time window")
        dates = DateRange(units_before(today, window.get("unit"), window.get("value"), "time window"), today)
    elif kind == "in the last":
        bare = spec.get("value")
        if spec.get("window") is None and isinstance(bare, int) and not isinstance(bare, bool):
            window = {"unit": unit if unit in ("day", "week", "month") else "day", "value": bare}
        else:
            window = json_object(spec.get("window") or {"unit": "day", "value": 30}, "time window")
        count, span = window.get("value"), window.get("unit", "day")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 3650:
            raise ValidationError("the time window value must be a whole number from 1 to 3650")
        if span == "day":
            start = today - timedelta(days=count - 1)
        elif span == "week":
            start = today - timedelta(days=7 * count - 1)
        elif span == "month":
            start = months_earlier(today, count) + timedelta(days=1)
        else:
            raise ValidationError("the time window unit must be day, week or month")
        dates = DateRange(start, today)
    else:
        raise ValidationError(f"date range type {kind!r} is not supported yet")
    if dates.to_date < dates.from_date:
        raise ValidationError("to_date must not be before from_date")
    return dates, unit


def _cohort_metric(spec: dict[str, Any], behavior: dict[str, Any], letter: str) -> Metric:
    """``CohortMetric``: the size of a saved cohort, bucket by bucket (its members as of each bucket's last day)."""
    cohort_id = behavior.get("id")
    if isinstance(cohort_id, str) and cohort_id.isdigit():
        cohort_id = int(cohort_id)
    if isinstance(cohort_id, bool) or not isinstance(cohort_id, int) or cohort_id < 1:
        raise ValidationError("a cohort metric needs the saved cohort's id in behavior.id (inline definitions are "
                              "not supported yet)")
    math = json_object(spec.get("measurement") or {}, "measurement").get("math", "unique")
    if math != "unique":
        raise ValidationError("a cohort metric counts unique users (math unique)")
    name = behavior.get("name") if isinstance(behavior.get("name"), str) and behavior.get("name") else \
        f"Cohort {cohort_id}"
    return Metric(str(name), "unique", None, None, bool(spec.get("isHidden")), letter,
                  cohort=CohortRef(cohort_id, None))


def _metric(spec: dict[str, Any], letter: str, timezone: str) -> Metric:
    behavior = json_object(spec.get("behavior"), "a metric's behavior")
    if behavior.get("type") == "cohort":
        return _cohort_metric(spec, behavior, letter)
    if behavior.get("type", "event") != "event":
        raise ValidationError(f"metrics of type {behavior.get('type')!r} are not supported yet")
    if behavior.get("resourceType", "events") not in ("events", "event"):
        raise ValidationError(f"metrics over {behavior.get('resourceType')} are not supported yet")
    name = behavior.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError("every metric needs an event name")
    measured = parse_measurement(json_object(spec.get("measurement") or {}, "measurement"))
    filters = json_list(behavior.get("filters"), "metric filters")
    where = filters_expr(filters, behavior.get("filtersDeterminer", "all"), custom_properties=True,
                         timezone=timezone)
    return Metric(name, measured.math, measured.prop, where, bool(spec.get("isHidden")), letter, measured.per_user,
                  measured.percentile, attribution=measured.attribution, prop_expr=measured.prop_expr)


def _frequency_filter(spec: dict[str, Any], timezone: str) -> FrequencyFilter:
    behavior = json_object(spec.get("behavior"), "a frequency filter's behavior")
    event = behavior.get("event")
    name = event.get("value") if isinstance(event, dict) else event
    if not isinstance(name, str) or not name:
        raise ValidationError("a frequency filter needs the event in behavior.event.value")
    operator = FREQUENCY_OPS.get(str(spec.get("filterOperator")))
    if operator is None:
        raise ValidationError(f"frequency filter operator {spec.get('filterOperator')!r} is not supported yet")
    raw = spec.get("filterValue")
    items = raw if isinstance(raw, list) else [raw]
    if len(items) != (2 if operator == "between" else 1) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        raise ValidationError("a frequency filter's filterValue must be a number (two for between)")
    window = behavior.get("dateRange")
    dates = None
    if window is not None:
        window = json_object(window, "a frequency filter's dateRange")
        spans = [{"dateRangeType": "in the last", "unit": "day", "window": window.get("window")}]
        dates, _ = parse_time({"time": spans}, timezone)
    where = filters_expr(json_list(behavior.get("filters"), "a frequency filter's filters"),
                         "all" if behavior.get("filtersOperator", "and") == "and" else "any")
    return FrequencyFilter(name, operator, tuple(float(v) for v in items if v is not None), where, dates)


EVENT_RESOURCES = ("events", "event")
#: A user profile property (``resourceType: people``): filters and breakdowns read the user's current profile.
PEOPLE_RESOURCES = ("people", "user")


def is_people(spec: Any) -> bool:
    """A filter or breakdown on a user profile property (``resourceType: people`` or ``user``)."""
    return isinstance(spec, dict) and spec.get("resourceType") in PEOPLE_RESOURCES


def profile_filter(filters: list[Any]) -> Expr | None:
    """The profile-property filters of ``sections.filter`` (not frequency or cohort filters, which also say
    ``people``), joined as ``all``, as one expression over the user's profile properties."""
    return filters_expr([{**spec, "resourceType": "events"} for spec in filters
                         if is_people(spec) and not is_frequency(spec) and not is_cohort_filter(spec)])


def is_cohort_filter(spec: Any) -> bool:
    return isinstance(spec, dict) and spec.get("value") == COHORTS_PROPERTY


#: The pseudo-property cohort filters name (``Filter.in_cohort``) and the breakdown header of cohort breakdowns.
COHORTS_PROPERTY = "$cohorts"


def cohort_ref(entry: Any) -> tuple[CohortRef, bool, str]:
    """``{"id"}`` or ``{"raw_cohort"}`` with ``name`` and ``negated``."""
    if isinstance(entry, dict) and isinstance(entry.get("cohort"), dict):
        entry = entry["cohort"]
    if not isinstance(entry, dict):
        raise ValidationError("a cohort entry is {\"id\"} or {\"raw_cohort\"} with name and negated")
    negated = entry.get("negated", False)
    if not isinstance(negated, bool):
        raise ValidationError("a cohort entry's negated must be true or false")
    name = str(entry.get("name") or "")
    if entry.get("raw_cohort") is not None:
        raw = entry["raw_cohort"]
        if not isinstance(raw, dict):
            raise ValidationError("raw_cohort must be {\"selector\", \"behaviors\"}")
        parse_definition(raw)
        return CohortRef(None, orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode()), negated, name
    cohort_id = entry.get("id")
    if isinstance(cohort_id, str) and cohort_id.isdigit():
        cohort_id = int(cohort_id)
    if isinstance(cohort_id, bool) or not isinstance(cohort_id, int) or cohort_id < 1:
        raise ValidationError("a cohort entry needs a saved cohort id or a raw_cohort")
    return CohortRef(cohort_id, None), negated, name


def cohort_filter(spec: dict[str, Any]) -> CohortFilter:
    operator = spec.get("filterOperator", "contains")
    if operator not in ("contains", "does not contain"):
        raise ValidationError("a cohort filter's operator is contains or does not contain")
    values = spec.get("filterValue")
    if not isinstance(values, list) or not values:
        raise ValidationError("a cohort filter's filterValue lists {\"cohort\": {...}} entries")
    return CohortFilter(tuple((ref, negated) for ref, negated, _ in map(cohort_ref, values)),
                        operator == "does not contain")


def cohort_segments(spec: dict[str, Any]) -> CohortSegments:
    entries = spec.get("cohorts")
    if not isinstance(entries, list) or not entries:
        raise ValidationError("a cohort breakdown lists its cohorts")
    raw_labels = spec.get("value")
    labels: list[Any] = raw_labels if isinstance(raw_labels, list) else []
    out = []
    for n, entry in enumerate(entries):
        ref, negated, name = cohort_ref(entry)
        label = labels[n] if n < len(labels) and isinstance(labels[n], str) else (
            f"Not In {name}" if negated else name)
        out.append((ref, negated, label or str(ref.cohort_id or "cohort")))
    return tuple(out)


def is_frequency(spec: Any) -> bool:
    """A frequency filter or breakdown (``behavior.behaviorType: $frequency``): how many times the user did an
    event."""
    behavior = spec.get("behavior") if isinstance(spec, dict) else None
    return isinstance(behavior, dict) and behavior.get("behaviorType") == "$frequency"


def parse_insights(params: Any, timezone: str) -> InsightsQuery:
    """An Insights query from bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    params = json_object(params, "bookmark")
    sections = json_object(params.get("sections"), "sections")
    display = json_object(params.get("displayOptions") or {}, "displayOptions")
    analysis = display.get("analysis") or "linear"
    if analysis not in ("linear", "cumulative", "rolling"):
        raise ValidationError(f"analysis {analysis!r} is not supported yet")
    rolling = display.get("rollingWindowSize") if analysis == "rolling" else 1
    if isinstance(rolling, bool) or not isinstance(rolling, int) or not 1 <= rolling <= MAX_ROLLING:
        raise ValidationError(f"rollingWindowSize must be a whole number from 1 to {MAX_ROLLING}")
    if sections.get("timeComparison") or params.get("timeComparison"):  # displayOptions.timeComparison is the place
        raise ValidationError("timeComparison belongs in displayOptions")
    metrics: list[Metric] = []
    formulas: list[Formula] = []
    for spec in json_list(sections.get("show"), "sections.show"):
        spec = json_object(spec, "a show entry")
        if spec.get("type") == "formula":
            definition = spec.get("definition")
            if not isinstance(definition, str) or not definition.strip():
                raise ValidationError("a formula needs its definition")
            formulas.append(Formula(definition, str(spec.get("name") or definition)))
        else:
            metrics.append(_metric(spec, chr(ord("A") + len(metrics)), timezone))
    for spec in json_list(sections.get("formula"), "sections.formula"):
        spec = json_object(spec, "a formula")
        definition = spec.get("definition")
        if isinstance(definition, str) and definition.strip():
            formulas.append(Formula(definition, str(spec.get("name") or definition)))
    if not metrics:
        raise ValidationError("sections.show needs at least one metric")
    if len(metrics) > 26:
        raise ValidationError("at most 26 metrics")
    groups: list[str] = []
    people_groups: set[int] = set()
    cohort_groups: list[tuple[int, CohortSegments]] = []
    frequency_groups: list[tuple[int, FrequencyBreakdown]] = []
    group_buckets: list[tuple[int, NumberBuckets]] = []
    group_exprs: list[tuple[int, Expr]] = []
    for spec in json_list(sections.get("group"), "sections.group"):
        spec = json_object(spec, "a group entry")
        resource = spec.get("resourceType", "events")
        if is_frequency_breakdown(spec):
            header, breakdown = parse_frequency_breakdown(spec, lambda window: _window(window, timezone))
            frequency_groups.append((len(groups), breakdown))
            groups.append(header)
            continue
        if spec.get("cohorts"):
            cohort_groups.append((len(groups), cohort_segments(spec)))
            people_groups.add(len(groups))
            groups.append(COHORTS_PROPERTY)
            continue
        if resource not in (*EVENT_RESOURCES, *PEOPLE_RESOURCES) or is_frequency(spec):
            raise ValidationError("only breakdowns by event or user profile properties or cohorts are supported yet")
        if resource in EVENT_RESOURCES and has_custom_property(spec):
            group_exprs.append((len(groups), custom_property_expr(spec)))
        name = custom_property_label(spec) if has_custom_property(spec) else \
            spec.get("value") or spec.get("propertyName")
        if not isinstance(name, str) or not name:
            raise ValidationError("a breakdown needs the property name in value")
        if resource in PEOPLE_RESOURCES:
            people_groups.add(len(groups))
        buckets = property_buckets(spec.get("customBucket"))
        if buckets is not None:
            group_buckets.append((len(groups), buckets))
        groups.append(name)
    if len(groups) > MAX_GROUPS:
        raise ValidationError(f"at most {MAX_GROUPS} breakdowns")
    dates, unit = parse_time(sections, timezone)
    if any(m.cohort is not None for m in metrics) and (groups or unit in ("hour", "minute")):
        raise ValidationError("cohort metrics are counted per day, week or month, without breakdowns, so far")
    filters = json_list(sections.get("filter"), "sections.filter")
    total = display.get("chartType") in TOTAL_CHARTS
    if any(m.math in ACTIVE_DAYS for m in metrics) and (unit != "day" or total):
        raise ValidationError("DAU, WAU and MAU are daily series (unit day, a line chart)")
    if total and analysis != "linear":
        raise ValidationError(f"{analysis} analysis needs a series over time, not a total")
    _check_non_scalar(metrics, formulas, analysis)
    return InsightsQuery(
        metrics=tuple(metrics),
        formulas=tuple(formulas),
        dates=dates,
        unit=unit,
        total=total,
        where=filters_expr([spec for spec in filters if not is_frequency(spec) and not is_people(spec)
                            and not is_cohort_filter(spec)], custom_properties=True, timezone=timezone),
        groups=tuple(groups),
        analysis=analysis,
        rolling=rolling,
        frequency=tuple(_frequency_filter(spec, timezone) for spec in filters if is_frequency(spec)),
        people_where=profile_filter(filters),
        people_groups=frozenset(people_groups),
        cohort_filters=tuple(cohort_filter(spec) for spec in filters if is_cohort_filter(spec)),
        cohort_groups=tuple(cohort_groups),
        frequency_groups=tuple(frequency_groups),
        group_buckets=tuple(group_buckets),
        group_exprs=tuple(group_exprs),
        data_group=report_data_group(params),
    )


def custom_property_nodes(params: Any) -> frozenset[int]:
    """The ``id()`` of the objects of bookmark params whose inline custom property is evaluated (decision 0040):
    in event metrics, global filters on event properties, metric filters, measured properties and breakdowns by
    event properties; in funnel and retention metrics, the event filters (global, ``behavior.filter`` and each
    step's), breakdowns and measured properties. Anywhere else a custom property stays refused
    (``refuse_unevaluated``)."""
    found: list[Any] = []
    sections = params.get("sections") if isinstance(params, dict) else None
    if not isinstance(sections, dict):
        return frozenset()
    for spec in sections.get("filter") or []:
        if not is_frequency(spec) and not is_people(spec) and not is_cohort_filter(spec):
            found.append(spec)
    shows = [spec for spec in sections.get("show") or [] if isinstance(spec, dict)]
    behaviors = [spec.get("behavior") for spec in shows]
    found.extend(spec for spec in sections.get("group") or [] if isinstance(spec, dict)
                 and spec.get("resourceType", "events") in EVENT_RESOURCES and not is_frequency_breakdown(spec)
                 and not spec.get("cohorts"))
    if any(isinstance(b, dict) and b.get("type") in ("funnel", "retention") for b in behaviors):
        for spec, behavior in zip(shows, behaviors, strict=True):
            if isinstance(spec.get("measurement"), dict):
                found.append(spec["measurement"].get("property"))
            if isinstance(behavior, dict):
                found.extend(behavior.get("filter") or [])
                for step in behavior.get("behaviors") or []:
                    found.extend(step.get("filters") or [] if isinstance(step, dict) else [])
        return frozenset(id(node) for node in found if isinstance(node, dict))
    for spec in shows:
        behavior = spec.get("behavior")
        if isinstance(behavior, dict) and behavior.get("type", "event") == "event":
            found.extend(behavior.get("filters") or [])
            measurement = spec.get("measurement")
            if isinstance(measurement, dict):
                found.append(measurement.get("property"))
    return frozenset(id(node) for node in found if isinstance(node, dict))


def _window(spec: dict[str, Any], timezone: str) -> DateRange:
    """A behavior's ``in the last`` window (``{"window": {"unit", "value"}}``) as a date range ending today."""
    dates, _ = parse_time({"time": [{"dateRangeType": "in the last", "unit": "day", "window": spec.get("window")}]},
                          timezone)
    return dates


def _check_non_scalar(metrics: list[Metric], formulas: list[Formula], analysis: str) -> None:
    """Maths that are not one number per bucket feed no formula and no cumulative or rolling analysis."""
    odd = {m.letter: m.math for m in metrics if m.math in NON_SCALAR_MATHS}
    if odd and analysis != "linear":
        raise ValidationError(f"{analysis} analysis needs numeric metrics; math {next(iter(odd.values()))!r} is not "
                              "one number per bucket")
    for formula in formulas:
        for letter in sorted({c for c in formula.definition.upper() if c.isalpha()} & set(odd)):
            raise ValidationError(f"formula {formula.definition!r} uses metric {letter}, whose math {odd[letter]!r} "
                                  "is not one number per bucket")
