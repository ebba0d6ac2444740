"""A dashboard's layout (Mixpanel's layout version 2): ordered rows of up to four cells on a 12-column grid, each
cell naming one piece of content (``report``, ``text`` or ``report-link``) by id. Pure functions on the JSON."""

from __future__ import annotations

import secrets
import string
from typing import Any, Final

from mixhouse.errors import ValidationError

VERSION: Final = "2.0.0"
COLUMNS: Final = 12
MAX_CELLS: Final = 4
CONTENT_TYPES: Final = ("report", "text", "report-link")
_ALPHABET: Final = string.ascii_letters + string.digits

Content = tuple[str, int]  # (content type, content id)


def empty() -> dict[str, Any]:
    return {"order": [], "rows": {}, "version": VERSION}


def _key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


def with_row(layout: dict[str, Any], contents: list[Content]) -> dict[str, Any]:
    """``layout`` with a new last row holding ``contents`` (widths shared evenly)."""
    if not 1 <= len(contents) <= MAX_CELLS:
        raise ValidationError(f"a dashboard row holds 1 to {MAX_CELLS} cards, not {len(contents)}")
    width = COLUMNS // len(contents)
    row_id = _key()
    cells = [{"content_id": content_id, "content_type": kind, "id": _key(), "width": width}
             for kind, content_id in contents]
    return {"order": [*layout["order"], row_id], "rows": {**layout["rows"], row_id: {"cells": cells, "height": 0}},
            "version": VERSION}


def without(layout: dict[str, Any], content: Content) -> dict[str, Any]:
    """``layout`` without the cells showing ``content``; rows left empty go."""
    rows: dict[str, Any] = {}
    for row_id in layout["order"]:
        row = layout["rows"][row_id]
        cells = [cell for cell in row["cells"] if (cell["content_type"], cell["content_id"]) != content]
        if cells:
            rows[row_id] = {**row, "cells": cells}
    return {"order": [row_id for row_id in layout["order"] if row_id in rows], "rows": rows, "version": VERSION}


def contents(layout: dict[str, Any]) -> list[Content]:
    """Every piece of content shown, top to bottom, left to right."""
    return [(cell["content_type"], cell["content_id"])
            for row_id in layout["order"] for cell in layout["rows"][row_id]["cells"]]


def checked(value: Any, known: set[Content]) -> dict[str, Any]:
    """A layout sent by a client, checked: well formed, at most four cells and 12 columns per row, and showing only
    ``known`` content (each piece once)."""
    if not isinstance(value, dict) or not isinstance(value.get("order"), list) \
            or not isinstance(value.get("rows"), dict):
        raise ValidationError("layout must be {\"order\": [row ids], \"rows\": {row id: {\"cells\": [...]}}}")
    order, rows = value["order"], value["rows"]
    if not all(isinstance(row_id, str) for row_id in order):
        raise ValidationError("layout row ids must be strings")
    if sorted(order) != sorted(rows) or len(set(order)) != len(order):
        raise ValidationError("layout order must list every row id exactly once")
    seen: set[Content] = set()
    out_rows: dict[str, Any] = {}
    for row_id in order:
        row = rows[row_id]
        cells = row.get("cells") if isinstance(row, dict) else None
        if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_CELLS:
            raise ValidationError(f"layout row {row_id} must have 1 to {MAX_CELLS} cells")
        out_cells = [_cell(cell, known, seen) for cell in cells]
        if sum(cell["width"] for cell in out_cells) > COLUMNS:
            raise ValidationError(f"layout row {row_id} is wider than {COLUMNS} columns")
        out_rows[str(row_id)] = {"cells": out_cells, "height": row.get("height", 0)}
    return {"order": [str(row_id) for row_id in order], "rows": out_rows, "version": VERSION}


def _cell(cell: Any, known: set[Content], seen: set[Content]) -> dict[str, Any]:
    if not isinstance(cell, dict):
        raise ValidationError("a layout cell must be an object")
    kind, content_id = cell.get("content_type"), cell.get("content_id")
    if not isinstance(kind, str) or type(content_id) is not int:  # a bool is not an id
        raise ValidationError("a layout cell needs a content_type string and an integer content_id")
    content = (kind, content_id)
    if content not in known:
        raise ValidationError(f"layout cell names unknown content {content[0]} {content[1]}")
    if content in seen:
        raise ValidationError(f"layout shows {content[0]} {content[1]} twice")
    seen.add(content)
    width = cell.get("width", COLUMNS)
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= COLUMNS:
        raise ValidationError(f"a cell width must be 1 to {COLUMNS}")
    return {"content_id": content[1], "content_type": content[0], "id": str(cell.get("id") or _key()),
            "width": width}
