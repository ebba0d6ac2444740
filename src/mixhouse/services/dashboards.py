"""Dashboards over the App API: checking settings, rows and content changes, and the JSON Mixpanel answers with.

A dashboard's ``contents`` maps each content type to ``{id: item}``: ``report`` items are bookmarks (as the
bookmarks routes answer them), ``text`` items ``{"id", "markdown"}``, ``report-link`` items ``{"id",
"bookmark_id", "type"}``; ``layout`` places them (rows of up to four cells).
"""

from __future__ import annotations

from typing import Any, Final

from mixhouse.errors import ValidationError
from mixhouse.meta.dashboards import JSON_SETTINGS, CopyReport, Dashboard, NewContent, NewLink, NewReport, NewText
from mixhouse.meta.store import validate_name
from mixhouse.services import reports
from mixhouse.services.reports import stamp

MARKDOWN_MAX: Final = 20_000
LINK_TYPES: Final = ("link", "embedded", "report")
#: Content kinds Mixpanel's answer always lists, even when empty.
_CONTENT_KINDS: Final = ("benchmark", "dashboard", "heatmap", "heatmap-collection", "media", "playlist", "report",
                          "report-link", "text")


def settings(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The settings a create (``title`` required) or an update sets, checked."""
    out: dict[str, Any] = {}
    if creating or "title" in body:
        out["title"] = validate_name(body.get("title"), "title")
    out.update(reports.description_and_flags(body, ("is_private", "is_restricted")))
    for key in JSON_SETTINGS:
        if body.get(key) is not None:
            expected = dict if key == "time_filter" else list
            if not isinstance(body[key], expected):
                raise ValidationError(f"{key} must be a JSON {'object' if expected is dict else 'list'}")
            out[key] = body[key]
    return out


def markdown(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MARKDOWN_MAX:
        raise ValidationError(f"markdown must be text of at most {MARKDOWN_MAX} characters")
    return value


def link_type(value: Any) -> str:
    if value not in LINK_TYPES:
        raise ValidationError(f"a report link's type must be one of {', '.join(LINK_TYPES)}")
    return str(value)


def new_content(kind: Any, params: Any, timezone: str) -> NewContent:
    """What ``{"content_type", "content_params"}`` asks to add: a report (a copy of ``source_bookmark_id`` or a new
    ``bookmark``), a text card (``markdown``) or a report link (``bookmark_id``, ``type``)."""
    if not isinstance(params, dict):
        raise ValidationError("content_params must be a JSON object")
    if kind == "text":
        return NewText(markdown(params.get("markdown", "")))
    if kind == "report-link":
        return NewLink(reports.whole_id(params.get("bookmark_id", params.get("source_bookmark_id")), "bookmark_id"),
                       link_type(params.get("type", "link")))
    if kind != "report":
        raise ValidationError("content_type must be report, text or report-link")
    if params.get("source_bookmark_id") is not None:
        return CopyReport(reports.whole_id(params["source_bookmark_id"], "source_bookmark_id"))
    bookmark = params.get("bookmark")
    if not isinstance(bookmark, dict):
        raise ValidationError("a report needs content_params.source_bookmark_id or content_params.bookmark")
    allowed = {key: bookmark[key] for key in ("name", "type", "params", "description") if key in bookmark}
    return NewReport(reports.fields(allowed, timezone))


def rows(value: Any, timezone: str) -> list[list[NewContent]]:
    """``rows`` of a new dashboard: each ``{"contents": [{"content_type", "content_params"}, ...]}`` (1 to 4)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError("rows must be a list of {\"contents\": [...]}")
    out = []
    for row in value:
        contents = row.get("contents") if isinstance(row, dict) else None
        if not isinstance(contents, list) or not 1 <= len(contents) <= 4:
            raise ValidationError("each row needs 1 to 4 contents")
        out.append([new_content(item.get("content_type") if isinstance(item, dict) else None,
                                item.get("content_params") if isinstance(item, dict) else None, timezone)
                    for item in contents])
    return out


def content_change(value: Any) -> tuple[str, Any, Any, Any]:
    """``(action, content_type, content_id, content_params)`` of a PATCH's ``content``."""
    if not isinstance(value, dict) or value.get("action") not in ("create", "delete", "update"):
        raise ValidationError("content must be {\"action\": create|update|delete, \"content_type\", ...}")
    return value["action"], value.get("content_type"), value.get("content_id"), value.get("content_params")


def dashboard_json(dashboard: Dashboard, *, can_write: bool, with_contents: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": dashboard.id,
        "project_id": dashboard.project_id,
        "workspace_id": dashboard.workspace_id,
        **dashboard.settings,
        "created": stamp(dashboard.created_at),
        "modified": stamp(dashboard.modified_at),
        "creator": dashboard.creator.name,
        "creator_id": dashboard.creator.id,
        "creator_name": dashboard.creator.name,
        "creator_email": None,
        "last_modified_by_id": dashboard.last_modified_by.id,
        "last_modified_by_name": dashboard.last_modified_by.name,
        "last_modified_by_email": None,
        "is_favorited": dashboard.is_favorited,
        "pinned_date": None if dashboard.pinned_at is None else stamp(dashboard.pinned_at),
        "layout_version": dashboard.layout["version"],
        "generation_type": dashboard.generation_type,
        "template_type": dashboard.template_type,
        "parent_dashboard_id": None,
        "child_dashboards": [],
        "ancestors": [],
        "new_content": None,
        "num_active_public_links": 0,
        "is_shared_with_project": not dashboard.settings["is_private"],
        "can_view": True,
        "can_update_basic": can_write,
        "can_share": can_write,
        "can_pin": can_write,
        "can_update_restricted": can_write,
        "can_update_visibility": can_write,
        "is_superadmin": False,
        "allow_staff_override": False,
    }
    if with_contents:
        contents: dict[str, dict[str, Any]] = {kind: {} for kind in _CONTENT_KINDS}
        for report in dashboard.reports:
            contents["report"][str(report.id)] = reports.bookmark_json(report, can_write=can_write)
        for card in dashboard.cards:
            item = ({"id": card.id, "markdown": card.markdown} if card.kind == "text"
                    else {"id": card.id, "bookmark_id": card.report_id, "type": card.link_type})
            contents[card.kind][str(card.id)] = item
        out["contents"] = contents
        out["layout"] = dashboard.layout
    return out
