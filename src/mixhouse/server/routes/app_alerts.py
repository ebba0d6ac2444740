"""Custom alerts under the App API: ``.../alerts/custom/`` (``S(...)`` paths, project or pinned workspace)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError, NotFoundError, ValidationError
from mixhouse.meta.alerts import Alert, Alerts, current_alert, history_entry
from mixhouse.meta.models import REPORT_TYPES
from mixhouse.meta.reports import Reports
from mixhouse.meta.webhooks import Webhooks
from mixhouse.server.context import runtime
from mixhouse.server.responses import app_error
from mixhouse.server.routes.app_access import project_scope, scoped_routes
from mixhouse.services import alert_conditions as conditions
from mixhouse.services import alert_scheduler, chart_svg, screenshots
from mixhouse.services import alerts as service
from mixhouse.services.access import check_writer
from mixhouse.services.reports import actor, id_list


class _Scope:
    """The caller, the project and its alerts, for one request."""

    def __init__(self, request: Request, *, write: bool = False) -> None:
        self.who, self.project_id = project_scope(request)
        if write:
            check_writer(self.who, self.project_id)
        self.rt = runtime(request)
        self.alerts = Alerts(self.rt.meta, self.project_id)
        project = self.who.project(self.project_id)
        self.project_name = project.name
        self.timezone = project.timezone or "UTC"

    def json(self, alerts: list[Alert]) -> list[dict[str, Any]]:
        reports = {r.id: r for r in Reports(self.rt.meta, self.project_id).all(ids={a.report_id for a in alerts})}
        return [service.alert_json(a, reports.get(a.report_id), self.project_name, self.timezone) for a in alerts]

    def fields(self, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        hooks = {hook.id for hook in Webhooks(self.rt.meta, self.project_id).all()}
        return service.fields(body, creating=creating, min_frequency=self.rt.settings.alert_min_frequency_s,
                              webhook_ids=hooks)

    def check_condition(self, report_id: int, condition: Any) -> None:
        """The report must be the project's (404) and able to answer the condition (400)."""
        report = self.rt.meta.get_report(self.project_id, report_id)
        if report is None:
            raise NotFoundError(f"no report {report_id} in project {self.project_id}",
                                details={"bookmark_id": report_id})
        conditions.check_against(conditions.parse(condition), report.type, report.params, self.timezone)


def _alert_id(request: Request) -> int:
    return int(request.path_params["alert_id"])


def _list_or_create(request: Request, body: dict[str, Any] | None) -> object:
    if request.method == "GET":
        scope = _Scope(request)
        raw = request.query_params.get("bookmark_id")
        report_id = None
        if raw not in (None, ""):
            try:
                report_id = int(raw or "")
            except ValueError:
                raise ValidationError("bookmark_id must be an integer id") from None
        return scope.json(scope.alerts.all(report_id))
    scope = _Scope(request, write=True)
    fields = scope.fields(body or {}, creating=True)
    scope.check_condition(fields["report_id"], fields["condition"])
    created = scope.alerts.create(fields, actor(scope.who), limit=scope.rt.settings.alert_limit)
    return scope.json([created])[0]


def _one(request: Request, body: dict[str, Any] | None) -> object:
    alert_id = _alert_id(request)
    scope = _Scope(request, write=request.method != "GET")
    current = scope.alerts.get(alert_id)
    if current is None:
        raise NotFoundError(f"no alert {alert_id} in project {scope.project_id}")
    if request.method == "GET":
        return scope.json([current])[0]
    if request.method == "DELETE":
        scope.alerts.delete_many([alert_id])
        return None
    changes = scope.fields(body or {}, creating=False)
    if "report_id" in changes or "condition" in changes:
        scope.check_condition(changes.get("report_id", current.report_id),
                              changes.get("condition", current.condition))
    return scope.json([scope.alerts.update(alert_id, changes)])[0]


def _bulk_delete(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request, write=True)
    scope.alerts.delete_many(id_list((body or {}).get("alert_ids"), "alert_ids"))
    return {}


