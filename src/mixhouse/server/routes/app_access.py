"""App API access routes: ``/api/app/me``, ``/api/app/projects/{pid}/workspaces/public`` and
``/api/app/projects/metadata/index`` (service account Basic auth; App envelope and error shape)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import AuthenticationError, MixhouseError, ValidationError
from mixhouse.server.auth import basic_credentials
from mixhouse.server.context import runtime
from mixhouse.server.responses import app_error, app_ok
from mixhouse.services import access


def _caller(request: Request) -> access.Caller:
    credentials = basic_credentials(request.headers)
    if credentials is None:
        raise AuthenticationError("Invalid credentials: the App API needs HTTP Basic authentication")
    return access.authenticate(runtime(request).meta, credentials.username, credentials.password)


def _project_id(request: Request) -> int:
    raw = request.path_params["project_id"]
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"project id must be an integer, got {raw!r}") from None


def _app_route(handler: Callable[[Request], object]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return app_ok(await run_in_threadpool(handler, request))  # metadata reads block
        except MixhouseError as exc:
            return app_error(exc)

    return endpoint


def _me(request: Request) -> object:
    return access.me(runtime(request).meta, _caller(request))


def _public_workspaces(request: Request) -> object:
    caller = _caller(request)
    project = caller.project(_project_id(request))
    meta = runtime(request).meta
    return [access.workspace_json(w) for w in meta.list_workspaces(project.id) if w.is_visible]


def _metadata_index(request: Request) -> object:
    return access.metadata_index(runtime(request).meta, _caller(request))


def routes() -> list[Route]:
    out = []
    for path, handler in (
        ("/api/app/me", _me),
        ("/api/app/projects/{project_id}/workspaces/public", _public_workspaces),
        ("/api/app/projects/metadata/index", _metadata_index),
    ):
        endpoint = _app_route(handler)
        out += [Route(path, endpoint, methods=["GET"]), Route(path + "/", endpoint, methods=["GET"])]
    return out
