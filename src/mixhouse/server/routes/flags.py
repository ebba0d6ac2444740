"""The feature-flag endpoints the official SDKs call: ``GET /flags/definitions`` (local evaluation) and
``GET /flags?context=...&flag_key=...`` (remote evaluation).

The SDKs authenticate with HTTP Basic: the project token as the username and an empty password (the token is also
in the ``token`` query parameter), or a service account's username and secret with ``project_id``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import AuthenticationError, MixhouseError, ValidationError
from mixhouse.meta.feature_flags import FeatureFlags, Flag
from mixhouse.meta.records import Project
from mixhouse.server.auth import basic_credentials, project_id_param
from mixhouse.server.context import runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.services import flag_evaluation


def _project(request: Request) -> Project:
    project_id = project_id_param(request.query_params.get("project_id"))
    projects = runtime(request).projects
    credentials = basic_credentials(request.headers)
    if credentials is not None and credentials.password:
        return projects.authenticate(username=credentials.username, password=credentials.password,
                                     project_id=project_id)
    token = credentials.username if credentials is not None else request.query_params.get("token")
    if not token:
        raise AuthenticationError("the flags API needs the project token (HTTP Basic username or token=)")
    return projects.authenticate_token(token, project_id)


def _enabled_flags(request: Request) -> list[Flag]:
    return FeatureFlags(runtime(request).meta, _project(request).id).all(enabled_only=True)


def _context(raw: str | None) -> dict[str, Any]:
    if not raw:
        raise ValidationError("context is required: a JSON object with the evaluation context (e.g. distinct_id)")
    try:
        context = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("context must be JSON") from None
    if not isinstance(context, dict):
        raise ValidationError("context must be a JSON object")
    return context


async def definitions(request: Request) -> Response:
    try:
        flags = await run_in_threadpool(_enabled_flags, request)
    except MixhouseError as exc:
        return query_error(exc, request.url.path)
    return json_response(flag_evaluation.definitions(flags))


async def evaluate(request: Request) -> Response:
    try:
        context = _context(request.query_params.get("context"))
        flags = await run_in_threadpool(_enabled_flags, request)
    except MixhouseError as exc:
        return query_error(exc, request.url.path)
    return json_response(flag_evaluation.remote(flags, context, request.query_params.get("flag_key") or None))


def routes() -> list[Route]:
    out: list[Route] = []
    for path, endpoint in (("/flags/definitions", definitions), ("/flags", evaluate)):
        out += [Route(path, endpoint, methods=["GET"]), Route(path + "/", endpoint, methods=["GET"])]
    return out
