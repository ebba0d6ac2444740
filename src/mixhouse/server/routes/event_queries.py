"""Event-count endpoints of the Query API under ``/api/query/…`` and the ``/api/2.0/…`` alias, GET or POST:
``/events`` (§4.5), ``/events/properties`` (§4.7), ``/retention`` and ``/retention/addiction`` (§4.9), and the
activity feed ``/stream/query`` and ``/stream/bookmark`` (§4.12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import ValidationError
from mixhouse.ingest.identity import IdentityState
from mixhouse.meta.records import Project
from mixhouse.query.timebuckets import parse_unit
from mixhouse.query.where import compile_event_where
from mixhouse.server.routes.query_endpoint import Handler, query_routes
from mixhouse.services import activity, retention
from mixhouse.services import event_queries as eq
from mixhouse.services.runtime import Runtime

#: Builds the blocking call that answers one endpoint from the request parameters (parsing happens up front).


def _csv_wanted(params: dict[str, Any]) -> bool:
    fmt = str(params.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise ValidationError("format must be json or csv")
    return fmt == "csv"


def _event_counts(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    events = eq.parse_string_list(params.get("event"), "event")
    unit = parse_unit(params.get("unit"))
    kind = eq.parse_type(params.get("type"), unit)
    window = eq.resolve_window(project, params, unit)
    return lambda: eq.event_counts(rt.backend, project, events, kind, unit, window)


def _property_counts(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    event = eq.required_text(params, "event")
    name = eq.required_text(params, "name")
    values = None if params.get("values") in (None, "") else eq.parse_string_list(params["values"], "values")
    unit = parse_unit(params.get("unit"))
    kind = eq.parse_type(params.get("type"), unit)
    limit = eq.parse_limit(params.get("limit"), 255)
    window = eq.resolve_window(project, params, unit)
    return lambda: eq.property_counts(rt.backend, project, event, name, values, kind, unit, window, limit)


def _frequency(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
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
    return lambda: eq.frequency(rt.backend, project, dates, unit, addiction_unit, events, where)


def _activity(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    ids = eq.parse_string_list(params.get("distinct_ids"), "distinct_ids")
    if len(ids) > activity.MAX_IDS:
        raise ValidationError(f"at most {activity.MAX_IDS} distinct_ids per request")
    dates = eq.parse_dates(project, params)
    return lambda: _json_bytes(activity.stream_query(rt.backend, _identity(rt, project), project, ids, dates))


def _retention(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    query = retention.parse_query(project, params)
    return lambda: retention.retention(rt.backend, project, query)


def _activity_page(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    request = activity.parse_feed_request(project, params)
    return lambda: _json_bytes(activity.stream_bookmark(rt.backend, _identity(rt, project), project, request))


def _identity(rt: Runtime, project: Project) -> IdentityState:
    """The project's identity state (loaded from storage on first use; call it on the worker thread)."""
    return rt.identities.state(project.id, project.identity_mode)


def _json_bytes(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _with_csv(handler: Handler) -> Handler:
    """Offer ``format=csv``: the format is checked with the other parameters, before any work."""

    def handle(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
        as_csv = _csv_wanted(params)
        call = handler(rt, project, params)
        if not as_csv:
            return call
        return lambda: Response(eq.series_csv(call()), media_type="text/csv; charset=utf-8")

    return handle


ENDPOINTS: dict[str, Handler] = {
    "/events": _with_csv(_event_counts),
    "/events/properties": _with_csv(_property_counts),
    "/retention": _retention,
    "/retention/addiction": _frequency,
    "/stream/query": _activity,
    "/stream/bookmark": _activity_page,
}


def routes() -> list[Route]:
    return query_routes(ENDPOINTS)
