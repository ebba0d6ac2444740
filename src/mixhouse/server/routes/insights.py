"""Insights under ``/api/query/insights`` and ``/api/2.0/insights``: POST bookmark params (``{"bookmark": {...},
"project_id", "queryLimits"}``, what the client library's typed queries send) or GET a saved report by
``bookmark_id``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from mixhouse.errors import ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.params import bookmark_param, parse_whole
from mixhouse.server.routes.query_endpoint import query_routes
from mixhouse.services import cohorts as cohort_service
from mixhouse.services import insights
from mixhouse.services.custom_properties import with_saved_definitions
from mixhouse.services.insights_audience import Profiles
from mixhouse.services.insights_groups import GroupProfiles
from mixhouse.services.runtime import Runtime


def _profiles(rt: Runtime, project: Project) -> Profiles:
    """The project's user profiles (kept current in memory as writes are acknowledged), read only when needed."""
    return lambda: rt.profiles.snapshot(project.id)


def _group_profiles(rt: Runtime, project: Project) -> GroupProfiles:
    """The project's group profiles under a group key (the data group a report counts), read only when needed."""
    return lambda group_key: rt.profiles.snapshot(project.id, group_key)


def _insights(rt: Runtime, project: Project, params: dict[str, Any]) -> Callable[[], Any]:
    timezone = project.timezone or "UTC"
    if params.get("bookmark") not in (None, ""):
        bookmark = with_saved_definitions(rt.meta, project.id, bookmark_param(params["bookmark"]))
        insights.check_bookmark(bookmark, timezone)
        return lambda: insights.answer_bookmark(rt.backend, project, bookmark, _profiles(rt, project),
                                                cohort_service.cohort_members(rt, project),
                                                _group_profiles(rt, project))
    if params.get("bookmark_id") in (None, ""):
        raise ValidationError("send bookmark params in bookmark, or a saved report's bookmark_id")
    bookmark_id = parse_whole(params.get("bookmark_id"), "bookmark_id", low=1, high=2**63 - 1, default=0)

    def call() -> Any:
        saved = with_saved_definitions(
            rt.meta, project.id, insights.saved_params(rt.meta.get_report(project.id, bookmark_id), bookmark_id)
        )
        return insights.answer_bookmark(rt.backend, project, saved, _profiles(rt, project),
                                        cohort_service.cohort_members(rt, project), _group_profiles(rt, project))

    return call


def routes() -> list[Route]:
    return query_routes({"/insights": _insights})
