"""App API plumbing and access routes: ``/api/app/me``, ``/api/app/projects/{pid}/workspaces/public`` and
``/api/app/projects/metadata/index`` (service account Basic auth; App envelope and error shape)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import AuthenticationError, MixhouseError, PermissionDeniedError, ValidationError
from mixhouse.server.auth import basic_credentials, bearer_token
from mixhouse.server.context import runtime
from mixhouse.server.responses import app_error, app_ok
from mixhouse.services import access

Handler = Callable[[Request, "dict[str, Any] | None"], object]


def caller(request: Request) -> access.Caller:
    """The service account calling: HTTP Basic (username and secret) or a bearer access token."""
    meta = runtime(request).meta
    token = bearer_token(request.headers)
    if token is not None:
        return access.authenticate_bearer(meta, token)
    credentials = basic_credentials(request.headers)
    if credentials is None:
        raise AuthenticationError("Invalid credentials: the App API needs HTTP Basic or a bearer token")
    return access.authenticate(meta, credentials.username, credentials.password)


def project_id_of(request: Request) -> int:
    raw = request.path_params["project_id"]
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"project id must be an integer, got {raw!r}") from None


def project_scope(request: Request) -> tuple[access.Caller, int]:
    """The caller and the project the path names, directly (``/projects/{pid}/``) or through a pinned workspace
    (``/workspaces/{wid}/``, the workspace's project); members only (403)."""
    who = caller(request)
    if "workspace_id" in request.path_params:
        workspace_id = int(request.path_params["workspace_id"])
        workspace = runtime(request).meta.get_workspace(workspace_id)
        if workspace is None:
            raise PermissionDeniedError(f"this account has no access to workspace {workspace_id}")
        project_id = workspace.project_id
    else:
        project_id = project_id_of(request)
    who.project(project_id)
    return who, project_id


def data_view(request: Request) -> int | None:
    """The data view a ``/workspaces/{wid}/`` path pins, when it is not the project's global one: entities made
    through it belong to it, and lists through it show only its entities (``None``: the whole project)."""
    if "workspace_id" not in request.path_params:
        return None
    workspace = runtime(request).meta.get_workspace(int(request.path_params["workspace_id"]))
    return None if workspace is None or workspace.is_global else workspace.id


#: The two places a workspace-scoped entity lives (``S(...)`` in the client library).
SCOPED_PREFIXES = ("/api/app/projects/{project_id}/", "/api/app/workspaces/{workspace_id:int}/")


def scoped_routes(entries: list[tuple[str, Handler, list[str]]]) -> list[Route]:
    """Each ``(path, handler, methods)`` under both prefixes, with and without the trailing slash."""
    out: list[Route] = []
    for prefix in SCOPED_PREFIXES:
        for path, handler, methods in entries:
            endpoint = app_route(handler, with_body=True)
            out += [Route(prefix + path, endpoint, methods=methods),
                    Route(prefix + path + "/", endpoint, methods=methods)]
    return out


async def json_body(request: Request) -> dict[str, Any] | None:
    """A JSON object body, ``None`` when empty; anything else is a 400."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationError("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


def app_route(handler: Handler, *, with_body: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering ``handler``'s result in the App envelope (``None``: 204), errors in the App shape.
    Handlers run in a thread: metadata reads and writes block."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await json_body(request) if with_body and request.method in ("POST", "PATCH", "PUT") else None
            result = await run_in_threadpool(handler, request, body)
        except MixhouseError as exc:
            return app_error(exc)
        return Response(status_code=204) if result is None else app_ok(result)

    return endpoint


def _me(request: Request, _: dict[str, Any] | None) -> object:
    return access.me(runtime(request).meta, caller(request))


def _public_workspaces(request: Request, _: dict[str, Any] | None) -> object:
    project = caller(request).project(project_id_of(request))
    meta = runtime(request).meta
    return [access.workspace_json(w) for w in meta.list_workspaces(project.id) if w.is_visible]


def _metadata_index(request: Request, _: dict[str, Any] | None) -> object:
    return access.metadata_index(runtime(request).meta, caller(request))


def routes() -> list[Route]:
    out = []
    for path, handler in (
        ("/api/app/me", _me),
        ("/api/app/projects/{project_id}/workspaces/public", _public_workspaces),
        ("/api/app/projects/metadata/index", _metadata_index),
    ):
        endpoint = app_route(handler)
        out += [Route(path, endpoint, methods=["GET"]), Route(path + "/", endpoint, methods=["GET"])]
    return out
