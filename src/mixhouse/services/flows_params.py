"""Flow bookmark params (``/arb_funnels``), read and checked: the flat params the client library's
``build_flow_params`` makes (``steps``, ``date_range``, ``conversion_window``, ``count_type``, ``segments``,
``filter_by_event``, ``filter_by_cohort``, ...). The semantics are in ``services/flows.py``; anything this module
does not read correctly is refused by name (400).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mixhouse.core.dates import DateRange, parse_date, units_before
from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr
from mixhouse.query.bookmark_filters import refuse_unevaluated
from mixhouse.query.custom_properties import custom_property_expr, custom_property_label, has_custom_property
from mixhouse.query.flows import MAX_ANCHORS
from mixhouse.query.number_buckets import NumberBuckets
from mixhouse.query.timebuckets import check_not_future
from mixhouse.services.data_groups import named_group_key
from mixhouse.services.flows_custom_properties import evaluated_nodes
from mixhouse.services.flows_filters import PROFILE_RESOURCES, event_filter, reads_user, step_filter
from mixhouse.services.insights_frequency import FrequencyBreakdown, is_frequency_breakdown, parse_frequency_breakdown
from mixhouse.services.insights_params import CohortRef, CohortSegments, cohort_ref, cohort_segments, parse_time
from mixhouse.services.property_buckets import property_buckets

WINDOW_UNIT_MS = {"day": 86_400_000, "week": 7 * 86_400_000, "month": 30 * 86_400_000}
MAX_STEPS_EACH_WAY = 5
MAX_WINDOW_SESSIONS = 12
MAX_SEGMENTS = 3
#: ``session_event`` → the step's (virtual) event name.
SESSION_EVENTS = {"start": "$session_start", "end": "$session_end"}


@dataclass(frozen=True)
class FlowAnchor:
    """One anchor step: its event, how many steps to show before (``reverse``) and after (``forward``) it, and the
    filter its events must pass (``None``: every event of that name). ``session_event`` ``"start"``/``"end"``: the
    anchors are the starts/ends of sessions (``event`` ``$session_start``/``$session_end``)."""

    event: str
    forward: int = 3
    reverse: int = 0
    filter: Expr | None = None
    session_event: str | None = None


@dataclass(frozen=True)
class FlowSegment:
    """A breakdown: a property (``property``) read on the entry event, or with ``on_profile`` on its user's
    profile, its numbers in ``buckets`` ranges if set; cohorts (``cohorts``: each a cohort, whether it is the "not
    in" side, and its label); or how many times the entry's user did an event (``frequency``, Insights'
    ``FrequencyBreakdown``)."""

    label: str
    property: str | None = None
    cohorts: CohortSegments = ()
    on_profile: bool = False
    frequency: FrequencyBreakdown | None = None
    buckets: NumberBuckets | None = None  # ``customBucket``: the property's numbers as ranges (decision 0039)
    #: An inline custom property over event properties (decision 0040; ``property`` is then its label): segments are
    #: its values on the entry event.
    expr: Expr | None = None


@dataclass(frozen=True)
class FlowQuery:
    anchors: tuple[FlowAnchor, ...]
    dates: DateRange
    window_ms: int
    totals: bool
    collapse: bool
    hidden: tuple[str, ...]
    excluded: tuple[str, ...]
    cardinality: int
    per_session: bool = False  # count_type session: an entry per session, paths inside it
    window_sessions: int | None = None  # conversion_window in sessions (window_ms is then the 366-day limit)
    cohort: CohortRef | None = None  # filter_by_cohort: only the cohort's members (``cohort_negated``: the others)
    cohort_negated: bool = False
    where: Expr | None = None  # filter_by_event: only events that pass it are in a flow
    segments: tuple[FlowSegment, ...] = ()
    data_group: str | None = None  # data_group_id: the group key whose groups stand as users (decision 0043)

    @property
    def anchor(self) -> str:
        """The first anchor step's event: where a path enters."""
        return self.anchors[0].event

    @property
    def reads_profiles(self) -> bool:
        """Whether a filter (the flow's or a step's) or a segment reads user profile properties."""
        tests = [self.where, *(anchor.filter for anchor in self.anchors)]
        return any(s.on_profile for s in self.segments) or any(t is not None and reads_user(t) for t in tests)


