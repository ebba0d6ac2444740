"""Annotations under the App API, at ``/api/app/projects/{pid}/annotations/...`` and, for a pinned workspace,
``/api/app/workspaces/{wid}/annotations/...`` (an annotation belongs to the workspace's project)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.annotations import Annotations
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import project_scope, scoped_routes
from mixhouse.services import annotations as service
from mixhouse.services.access import Caller, check_writer


def _scope(request: Request) -> tuple[Caller, int, Annotations]:
    who, project_id = project_scope(request)
    return who, project_id, Annotations(runtime(request).meta, project_id)


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, notes = _scope(request)
    if request.method == "GET":
        params = request.query_params
        found = notes.find(from_date=service.day(params.get("fromDate"), "fromDate"),
                           to_date=service.day(params.get("toDate"), "toDate"),
                           tag_ids=service.tag_ids(params.get("tags")))
        return [service.annotation_json(note) for note in found]
    check_writer(who, project_id)
    body = body or {}
    user_id = body.get("user_id")
    if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
        raise ValidationError("user_id must be an integer")
    created = notes.create(service.annotation_date(body.get("date")), service.description(body.get("description")),
                           service.tag_ids(body.get("tags")), user_id)
    return service.annotation_json(created)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, notes = _scope(request)
    annotation_id = int(request.path_params["annotation_id"])
    missing = NotFoundError(f"no annotation {annotation_id} in project {project_id}")
    if request.method == "GET":
        found = notes.get(annotation_id)
        if found is None:
            raise missing
        return service.annotation_json(found)
    check_writer(who, project_id)
    if request.method == "DELETE":
        if not notes.delete(annotation_id):
            raise missing
        return None  # 204
    body = body or {}
    if "date" in body:
        raise ValidationError("the annotation date cannot be changed after creation")
    text = service.description(body["description"]) if "description" in body else None
    tags = service.tag_ids(body["tags"]) if "tags" in body else None
    updated = notes.update(annotation_id, text, tags)
    if updated is None:
        raise missing
    return service.annotation_json(updated)


def _tags(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, notes = _scope(request)
    if request.method == "GET":
        return [service.tag_json(tag) for tag in notes.tags()]
    check_writer(who, project_id)
    name = (body or {}).get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ValidationError("a tag needs a name of 1 to 255 characters")
    return service.tag_json(notes.create_tag(name))


def routes() -> list[Route]:
    return scoped_routes([
        ("annotations/tags", _tags, ["GET", "POST"]),
        ("annotations/{annotation_id:int}", _one, ["GET", "PATCH", "DELETE"]),
        ("annotations", _list_or_create, ["GET", "POST"]),
    ])
