"""Annotations over the App API: validation, role checks and the JSON Mixpanel answers with.

An annotation is ``{"id", "project_id", "date", "description", "tags": [{"id", "name", "project_id"}]}``. Dates are
``YYYY-MM-DD HH:MM:SS`` (the format the client library documents) or ``YYYY-MM-DD`` (what its tests send), kept as
sent; a date cannot change after creation (400). Descriptions are 1–512 characters. Writes need a writing role
(``services/access.py``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.meta.annotations import Annotation, Tag

MAX_DESCRIPTION = 512
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?")


def annotation_date(value: Any) -> str:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValidationError("date must be YYYY-MM-DD HH:MM:SS (or YYYY-MM-DD)")
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S" if " " in value else "%Y-%m-%d")
    except ValueError:
        raise ValidationError(f"date {value!r} is not a calendar date") from None
    return value


def description(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_DESCRIPTION:
        raise ValidationError(f"description must be 1 to {MAX_DESCRIPTION} characters")
    return value


def tag_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):  # the list filter sends "1,2"
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ValidationError("tags must be tag ids")
        return [int(part) for part in parts]
    if not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise ValidationError("tags must be a list of tag ids")
    return list(value)


def day(value: str | None, name: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValidationError(f"{name} must be YYYY-MM-DD")
    return value


def tag_json(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "project_id": tag.project_id}


def annotation_json(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.id,
        "project_id": annotation.project_id,
        "date": annotation.date,
        "description": annotation.description,
        "tags": [tag_json(tag) for tag in annotation.tags],
    }
