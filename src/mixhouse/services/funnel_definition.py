"""A saved funnel's definition, read from its bookmark params (the shape ``build_funnel_params`` sends).

``sections.show[0].behavior`` (``type: funnel``) holds the steps (``behaviors``: event name, ``filters``,
``filtersDeterminer``), ``conversionWindowDuration``/``conversionWindowUnit``, ``exclusions`` (``{"event",
"steps": {"from", "to"}}``, 1-based step numbers) and ``aggregateBy`` (properties held constant). ``sections.filter``
is a global filter on the steps' events.

``measurement.math`` ``conversion_rate_total``/``total``/``general`` counts totals (every attempt; a user re-enters
after each exit), the others uniques. The property maths (``PROPERTY_MATHS``: ``average``, ``median``, ``min``,
``max``, ``p25``, ``p75``, ``p90``, ``p99``, ``histogram``; the client's ``query_funnel(math=..., math_property=...)``)
count uniques too and aggregate ``measurement.property`` (an event property) per step over the counted attempts
(docs/decisions/0037, ``query/funnel_values.py``); only Insights answers them (``classic_definition`` refuses them
for ``/funnels``).

``funnelReentryMode`` ``optimized`` (uniques only) evaluates every step-1 event as an attempt and counts the best
one (docs/query-api.md). ``basic`` and ``aggressive`` (docs/decisions/0029) change when a totals funnel lets a user
enter again: ``basic`` only once the attempt's conversion window has closed (converted, excluded or not),
``aggressive`` at every step-1 event, attempts overlapping; uniques and sessions funnels enter once per bucket or
session whatever the mode, so there they count as ``default``. ``behavior.filter`` (bookmark filters, all of them)
keeps only step events that match, like ``sections.filter``. ``behavior.propertyAttribution`` picks the step whose
event gives a breakdown its value: ``first_defined`` (the default: the first reached step whose event has a value),
``last_defined`` (the last such step) or a step number (that step's event; ``undefined`` when it has no value or was
not reached). ``funnelOrder: any`` lets the steps be done in any order; a step's own ``funnelOrder: loose`` anchors
it at its position, anywhere (anchors between free steps: at most ``MAX_ASSIGNMENTS`` splits of the free steps
among their runs, ``query/funnel_assignments.py``). Not supported yet, and refused by name (400) rather than run
with other semantics: cohort or custom-event steps. Sessions (``query/sessions.py``):
``conversionWindowUnit: session`` lets an attempt use the entry's session and the ``duration - 1`` after it (a
totals attempt that does not convert closes with the last event of its last session, so the next session may enter);
``measurement.math`` ``session``/``conversion_rate_session`` makes the first step-1 event of each session an entry.
Holding a profile (``people``) property constant changes nothing: a user has one profile value at query time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr, Property
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.custom_properties import custom_property_expr, has_custom_property
from mixhouse.query.funnel_assignments import MAX_ASSIGNMENTS, assignment_count
from mixhouse.query.params import json_list, json_object
from mixhouse.services.insights_params import is_cohort_filter

#: Milliseconds per conversion-window unit (a month is 30 days).
WINDOW_UNIT_MS = {
    "second": 1_000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
    "month": 30 * 86_400_000,
}
MAX_WINDOW_MS = 366 * 86_400_000
MAX_STEPS = 20
MAX_EXCLUSIONS = 20  # with the steps, at most 64 (one bit of a UInt64 each)
MAX_HELD = 3
ORDERS = ("loose", "any")
UNIQUE_MATHS = (None, "conversion_rate_unique", "conversion_rate", "unique")
#: Totals: every attempt counts, a user re-entering after each exit.
TOTAL_MATHS = ("conversion_rate_total", "total", "general")
#: Sessions: the first step-1 event of each session is an entry.
SESSION_MATHS = ("conversion_rate_session", "session")
#: A numeric event property aggregated per step over the counted (uniques) attempts (docs/decisions/0037).
PROPERTY_MATHS = ("average", "median", "min", "max", "p25", "p75", "p90", "p99", "histogram")
#: The longest conversion window in sessions (Mixpanel's limit).
MAX_WINDOW_SESSIONS = 12
REENTRY_MODES = (None, "default", "optimized", "basic", "aggressive")
#: Breakdown attribution: the first or the last reached step whose event has a value (or a step number).
ATTRIBUTIONS = ("first_defined", "last_defined")


@dataclass(frozen=True)
class FunnelStep:
    event: str
    filter: Expr | None = None


@dataclass(frozen=True)
class FunnelExclusion:
    """``event`` between steps ``first`` and ``last`` (0-based, ``first < last``)."""

    event: str
    first: int
    last: int


@dataclass(frozen=True)
class StepAggregate:
    """A property math: ``math`` (one of ``PROPERTY_MATHS``) of ``prop``'s numbers on the events that completed each
    step: an event property, or an inline custom property over event properties (decision 0040)."""

    math: str
    prop: Expr


@dataclass(frozen=True)
class FunnelDefinition:
    steps: tuple[FunnelStep, ...]
    window_ms: int = 14 * 86_400_000
    exclusions: tuple[FunnelExclusion, ...] = ()
    held: tuple[str, ...] = ()
    where: Expr | None = None
    totals: bool = False
    #: Re-entry ``optimized`` (uniques): every step-1 event is an attempt, the best one counts.
    optimized: bool = False
    #: Any order: the steps (0-based) that may fill any of the free steps' positions.
    free: frozenset[int] = frozenset()
    #: A conversion window in sessions (``window_ms`` is then the 366-day limit).
    window_sessions: int | None = None
    #: Sessions counting: one entry per session with a step-1 event.
    per_session: bool = False
    #: Totals re-entry: ``default`` (after the attempt exits), ``basic`` (after its window closes) or
    #: ``aggressive`` (at every step-1 event). Uniques and sessions counting ignore it.
    reentry: str = "default"
    #: ``behavior.filter``: a filter on every step's events (with ``where``, the saved ``sections.filter``).
    step_where: Expr | None = None
    #: Which step gives a breakdown its value: ``first_defined``, ``last_defined`` or a step (0-based).
    attribution: str | int = "first_defined"
    #: A property math: the aggregate of a numeric property per step (uniques counting), or ``None``.
    aggregate: StepAggregate | None = None


def window_sessions(duration: Any) -> int:
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_WINDOW_SESSIONS:
        raise ValidationError(f"a conversion window in sessions must be 1 to {MAX_WINDOW_SESSIONS} sessions")
    return duration


def window_ms(duration: Any, unit: Any) -> int:
    if unit not in WINDOW_UNIT_MS:
        raise ValidationError(f"conversion window unit must be one of {', '.join(WINDOW_UNIT_MS)}, not {unit!r}")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 1:
        raise ValidationError("the conversion window must be a whole number of units, at least 1")
    span = duration * WINDOW_UNIT_MS[unit]
    if span > MAX_WINDOW_MS:
        raise ValidationError("the conversion window may be at most 366 days")
    return span


def _step(spec: Any, timezone: str) -> FunnelStep:
    spec = json_object(spec, "a funnel step")
    if spec.get("type", "event") != "event":
        raise ValidationError(f"funnel steps of type {spec.get('type')!r} are not supported yet")
    name = spec.get("name") if spec.get("name") is not None else spec.get("event")
    if not isinstance(name, str) or not name:
        raise ValidationError("every funnel step needs an event name")
    filters = json_list(spec.get("filters"), "step filters")
    return FunnelStep(name, filters_expr(filters, spec.get("filtersDeterminer", "all"), custom_properties=True,
                                         timezone=timezone))


def parse_definition(params: Any, timezone: str) -> FunnelDefinition:
    """The funnel in bookmark params; ``ValidationError`` naming what is wrong or unsupported. ``timezone``: the
    project's, where datetime filters read their days."""
    sections = json_object(json_object(params, "funnel params").get("sections"), "sections")
    show = json_list(sections.get("show"), "sections.show")
    if len(show) != 1:
        raise ValidationError("a funnel has exactly one metric in sections.show")
    metric = json_object(show[0], "sections.show[0]")
    behavior = json_object(metric.get("behavior"), "the funnel behavior")
    if behavior.get("type") != "funnel":
        raise ValidationError("sections.show[0].behavior.type must be funnel")
    measurement = json_object(metric.get("measurement") or {}, "measurement")
    math = measurement.get("math")
    if math not in (*UNIQUE_MATHS, *TOTAL_MATHS, *SESSION_MATHS, *PROPERTY_MATHS):
        raise ValidationError(f"funnel math {math!r} is not supported yet (uniques, totals, sessions and the "
                              f"property maths {', '.join(PROPERTY_MATHS)})")
    aggregate = _aggregate(math, measurement.get("property")) if math in PROPERTY_MATHS else None
    order = behavior.get("funnelOrder") or "loose"
    if order not in ORDERS:
        raise ValidationError(f"funnelOrder must be loose or any, not {order!r}")
    reentry = behavior.get("funnelReentryMode")
    if reentry not in REENTRY_MODES:
        raise ValidationError(f"funnelReentryMode must be default, optimized, basic or aggressive, not {reentry!r}")
    if reentry == "optimized" and math in (*TOTAL_MATHS, *SESSION_MATHS):
        raise ValidationError("optimized re-entry applies to uniques; totals and sessions funnels have own entries")
    unit = behavior.get("conversionWindowUnit", "day")
    duration = behavior.get("conversionWindowDuration", 14)
    specs = json_list(behavior.get("behaviors"), "funnel steps")
    steps = tuple(_step(spec, timezone) for spec in specs)
    if not 2 <= len(steps) <= MAX_STEPS:
        raise ValidationError(f"a funnel has 2 to {MAX_STEPS} steps")
    attribution = _attribution(behavior.get("propertyAttribution"), len(steps))
    free = _free_steps(order, specs)
    exclusions = []
    for spec in json_list(behavior.get("exclusions"), "exclusions"):
        spec = json_object(spec, "an exclusion")
        event, between = spec.get("event"), json_object(spec.get("steps") or {}, "exclusion steps")
        first, last = between.get("from", 1), between.get("to", len(steps))
        if not isinstance(event, str) or not event:
            raise ValidationError("every exclusion needs an event name")
        if not (isinstance(first, int) and isinstance(last, int) and 1 <= first < last <= len(steps)):
            raise ValidationError(f"exclusion steps must satisfy 1 <= from < to <= {len(steps)}")
        exclusions.append(FunnelExclusion(event, first - 1, last - 1))
    if len(exclusions) > MAX_EXCLUSIONS:
        raise ValidationError(f"a funnel has at most {MAX_EXCLUSIONS} exclusions")
    held = []
    for spec in json_list(behavior.get("aggregateBy"), "aggregateBy"):
        spec = json_object(spec, "a held property")
        if not isinstance(spec.get("value"), str) or not spec["value"]:
            raise ValidationError("a held property needs its name in value")
        if spec.get("resourceType", "events") in ("events", "event"):
            held.append(spec["value"])
    if len(held) > MAX_HELD:
        raise ValidationError(f"at most {MAX_HELD} properties may be held constant")
    if json_list(behavior.get("filters"), "behavior.filters"):  # never recorded non-empty: refused, not ignored
        raise ValidationError("a funnel behavior's filters list is not supported; use behavior.filter (every step) "
                              "or a step's own filters")
    return FunnelDefinition(
        steps=steps,
        window_ms=MAX_WINDOW_MS if unit == "session" else window_ms(duration, unit),
        window_sessions=window_sessions(duration) if unit == "session" else None,
        per_session=math in SESSION_MATHS,
        exclusions=tuple(exclusions),
        held=tuple(held),
        where=filters_expr(_event_filters(sections), custom_properties=True, timezone=timezone),
        totals=math in TOTAL_MATHS,
        optimized=reentry == "optimized",
        free=free,
        reentry=reentry or "default",
        step_where=filters_expr(json_list(behavior.get("filter"), "behavior.filter"), custom_properties=True,
                                timezone=timezone),
        attribution=attribution,
        aggregate=aggregate,
    )


