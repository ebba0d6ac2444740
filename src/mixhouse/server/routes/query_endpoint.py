"""The shape every Query API route shares: parse params, authenticate, validate, run off the event loop, answer.

A handler validates the parameters and returns a no-argument callable that does the work; the callable's result is
sent as JSON unless it is already a ``Response`` (CSV, say). Errors become the Query API error body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError
from mixhouse.meta.records import Project
from mixhouse.query.params import api_paths
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services.runtime import Runtime

#: Validates the parameters, then returns the blocking call that answers (run on a worker thread).
Handler = Callable[[Runtime, Project, dict[str, Any]], Callable[[], Any]]


def query_endpoint(handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            params = await request_params(request)
            project = authenticate(request, params)
            call = handler(runtime(request), project, params)
            body = await run_in_threadpool(call)
        except MixhouseError as exc:
            return query_error(exc, full_path(request))
        return body if isinstance(body, Response) else json_response(body)

    return endpoint


def query_routes(endpoints: Mapping[str, Handler]) -> list[Route]:
    """Each path under ``/api/query`` and ``/api/2.0``, with and without a trailing slash, GET and POST."""
    return [
        Route(full, query_endpoint(handler), methods=["GET", "POST"])
        for path, handler in endpoints.items()
        for full in api_paths(path)
    ]
