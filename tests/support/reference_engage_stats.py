"""Brute-force profile aggregates (``/api/query/engage/stats``), written from decision 0032 and independent of the
server: the profiles are plain dicts the test sent through ``/engage``, the selection a Python predicate."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Profiles = Mapping[str, Mapping[str, Any]]


def select(profiles: Profiles, keep: Callable[[Mapping[str, Any]], bool] = lambda _: True,
           members: set[str] | None = None, include_all_users: bool = True) -> dict[str, Mapping[str, Any]]:
    """The profiles an engage selection keeps: those passing ``keep``; with a cohort (``members``), only members,
    plus (``include_all_users``) members without a profile, seen with no properties."""
    chosen: dict[str, Mapping[str, Any]] = dict(profiles)
    if members is not None:
        chosen = {uid: props for uid, props in chosen.items() if uid in members}
        if include_all_users:
            chosen.update({uid: {} for uid in members if uid not in profiles})
    return {uid: props for uid, props in chosen.items() if keep(props)}


def _numbers(selected: Mapping[str, Mapping[str, Any]], prop: str) -> list[float]:
    values = [props.get(prop) for props in selected.values()]
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def percentile(values: list[float], level: float) -> float | None:
    """Linear interpolation between the closest ranks: position ``level``% of the way from the smallest value
    (index 0) to the largest (index n - 1)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * level / 100
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[-1]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def aggregate(function: str, selected: Mapping[str, Mapping[str, Any]], prop: str = "",
              level: float = 50.0) -> Any:
    """The answer of ``function`` (count, sum, min, max, extremes, percentile, numeric_summary) over
    ``properties[prop]`` of the selected profiles."""
    if function == "count":
        return len(selected)
    values = _numbers(selected, prop)
    if function == "sum":
        return sum(values)
    if function == "min":
        return min(values) if values else None
    if function == "max":
        return max(values) if values else None
    if function == "extremes":
        return {"max": max(values) if values else None, "min": min(values) if values else None}
    if function == "percentile":
        return percentile(values, level)
    assert function == "numeric_summary", function
    n = len(values)
    mean = sum(values) / n if n else None
    return {"count": n, "sum": sum(values), "sum_of_squares": sum(v * v for v in values), "mean": mean,
            "var": sum((v - mean) ** 2 for v in values) / n if mean is not None else None}


def close(got: Any, want: Any) -> bool:
    """Equal, numbers to 1e-9 relative (float sums may be added in another order)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(close(got[k], want[k]) for k in want)
    if isinstance(want, float) or isinstance(got, float):
        if not isinstance(got, int | float) or not isinstance(want, int | float):
            return False
        return abs(got - want) <= 1e-9 * max(1.0, abs(want), abs(got))
    return bool(got == want) and type(got) is type(want)
