"""Cohorts over the App API and the Query API: checking what a client sends, membership and counts, and the JSON
Mixpanel answers with.

A definition is sent flattened into the body (``selector`` and ``behaviors`` at the top level, as the client
library's ``CohortDefinition`` does) or as ``definition``; it is checked when saved (the tree parses, every cohort
it names is the project's and none leads back to the cohort itself).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from mixhouse.errors import MixhouseError, ValidationError
from mixhouse.meta.cohorts import Cohort, Cohorts
from mixhouse.meta.records import Project
from mixhouse.meta.store import validate_name
from mixhouse.services import reports
from mixhouse.services.cohort_definition import Node, cohort_day, parse_definition, referenced_cohorts
from mixhouse.services.cohort_members import Membership, ProfileRows, missing_cohort
from mixhouse.services.insights_params import CohortRef
from mixhouse.storage.base import Backend

if TYPE_CHECKING:
    from mixhouse.services.runtime import Runtime


def definition_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``{"selector", "behaviors"}`` a body carries, if any."""
    if body.get("definition") is not None:
        if not isinstance(body["definition"], dict):
            raise ValidationError("definition must be a JSON object")
        body = body["definition"]
    if body.get("selector") is None and not body.get("behaviors"):
        return None
    return {"selector": body.get("selector"), "behaviors": body.get("behaviors") or {}}


def fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if body.get("deleted"):
        raise ValidationError("delete a cohort with DELETE (or bulk-delete), not deleted: true")
    if creating or "name" in body:
        out["name"] = validate_name(body.get("name"), "name")
    out.update(reports.description_and_flags(body, ("is_locked", "is_visible")))
    if "data_group_id" in body:
        group = body["data_group_id"]
        if group is not None and (not isinstance(group, str | int) or isinstance(group, bool)
                                  or len(str(group)) > 64):
            raise ValidationError("data_group_id must be a string of at most 64 characters")
        out["data_group_id"] = None if group is None else str(group)
    definition = definition_of(body)
    if definition is not None:
        parse_definition(definition)
        out["definition"] = definition
    return out


def check_graph(definitions: dict[int, dict[str, Any]], deleted: frozenset[int]) -> None:
    """The project's cohorts as a write would leave them: every cohort one names exists (a deleted one still named
    is a 400 naming who uses it; an unknown one a 404), and no cohort leads back to itself."""
    refs = {cohort_id: referenced_cohorts(parse_definition(definition))
            for cohort_id, definition in definitions.items()}
    for cohort_id, named in sorted(refs.items()):
        for other in sorted(named):
            if other in definitions:
                continue
            if other in deleted:
                raise ValidationError(f"cohort {other} is used by cohort {cohort_id}; change that one first")
            raise missing_cohort(other)
    state: dict[int, int] = {}  # 1: on the current path, 2: done

    def visit(cohort_id: int) -> None:
        state[cohort_id] = 1
        for other in refs[cohort_id]:
            if state.get(other) == 1:
                raise ValidationError(f"cohort {other} cannot refer to itself, directly or through another")
            if other not in state:
                visit(other)
        state[cohort_id] = 2

    for cohort_id in sorted(refs):
        if cohort_id not in state:
            visit(cohort_id)


def today(project: Project) -> date:
    return datetime.now(ZoneInfo(project.timezone or "UTC")).date()


def as_of_date(project: Project, raw: str | None) -> date:
    """A membership day: ``YYYY-MM-DD``, or today in the project's time zone."""
    return today(project) if raw in (None, "") else cohort_day(raw, "as_of")


def as_of_timestamp(project: Project, raw: Any) -> date:
    """The day (project time zone) of an engage ``as_of_timestamp`` (seconds), or today."""
    if raw in (None, ""):
        return today(project)
    try:
        day = datetime.fromtimestamp(float(raw), ZoneInfo(project.timezone or "UTC")).date()
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValidationError("as_of_timestamp must be a Unix time in seconds") from None
    return cohort_day(day.isoformat(), "as_of_timestamp")


