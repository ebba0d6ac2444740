"""Profile aggregates: ``/api/query/engage/stats`` (decision 0032).

The request selects profiles exactly as ``/api/query/engage`` does (``selector`` — the ``where`` expression; ``where``
is accepted as an alias — ``filter_by_cohort`` with ``include_all_users``, ``as_of_timestamp`` for cohort membership,
``data_group_id`` for group profiles) and reduces them with one ``action``:

* ``count()`` — the number of selected profiles (an integer);
* ``sum(v)`` — the sum of the numeric values of ``v`` (``0`` when there are none);
* ``min(v)`` / ``max(v)`` — the smallest / largest numeric value (``null`` when there are none);
* ``extremes(v)`` — ``{"max": …, "min": …}`` (both ``null`` when there are no numeric values);
* ``percentile(v, N)`` — the N-th percentile (0 ≤ N ≤ 100) of the numeric values, interpolated linearly between
  the closest ranks as Insights' percentiles are; ``null`` when there are none;
* ``numeric_summary(v)`` — ``{"count", "sum", "sum_of_squares", "mean", "var"}`` of the numeric values, ``var``
  the population variance; ``mean`` and ``var`` are ``null`` when there are none.

``v`` is any expression of the expression language evaluated on each profile (``properties["x"]``, ``user["x"]``,
single or double quotes); only values that are numbers take part — missing properties, strings, booleans, lists and
datetimes are skipped, so ``numeric_summary(v).count`` says how many profiles had a number. Any other action is a 400
naming it.

``segment_by_cohorts`` (a JSON object ``{"<cohort id>": true, ...}``, as text or object) answers per cohort instead:
``results`` becomes ``{"<cohort id>": <the action over the selected profiles that are members of that cohort>}``;
cohorts mapped to ``false`` are left out of the segmentation. The answer is ``{"results": …, "total": <number of
selected profiles>, "status": "ok", "computed_at": "<ISO-8601 UTC>"}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.expr import UNDEFINED, Expr, Record, evaluate, parse
from mixhouse.query.params import decoded_param
from mixhouse.services.engage import EngageRequest, parse_engage_params

ProfileRow = tuple[str, Mapping[str, Any]]

_ACTION = re.compile(r"^\s*([A-Za-z_]+)\s*\((.*)\)\s*$", re.DOTALL)
_VALUE_FUNCTIONS = ("sum", "min", "max", "extremes", "percentile", "numeric_summary")
_SUPPORTED = ('count(), sum(v), min(v), max(v), extremes(v), percentile(v, N) or numeric_summary(v) '
              'with v a profile expression such as properties["ltv"]')
#: The engage parameters that select profiles for an aggregate (paging, sorting and output options do not apply).
_SELECTION_PARAMS = ("filter_by_cohort", "include_all_users", "as_of_timestamp", "data_group_id", "behaviors")


@dataclass(frozen=True)
class StatsAction:
    """A parsed ``action``: the reduction, the value expression it reads (none for ``count()``) and the percentile."""

    function: str
    value: Expr | None = None
    percentile: float | None = None


@dataclass(frozen=True)
class StatsRequest:
    selection: EngageRequest
    action: StatsAction
    #: ``segment_by_cohorts``: the cohort ids to answer for (in the order sent), or ``None`` for one answer.
    segments: tuple[int, ...] | None = None


def _bad_action(text: str, why: str = "") -> ValidationError:
    return ValidationError(f"action {text!r} is not supported{why}: use {_SUPPORTED}")


def parse_action(text: str) -> StatsAction:
    """``count()``, ``sum(v)``, ``min(v)``, ``max(v)``, ``extremes(v)``, ``percentile(v, N)``,
    ``numeric_summary(v)``; anything else is a 400 naming the action."""
    match = _ACTION.match(text)
    if match is None:
        raise _bad_action(text)
    function, argument = match.group(1).lower(), match.group(2).strip()
    if function == "count":
        if argument:
            raise _bad_action(text, " (count() takes no argument)")
        return StatsAction("count")
    if function not in _VALUE_FUNCTIONS:
        raise _bad_action(text)
    if not argument:
        raise _bad_action(text, f" ({function}() needs a value expression)")
    level: float | None = None
    if function == "percentile":
        value_text, _, level_text = argument.rpartition(",")
        try:
            level = float(level_text)
        except ValueError:
            raise _bad_action(text, " (percentile(v, N) needs a number N)") from None
        if not value_text.strip() or not 0 <= level <= 100:
            raise _bad_action(text, " (percentile(v, N) needs 0 <= N <= 100)")
        argument = value_text
    return StatsAction(function, parse(argument), level)


def _cohort_id(key: Any) -> int:
    text = str(key).strip()
    if not text.isdigit() or int(text) < 1:
        raise NotFoundError(f"segment_by_cohorts: no cohort {key!r} in this project")
    return int(text)


def parse_segments(value: Any) -> tuple[int, ...] | None:
    """``segment_by_cohorts``: ``{"<cohort id>": true|false}`` (JSON text or object); the ids mapped to true."""
    if value is None or value == "":
        return None
    parsed = decoded_param(value, 'segment_by_cohorts must be a JSON object {"<cohort id>": true}')
    if not isinstance(parsed, dict) or not all(isinstance(flag, bool) for flag in parsed.values()):
        raise ValidationError('segment_by_cohorts must be a JSON object {"<cohort id>": true}')
    return tuple(dict.fromkeys(_cohort_id(key) for key, flag in parsed.items() if flag))


def parse_stats_params(params: Mapping[str, Any]) -> StatsRequest:
    action = params.get("action")
    if action is not None and not isinstance(action, str):
        raise ValidationError("action must be an expression string such as count()")
    selector = params.get("selector")
    if selector in (None, ""):
        selector = params.get("where")
    selection = parse_engage_params({
        **{name: params[name] for name in _SELECTION_PARAMS if name in params},
        **({"where": selector} if selector not in (None, "") else {}),
    })
    return StatsRequest(selection, parse_action(action or "count()"), parse_segments(params.get("segment_by_cohorts")))


def _numbers(value: Expr, rows: Iterable[ProfileRow]) -> list[float]:
    out: list[float] = []
    for distinct_id, props in rows:
        got = evaluate(value, Record(distinct_id=distinct_id, properties=props, user=props))
        if got is not UNDEFINED and isinstance(got, int | float) and not isinstance(got, bool) and math.isfinite(got):
            out.append(float(got))
    return out


def _percentile(values: list[float], level: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * level / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _summary(values: list[float]) -> dict[str, Any]:
    count = len(values)
    total = math.fsum(values)
    mean = total / count if count else None
    var = math.fsum((v - mean) ** 2 for v in values) / count if mean is not None else None
    return {"count": count, "sum": total, "sum_of_squares": math.fsum(v * v for v in values), "mean": mean,
            "var": var}


def aggregate(action: StatsAction, rows: list[ProfileRow]) -> Any:
    """The value of ``action`` over ``rows`` (see the module docstring for each shape)."""
    if action.function == "count" or action.value is None:
        return len(rows)
    values = _numbers(action.value, rows)
    if action.function == "sum":
        return math.fsum(values)
    if action.function == "min":
        return min(values, default=None)
    if action.function == "max":
        return max(values, default=None)
    if action.function == "extremes":
        return {"max": max(values, default=None), "min": min(values, default=None)}
    if action.function == "percentile":
        return _percentile(values, action.percentile if action.percentile is not None else 50.0)
    return _summary(values)


def answer(request: StatsRequest, rows: list[ProfileRow],
           segment_members: Mapping[int, frozenset[str] | set[str]] | None = None) -> dict[str, Any]:
    """The response body: the action over ``rows``, or per cohort of ``request.segments`` over the rows that are
    members of it (``segment_members`` maps each of those cohort ids to its members)."""
    if request.segments is None:
        results: Any = aggregate(request.action, rows)
    else:
        members = segment_members or {}
        results = {str(cohort_id): aggregate(request.action,
                                             [row for row in rows if row[0] in members.get(cohort_id, ())])
                   for cohort_id in request.segments}
    return {"results": results, "total": len(rows), "status": "ok",
            "computed_at": datetime.now(UTC).isoformat(timespec="seconds")}
