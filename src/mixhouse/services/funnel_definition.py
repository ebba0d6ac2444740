"""A saved funnel's definition, read from its bookmark params (the shape ``build_funnel_params`` sends).

``sections.show[0].behavior`` (``type: funnel``) holds the steps (``behaviors``: event name, ``filters``,
``filtersDeterminer``), ``conversionWindowDuration``/``conversionWindowUnit``, ``exclusions`` (``{"event",
"steps": {"from", "to"}}``, 1-based step numbers) and ``aggregateBy`` (properties held constant). ``sections.filter``
is a global filter on the steps' events.

``measurement.math`` ``conversion_rate_total``/``total``/``general`` counts totals (every attempt; a user re-enters
after each exit), the others uniques.

``funnelReentryMode`` ``optimized`` (uniques only) evaluates every step-1 event as an attempt and counts the best
one (docs/query-api.md). ``funnelOrder: any`` lets the steps be done in any order; a step's own ``funnelOrder:
loose`` anchors it at its position (first and/or last steps only). Not supported yet, and refused by name (400)
rather than run with other semantics: anchored steps between free ones, the ``aggressive`` and ``basic`` re-entry
modes, cohort or custom-event steps. Sessions (``query/sessions.py``):
``conversionWindowUnit: session`` lets an attempt use the entry's session and the ``duration - 1`` after it (a
totals attempt that does not convert closes with the last event of its last session, so the next session may enter);
``measurement.math`` ``session``/``conversion_rate_session`` makes the first step-1 event of each session an entry.
Holding a profile (``people``) property constant changes nothing: a user has one profile value at query time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr
from mixhouse.query.bookmark_filters import filters_expr
from mixhouse.query.params import json_list, json_object

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
#: The longest conversion window in sessions (Mixpanel's limit).
MAX_WINDOW_SESSIONS = 12


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


def _step(spec: Any) -> FunnelStep:
    spec = json_object(spec, "a funnel step")
    if spec.get("type", "event") != "event":
        raise ValidationError(f"funnel steps of type {spec.get('type')!r} are not supported yet")
    name = spec.get("name") if spec.get("name") is not None else spec.get("event")
    if not isinstance(name, str) or not name:
        raise ValidationError("every funnel step needs an event name")
    filters = json_list(spec.get("filters"), "step filters")
    return FunnelStep(name, filters_expr(filters, spec.get("filtersDeterminer", "all")))


def parse_definition(params: Any) -> FunnelDefinition:
    """The funnel in bookmark params; ``ValidationError`` naming what is wrong or unsupported."""
    sections = json_object(json_object(params, "funnel params").get("sections"), "sections")
    show = json_list(sections.get("show"), "sections.show")
    if len(show) != 1:
        raise ValidationError("a funnel has exactly one metric in sections.show")
    metric = json_object(show[0], "sections.show[0]")
    behavior = json_object(metric.get("behavior"), "the funnel behavior")
    if behavior.get("type") != "funnel":
        raise ValidationError("sections.show[0].behavior.type must be funnel")
    math = json_object(metric.get("measurement") or {}, "measurement").get("math")
    if math not in (*UNIQUE_MATHS, *TOTAL_MATHS, *SESSION_MATHS):
        raise ValidationError(f"funnel math {math!r} is not supported yet (uniques, totals and sessions)")
    order = behavior.get("funnelOrder") or "loose"
    if order not in ORDERS:
        raise ValidationError(f"funnelOrder must be loose or any, not {order!r}")
    reentry = behavior.get("funnelReentryMode")
    if reentry not in (None, "default", "optimized"):
        raise ValidationError(f"re-entry mode {reentry!r} is not supported yet (default and optimized are)")
    if reentry == "optimized" and math in (*TOTAL_MATHS, *SESSION_MATHS):
        raise ValidationError("optimized re-entry applies to uniques; totals and sessions funnels have own entries")
    unit = behavior.get("conversionWindowUnit", "day")
    duration = behavior.get("conversionWindowDuration", 14)
    if json_list(behavior.get("filter"), "behavior.filter"):
        raise ValidationError("funnel-wide behavior filters are not supported yet; use sections.filter")
    specs = json_list(behavior.get("behaviors"), "funnel steps")
    steps = tuple(_step(spec) for spec in specs)
    if not 2 <= len(steps) <= MAX_STEPS:
        raise ValidationError(f"a funnel has 2 to {MAX_STEPS} steps")
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
    return FunnelDefinition(
        steps=steps,
        window_ms=MAX_WINDOW_MS if unit == "session" else window_ms(duration, unit),
        window_sessions=window_sessions(duration) if unit == "session" else None,
        per_session=math in SESSION_MATHS,
        exclusions=tuple(exclusions),
        held=tuple(held),
        where=filters_expr(json_list(sections.get("filter"), "sections.filter")),
        totals=math in TOTAL_MATHS,
        optimized=reentry == "optimized",
        free=free,
    )


def _free_steps(order: str, specs: list[Any]) -> frozenset[int]:
    """Any order: the steps that may be done in any order (a step's own ``funnelOrder: loose`` anchors it at its
    position). The free steps must be one run: anchored steps first and/or last (docs/decisions/0018)."""
    orders = [spec.get("funnelOrder") or order for spec in specs]
    for step_order in orders:
        if step_order not in ORDERS:
            raise ValidationError(f"a step's funnelOrder must be loose or any, not {step_order!r}")
    if order == "loose":
        if "any" in orders:
            raise ValidationError("a step's funnelOrder 'any' needs the funnel's funnelOrder 'any'")
        return frozenset()
    free = [k for k, step_order in enumerate(orders) if step_order == "any"]
    if free and free != list(range(free[0], free[-1] + 1)):
        raise ValidationError(
            "any-order funnels with an anchored step between steps in any order are not supported yet: "
            "anchor only the first and/or last steps"
        )
    return frozenset(free)


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
