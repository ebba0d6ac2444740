"""Segmentation endpoints of the Query API (spec §4.2–§4.4), under ``/api/query/…`` and the ``/api/2.0/…`` alias.

``/segmentation`` (JSON or ``format=csv``), ``/segmentation/sum``, ``/segmentation/average`` and
``/segmentation/numeric``: GET or POST. ``workspace_id`` is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mixhouse.meta.records import Project
from mixhouse.query.timebuckets import UNITS
from mixhouse.server.responses import json_response
from mixhouse.server.routes.query_endpoint import Handler, query_routes
from mixhouse.services import segmentation
from mixhouse.services.runtime import Runtime

#: Builds the blocking call that answers one endpoint (parameters are parsed and validated up front).


def _segmentation(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
    query = segmentation.parse_query(project, params, units=UNITS)
    kind = segmentation.parse_type(params)
    limit = segmentation.parse_limit(params)
    fmt = segmentation.parse_format(params)

    def call() -> Response:
        answer = segmentation.segmentation(rt.backend, project, query, kind, limit)
        if fmt == "csv":
            return Response(segmentation.segmentation_csv(answer), media_type="text/csv")
        return json_response(answer)

    return call


def _summary(mean: bool) -> Handler:
    def handler(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
        query = segmentation.parse_query(project, params, units=segmentation.NUMERIC_UNITS, on_required=True)
        return lambda: json_response(segmentation.numeric_summary(rt.backend, project, query, mean))

    return handler


def _numeric(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
    query = segmentation.parse_query(project, params, units=segmentation.NUMERIC_UNITS, on_required=True)
    kind = segmentation.parse_type(params)
    return lambda: json_response(segmentation.numeric(rt.backend, project, query, kind))


ENDPOINTS: dict[str, Handler] = {
    "/segmentation": _segmentation,
    "/segmentation/sum": _summary(mean=False),
    "/segmentation/average": _summary(mean=True),
    "/segmentation/numeric": _numeric,
}


def routes() -> list[Route]:
    return query_routes(ENDPOINTS)
