"""Funnel and retention metrics in the Insights API (what ``query_funnel`` and ``query_retention`` post): the bookmark
params run by the funnel and retention engines, answered in the shapes the client library reads.

* Funnels (``behavior.type == "funnel"``): ``services/insights_funnel.py`` (re-exported here).
* Retention (``behavior.type == "retention"``): ``services/insights_retention.py`` (re-exported here).
"""

from __future__ import annotations

from typing import Any

from mixhouse.services.insights_funnel import funnel_metric, run_funnel_metric
from mixhouse.services.insights_retention import retention_query, run_retention_metric

__all__ = ["behavior_type", "funnel_metric", "retention_query", "run_funnel_metric", "run_retention_metric"]


def behavior_type(params: Any) -> str | None:
    """``funnel``, ``retention``, … for the first metric of bookmark params (``None`` if it cannot be told)."""
    try:
        return str(params["sections"]["show"][0]["behavior"]["type"])
    except (KeyError, IndexError, TypeError):
        return None