def _whole(value: Any, what: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{what} must be a whole number from {low} to {high}")
    return value


def _names(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError(f"{what} must be a list of event names")
    names = [item.get("event") if isinstance(item, dict) else item for item in value]
    if not all(isinstance(name, str) and name for name in names):
        raise ValidationError(f"{what} must be a list of event names")
    return tuple(str(name) for name in names)


def _today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone) if timezone != "UTC" else None).date()


def _dates(params: dict[str, Any], timezone: str) -> DateRange:
    """``between`` (from_date … to_date), ``since`` (from_date … today), ``on`` (one day, from_date), ``in the
    last`` (``from_date: {unit, value}`` days, weeks or months up to today) or ``relative_after`` (``window:
    {unit, value}`` days, weeks or calendar months before today, to today)."""
    spec = params.get("date_range") or {"type": "in the last", "from_date": {"unit": "day", "value": 30}}
    if not isinstance(spec, dict):
        raise ValidationError("date_range must be an object")
    kind = spec.get("type", "in the last")
    if kind == "between":
        return DateRange(parse_date(spec.get("from_date"), "from_date"), parse_date(spec.get("to_date"), "to_date"))
    if kind == "since":
        return DateRange(parse_date(spec.get("from_date"), "from_date"), _today(timezone))
    if kind == "on":
        day = parse_date(spec.get("from_date") or spec.get("date"), "from_date")
        return DateRange(day, day)
    if kind == "in the last":
        window = spec.get("from_date") or {"unit": "day", "value": 30}
        time = [{"dateRangeType": "in the last", "unit": "day", "window": window}]
        dates, _ = parse_time({"time": time}, timezone)
        return dates
    if kind == "relative_after":
        window = spec.get("window") or spec.get("from_date")
        if not isinstance(window, dict):
            raise ValidationError("a relative_after date_range needs window: {unit, value}")
        return DateRange(units_before(_today(timezone), window.get("unit"), window.get("value"), "date_range.window"),
                         _today(timezone))
    raise ValidationError(
        f"date_range type {kind!r} is not supported in flows (between, since, on, in the last, relative_after)"
    )


def _anchor(step: Any, n: int, timezone: str) -> FlowAnchor:
    if not isinstance(step, dict) or not isinstance(step.get("event"), str) or not step["event"]:
        raise ValidationError("every flow step needs an event name")
    filters = step.get("property_filter_params_list") or []
    if not isinstance(filters, list):
        raise ValidationError("property_filter_params_list must be a list")
    session_event = step.get("session_event") or None
    if session_event is not None:
        if SESSION_EVENTS.get(session_event) != step["event"]:
            raise ValidationError("session_event start goes with the event $session_start, end with $session_end")
        if filters:
            raise ValidationError("session start/end steps take no property filters")
    return FlowAnchor(
        event=step["event"],
        forward=_whole(step.get("forward"), f"steps[{n}].forward", 0, MAX_STEPS_EACH_WAY, 3),
        reverse=_whole(step.get("reverse"), f"steps[{n}].reverse", 0, MAX_STEPS_EACH_WAY, 0),
        filter=step_filter(filters, step.get("bool_op") or "and", timezone),
        session_event=session_event,
    )


def _in_the_last(spec: dict[str, Any], timezone: str) -> DateRange:
    """A frequency breakdown's own ``in the last`` window (``{"window": {"unit", "value"}}``), ending today."""
    dates, _ = parse_time({"time": [{"dateRangeType": "in the last", "unit": "day", "window": spec.get("window")}]},
                          timezone)
    return dates


def _segment(spec: Any, timezone: str) -> FlowSegment:
    if not isinstance(spec, dict):
        raise ValidationError("a flow segment must be an object")
    if spec.get("cohorts"):
        return FlowSegment(label="$cohorts", cohorts=cohort_segments(spec))
    if is_frequency_breakdown(spec):
        header, frequency = parse_frequency_breakdown(spec, lambda window: _in_the_last(window, timezone))
        return FlowSegment(label=header, frequency=frequency)
    if isinstance(spec.get("behavior"), dict):
        raise ValidationError("flow segments on behaviors other than $frequency are not supported")
    resource = spec.get("resourceType", "events")
    if resource not in ("events", "event", *PROFILE_RESOURCES):
        raise ValidationError(f"flow segments on {resource} properties are not supported")
    if resource in ("events", "event") and has_custom_property(spec):
        label = custom_property_label(spec)
        return FlowSegment(label=label, property=label, expr=custom_property_expr(spec),
                           buckets=property_buckets(spec.get("customBucket")))
    name = spec.get("propertyName") or spec.get("value")
    if not isinstance(name, str) or not name:
        raise ValidationError("a flow segment needs the property name in value or propertyName")
    return FlowSegment(label=name, property=name, on_profile=resource in PROFILE_RESOURCES,
                       buckets=property_buckets(spec.get("customBucket")))


