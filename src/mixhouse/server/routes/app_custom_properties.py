"""Saved custom properties under the App API, at ``/api/app/projects/{pid}/custom_properties/...`` and, for a pinned
workspace, ``/api/app/workspaces/{wid}/custom_properties/...`` (a custom property belongs to the workspace's
project). ``GET``/``POST custom_properties/``, ``GET``/``PUT``/``DELETE custom_properties/{id}/`` and
``POST custom_properties/validate/``; what is checked is in ``services/custom_properties.py``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError
from mixhouse.meta.custom_properties import CustomProperties
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import project_scope, scoped_routes
from mixhouse.services import custom_properties as service
from mixhouse.services import reports
from mixhouse.services.access import Caller, check_writer, viewer


def _scope(request: Request, *, write: bool) -> tuple[Caller, int, CustomProperties]:
    who, project_id = project_scope(request)
    if write:
        check_writer(who, project_id)
    return who, project_id, CustomProperties(runtime(request).meta, project_id, viewer(who, project_id))


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    who, _, saved = _scope(request, write=request.method != "GET")
    if request.method == "GET":
        return [service.custom_property_json(item) for item in saved.all()]
    created = saved.create(service.definition_fields(body or {}), reports.actor(who))
    return service.custom_property_json(created)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    _, project_id, saved = _scope(request, write=request.method != "GET")
    raw_id = request.path_params["property_id"]
    missing = NotFoundError(f"no custom property {raw_id if raw_id.isdigit() else repr(raw_id)} in project "
                            f"{project_id}")
    if not raw_id.isdigit():  # ids are whole numbers: any other path segment names no custom property
        raise missing
    property_id = int(raw_id)
    found = saved.get(property_id)
    if found is None:
        raise missing
    if request.method == "GET":
        return service.custom_property_json(found)
    if request.method == "DELETE":
        saved.delete(property_id)
        return None  # 204
    return service.custom_property_json(saved.update(property_id, service.definition_fields(body or {}, found)))


def _validate(request: Request, body: dict[str, Any] | None) -> object:
    project_scope(request)  # any member may check a definition: nothing is written
    return service.validation_json(body or {})


def routes() -> list[Route]:
    return scoped_routes([
        ("custom_properties/validate", _validate, ["POST"]),
        ("custom_properties/{property_id}", _one, ["GET", "PUT", "DELETE"]),
        ("custom_properties", _list_or_create, ["GET", "POST"]),
    ])
