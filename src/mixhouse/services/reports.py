"""Saved reports (bookmarks v2) over the App API: checking what a client sends, and the JSON Mixpanel answers with.

``params`` must be bookmark params the engines can run: Insights, funnels and retention params are checked by the
Insights engine, flows params by the flows engine (the same checks a query makes, so a saved report always runs);
``user`` reports keep any JSON object. ``params`` may also arrive as a JSON string (dashboard rows send it so).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import orjson

from mixhouse.errors import ValidationError
from mixhouse.meta.models import REPORT_TYPES
from mixhouse.meta.records import Actor, Report
from mixhouse.meta.reports import HistoryEntry
from mixhouse.meta.store import validate_name
from mixhouse.services import flows, insights
from mixhouse.services.access import Caller
from mixhouse.services.flows_custom_properties import with_custom_property_ids

#: What a caller does to bookmark params before they are checked: with the project's store, resolve saved custom
#: properties (``customPropertyId``) to their definitions (``custom_properties.with_saved_definitions``).
Resolver = Callable[[Any], Any]

HISTORY_PAGE: Final = 20
HISTORY_PAGE_MAX: Final = 100
DESCRIPTION_MAX: Final = 2000
_FLAGS: Final = ("is_visibility_restricted", "is_modification_restricted")


def actor(who: Caller) -> Actor:
    return Actor(who.account.id, who.account.name)


def report_type(value: Any) -> str:
    if value not in REPORT_TYPES:
        raise ValidationError(f"Invalid bookmark type: {value!r} (one of {', '.join(REPORT_TYPES)})")
    return str(value)


def checked_params(value: Any, kind: str, timezone: str, resolve: Resolver | None = None) -> dict[str, Any]:
    """Bookmark params of a ``kind`` report, parsed from JSON text if need be and checked by its engine (after
    ``resolve``, which the saved params do not go through: a saved custom property stays a reference)."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValidationError("params must be a JSON object (or its JSON text)") from None
    if not isinstance(value, dict):
        raise ValidationError("params must be a JSON object (or its JSON text)")
    read = with_custom_property_ids(value) if kind == "flows" else value
    resolved = read if resolve is None or kind == "user" else resolve(read)
    if kind == "flows":
        flows.parse_flow(resolved, timezone)
    elif kind != "user":
        insights.check_bookmark(resolved, timezone)
    return value


def fields(body: dict[str, Any], timezone: str, *, current_type: str | None = None,
           resolve: Resolver | None = None) -> dict[str, Any]:
    """The columns a create (``current_type`` None: ``name``, ``type`` and ``params`` required) or an update of a
    ``current_type`` report sets, checked (``resolve``: as ``checked_params`` has it)."""
    creating = current_type is None
    out: dict[str, Any] = {}
    kind = report_type(body.get("type")) if creating else current_type
    assert kind is not None
    if creating:
        out["type"] = kind
    elif "type" in body and body["type"] != current_type:
        raise ValidationError("a report's type cannot change")
    if creating or "name" in body:
        out["name"] = validate_name(body.get("name"), "name")
    if creating or "params" in body:
        if body.get("params") is None:
            raise ValidationError("params is required")
        out["params"] = checked_params(body["params"], kind, timezone, resolve)
    out.update(description_and_flags(body, _FLAGS))
    if "icon" in body:
        if body["icon"] is not None and (not isinstance(body["icon"], str) or len(body["icon"]) > 64):
            raise ValidationError("icon must be a short string")
        out["icon"] = body["icon"]
    if "dashboard_id" in body:
        out["dashboard_id"] = optional_id(body["dashboard_id"], "dashboard_id")
    return out