def _aggregate(math: str, spec: Any) -> StepAggregate:
    """A property math's property (``{"name", "resourceType": "events"}`` or a name): an event property, or an
    inline custom property."""
    if isinstance(spec, dict) and spec.get("resourceType", "events") in ("events", "event") \
            and has_custom_property(spec):
        return StepAggregate(math, custom_property_expr(spec))
    name = spec.get("name") if isinstance(spec, dict) else spec
    if not isinstance(name, str) or not name:
        raise ValidationError(f"funnel math {math!r} needs measurement.property, the numeric event property it "
                              "aggregates per step")
    if isinstance(spec, dict) and spec.get("resourceType", "events") not in ("events", "event"):
        raise ValidationError(f"funnel math {math!r} aggregates an event property; "
                              f"{spec.get('resourceType')!r} properties are not supported")
    return StepAggregate(math, Property(name))


def classic_definition(params: Any, timezone: str) -> FunnelDefinition:
    """A funnel ``/funnels`` can run: ``parse_definition``, refusing the property maths (their per-step aggregate
    has no place in its answer; ``/api/query/insights`` runs them)."""
    definition = parse_definition(params, timezone)
    if definition.aggregate is not None:
        raise ValidationError(f"funnel math {definition.aggregate.math!r} (a property aggregated per step) is "
                              "answered by /api/query/insights, not /funnels")
    return definition


