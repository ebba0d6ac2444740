"""``query_user(mode="aggregate")``: the ``POST /api/query/engage/stats`` request and the ``UserQueryResult`` built
from its answer (decision 0032).

The request is the recorded client's: a JSON body with ``project_id``, ``action`` (``count()``,
``extremes(properties["p"])``, ``percentile(properties["p"], N)``, ``numeric_summary(properties["p"])``), the where
expression as ``selector``, ``filter_by_cohort``, ``segment_by_cohorts`` as JSON text, ``data_group_id``,
``as_of_timestamp`` and, only with ``filter_by_cohort``, ``include_all_users``.

The answer's ``results`` becomes ``aggregate_data``: a number (``count()``, ``percentile``), an object
(``extremes``: ``max``/``min``; ``numeric_summary``: ``count``/``sum``/``sum_of_squares``/``mean``/``var``), or with
``segment_by`` one of those per cohort id. ``total`` is the count for an unsegmented ``count()`` and 0 otherwise, as
in the seeds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mixhouse.client.results import UserQueryResult
from mixhouse.client.transport import ApiClient
from mixhouse.errors import QueryError


def engage_stats(api: ApiClient, *, where: str | None = None, action: str = "count()",
                 filter_by_cohort: str | None = None, segment_by_cohorts: dict[str, bool] | None = None,
                 group_id: str | None = None, as_of_timestamp: int | None = None,
                 include_all_users: bool = False) -> dict[str, Any]:
    """``POST /api/query/engage/stats``: the raw answer object (a ``QueryError`` when it is not an object)."""
    body: dict[str, Any] = {"project_id": api.project_id, "action": action}
    if where:
        body["selector"] = where
    if filter_by_cohort:
        body["filter_by_cohort"] = filter_by_cohort
        body["include_all_users"] = include_all_users  # the server's default is true: always say it
    if segment_by_cohorts is not None:
        body["segment_by_cohorts"] = json.dumps(segment_by_cohorts)
    if group_id:
        body["data_group_id"] = group_id
    if as_of_timestamp is not None:
        body["as_of_timestamp"] = as_of_timestamp
    answer = api.query_request("POST", "engage", "/stats", json=body)
    if not isinstance(answer, dict):
        raise QueryError(f"engage/stats answered {type(answer).__name__}, not an object: {answer!r}"[:500],
                         details={"code": "QUERY_FAILED", "status_code": 200, "response_body": str(answer)})
    return answer


def run_aggregate(api: ApiClient, params: dict[str, Any]) -> UserQueryResult:
    """Run aggregate ``build_user_params`` output through ``engage/stats``."""
    segments = params.get("segment_by_cohorts")
    answer = engage_stats(
        api, where=params.get("where"), action=str(params.get("action") or "count()"),
        filter_by_cohort=params.get("filter_by_cohort"),
        segment_by_cohorts=json.loads(segments) if isinstance(segments, str) else segments,
        group_id=params.get("data_group_id"), as_of_timestamp=params.get("as_of_timestamp"),
        include_all_users=bool(params.get("include_all_users", False)))
    data = answer.get("results")
    action = str(params.get("action") or "count()")
    counted = isinstance(data, int | float) and not isinstance(data, bool) and action == "count()"
    total = int(data) if counted and isinstance(data, int | float) else 0
    return UserQueryResult(
        mode="aggregate", aggregate_data=data, total=total, params=params,
        computed_at=str(answer.get("computed_at") or datetime.now(UTC).isoformat()),
        meta={"action": action, "segmented": "segment_by_cohorts" in params}).with_raw(answer)