def description_and_flags(body: dict[str, Any], flags: tuple[str, ...]) -> dict[str, Any]:
    """The ``description`` (text, at most ``DESCRIPTION_MAX``) and the boolean ``flags`` an entity's body sets."""
    out: dict[str, Any] = {}
    if body.get("description") is not None:
        if not isinstance(body["description"], str) or len(body["description"]) > DESCRIPTION_MAX:
            raise ValidationError(f"description must be text of at most {DESCRIPTION_MAX} characters")
        out["description"] = body["description"]
    for flag in flags:
        if body.get(flag) is not None:
            if not isinstance(body[flag], bool):
                raise ValidationError(f"{flag} must be true or false")
            out[flag] = body[flag]
    return out


def optional_id(value: Any, what: str) -> int | None:
    if value is None:
        return None
    return whole_id(value, what)


def whole_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{what} must be a positive integer id")
    return value


def id_list(value: Any, what: str) -> list[int]:
    """A non-empty JSON list of ids (duplicates dropped, order kept)."""
    if not isinstance(value, list) or not value:
        raise ValidationError(f"{what} must be a non-empty list of ids")
    return list(dict.fromkeys(whole_id(item, what) for item in value))


def query_ids(raw: str | None, what: str) -> list[int] | None:
    """``ids=1,2,3`` from a query string."""
    if raw is None or raw == "":
        return None
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise ValidationError(f"{what} must be comma-separated integer ids") from None


def stamp(moment: datetime) -> str:
    """Mixpanel's entity timestamps: UTC, seconds, no offset (``2024-07-19T00:25:24``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def bookmark_json(report: Report, *, can_write: bool) -> dict[str, Any]:
    return {
        "id": report.id,
        "project_id": report.project_id,
        "workspace_id": report.workspace_id,
        "name": report.name,
        "type": report.type,
        "original_type": report.type,
        "description": report.description,
        "icon": report.icon,
        "params": report.params,
        "dashboard_id": report.dashboard_id,
        "include_in_dashboard": report.dashboard_id is not None,
        "is_default": False,
        "metadata": None,
        "generation_type": "User Created",
        "creator": report.creator_name,
        "creator_id": report.creator_id,
        "creator_name": report.creator_name,
        "creator_email": None,
        "created": stamp(report.created_at),
        "modified": stamp(report.modified_at),
        "last_modified_by_id": report.last_modified_by_id,
        "last_modified_by_name": report.last_modified_by_name,
        "last_modified_by_email": None,
        "is_visibility_restricted": report.is_visibility_restricted,
        "is_modification_restricted": report.is_modification_restricted,
        "can_view": True,
        "can_update_basic": can_write,
        "can_share": can_write,
        "allow_staff_override": False,
        "is_superadmin": False,
    }


def history_page(query: dict[str, str]) -> tuple[int | None, int]:
    """``(before history id, page size)`` from ``cursor`` and ``page_size``."""
    raw_size = query.get("page_size") or str(HISTORY_PAGE)
    raw_cursor = query.get("cursor") or None
    try:
        size = int(raw_size)
        before = None if raw_cursor is None else int(raw_cursor)
    except ValueError:
        raise ValidationError("page_size and cursor must be integers (a cursor is a previous next_cursor)") from None
    if not 1 <= size <= HISTORY_PAGE_MAX:
        raise ValidationError(f"page_size must be 1 to {HISTORY_PAGE_MAX}")
    return before, size


def history_json(entries: list[HistoryEntry], size: int) -> dict[str, Any]:
    """One page (``entries`` holds up to ``size + 1``: one more tells that another page follows)."""
    page = entries[:size]
    more = len(entries) > size
    return {
        "results": [{
            "id": entry.id,
            "action": entry.action,
            "created": stamp(entry.at),
            "user_id": entry.actor.id,
            "user_name": entry.actor.name,
            **{key: entry.snapshot.get(key) for key in ("name", "description", "params", "dashboard_id")},
        } for entry in page],
        "pagination": {"next_cursor": str(page[-1].id) if more else None,
                       "previous_cursor": None,
                       "page_size": size},
    }
