"""Dashboards under the App API: ``.../dashboards`` (``S(...)`` paths, project or pinned workspace)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.errors import ValidationError
from mixhouse.meta.dashboards import AddRow, CardUpdate, Change, Dashboards, Removal
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import data_view, project_scope, scoped_routes
from mixhouse.services import dashboards as service
from mixhouse.services import reports
from mixhouse.services.access import WRITERS, Caller, check_writer, viewer


def _scope(request: Request, *, write: bool = False) -> tuple[Caller, int, Dashboards, bool]:
    who, project_id = project_scope(request)
    if write:
        check_writer(who, project_id)
    can_write = who.membership(project_id).role in WRITERS
    boards = Dashboards(runtime(request).meta, project_id, who.account.id, data_view(request), viewer(who, project_id))
    return who, project_id, boards, can_write


def _timezone(who: Caller, project_id: int) -> str:
    return who.project(project_id).timezone or "UTC"


def _dashboard_id(request: Request) -> int:
    return int(request.path_params["dashboard_id"])


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    if request.method == "GET":
        _, _, boards, can_write = _scope(request)
        ids = reports.query_ids(request.query_params.get("ids"), "ids")
        return [service.dashboard_json(board, can_write=can_write, with_contents=False)
                for board in boards.all(ids)]
    who, project_id, boards, _ = _scope(request, write=True)
    body = body or {}
    actor = reports.actor(who)
    if body.get("duplicate") is not None:
        source = reports.whole_id(body["duplicate"], "duplicate")
        created = boards.duplicate(source, service.settings(body, creating=False), actor)
    else:
        rows = service.rows(body.get("rows"), _timezone(who, project_id))
        created = boards.create(service.settings(body, creating=True), rows, actor)
    return service.dashboard_json(created, can_write=True)


def _one(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, boards, can_write = _scope(request, write=request.method != "GET")
    dashboard_id = _dashboard_id(request)
    if request.method == "GET":
        return service.dashboard_json(boards.get(dashboard_id), can_write=can_write)
    if request.method == "DELETE":
        boards.delete_many([dashboard_id])
        return None
    body = body or {}
    change: Change | None = None
    if body.get("content") is not None:  # everything is checked before anything is written
        action, kind, content_id, params = service.content_change(body["content"])
        if action == "create":
            change = AddRow([service.new_content(kind, params, _timezone(who, project_id))])
        elif action == "delete":
            change = Removal(str(kind), reports.whole_id(content_id, "content_id"))
        else:
            change = _card_update(kind, reports.whole_id(content_id, "content_id"), params or {})
    board = boards.patch(dashboard_id, service.settings(body, creating=False), body.get("layout"), change,
                         reports.actor(who))
    return service.dashboard_json(board, can_write=True)


def _card_update(kind: Any, card_id: int, params: Any) -> CardUpdate:
    if not isinstance(params, dict):
        raise ValidationError("content_params must be a JSON object")
    if kind == "text":
        return CardUpdate("text", card_id, {"markdown": service.markdown(params.get("markdown"))})
    if kind == "report-link":
        return CardUpdate("report-link", card_id, {"link_type": service.link_type(params.get("type"))})
    raise ValidationError("only text cards and report links can be updated in place")


def _update_card(boards: Dashboards, dashboard_id: int, kind: str, card_id: int, params: dict[str, Any], *,
                 actor: Caller) -> None:
    update = _card_update(kind, card_id, params)
    boards.update_card(dashboard_id, update.card_id, update.kind, update.values, reports.actor(actor))


def _text_card(request: Request, body: dict[str, Any] | None) -> object:
    who, _, boards, _ = _scope(request, write=True)
    _update_card(boards, _dashboard_id(request), "text", int(request.path_params["card_id"]), body or {},
                 actor=who)
    return None


def _report_link(request: Request, body: dict[str, Any] | None) -> object:
    who, _, boards, _ = _scope(request, write=True)
    _update_card(boards, _dashboard_id(request), "report-link", int(request.path_params["card_id"]), body or {},
                 actor=who)
    return None


def _bulk_delete(request: Request, body: dict[str, Any] | None) -> object:
    _, _, boards, _ = _scope(request, write=True)
    boards.delete_many(reports.id_list((body or {}).get("dashboard_ids"), "dashboard_ids"))
    return None


def _favorite(request: Request, _body: dict[str, Any] | None) -> object:
    _, _, boards, _ = _scope(request)  # a favorite is the caller's own: consumers may have them too
    boards.set_favorite(_dashboard_id(request), request.method == "POST")
    return None


def _pin(request: Request, _body: dict[str, Any] | None) -> object:
    _, _, boards, _ = _scope(request, write=True)
    boards.set_pinned(_dashboard_id(request), request.method == "POST")
    return None


def _dashboards_of_report(request: Request, _body: dict[str, Any] | None) -> object:
    _, _, boards, _ = _scope(request)
    return boards.dashboards_showing(int(request.path_params["report_id"]))


def routes() -> list[Route]:
    board = "dashboards/{dashboard_id:int}"
    return scoped_routes([
        ("dashboards/bulk-delete", _bulk_delete, ["POST"]),
        ("dashboards/bookmarks/{report_id:int}/dashboard-ids", _dashboards_of_report, ["GET"]),
        (f"{board}/favorites", _favorite, ["POST", "DELETE"]),
        (f"{board}/pin", _pin, ["POST", "DELETE"]),
        (f"{board}/text-cards/{{card_id:int}}", _text_card, ["PATCH"]),
        (f"{board}/report-links/{{card_id:int}}", _report_link, ["PATCH"]),
        (board, _one, ["GET", "PATCH", "DELETE"]),
        ("dashboards", _list_or_create, ["GET", "POST"]),
    ])