def _attribution(spec: Any, n: int) -> str | int:
    """``behavior.propertyAttribution``: ``first_defined`` (absent), ``last_defined``, or a step number 1..n (returned
    0-based)."""
    if spec is None or spec in ATTRIBUTIONS:
        return spec or "first_defined"
    if isinstance(spec, int) and not isinstance(spec, bool) and 1 <= spec <= n:
        return spec - 1
    raise ValidationError(
        f"propertyAttribution must be first_defined, last_defined or a step number 1 to {n}, not {spec!r}"
    )


def _free_steps(order: str, specs: list[Any]) -> frozenset[int]:
    """Any order: the steps that may be done in any order (a step's own ``funnelOrder: loose`` anchors it at its
    position). Anchors between free steps split the free steps among runs (docs/decisions/0029): at most
    ``MAX_ASSIGNMENTS`` ways."""
    orders = [spec.get("funnelOrder") or order for spec in specs]
    for step_order in orders:
        if step_order not in ORDERS:
            raise ValidationError(f"a step's funnelOrder must be loose or any, not {step_order!r}")
    if order == "loose":
        if "any" in orders:
            raise ValidationError("a step's funnelOrder 'any' needs the funnel's funnelOrder 'any'")
        return frozenset()
    free = frozenset(k for k, step_order in enumerate(orders) if step_order == "any")
    ways = assignment_count(free, len(specs))
    if ways > MAX_ASSIGNMENTS:
        raise ValidationError(
            f"funnelOrder any: anchored steps between steps in any order split them among {ways} ways, "
            f"more than the {MAX_ASSIGNMENTS} supported; anchor fewer steps between free ones"
        )
    return free


