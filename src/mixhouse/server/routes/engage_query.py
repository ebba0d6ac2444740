"""Profile query: ``/api/query/engage`` and ``/api/2.0/engage`` (GET and POST, form or JSON body), and profile
aggregates: ``/api/query/engage/stats`` (POST, form or JSON body; ``mixhouse.services.engage_stats``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError
from mixhouse.meta.cohorts import Cohorts
from mixhouse.meta.records import Project
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import json_response, query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services import cohorts as cohort_service
from mixhouse.services import engage_stats
from mixhouse.services.cohort_definition import parse_definition
from mixhouse.services.cohort_members import Membership
from mixhouse.services.engage import EngageRequest, parse_engage_params
from mixhouse.services.runtime import Runtime


def _membership(rt: Runtime, project: Project, engage_request: EngageRequest) -> Membership:
    """Cohort membership as of the request's ``as_of_timestamp`` (today when absent)."""
    as_of = cohort_service.as_of_timestamp(project, engage_request.as_of_timestamp)
    cohorts = Cohorts(rt.meta, project.id)
    return cohort_service.membership(rt.backend, project, rt.profiles.snapshot(project.id), cohorts, as_of)


def _with_members(engage_request: EngageRequest, members: Membership) -> EngageRequest:
    """``engage_request`` with its ``filter_by_cohort`` members filled in."""
    cohort, raw = engage_request.cohort_id, engage_request.raw_cohort
    found = members.cohort(cohort) if cohort is not None else members.of(parse_definition(raw or {}))
    return replace(engage_request, members=frozenset(found))


def _filters_by_cohort(engage_request: EngageRequest) -> bool:
    return engage_request.cohort_id is not None or engage_request.raw_cohort is not None


def _query(rt: Runtime, project: Project, engage_request: EngageRequest) -> dict[str, Any]:
    """The engage answer; with ``filter_by_cohort``, the cohort's members are worked out first (once per paging
    session: later pages read the pinned ids)."""
    if _filters_by_cohort(engage_request) and (engage_request.page == 0 or not engage_request.session_id):
        engage_request = _with_members(engage_request, _membership(rt, project, engage_request))
    return rt.engage.query(project, engage_request)


def _stats(rt: Runtime, project: Project, stats_request: engage_stats.StatsRequest) -> dict[str, Any]:
    """The engage/stats answer: cohort members (``filter_by_cohort``, ``segment_by_cohorts``) are worked out once,
    as of ``as_of_timestamp``, then the selected profiles are reduced."""
    selection = stats_request.selection
    segment_members: dict[int, set[str]] | None = None
    if _filters_by_cohort(selection) or stats_request.segments is not None:
        members = _membership(rt, project, selection)
        if _filters_by_cohort(selection):
            selection = _with_members(selection, members)
        if stats_request.segments is not None:
            segment_members = {cohort_id: members.cohort(cohort_id) for cohort_id in stats_request.segments}
    rows = rt.engage.matching_profiles(project, selection)
    return engage_stats.answer(stats_request, list(rows), segment_members)


async def engage_query(request: Request) -> Response:
    try:
        params = await request_params(request)
        project = authenticate(request, params)
        engage_request = parse_engage_params(params)
        body = await run_in_threadpool(_query, runtime(request), project, engage_request)
    except MixhouseError as exc:
        return query_error(exc, full_path(request))
    return json_response(body)


async def engage_stats_query(request: Request) -> Response:
    try:
        params = await request_params(request)
        project = authenticate(request, params)
        stats_request = engage_stats.parse_stats_params(params)
        body = await run_in_threadpool(_stats, runtime(request), project, stats_request)
    except MixhouseError as exc:
        return query_error(exc, full_path(request))
    return json_response(body)


def routes() -> list[Route]:
    paths = ["/api/query/engage", "/api/2.0/engage"]
    stats = [Route(p + "/stats" + suffix, engage_stats_query, methods=["POST"]) for p in paths for suffix in ("", "/")]
    return stats + [Route(p + suffix, engage_query, methods=["GET", "POST"]) for p in paths for suffix in ("", "/")]
