"""What an alert's ``condition`` means, checking it against a report's params, and reading it off an answer.

A condition is ``{"keys": [{"header", "value"}, ...], "type": "absolute" | "relative", "op": "<", "value": 100}``
(the client library's documented shape). ``keys`` picks the series: the first names a metric (or formula) of the
Insights report, each further key a segment of the next breakdown level (absent: the ``$overall`` rollup); no keys
means the report's only series (a report with several needs keys). ``op`` is ``<``, ``<=``, ``>``, ``>=``, ``==`` or
``!=`` (or the spelled-out ``operator`` ``less_than``, ``greater_than``, ...). The value watched is the series'
latest bucket (its only one on a total chart); ``absolute`` compares that value with ``value``, ``relative``
compares its change in percent from the bucket before (no change can be told when that one is 0).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from mixhouse.errors import MixhouseError, ValidationError
from mixhouse.services.insights_behaviors import behavior_type
from mixhouse.services.insights_measurement import NON_SCALAR_MATHS
from mixhouse.services.insights_params import Metric, parse_insights

OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
NAMED_OPS: Final = {"less_than": "<", "less_than_or_equal": "<=", "greater_than": ">",
                    "greater_than_or_equal": ">=", "equal": "==", "equals": "==", "not_equal": "!="}
TYPES: Final = ("absolute", "relative")
OVERALL: Final = "$overall"
#: Report types an alert can watch (the Insights engine answers them with series over time).
ALERTABLE_TYPES: Final = ("insights",)


@dataclass(frozen=True, slots=True)
class Condition:
    keys: tuple[str, ...]
    kind: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def describe(self) -> str:
        what = "change in %" if self.kind == "relative" else "value"
        series = " / ".join(self.keys) or "the report"
        return f"{series}: {what} {self.op} {self.threshold:g}"


@dataclass(frozen=True, slots=True)
class Reading:
    """What an evaluation read: the value compared (the latest value, or its change in percent) and the latest."""

    value: float | None
    latest: float | None
    fired: bool
    error: str | None = None
    points: tuple[tuple[str, float], ...] = ()  # the series read, bucket by bucket (an alert screenshot draws it)


def parse(raw: Any) -> Condition:
    """The condition from its JSON; ``ValidationError`` naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValidationError("condition must be a JSON object")
    kind = raw.get("type", "absolute")
    if not isinstance(kind, str) or kind not in TYPES:
        raise ValidationError(f"condition.type must be one of {', '.join(TYPES)}")
    op = raw.get("op")
    if op is None and raw.get("operator") is not None:
        op = NAMED_OPS.get(str(raw["operator"]), raw["operator"])
    if not isinstance(op, str) or op not in OPS:
        raise ValidationError(f"condition.op must be one of {' '.join(OPS)} (or operator: {', '.join(NAMED_OPS)})")
    threshold = raw.get("value")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise ValidationError("condition.value must be a number")
    keys = raw.get("keys") or []
    if not isinstance(keys, list) or len(keys) > 4:
        raise ValidationError("condition.keys must be a list of up to 4 {\"header\", \"value\"} objects")
    names: list[str] = []
    for key in keys:
        name = (key.get("value") or key.get("header")) if isinstance(key, dict) else None
        if not isinstance(name, str) or not name:
            raise ValidationError("each condition key needs a value naming a metric or segment")
        names.append(name)
    return Condition(tuple(names), str(kind), str(op), float(threshold))


def series_names(report_type: str, params: Any, timezone: str) -> tuple[list[str], int]:
    """The series an alert may watch on a report of ``report_type`` with ``params``, and its breakdown depth;
    ``ValidationError`` when the report cannot carry an alert."""
    if report_type not in ALERTABLE_TYPES:
        raise ValidationError(f"alerts watch Insights reports, not {report_type} reports")
    if behavior_type(params) in ("funnel", "retention"):
        raise ValidationError("alerts watch event metrics and formulas, not funnel or retention metrics")
    query = parse_insights(params, timezone)
    names = [name for name, metric in _labelled(query.metrics) if not metric.hidden]
    return names + [formula.name for formula in query.formulas], len(query.groups)


def _labelled(metrics: Sequence[Metric]) -> list[tuple[str, Metric]]:
    """Each metric with its series name (the event, with the math when several metrics share the event)."""
    shared = {m.event for m in metrics if sum(o.event == m.event for o in metrics) > 1}
    return [(f"{m.event} [{m.math}]" if m.event in shared else m.event, m) for m in metrics]


def _not_numbers(params: Any, timezone: str) -> set[str]:
    """The report's series whose buckets hold values, counts by value or summaries rather than one number
    (``most_frequent``, ``histogram``, ``multi_attribution``...): an alert cannot compare them with a threshold."""
    return {name for name, metric in _labelled(parse_insights(params, timezone).metrics)
            if metric.math in NON_SCALAR_MATHS}


def check_against(condition: Condition, report_type: str, params: Any, timezone: str) -> None:
    """Refuse (``ValidationError``) a condition its report cannot answer: the metric it names is missing, it
    names more segments than the report has breakdowns, the report has several series and no key picks one."""
    try:
        names, depth = series_names(report_type, params, timezone)
    except ValidationError:
        raise
    except MixhouseError as exc:
        raise ValidationError(str(exc)) from None
    if not condition.keys:
        if len(names) != 1:
            raise ValidationError(f"the report has {len(names)} series ({', '.join(names)}): "
                                  "name one in condition.keys")
    elif condition.keys[0] not in names:
        raise ValidationError(f"the report has no metric {condition.keys[0]!r} (it has {', '.join(names)})")
    if len(condition.keys) - 1 > depth:
        raise ValidationError(f"condition.keys names {len(condition.keys) - 1} segments, the report has {depth} "
                              "breakdowns")
    watched = condition.keys[0] if condition.keys else names[0]
    if watched in _not_numbers(params, timezone):
        raise ValidationError(f"the series {watched!r} holds values or distributions, not one number per bucket: "
                              "alerts watch counts, sums, averages and other numbers")


def read(condition: Condition, answer: dict[str, Any]) -> Reading:
    """Evaluate the condition on an Insights answer (``series``: metric → [segment →] bucket → value)."""
    series = answer.get("series") or {}
    if condition.keys:
        node: Any = series.get(condition.keys[0])
        path = condition.keys[1:]
    else:
        node = next(iter(series.values())) if len(series) == 1 else None
        path = ()
    if node is None:
        return Reading(None, None, False, f"the report has no series {condition.keys[:1] or '(several)'}")
    for segment in path:
        if not isinstance(node, dict) or segment not in node:
            return Reading(None, None, False, f"the report has no segment {segment!r} (nothing happened in it?)")
        node = node[segment]
    while isinstance(node, dict) and OVERALL in node:
        node = node[OVERALL]
    buckets = list(node.values()) if isinstance(node, dict) else []  # the engine lists buckets in time order
    if not buckets or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in buckets):
        return Reading(None, None, False, "the report's series holds no values")
    latest = float(buckets[-1])
    points = tuple((str(key), float(value)) for key, value in node.items())
    if condition.kind == "absolute":
        return Reading(latest, latest, condition.holds(latest), points=points)
    if len(buckets) < 2:
        return Reading(None, latest, False, "a relative condition needs a series over time (two buckets or more)",
                       points)
    previous = float(buckets[-2])
    if previous == 0:
        return Reading(None, latest, False, "no change in percent from 0 (the previous bucket is 0)", points)
    change = round((latest - previous) / abs(previous) * 100, 6)
    return Reading(change, latest, condition.holds(change), points=points)
