"""Profile query: ``/api/query/engage`` and ``/api/2.0/engage`` (GET and POST, form or JSON body)."""

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
from mixhouse.services.cohort_definition import parse_definition
from mixhouse.services.engage import EngageRequest, parse_engage_params
from mixhouse.services.runtime import Runtime


def _query(rt: Runtime, project: Project, engage_request: EngageRequest) -> dict[str, Any]:
    """The engage answer; with ``filter_by_cohort``, the cohort's members are worked out first (once per paging
    session: later pages read the pinned ids)."""
    cohort, raw = engage_request.cohort_id, engage_request.raw_cohort
    if (cohort is not None or raw is not None) and (engage_request.page == 0 or not engage_request.session_id):
        cohorts = Cohorts(rt.meta, project.id)
        as_of = cohort_service.as_of_timestamp(project, engage_request.as_of_timestamp)
        members = cohort_service.membership(rt.backend, project, rt.profiles.snapshot(project.id), cohorts, as_of)
        found = members.cohort(cohort) if cohort is not None else members.of(parse_definition(raw or {}))
        engage_request = replace(engage_request, members=frozenset(found))
    return rt.engage.query(project, engage_request)


async def engage_query(request: Request) -> Response:
    try:
        params = await request_params(request)
        project = authenticate(request, params)
        engage_request = parse_engage_params(params)
        body = await run_in_threadpool(_query, runtime(request), project, engage_request)
    except MixhouseError as exc:
        return query_error(exc, full_path(request))
    return json_response(body)


def routes() -> list[Route]:
    paths = ["/api/query/engage", "/api/2.0/engage"]
    return [Route(p + suffix, engage_query, methods=["GET", "POST"]) for p in paths for suffix in ("", "/")]
