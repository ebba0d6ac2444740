"""Property maths of funnel metrics (docs/decisions/0037): per step, an aggregate of a numeric event property over
the events that completed the step in the attempts counted there.

The funnel SQL (``query/funnels.py``) carries each event's number (``event_value_sql``: the property's value when
it is a JSON number, ``nan`` otherwise: missing, a string, a boolean, a list) in its per-user arrays as ``vs``, takes
``pv{k}``, the number of the event that completed step ``k`` (any order: that filled position ``k``), for every
attempt (``step_values_sql``), and aggregates it per bucket and segment over the attempts that reached step ``k``
(``level > k``) and have a number there (``value_measures``). A plain funnel carries none of it: its SQL is unchanged.

Row columns per step ``k``: ``vn{k}`` (how many numbers), and ``v{k}`` (``average``: the mean; ``min``/``max``;
``median``/``p25``/``p75``/``p90``/``p99``: ``quantileExactInclusive``, linear interpolation between the closest
ranks, as the event-metric percentiles) or, for ``histogram``, ``vk{k}``/``vc{k}`` (each distinct number and how
many attempts had it). ``step_value`` reads them into the answer's value: a number, ``None`` without any number; a
histogram is ``{"<number>": count}`` in numeric order (numbers formatted as segment keys are), ``{}`` when empty.
"""

from __future__ import annotations

from typing import Any

from mixhouse.expr.values import format_number
from mixhouse.query.insights import QUANTILE_LEVELS
from mixhouse.query.segmentation import NUMBER_TAG

#: The aggregate functions of the scalar maths (the percentiles: ``QUANTILE_LEVELS``).
_SCALAR = {"average": "avgIf", "min": "minIf", "max": "maxIf"}


def event_value_sql(typed_sql: str) -> str:
    """An event's number: ``compile_typed``'s tuple's number when it is tagged one, else ``nan``."""
    return f"if(tupleElement({typed_sql}, 1) = {NUMBER_TAG}, tupleElement({typed_sql}, 3), nan)"


def step_values_sql(n: int) -> str:
    """``pv0``…: the number on the event that completed each step (``nan`` when the step was not reached)."""
    return ", ".join(f"if(i{k} = 0, nan, vs[i{k}]) AS pv{k}" for k in range(n))


def value_measures(math: str, n: int) -> list[str]:
    """The per-step aggregates of ``math`` over the attempts that reached each step with a number there."""
    measures = []
    for k in range(n):
        kept = f"level > {k} AND NOT isNaN(pv{k})"
        measures.append(f"countIf({kept}) AS vn{k}")
        if math == "histogram":
            found = f"sumMapIf([pv{k}], [toUInt64(1)], {kept})"
            measures += [f"{found}.1 AS vk{k}", f"{found}.2 AS vc{k}"]
        elif math in QUANTILE_LEVELS:
            measures.append(f"quantileExactInclusiveIf({QUANTILE_LEVELS[math]})(pv{k}, {kept}) AS v{k}")
        else:
            measures.append(f"{_SCALAR[math]}(pv{k}, {kept}) AS v{k}")
    return measures


def step_value(math: str, row: dict[str, Any] | None, k: int) -> Any:
    """Step ``k``'s value in the answer from a row of ``value_measures`` (``None``: nobody reached the bucket)."""
    counted = int(row[f"vn{k}"]) if row else 0
    if math == "histogram":
        if not row or not counted:
            return {}
        # sumMap gives the numbers in ascending order
        bins = zip(row[f"vk{k}"], row[f"vc{k}"], strict=True)
        return {format_number(float(number)): int(count) for number, count in bins}
    return float(row[f"v{k}"]) if row and counted else None
