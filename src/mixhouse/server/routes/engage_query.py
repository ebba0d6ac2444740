"""Profile query: ``/api/query/engage`` and ``/api/2.0/engage`` (GET and POST, form or JSON body)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services.engage import parse_engage_params


async def engage_query(request: Request) -> Response:
    try:
        params = await request_params(request)
        project = authenticate(request, params)
        engage_request = parse_engage_params(params)
        body = await run_in_threadpool(runtime(request).engage.query, project, engage_request)
    except MixhouseError as exc:
        return query_error(exc, full_path(request))
    return json_response(body)


def routes() -> list[Route]:
    paths = ["/api/query/engage", "/api/2.0/engage"]
    return [Route(p + suffix, engage_query, methods=["GET", "POST"]) for p in paths for suffix in ("", "/")]
