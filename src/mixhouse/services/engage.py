"""Profile query (spec §4.11): ``/api/query/engage`` and ``/api/2.0/engage``.

Profiles are folded in memory (``ProfileStore``); ``where`` is evaluated with the expression language's reference
evaluator over each profile's properties (``properties["x"]`` and ``user["x"]`` both read the profile). Results are
ordered by distinct id; a ``session_id`` pins the matching id list so later pages are stable.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from mixhouse.errors import NotFoundError, ValidationError
from mixhouse.meta.records import Project
from mixhouse.query.params import decoded_param
from mixhouse.services.profile_store import ProfileStore

PAGE_SIZE = 1000
_SESSION_TTL_S = 600.0
_MAX_SESSIONS = 64


@dataclass(frozen=True)
class EngageRequest:
    where: str | None = None
    distinct_ids: tuple[str, ...] | None = None
    output_properties: tuple[str, ...] | None = None
    group_key: str = ""
    page: int = 0
    page_size: int = PAGE_SIZE
    session_id: str | None = None
    sort_key: str | None = None
    descending: bool = True
    search: str | None = None
    limit: int | None = None
    #: ``filter_by_cohort``: the cohort whose members to list (``members``, filled in before the query runs), with
    #: ``include_all_users`` members that have no profile (empty properties); ``as_of_timestamp`` dates membership.
    cohort_id: int | None = None
    raw_cohort: dict[str, Any] | None = None
    include_all_users: bool = True
    as_of_timestamp: str | None = None
    members: frozenset[str] | None = None


def _json_list(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    parsed = decoded_param(value, f"{name} must be a JSON array of strings")
    if not isinstance(parsed, list) or not all(isinstance(item, str | int) for item in parsed):
        raise ValidationError(f"{name} must be a JSON array of strings")
    return tuple(str(item) for item in parsed)


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be an integer") from exc
    if number < 0:
        raise ValidationError(f"{name} must not be negative")
    return number


def _cohort_filter(value: Any) -> tuple[int | None, dict[str, Any] | None]:
    """``filter_by_cohort``: ``{"id": N}`` (JSON text or object, or the bare id), or an inline definition
    ``{"raw_cohort": {"selector", "behaviors"}}``."""
    if value is None or value == "":
        return None, None
    parsed = decoded_param(value, "filter_by_cohort must be {\"id\": cohort id}")
    if isinstance(parsed, dict) and "raw_cohort" in parsed:
        raw = parsed["raw_cohort"]
        if not isinstance(raw, dict) or "selector" not in raw:
            raise ValidationError("filter_by_cohort.raw_cohort is supported as {\"selector\", \"behaviors\"} only")
        return None, raw
    if isinstance(parsed, dict):
        parsed = parsed.get("id")
    if isinstance(parsed, str) and parsed.isdigit():
        parsed = int(parsed)
    if isinstance(parsed, str) and parsed:
        raise NotFoundError(f"no cohort {parsed!r} in this project")
    if isinstance(parsed, bool) or not isinstance(parsed, int) or parsed < 1:
        raise ValidationError("filter_by_cohort must be {\"id\": cohort id}")
    return parsed, None


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return str(value).lower() not in ("false", "0")


def parse_engage_params(params: dict[str, Any]) -> EngageRequest:
    if params.get("behaviors"):
        raise ValidationError("behaviors in an engage query are not supported yet: save a cohort and send "
                              "filter_by_cohort")
    cohort_id, raw_cohort = _cohort_filter(params.get("filter_by_cohort"))
    ids = _json_list(params.get("distinct_ids"), "distinct_ids")
    single = params.get("distinct_id")
    if single not in (None, ""):
        ids = (str(single),)
    page_size = min(_int(params.get("page_size"), "page_size", PAGE_SIZE), PAGE_SIZE) or PAGE_SIZE
    where = params.get("where")
    if where is not None and not isinstance(where, str):
        raise ValidationError("where must be an expression string")
    group = params.get("data_group_id")
    sort_order = str(params.get("sort_order") or "descending").lower()
    if sort_order not in ("ascending", "descending"):
        raise ValidationError("sort_order must be 'ascending' or 'descending'")
    limit = _int(params.get("limit"), "limit", 0) or None
    return EngageRequest(
        where=where or None,
        distinct_ids=ids,
        output_properties=_json_list(params.get("output_properties"), "output_properties"),
        group_key=str(group) if group not in (None, "") else "",
        page=_int(params.get("page"), "page", 0),
        page_size=page_size,
        session_id=str(params["session_id"]) if params.get("session_id") else None,
        sort_key=str(params["sort_key"]) if params.get("sort_key") else None,
        descending=sort_order == "descending",
        search=str(params["search"]) if params.get("search") else None,
        limit=limit,
        cohort_id=cohort_id,
        raw_cohort=raw_cohort,
        include_all_users=_flag(params.get("include_all_users"), True),
        as_of_timestamp=str(params["as_of_timestamp"]) if params.get("as_of_timestamp") else None,
    )


def _sort_expression(sort_key: str) -> str:
    """``sort_key`` is an expression (``properties["x"]``) or, as clients also send it, a bare property name."""
    if "[" in sort_key or "(" in sort_key:
        return sort_key
    return "properties[" + orjson.dumps(sort_key).decode() + "]"


def _sort_value(value: Any) -> tuple[int, Any]:
    """Orders mixed types: numbers, then strings, then booleans; missing values always last."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (3, 0)