def _count(request: Request, _body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    return service.count_json(scope.alerts.count(), scope.rt.settings.alert_limit)


def _history(request: Request, _body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    page = service.history_page(dict(request.query_params))
    entries = scope.alerts.history(_alert_id(request), page.size + 1, before=page.before, after=page.after)
    return service.history_json(entries, page)


def _test(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request, write=True)
    body = body or {}
    fields = scope.fields({**body, "condition": body.get("condition") or {"op": ">=", "value": 0}}, creating=True)
    scope.alerts.check_report(fields["report_id"])
    checked = {**body, "bookmark_id": fields["report_id"], "name": fields["name"],
               "subscriptions": fields["subscriptions"]}
    return alert_scheduler.send_test(scope.rt.alert_context, scope.project_id, checked, scope.rt.alert_stopping)


def _screenshot(request: Request, _body: dict[str, Any] | None) -> object:
    """A signed URL of the chart a check read (``gcs_key`` from the alert's history), for an alert of the project."""
    scope = _Scope(request)
    key = request.query_params.get("gcs_key")
    if not key:
        raise ValidationError("gcs_key is required")
    alert_id, check_id = screenshots.parse_key(key)
    entry = history_entry(scope.rt.meta, alert_id, check_id) if scope.alerts.get(alert_id) is not None else None
    if entry is None or not entry.chart:
        raise NotFoundError(f"no screenshot {key!r} in project {scope.project_id}", details={"gcs_key": key})
    return {"signed_url": screenshots.signed_url(str(request.base_url), key)}


async def screenshot_image(request: Request) -> Response:
    """The chart behind a signed screenshot URL, as SVG; the signature is the only credential (403 otherwise)."""
    key = request.path_params["key"]
    try:
        screenshots.check_signature(key, request.query_params.get("expires"),
                                    request.query_params.get("signature"))
        alert_id, check_id = screenshots.parse_key(key)
        meta = runtime(request).meta
        alert = await run_in_threadpool(current_alert, meta, alert_id)
        entry = await run_in_threadpool(history_entry, meta, alert_id, check_id)
        if alert is None or entry is None or not entry.chart:
            raise NotFoundError(f"no screenshot {key!r}")
    except MixhouseError as exc:
        return app_error(exc)
    try:
        condition = conditions.parse(alert.condition)
        threshold = condition.threshold if condition.kind == "absolute" else None
    except MixhouseError:
        threshold = None
    svg = chart_svg.render(f"{alert.name} — {entry.at:%Y-%m-%d %H:%M} UTC", entry.chart, threshold)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


def _validate_for_bookmark(request: Request, body: dict[str, Any] | None) -> object:
    scope = _Scope(request)
    body = body or {}
    alert_ids = id_list(body.get("alert_ids"), "alert_ids")
    kind = body.get("bookmark_type")
    if kind not in REPORT_TYPES:
        raise ValidationError(f"bookmark_type must be one of {', '.join(REPORT_TYPES)}")
    params = body.get("bookmark_params")
    if not isinstance(params, dict):
        raise ValidationError("bookmark_params must be a JSON object")
    found = {alert.id: alert for alert in scope.alerts.all()}
    missing = [alert_id for alert_id in alert_ids if alert_id not in found]
    if missing:
        raise NotFoundError(f"no alert {missing[0]} in project {scope.project_id}")
    checks = [service.bookmark_validation(found[alert_id], str(kind), params, scope.timezone)
              for alert_id in alert_ids]
    return {"alert_validations": checks, "invalid_count": sum(not item["valid"] for item in checks)}


def routes() -> list[Route]:
    image = Route(screenshots.PATH_PREFIX + "{key:path}", screenshot_image, methods=["GET"])
    return [image, *scoped_routes([
        ("alerts/custom/bulk-delete", _bulk_delete, ["POST"]),
        ("alerts/custom/alert-count", _count, ["GET"]),
        ("alerts/custom/test", _test, ["POST"]),
        ("alerts/custom/screenshot", _screenshot, ["GET"]),
        ("alerts/custom/validate-alerts-for-bookmark", _validate_for_bookmark, ["POST"]),
        ("alerts/custom/{alert_id:int}/history", _history, ["GET"]),
        ("alerts/custom/{alert_id:int}", _one, ["GET", "PATCH", "DELETE"]),
        ("alerts/custom", _list_or_create, ["GET", "POST"]),
    ])]

