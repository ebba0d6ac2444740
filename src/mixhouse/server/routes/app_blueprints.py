"""Dashboard blueprints (built-in templates), root-cause-analysis dashboards and a dashboard's ERF metrics, under
the App API's ``.../dashboards/...`` (``S(...)`` paths)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from mixhouse.core.dates import DateRange
from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.cohorts import Cohorts
from mixhouse.meta.dashboards import CopyReport, Dashboard, Dashboards, FinishCard, NewContent, NewReport, NewText
from mixhouse.meta.reports import Reports
from mixhouse.server.context import runtime
from mixhouse.server.routes.app_access import data_view, project_scope, scoped_routes
from mixhouse.services import blueprints, discovery, reports
from mixhouse.services import dashboards as service
from mixhouse.services.access import Caller, check_writer, viewer
from mixhouse.services.cohorts import today


def _writer(request: Request) -> tuple[Caller, int, Dashboards]:
    who, project_id = project_scope(request)
    check_writer(who, project_id)
    return who, project_id, Dashboards(runtime(request).meta, project_id, who.account.id, data_view(request),
                                       viewer(who, project_id))


def _new_report(name: str, kind: str, params: dict[str, Any], timezone: str) -> NewReport:
    return NewReport(reports.fields({"name": name[:255], "type": kind, "params": params}, timezone))


def _in_pairs(contents: list[NewContent]) -> list[list[NewContent]]:
    return [contents[n:n + 2] for n in range(0, len(contents), 2)]


def _templates(request: Request, _body: dict[str, Any] | None) -> object:
    project_scope(request)
    include = request.query_params.get("include_reports") in ("true", "1")
    return {"templates": {key: blueprints.template_json(item, include_reports=include)
                          for key, item in blueprints.TEMPLATES.items()}}


def _create(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, boards = _writer(request)
    template = blueprints.template((body or {}).get("template_type"))
    project = who.project(project_id)
    timezone = project.timezone or "UTC"
    last = today(project)
    events = discovery.event_names(runtime(request).backend, project, DateRange(last - timedelta(days=29), last), 20)
    variables = blueprints.default_variables(events)
    header = NewText(f"## {template.title}\n{template.description}")
    made = [_new_report(item.name.format(**variables), item.type, item.build(variables), timezone)
            for item in template.reports]
    board = boards.create({"title": template.title, "description": template.description},
                          [[header], *_in_pairs(list(made))], reports.actor(who), generation_type="Blueprint",
                          template_type=template.key)
    placeholders: dict[str, list[int]] = {}
    for item, report in zip(template.reports, board.reports, strict=True):
        if item.cohort is not None:
            placeholders.setdefault(item.cohort, []).append(report.id)
    boards.set_blueprint_variables(board.id, {"variables": variables, "placeholders": placeholders,
                                              "cohorts": {}, "finished": False})
    return service.dashboard_json(boards.get(board.id), can_write=True)


def _blueprint(board: Dashboard) -> dict[str, Any]:
    if board.generation_type != "Blueprint" or board.blueprint_variables is None:
        raise ValidationError(f"dashboard {board.id} was not made from a blueprint")
    return board.blueprint_variables


def _config(request: Request, _body: dict[str, Any] | None) -> object:
    who, project_id = project_scope(request)
    board = Dashboards(runtime(request).meta, project_id, who.account.id).get(int(request.path_params["dashboard_id"]))
    state = _blueprint(board)
    by_id = {report.id: report for report in board.reports}
    texts = {card.id: card for card in board.cards if card.kind == "text"}
    cards: list[dict[str, Any]] = []
    for row_id in board.layout["order"]:
        for cell in board.layout["rows"][row_id]["cells"]:
            if cell["content_type"] == "report" and cell["content_id"] in by_id:
                report = by_id[cell["content_id"]]
                cards.append({"type": "report", "bookmark_id": report.id, "name": report.name,
                              "params": report.params})
            elif cell["content_type"] == "text" and cell["content_id"] in texts:
                cards.append({"type": "text", "text_card_id": cell["content_id"],
                              "markdown": texts[cell["content_id"]].markdown})
    return {"template_type": board.template_type, "variables": state["variables"],
            "cohort_placeholders": {name: state["cohorts"].get(name) for name in state["placeholders"]},
            "finished": state["finished"], "cards": cards}


def _cohorts(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, boards = _writer(request)
    entries = (body or {}).get("cohorts")
    if not isinstance(entries, list) or not entries:
        raise ValidationError("cohorts must be a non-empty list of {\"placeholder\", \"cohort_id\"}")
    known = {name for item in blueprints.TEMPLATES.values() for name in item.cohort_placeholders}
    cohorts = Cohorts(runtime(request).meta, project_id)
    mapping: dict[str, tuple[int, str]] = {}
    for entry in entries:
        placeholder = entry.get("placeholder") if isinstance(entry, dict) else None
        if not isinstance(placeholder, str) or placeholder not in known:
            raise ValidationError(f"unknown cohort placeholder {placeholder!r} (one of {', '.join(sorted(known))})")
        cohort_id = reports.whole_id(entry.get("cohort_id"), "cohort_id")
        found = cohorts.get(cohort_id)
        if found is None:
            raise NotFoundError(f"no cohort {cohort_id} in project {project_id}")
        mapping[str(placeholder)] = (cohort_id, found.name)
    saved = Reports(runtime(request).meta, project_id)
    actor = reports.actor(who)
    for board in boards.all():
        if board.generation_type != "Blueprint" or not board.blueprint_variables:
            continue
        state = board.blueprint_variables
        changes = []
        for placeholder, (cohort_id, name) in mapping.items():
            for report_id in state["placeholders"].get(placeholder, []):
                report = saved.get(report_id)
                if report is not None:
                    changes.append((report_id, {"params": blueprints.with_cohort(report.params, cohort_id, name)}))
            if placeholder in state["placeholders"]:
                state["cohorts"][placeholder] = cohort_id
        if changes:
            saved.update_many(changes, actor)
            boards.set_blueprint_variables(board.id, state)
    return None


def _finish(request: Request, body: dict[str, Any] | None) -> object:
    who, _, boards = _writer(request)
    body = body or {}
    dashboard_id = reports.whole_id(body.get("dashboard_id"), "dashboard_id")
    state = _blueprint(boards.get(dashboard_id))
    cards = body.get("cards")
    if not isinstance(cards, list) or not cards:
        raise ValidationError("cards must be a non-empty list of {\"type\": report|text, ...}")
    chosen: list[FinishCard] = []
    for card in cards:  # every card is checked before anything is written
        kind = card.get("type") if isinstance(card, dict) else None
        if kind == "report":
            chosen.append(FinishCard("report", reports.whole_id(card.get("bookmark_id"), "bookmark_id")))
        elif kind == "text":
            card_id = card.get("text_card_id")
            if card_id is not None and type(card_id) is not int:
                raise ValidationError("text_card_id must be an integer id")
            text = None if card.get("markdown") is None else service.markdown(card["markdown"])
            chosen.append(FinishCard("text", card_id, text))
        else:
            raise ValidationError("a card's type is report or text")
    board = boards.finish(dashboard_id, chosen, {**state, "finished": True}, reports.actor(who))
    return service.dashboard_json(board, can_write=True)


def _rca(request: Request, body: dict[str, Any] | None) -> object:
    who, project_id, boards = _writer(request)
    body = body or {}
    source_id = reports.whole_id(body.get("rca_source_id"), "rca_source_id")
    source = Reports(runtime(request).meta, project_id).get(source_id)
    if source is None:
        raise NotFoundError(f"no report {source_id} in project {project_id}")
    data = body.get("rca_source_data") or {}
    if not isinstance(data, dict):
        raise ValidationError("rca_source_data must be an object")
    event, math = blueprints.metric_of(source.type, source.params)
    timezone = who.project(project_id).timezone or "UTC"
    made: list[NewContent] = [_new_report(name, "insights", params, timezone)
                              for name, params in blueprints.rca_reports(event, math, data.get("date"))]
    intro = NewText(f"## Root cause analysis: {source.name}\nWhat moved {event}: the metric per day, then split by "
                    "browser, operating system, country and city.")
    board = boards.create({"title": f"Root cause analysis: {source.name}"[:255]},
                          [[intro], [CopyReport(source_id)], *_in_pairs(made)], reports.actor(who),
                          generation_type="RCA")
    return service.dashboard_json(board, can_write=True)


def _erf(request: Request, _body: dict[str, Any] | None) -> object:
    who, project_id = project_scope(request)
    board = Dashboards(runtime(request).meta, project_id, who.account.id).get(int(request.path_params["dashboard_id"]))
    metrics = []
    for report in board.reports:
        try:
            event, math = blueprints.metric_of(report.type, report.params)
        except ValidationError:
            continue
        metrics.append({"bookmark_id": report.id, "name": report.name, "type": report.type, "event": event,
                        "math": math})
    return {"dashboard_id": board.id, "metrics": metrics}


def routes() -> list[Route]:
    return scoped_routes([
        ("dashboards/blueprints-all", _templates, ["GET"]),
        ("dashboards/blueprints/cohorts", _cohorts, ["PUT"]),
        ("dashboards/blueprints/finish", _finish, ["POST"]),
        ("dashboards/blueprints", _create, ["POST"]),
        ("dashboards/rca", _rca, ["POST"]),
        ("dashboards/{dashboard_id:int}/blueprint-config", _config, ["GET"]),
        ("dashboards/{dashboard_id:int}/erf", _erf, ["GET"]),
    ])
