"""Cohorts under the App API (``.../cohorts``, ``S(...)`` paths) and ``/api/query/cohorts/list``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.cohorts import Cohorts
from mixhouse.meta.records import Project
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import data_view, project_scope, scoped_routes
from mixhouse.server.routes.query_endpoint import query_routes
from mixhouse.services import cohorts as service
from mixhouse.services import reports
from mixhouse.services.access import check_writer, viewer
from mixhouse.services.cohort_members import Membership
from mixhouse.services.runtime import Runtime


def _scope(request: Request, *, write: bool = False) -> tuple[Any, Project, Cohorts]:
    who, project_id = project_scope(request)
    if write:
        check_writer(who, project_id)
    return who, who.project(project_id), Cohorts(runtime(request).meta, project_id, data_view(request),
                                                 viewer(who, project_id))


def _membership(rt: Runtime, project: Project, cohorts: Cohorts, as_of: str | None = None) -> Membership:
    return service.membership(rt.backend, project, rt.profiles.snapshot(project.id), cohorts,
                              service.as_of_date(project, as_of))


def _answer(request: Request, project: Project, cohorts: Cohorts, cohort_id: int) -> dict[str, Any]:
    found = cohorts.get(cohort_id)
    if found is None:
        raise NotFoundError(f"no cohort {cohort_id} in project {project.id}")
    members = _membership(runtime(request), project, cohorts, request.query_params.get("as_of"))
    return service.cohort_json(found, len(members.cohort(cohort_id)))


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    if request.method == "GET":
        _, project, cohorts = _scope(request)
        ids = reports.query_ids(request.query_params.get("ids"), "ids")
        found = cohorts.all(ids)
        group = request.query_params.get("data_group_id")
        if group is not None:
            found = [cohort for cohort in found if cohort.data_group_id == (group or None)]
        members = _membership(runtime(request), project, cohorts)
        return service.counted(found, members, service.cohort_json)
    who, project, cohorts = _scope(request, write=True)
    created = cohorts.create(service.fields(body or {}, creating=True), reports.actor(who), service.check_graph)
    return _answer(request, project, cohorts, created.id)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    cohort_id = int(request.path_params["cohort_id"])
    _, project, cohorts = _scope(request, write=request.method != "GET")
    if request.method == "GET":
        return _answer(request, project, cohorts, cohort_id)
    if cohorts.get(cohort_id) is None:
        raise NotFoundError(f"no cohort {cohort_id} in project {project.id}")
    if request.method == "DELETE":
        cohorts.delete_many([cohort_id], service.check_graph)
        return None
    _update(cohorts, [(cohort_id, body or {})])
    return _answer(request, project, cohorts, cohort_id)


def _update(cohorts: Cohorts, entries: list[tuple[int, dict[str, Any]]]) -> None:
    cohorts.update_many([(cohort_id, service.fields(body, creating=False)) for cohort_id, body in entries],
                        service.check_graph)


def _bulk_delete(request: Request, body: dict[str, Any] | None) -> object:
    _, _, cohorts = _scope(request, write=True)
    cohorts.delete_many(reports.id_list((body or {}).get("cohort_ids"), "cohort_ids"), service.check_graph)
    return None


def _bulk_update(request: Request, body: dict[str, Any] | None) -> object:
    _, _, cohorts = _scope(request, write=True)
    entries = (body or {}).get("cohorts")
    if not isinstance(entries, list) or not entries:
        raise ValidationError("cohorts must be a non-empty list of {\"id\", ...changes}")
    _update(cohorts, [(reports.whole_id(entry.get("id") if isinstance(entry, dict) else None, "id"), entry)
                      for entry in entries])
    return None


def _cohorts_list(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    def call() -> Any:
        cohorts = Cohorts(rt.meta, project.id)
        return service.counted(cohorts.all(), _membership(rt, project, cohorts), service.list_json)

    return call


def routes() -> list[Route]:
    return scoped_routes([
        ("cohorts/bulk-delete", _bulk_delete, ["POST"]),
        ("cohorts/bulk-update", _bulk_update, ["POST"]),
        ("cohorts/{cohort_id:int}", _one, ["GET", "PATCH", "DELETE"]),
        ("cohorts", _list_or_create, ["GET", "POST"]),
    ]) + query_routes({"/cohorts/list": _cohorts_list})