def funnel_params(
    steps: list[str], *, window: int = 14, unit: str = "day", exclusions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Bookmark params of a plain funnel over ``steps`` (what ``mixhouse reports create-funnel`` saves)."""
    behaviors = [
        {"type": "event", "name": name, "filters": [], "filtersDeterminer": "all", "funnelOrder": "loose"}
        for name in steps
    ]
    behavior = {
        "type": "funnel",
        "resourceType": "events",
        "behaviors": behaviors,
        "conversionWindowDuration": window,
        "conversionWindowUnit": unit,
        "exclusions": exclusions or [],
        "aggregateBy": [],
        "filter": [],
        "funnelOrder": "loose",
    }
    show = [{"type": "metric", "behavior": behavior, "measurement": {"math": "conversion_rate_unique"}}]
    return {"sections": {"show": show, "filter": [], "group": [], "formula": [], "time": []},
            "displayOptions": {"chartType": "funnel-steps"}}


def _event_filters(sections: dict[str, Any]) -> list[Any]:
    """``sections.filter`` of a saved funnel: event filters only (a cohort filter runs through the Insights API,
    which takes cohort entries out before reading the definition)."""
    filters = json_list(sections.get("filter"), "sections.filter")
    if any(is_cohort_filter(spec) for spec in filters):
        raise ValidationError("cohort filters on saved funnels (/api/query/funnels) are not supported yet; run the "
                              "funnel through /api/query/insights, which applies them")
    return filters