def membership(backend: Backend, project: Project, profiles: ProfileRows, cohorts: Cohorts,
               as_of: date) -> Membership:
    def definition(cohort_id: int) -> Node | None:
        found = cohorts.get(cohort_id)
        if found is None:
            raise missing_cohort(cohort_id)
        return parse_definition(found.definition)

    return Membership(backend, project, profiles, definition, as_of)


class Resolver:
    """Members of the cohorts a report names (saved or inline), as of today or a given day; each day's membership
    is worked out on first use, each cohort once per day."""

    def __init__(self, backend: Backend, project: Project, profiles: Callable[[], ProfileRows],
                 cohorts: Cohorts) -> None:
        self._backend, self._project, self._profiles, self._cohorts = backend, project, profiles, cohorts
        self._rows: ProfileRows | None = None
        self._by_day: dict[date, Membership] = {}

    def __call__(self, ref: CohortRef) -> set[str]:
        return self.as_of(ref, today(self._project))

    def as_of(self, ref: CohortRef, day: date) -> set[str]:
        found = self._by_day.get(day)
        if found is None:
            if self._rows is None:
                self._rows = self._profiles()
            found = self._by_day[day] = membership(self._backend, self._project, self._rows, self._cohorts, day)
        if ref.cohort_id is not None:
            return found.cohort(ref.cohort_id)
        return found.of(parse_definition(orjson.loads(ref.raw or "{}")))


def members_resolver(backend: Backend, project: Project, profiles: Callable[[], ProfileRows],
                     cohorts: Cohorts) -> Resolver:
    """Members of the cohorts a report names (saved or inline), worked out on first use."""
    return Resolver(backend, project, profiles, cohorts)


def cohort_members(rt: Runtime, project: Project) -> Resolver:
    """The members of the cohorts a report filters or breaks down by, from the server's runtime (worked out only
    when the report names some)."""
    return members_resolver(rt.backend, project, lambda: rt.profiles.snapshot(project.id), Cohorts(rt.meta, project.id))


def cohort_json(cohort: Cohort, count: int | None) -> dict[str, Any]:
    return {
        "id": cohort.id,
        "project_id": cohort.project_id,
        "name": cohort.name,
        "description": cohort.description,
        "count": count,
        "is_visible": cohort.is_visible,
        "is_locked": cohort.is_locked,
        "data_group_id": cohort.data_group_id,
        "created": reports.stamp(cohort.created_at),
        "last_edited": reports.stamp(cohort.modified_at),
        "created_by": {"id": cohort.creator.id, "name": cohort.creator.name, "email": None},
        "referenced_by": [],
        "referenced_directly_by": [],
        "active_integrations": [],
        "verified": False,
        "last_queried": None,
        **({"selector": None, "behaviors": {}} | cohort.definition),
    }


def list_json(cohort: Cohort, count: int | None) -> dict[str, Any]:
    """An entry of ``/api/query/cohorts/list`` (Mixpanel's documented shape: ``is_visible`` 1 or 0)."""
    return {"id": cohort.id, "name": cohort.name, "count": count, "description": cohort.description,
            "created": cohort.created_at.strftime("%Y-%m-%d %H:%M:%S"), "is_visible": int(cohort.is_visible),
            "project_id": cohort.project_id}


def counted(cohorts: list[Cohort], members: Membership,
            shape: Callable[[Cohort, int | None], dict[str, Any]]) -> list[dict[str, Any]]:
    """Each cohort in ``shape`` with its member count; a cohort that cannot be worked out (saved by an older
    version with a definition refused today, say) gets ``None`` instead of failing the whole list."""
    out = []
    for cohort in cohorts:
        try:
            count: int | None = len(members.cohort(cohort.id))
        except MixhouseError:
            count = None
        out.append(shape(cohort, count))
    return out
