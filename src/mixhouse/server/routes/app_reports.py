"""Saved reports (bookmarks v2) under the App API: ``.../bookmarks`` (``S(...)`` paths, project or pinned workspace)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.dashboards import Dashboards
from mixhouse.meta.reports import Reports
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import data_view, project_scope, scoped_routes
from mixhouse.services import reports as service
from mixhouse.services.access import WRITERS, Caller, check_writer, viewer
from mixhouse.services.custom_properties import with_saved_definitions


def _scope(request: Request, *, write: bool = False) -> tuple[Caller, int, Reports, bool]:
    who, project_id = project_scope(request)
    if write:
        check_writer(who, project_id)
    can_write = who.membership(project_id).role in WRITERS
    saved = Reports(runtime(request).meta, project_id, data_view(request), viewer(who, project_id))
    return who, project_id, saved, can_write


def _timezone(who: Caller, project_id: int) -> str:
    return who.project(project_id).timezone or "UTC"


def _resolver(request: Request, project_id: int) -> service.Resolver:
    """Saved custom properties in the params checked as the definitions they name (the params keep the ids)."""
    meta = runtime(request).meta
    return lambda params: with_saved_definitions(meta, project_id, params)


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    if request.method == "GET":
        _, _, saved, can_write = _scope(request)
        kind = request.query_params.get("type")
        if kind is not None:
            service.report_type(kind)
        ids = service.query_ids(request.query_params.get("ids"), "ids")
        return [service.bookmark_json(report, can_write=can_write) for report in saved.all(kind, ids)]
    who, project_id, saved, _ = _scope(request, write=True)
    created = saved.create(service.fields(body or {}, _timezone(who, project_id),
                                          resolve=_resolver(request, project_id)), service.actor(who))
    return service.bookmark_json(created, can_write=True)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    report_id = int(request.path_params["report_id"])
    who, project_id, saved, can_write = _scope(request, write=request.method != "GET")
    current = saved.get(report_id)
    if current is None:
        raise NotFoundError(f"no report {report_id} in project {project_id}")
    if request.method == "GET":
        return service.bookmark_json(current, can_write=can_write)
    if request.method == "DELETE":
        saved.delete_many([report_id])
        return None
    changes = service.fields(body or {}, _timezone(who, project_id), current_type=current.type,
                             resolve=_resolver(request, project_id))
    return service.bookmark_json(saved.update(report_id, changes, service.actor(who)), can_write=True)


def _bulk_delete(request: Request, body: dict[str, Any] | None) -> object:
    _, _, saved, _ = _scope(request, write=True)
    saved.delete_many(service.id_list((body or {}).get("bookmark_ids"), "bookmark_ids"))
    return None


def _bulk_update(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, saved, _ = _scope(request, write=True)
    entries = (body or {}).get("bookmarks")
    if not isinstance(entries, list) or not entries:
        raise ValidationError("bookmarks must be a non-empty list of {\"id\", ...changes}")
    current = {report.id: report for report in saved.all()}
    changes = []
    for entry in entries:
        report_id = service.whole_id(entry.get("id") if isinstance(entry, dict) else None, "id")
        if report_id not in current:
            raise NotFoundError(f"no report {report_id} in project {project_id}")
        changes.append((report_id, service.fields(entry, _timezone(who, project_id),
                                                  current_type=current[report_id].type,
                                                  resolve=_resolver(request, project_id))))
    saved.update_many(changes, service.actor(who))
    return None


def _history(request: Request, _body: dict[str, Any] | None) -> object:
    _, _, saved, _ = _scope(request)
    before, size = service.history_page(dict(request.query_params))
    entries = saved.history(int(request.path_params["report_id"]), before, size + 1)
    return service.history_json(entries, size)


def _linked_dashboards(request: Request, _body: dict[str, Any] | None) -> object:
    _, project_id = project_scope(request)
    return Dashboards(runtime(request).meta, project_id).dashboards_linking(int(request.path_params["report_id"]))


def routes() -> list[Route]:
    return scoped_routes([
        ("bookmarks/bulk-delete", _bulk_delete, ["POST"]),
        ("bookmarks/bulk-update", _bulk_update, ["POST"]),
        ("bookmarks/{report_id:int}/history", _history, ["GET"]),
        ("bookmarks/{report_id:int}/linked-dashboard-ids", _linked_dashboards, ["GET"]),
        ("bookmarks/{report_id:int}", _one, ["GET", "PATCH", "DELETE"]),
        ("bookmarks", _list_or_create, ["GET", "POST"]),
    ])