def _segments(value: Any, timezone: str) -> tuple[FlowSegment, ...]:
    if not value:
        return ()
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_SEGMENTS:
        raise ValidationError(f"a flow takes at most {MAX_SEGMENTS} segments")
    return tuple(_segment(item, timezone) for item in items)


def parse_flow(params: Any, timezone: str) -> FlowQuery:
    if not isinstance(params, dict):
        raise ValidationError("flow params must be an object")
    data_group = named_group_key(params.get("data_group_id"), "data_group_id")
    refuse_unevaluated({key: value for key, value in params.items() if key != "data_group_id"},
                       evaluated_nodes(params))
    steps = params.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ValidationError("a flow needs steps: [{event, forward, reverse}]")
    if len(steps) > MAX_ANCHORS:
        raise ValidationError(f"a flow takes at most {MAX_ANCHORS} anchor steps")
    anchors = tuple(_anchor(step, n, timezone) for n, step in enumerate(steps))
    cohort, cohort_negated = None, False
    if params.get("filter_by_cohort"):
        cohort, cohort_negated, _ = cohort_ref(params["filter_by_cohort"])
    count_type = params.get("count_type", "unique")
    if count_type not in ("unique", "total", "session"):
        raise ValidationError(f"count_type must be unique, total or session, not {count_type!r}")
    window = params.get("conversion_window") or {"unit": "day", "value": 7}
    unit = window.get("unit", "day") if isinstance(window, dict) else None
    if unit not in (*WINDOW_UNIT_MS, "session"):
        raise ValidationError("conversion_window unit must be day, week, month or session")
    window_sessions = None
    if unit == "session":
        window_sessions = _whole(window.get("value"), "conversion_window value in sessions", 1, MAX_WINDOW_SESSIONS, 1)
        value, unit = 366, "day"
    else:
        value = _whole(window.get("value"), "conversion_window value", 1, 366, 7)
    if value * WINDOW_UNIT_MS[unit] > 366 * 86_400_000:
        raise ValidationError("the conversion window may be at most 366 days")
    dates = _dates(params, timezone)
    if dates.to_date < dates.from_date:
        raise ValidationError("to_date must not be before from_date")
    check_not_future(dates, timezone)
    anchor_names = {anchor.event for anchor in anchors}
    segments = _segments(params.get("segments"), timezone)
    if anchors[0].session_event and any(s.property is not None and not s.on_profile for s in segments):
        raise ValidationError("event property segments read the entry event: a flow that starts at a session "
                              "start/end takes only profile, cohort and frequency segments")
    query = FlowQuery(
        anchors=anchors,
        dates=dates,
        window_ms=value * WINDOW_UNIT_MS[unit],
        totals=count_type == "total",
        collapse=bool(params.get("collapse_repeated")),
        hidden=tuple(n for n in _names(params.get("hidden_events"), "hidden_events") if n not in anchor_names),
        excluded=_names(params.get("exclusions"), "exclusions"),
        cardinality=_whole(params.get("cardinality_threshold"), "cardinality_threshold", 1, 250, 3),
        per_session=count_type == "session",
        window_sessions=window_sessions,
        cohort=cohort,
        cohort_negated=cohort_negated,
        where=event_filter(params.get("filter_by_event")),
        segments=segments,
        data_group=data_group,
    )
    if data_group is not None:
        _check_group_flow(query)
    return query


def _check_group_flow(query: FlowQuery) -> None:
    """400 naming what a flow of groups cannot answer: what is about users (cohorts, profiles, how often a user
    did something, a user's sessions)."""
    named = f"in a flow that counts data group {query.data_group!r}"
    if query.cohort is not None or any(s.cohorts for s in query.segments):
        raise ValidationError(f"cohorts (of users) are not supported {named}")
    if query.reads_profiles:
        raise ValidationError(f"user profile filters and segments are not supported {named}")
    if any(s.frequency is not None for s in query.segments):
        raise ValidationError(f"frequency segments (how often a user did an event) are not supported {named}")
    if query.per_session or query.window_sessions is not None or any(a.session_event for a in query.anchors):
        raise ValidationError(f"sessions (a user's) are not supported {named}")