def _matches_search(distinct_id: str, props: dict[str, Any], needle: str) -> bool:
    needle = needle.lower()
    if needle in distinct_id.lower():
        return True
    return any(isinstance(v, str) and needle in v.lower() for v in props.values())


class EngageService:
    def __init__(self, profiles: ProfileStore) -> None:
        self.profiles = profiles
        self._sessions: OrderedDict[str, tuple[float, int, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def matching_profiles(self, project: Project, request: EngageRequest) -> list[tuple[str, dict[str, Any]]]:
        """The ``(distinct id, properties)`` of the profiles ``request`` selects, in answer order (``members``
        must already hold the ``filter_by_cohort`` members; members without a profile get empty properties when
        ``include_all_users``)."""
        if (request.cohort_id is not None or request.raw_cohort is not None) and request.members is None:
            raise ValidationError("this paging session has expired: ask for page 0 again")
        rows: list[tuple[str, dict[str, Any]]] = self.profiles.snapshot(project.id, request.group_key)
        if request.members is not None:
            rows = [row for row in rows if row[0] in request.members]
            if request.include_all_users:
                profiled = {distinct_id for distinct_id, _ in rows}
                rows = sorted([*rows, *((member, {}) for member in request.members - profiled)],
                              key=lambda row: row[0])
        if request.distinct_ids is not None:
            wanted = set(request.distinct_ids)
            rows = [row for row in rows if row[0] in wanted]
        if request.search:
            rows = [row for row in rows if _matches_search(row[0], row[1], request.search)]
        if request.where or request.sort_key:
            from mixhouse.expr import Record, evaluate, parse

            def record(row: tuple[str, dict[str, Any]]) -> Record:
                return Record(event="", time_ms=0, distinct_id=row[0], properties=row[1], user=row[1])

            if request.where:
                expr = parse(request.where)
                rows = [row for row in rows if evaluate(expr, record(row)) is True]
            if request.sort_key:
                key_expr = parse(_sort_expression(request.sort_key))
                keyed = [(_sort_value(evaluate(key_expr, record(row))), row) for row in rows]
                present = sorted((k for k in keyed if k[0][0] < 3), key=lambda k: k[0], reverse=request.descending)
                rows = [row for _, row in present] + [row for k, row in keyed if k[0] >= 3]
        return rows[: request.limit] if request.limit else rows

    def _matching_ids(self, project: Project, request: EngageRequest) -> list[str]:
        return [distinct_id for distinct_id, _ in self.matching_profiles(project, request)]

    def _session_ids(self, project: Project, request: EngageRequest) -> tuple[str, list[str]]:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (at, _, _) in self._sessions.items() if now - at > _SESSION_TTL_S]:
                del self._sessions[key]
            if request.session_id and request.session_id in self._sessions:
                _, owner, ids = self._sessions[request.session_id]
                if owner == project.id:
                    return request.session_id, ids
        if request.page > 0 and not request.session_id:
            raise ValidationError("page > 0 requires the session_id returned with page 0")
        ids = self._matching_ids(project, request)
        session_id = request.session_id or f"{int(time.time())}-{secrets.token_hex(6)}"
        with self._lock:
            self._sessions[session_id] = (now, project.id, ids)
            while len(self._sessions) > _MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return session_id, ids

    def query(self, project: Project, request: EngageRequest) -> dict[str, Any]:
        session_id, ids = self._session_ids(project, request)
        start = request.page * request.page_size
        results = []
        for distinct_id in ids[start : start + request.page_size]:
            props = self.profiles.get(project.id, distinct_id, request.group_key)
            if props is None and request.include_all_users and (request.cohort_id is not None
                                                                 or request.raw_cohort is not None):
                props = {}  # a cohort member without a profile (the pinned ids are the members)
            if props is None:
                continue  # deleted since the session started
            if request.output_properties is not None:
                props = {k: v for k, v in props.items() if k in request.output_properties}
            results.append({"$distinct_id": distinct_id, "$properties": props})
        return {
            "page": request.page,
            "page_size": request.page_size,
            "session_id": session_id,
            "status": "ok",
            "total": len(ids),
            "results": results,
        }
