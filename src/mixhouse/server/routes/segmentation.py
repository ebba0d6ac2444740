"""Segmentation endpoints of the Query API (spec §4.2–§4.4), under ``/api/query/…`` and the ``/api/2.0/…`` alias.

``/segmentation`` (JSON or ``format=csv``), ``/segmentation/sum``, ``/segmentation/average`` and
``/segmentation/numeric``: GET or POST. ``workspace_id`` is accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError
from mixhouse.meta.records import Project
from mixhouse.query.params import api_paths
from mixhouse.query.timebuckets import UNITS
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services import segmentation
from mixhouse.storage.base import Backend

#: Builds the blocking call that answers one endpoint (parameters are parsed and validated up front).
Handler = Callable[[Backend, Project, dict[str, Any]], Callable[[], Response]]


def _segmentation(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
    query = segmentation.parse_query(project, params, units=UNITS)
    kind = segmentation.parse_type(params)
    limit = segmentation.parse_limit(params)
    fmt = segmentation.parse_format(params)

    def call() -> Response:
        answer = segmentation.segmentation(backend, project, query, kind, limit)
        if fmt == "csv":
            return Response(segmentation.segmentation_csv(answer), media_type="text/csv")
        return json_response(answer)

    return call


def _summary(mean: bool) -> Handler:
    def handler(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
        query = segmentation.parse_query(project, params, units=segmentation.NUMERIC_UNITS, on_required=True)
        return lambda: json_response(segmentation.numeric_summary(backend, project, query, mean))

    return handler


def _numeric(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Response]:
    query = segmentation.parse_query(project, params, units=segmentation.NUMERIC_UNITS, on_required=True)
    kind = segmentation.parse_type(params)
    return lambda: json_response(segmentation.numeric(backend, project, query, kind))


def _endpoint(handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            params = await request_params(request)
            project = authenticate(request, params)
            call = handler(runtime(request).backend, project, params)
            return await run_in_threadpool(call)
        except MixhouseError as exc:
            return query_error(exc, full_path(request))

    return endpoint


ENDPOINTS: dict[str, Handler] = {
    "/segmentation": _segmentation,
    "/segmentation/sum": _summary(mean=False),
    "/segmentation/average": _summary(mean=True),
    "/segmentation/numeric": _numeric,
}


def routes() -> list[Route]:
    return [
        Route(full, _endpoint(handler), methods=["GET", "POST"])
        for path, handler in ENDPOINTS.items()
        for full in api_paths(path)
    ]
