"""Discovery endpoints of the Query API (spec §4.6, §4.7), under ``/api/query/…`` and the ``/api/2.0/…`` alias.

``/events/names``, ``/events/top``, ``/events/properties/top`` and ``/events/properties/values``: GET or POST.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from mixhouse.meta.records import Project
from mixhouse.server.routes.query_endpoint import Handler, query_routes
from mixhouse.services import discovery
from mixhouse.services.runtime import Runtime

#: Builds the blocking call that answers one endpoint from the request parameters (parsing happens up front).


def _event_names(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    discovery.parse_type(params.get("type"))
    limit = discovery.parse_limit(params.get("limit"), 255)
    dates = discovery.parse_window(project, params.get("from_date"), params.get("to_date"))
    return lambda: discovery.event_names(rt.backend, project, dates, limit)


def _top_properties(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    event = discovery.required_text(params, "event")
    limit = discovery.parse_limit(params.get("limit"), 10)
    dates = discovery.parse_window(project, params.get("from_date"), params.get("to_date"))
    return lambda: discovery.top_properties(rt.backend, project, dates, event, limit)


def _property_values(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    name = discovery.required_text(params, "name")
    event = discovery.optional_text(params, "event")
    limit = discovery.parse_limit(params.get("limit"), 255)
    dates = discovery.parse_window(project, params.get("from_date"), params.get("to_date"))
    return lambda: discovery.property_values(rt.backend, project, dates, name, event, limit)


def _top_events(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    kind = discovery.parse_type(params.get("type"))
    limit = discovery.parse_limit(params.get("limit"), 100)
    return lambda: discovery.top_events(rt.backend, project, kind, limit)


ENDPOINTS: dict[str, Handler] = {
    "/events/names": _event_names,
    "/events/top": _top_events,
    "/events/properties/top": _top_properties,
    "/events/properties/values": _property_values,
}


def routes() -> list[Route]:
    return query_routes(ENDPOINTS)
