"""Project webhooks under the App API (``/api/app/projects/{pid}/webhooks/...`` or a pinned workspace's)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError
from mixhouse.meta.webhooks import Webhooks
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import project_scope, scoped_routes
from mixhouse.services import webhooks as service
from mixhouse.services.access import check_writer


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id = project_scope(request)
    hooks = Webhooks(runtime(request).meta, project_id)
    if request.method == "GET":
        return [service.webhook_json(hook) for hook in hooks.all()]
    check_writer(who, project_id)
    created = hooks.create(service.fields(body or {}, creating=True), who.account.id, who.account.name)
    return service.webhook_json(created)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id = project_scope(request)
    check_writer(who, project_id)
    hooks = Webhooks(runtime(request).meta, project_id)
    webhook_id = request.path_params["webhook_id"]
    missing = NotFoundError(f"no webhook {webhook_id} in project {project_id}")
    if request.method == "DELETE":
        if not hooks.delete(webhook_id):
            raise missing
        return None
    updated = hooks.update(webhook_id, service.fields(body or {}, creating=False))
    if updated is None:
        raise missing
    return service.webhook_json(updated)


def _test(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id = project_scope(request)
    check_writer(who, project_id)
    return service.test_delivery(body or {})


def routes() -> list[Route]:
    return scoped_routes([
        ("webhooks/test", _test, ["POST"]),
        ("webhooks/{webhook_id}", _one, ["PATCH", "DELETE"]),
        ("webhooks", _list_or_create, ["GET", "POST"]),
    ])
