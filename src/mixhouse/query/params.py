"""Parameter parsing shared by the Query API endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from mixhouse.errors import ValidationError

#: Every Query API path answers under both bases (spec §1.1), with and without a trailing slash.
API_BASES = ("/api/query", "/api/2.0")


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter's text; ``None`` when absent or blank."""
    value = params.get(name)
    return None if value is None or str(value).strip() == "" else str(value)


def parse_limit(value: Any, *, default: int, maximum: int) -> int:
    """``limit``: a whole number from 1 to ``maximum``; ``default`` when absent or empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        limit = int(str(value).strip())
    except ValueError as exc:
        raise ValidationError("limit must be an integer") from exc
    if limit <= 0 or limit > maximum:
        raise ValidationError(f"limit must be between 1 and {maximum}")
    return limit


def parse_whole(value: Any, name: str, *, low: int, high: int, default: int) -> int:
    """A whole number from ``low`` to ``high`` (an int, an integral float or its text); ``default`` when absent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            number = None
    if number is None or not low <= number <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}")
    return number


def api_paths(path: str) -> list[str]:
    """``path`` under every Query API base, with and without a trailing slash."""
    return [base + path + suffix for base in API_BASES for suffix in ("", "/")]


def count_metric(kind: str, events: int, users: int) -> int | float:
    """``general`` = events, ``unique`` = users, ``average`` = events per user (0 without users) (spec §6.1)."""
    if kind == "general":
        return events
    if kind == "unique":
        return users
    return events / users if users else 0


def json_object(value: Any, what: str) -> dict[str, Any]:
    """An object of bookmark params (``ValidationError`` naming ``what`` otherwise)."""
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be an object")
    return value


def json_list(value: Any, what: str) -> list[Any]:
    """A list of bookmark params (``None`` is empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{what} must be a list")
    return value


def decoded_param(value: Any, message: str) -> Any:
    """A parameter that is JSON text in a form or query string and already a value in a JSON body: the text decoded
    (``ValidationError(message)`` when it is not JSON), anything else as is."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValidationError(message) from None
    return value


def bookmark_param(value: Any) -> Any:
    """The ``bookmark`` parameter: JSON text (form or query string) decoded, an object (JSON body) as is."""
    return decoded_param(value, "bookmark must be a JSON object")
