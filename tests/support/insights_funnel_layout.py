"""The brute-force funnel reference's answers laid out as an Insights funnel metric answers them."""

from __future__ import annotations

from typing import Any

from tests.support import reference_funnels

METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


def metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """One segment's steps as ``{metric: {"1. Event": {"all": value}}}``."""
    return {metric: {f"{k + 1}. {step['event']}": {"all": step[metric]} for k, step in enumerate(steps)}
            for metric in METRICS}


def nested(found: dict[str, list[dict[str, Any]]], depth: int) -> dict[str, Any]:
    """The reference's segment paths (``PATH_SEPARATOR``-joined) nested as Insights nests ``depth`` breakdowns."""
    root: dict[str, Any] = {"$overall": metrics(found["$overall"])}
    for segment in sorted(s for s in found if s != "$overall"):
        *parents, last = segment.split(reference_funnels.PATH_SEPARATOR)
        node = root
        for key in parents:
            node = node[key]
        node[last] = metrics(found[segment]) if len(parents) + 1 == depth else {"$overall": metrics(found[segment])}
    return root
