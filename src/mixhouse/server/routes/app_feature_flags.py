"""Feature flags under the App API: ``/api/app/projects/{pid}/workspaces/{wid}/feature-flags/...`` (the client
library's ``R(...)``: project and workspace both in the path) and ``/api/app/projects/{pid}/feature-flags/limits/``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError
from mixhouse.meta.feature_flags import Actor, FeatureFlags, Flag
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import Handler, app_route, caller, project_id_of
from mixhouse.services import feature_flags as service
from mixhouse.services.access import WRITERS, Caller, check_writer

#: Where a project's flags live (project and workspace in the path).
PREFIX = "/api/app/projects/{project_id}/workspaces/{workspace_id:int}/"


class _Scope:
    """The caller, the project and workspace the path names (403 for a project it is not a member of, 404 for
    a workspace of another project), and the project's flags."""

    def __init__(self, request: Request) -> None:
        self.who: Caller = caller(request)
        self.project_id = project_id_of(request)
        self.role = self.who.membership(self.project_id).role
        self.workspace_id: int = request.path_params["workspace_id"]
        workspace = runtime(request).meta.get_workspace(self.workspace_id)
        if workspace is None or workspace.project_id != self.project_id:
            raise NotFoundError(f"no workspace {self.workspace_id} in project {self.project_id}")
        self.flags = FeatureFlags(runtime(request).meta, self.project_id)
        self.limit = runtime(request).settings.feature_flag_limit
        self.flag_id: str | None = request.path_params.get("flag_id")

    def writer(self) -> Actor:
        check_writer(self.who, self.project_id)
        return Actor(self.who.account.id, self.who.account.name)

    def missing(self) -> NotFoundError:
        return NotFoundError(f"no feature flag {self.flag_id} in project {self.project_id}")

    def json(self, flag: Flag | None) -> dict[str, Any]:
        if flag is None:
            raise self.missing()
        return service.flag_json(flag, can_edit=self.role in WRITERS)

    def existing(self) -> Flag:
        flag = self.flags.get(self.flag_id or "")
        if flag is None:
            raise self.missing()
        return flag

    def found(self, flag: Flag | None) -> None:
        """Nothing (a 204), or a 404 when the flag was not there."""
        if flag is None:
            raise self.missing()


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    if request.method == "GET":
        archived = request.query_params.get("include_archived", "").lower() in ("1", "true")
        return [scope.json(flag) for flag in scope.flags.all(include_archived=archived)]
    actor = scope.writer()
    fields = service.fields(body or {}, replacing=False)
    return scope.json(scope.flags.create(fields, actor, workspace_id=scope.workspace_id, limit=scope.limit))


def _one(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    if request.method == "GET":
        return scope.json(scope.existing())
    actor = scope.writer()
    assert scope.flag_id is not None
    if request.method == "DELETE":
        if not scope.flags.delete(scope.flag_id):
            raise scope.missing()
        return None
    fields = service.fields(body or {}, replacing=True)
    return scope.json(scope.flags.replace(scope.flag_id, fields, actor, limit=scope.limit))


def _archive(request: Request, _: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    actor = scope.writer()
    assert scope.flag_id is not None
    if request.method == "POST":
        scope.found(scope.flags.archive(scope.flag_id, actor))
        return None
    return scope.json(scope.flags.restore(scope.flag_id, actor, limit=scope.limit))


def _duplicate(request: Request, _: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    actor = scope.writer()
    flag = scope.existing()
    fields = service.copy_fields(flag, scope.flags.free_key(flag.key))
    return scope.json(scope.flags.create(fields, actor, workspace_id=scope.workspace_id, limit=scope.limit))


def _test_users(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    actor = scope.writer()
    flag = scope.existing()
    scope.found(scope.flags.set_ruleset(flag.id, service.with_test_users(flag, body or {}), actor, "test_users"))
    return None


def _history(request: Request, _: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    flag = scope.existing()
    offset, limit = service.history_page(dict(request.query_params))
    return service.history_json(*scope.flags.history(flag.id, offset=offset, limit=limit))


def _limits(request: Request, _: dict[str, Any] | None) -> object:
    project_id = project_id_of(request)
    caller(request).project(project_id)
    rt = runtime(request)
    return service.limits_json(rt.settings.feature_flag_limit, FeatureFlags(rt.meta, project_id).usage())


def _routes(entries: list[tuple[str, Handler, list[str]]]) -> list[Route]:
    out: list[Route] = []
    for path, handler, methods in entries:
        endpoint = app_route(handler, with_body=True)
        out += [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]
    return out


def routes() -> list[Route]:
    flags = PREFIX + "feature-flags"
    return _routes([
        ("/api/app/projects/{project_id}/feature-flags/limits", _limits, ["GET"]),
        (flags + "/{flag_id}/archive", _archive, ["POST", "DELETE"]),
        (flags + "/{flag_id}/duplicate", _duplicate, ["POST"]),
        (flags + "/{flag_id}/test-users", _test_users, ["PUT"]),
        (flags + "/{flag_id}/history", _history, ["GET"]),
        (flags + "/{flag_id}", _one, ["GET", "PUT", "DELETE"]),
        (flags, _list_or_create, ["GET", "POST"]),
    ])
