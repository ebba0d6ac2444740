"""Event-count endpoints of the Query API under ``/api/query/…`` and the ``/api/2.0/…`` alias, GET or POST:
``/events`` (§4.5), ``/events/properties`` (§4.7), ``/retention/addiction`` (§4.9), ``/stream/query`` (§4.12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError, ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.params import api_paths
from mixhouse.query.timebuckets import parse_unit
from mixhouse.query.where import compile_event_where
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services import event_queries as eq
from mixhouse.storage.base import Backend

#: Builds the blocking call that answers one endpoint from the request parameters (parsing happens up front).
Handler = Callable[[Backend, Project, dict[str, Any]], Callable[[], Any]]


def _csv_wanted(params: dict[str, Any]) -> bool:
    fmt = str(params.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    return fmt == "csv"


def _event_counts(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    events = eq.parse_string_list(params.get("event"), "event")
    unit = parse_unit(params.get("unit"))
    kind = eq.parse_type(params.get("type"), unit)
    window = eq.resolve_window(project, params, unit)
    return lambda: eq.event_counts(backend, project, events, kind, unit, window)


def _property_counts(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    event = eq.required_text(params, "event")
    name = eq.required_text(params, "name")
    values = None if params.get("values") in (None, "") else eq.parse_string_list(params["values"], "values")
    unit = parse_unit(params.get("unit"))
    kind = eq.parse_type(params.get("type"), unit)
    limit = eq.parse_limit(params.get("limit"), 255)
    window = eq.resolve_window(project, params, unit)
    return lambda: eq.property_counts(backend, project, event, name, values, kind, unit, window, limit)


def _frequency(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    unit = parse_unit(params.get("unit"), allowed=("day", "week", "month"))
    addiction_unit = parse_unit(params.get("addiction_unit"), default="hour", allowed=("hour", "day"))
    if params.get("on") not in (None, ""):
        raise ValidationError("on is not supported by retention/addiction")
    eq.parse_limit(params.get("limit"), 255)
    events = None
    if params.get("event") not in (None, ""):
        events = eq.parse_string_list(params["event"], "event", allow_bare=True)
    where = None if params.get("where") in (None, "") else str(params["where"])
    dates = eq.parse_dates(project, params)
    if where:  # compile now so a bad expression is a 400 before any work
        compile_event_where(where)
    return lambda: eq.frequency(backend, project, dates, unit, addiction_unit, events, where)


def _activity(backend: Backend, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    ids = eq.parse_string_list(params.get("distinct_ids"), "distinct_ids")
    if len(ids) > eq.MAX_IDS:
        raise ValidationError(f"at most {eq.MAX_IDS} distinct_ids per request")
    dates = eq.parse_dates(project, params)
    return lambda: eq.activity(backend, project, ids, dates)


def _endpoint(handler: Handler, *, csv: bool) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            params = await request_params(request)
            project = authenticate(request, params)
            as_csv = _csv_wanted(params) if csv else False
            call = handler(runtime(request).backend, project, params)
            body = await run_in_threadpool(call)
        except MixhouseError as exc:
            return query_error(exc, full_path(request))
        if as_csv:
            return Response(eq.series_csv(body), media_type="text/csv; charset=utf-8")
        return json_response(body)

    return endpoint


#: path → (handler, whether ``format=csv`` is offered)
ENDPOINTS: dict[str, tuple[Handler, bool]] = {
    "/events": (_event_counts, True),
    "/events/properties": (_property_counts, True),
    "/retention/addiction": (_frequency, False),
    "/stream/query": (_activity, False),
}


def routes() -> list[Route]:
    return [
        Route(full, _endpoint(handler, csv=csv), methods=["GET", "POST"])
        for path, (handler, csv) in ENDPOINTS.items()
        for full in api_paths(path)
    ]
