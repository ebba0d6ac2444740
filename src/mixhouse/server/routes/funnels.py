"""Funnels under ``/api/query/…`` and the ``/api/2.0/…`` alias, GET or POST (spec §4.8): ``/funnels`` runs a saved
funnel, ``/funnels/list`` lists the project's saved funnels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from mixhouse.core.timeutil import computed_at
from mixhouse.meta.records import Project
from mixhouse.server.routes.query_endpoint import Handler, query_routes
from mixhouse.services import funnels
from mixhouse.services.runtime import Runtime


def _funnel(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    query = funnels.parse_query(project, params)

    def call() -> Any:
        definition = funnels.saved_funnel(rt.meta.get_report(project.id, query.funnel_id), query.funnel_id,
                                          project.timezone or "UTC")
        return {"computed_at": computed_at(), **funnels.run_funnel(rt.backend, project, definition, query)}

    return call


def _funnel_list(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    return lambda: funnels.list_funnels(rt.meta.list_reports(project.id, "funnels"))


ENDPOINTS: dict[str, Handler] = {"/funnels": _funnel, "/funnels/list": _funnel_list}


def routes() -> list[Route]:
    return query_routes(ENDPOINTS)
