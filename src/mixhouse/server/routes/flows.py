"""Flows under ``/api/query/arb_funnels`` and ``/api/2.0/arb_funnels``: POST flow params (``{"bookmark": {...},
"project_id", "query_type"}``, what ``query_flow`` sends) or GET a saved flows report by ``bookmark_id``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.params import bookmark_param, parse_whole, text_param
from mixhouse.server.routes.query_endpoint import query_routes
from mixhouse.services import flows
from mixhouse.services.cohorts import cohort_members as _cohorts
from mixhouse.services.custom_properties import with_saved_definitions
from mixhouse.services.flows_custom_properties import with_custom_property_ids
from mixhouse.services.insights_audience import Profiles
from mixhouse.services.runtime import Runtime


def _profiles(rt: Runtime, project: Project) -> Profiles:
    """The project's user profiles, read only when a flow filters or segments on them."""
    return lambda: rt.profiles.snapshot(project.id)


def _parsed(rt: Runtime, project: Project, params: Any) -> flows.FlowQuery:
    """Flow params read, with saved custom properties (``customPropertyId``, a step filter's ``{"id": N}``) in
    place of their definitions."""
    resolved = with_saved_definitions(rt.meta, project.id, with_custom_property_ids(params))
    return flows.parse_flow(resolved, project.timezone or "UTC")


def _arb_funnels(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    query_type = text_param(params, "query_type") or "flows_sankey"
    if query_type not in flows.QUERY_TYPES:
        raise ValidationError(f"query_type must be one of {', '.join(flows.QUERY_TYPES)}")
    if params.get("bookmark") not in (None, ""):
        query = _parsed(rt, project, bookmark_param(params["bookmark"]))
        return lambda: flows.run_flow(rt.backend, project, query, query_type, _cohorts(rt, project),
                                      _profiles(rt, project))
    if params.get("bookmark_id") in (None, ""):
        raise ValidationError("send flow params in bookmark, or a saved flows report's bookmark_id")
    bookmark_id = parse_whole(params.get("bookmark_id"), "bookmark_id", low=1, high=2**63 - 1, default=0)

    def call() -> Any:
        report = rt.meta.get_report(project.id, bookmark_id)
        if report is None:
            raise NotFoundError(f"no report with id {bookmark_id}", details={"bookmark_id": bookmark_id})
        if report.type != "flows":
            raise ValidationError(f"report {bookmark_id} is a {report.type} report, not a flows report")
        return flows.run_flow(rt.backend, project, _parsed(rt, project, report.params), query_type,
                              _cohorts(rt, project), _profiles(rt, project))

    return call


def routes() -> list[Route]:
    return query_routes({"/arb_funnels": _arb_funnels})
