"""Project webhooks over the App API: validation, the JSON Mixpanel answers with, and test delivery.

A webhook is ``{"id", "name", "url", "is_enabled", "auth_type", "created", "modified", "creator_id",
"creator_name"}``; its password is kept (the receiver's basic auth needs it) but never answered. ``auth_type`` is
``"basic"`` (with ``username`` and ``password``) or absent. A test delivery POSTs a small JSON message to the URL
(5 s timeout) and answers ``{"success", "status_code", "message"}``; a connection failure is ``success: false``
with status 500, as Mixpanel reports it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from mixhouse.errors import ValidationError
from mixhouse.meta.webhooks import Webhook

AUTH_TYPES = ("basic",)
TEST_TIMEOUT_S = 5.0
TEST_MESSAGE = {"type": "test", "message": "Mixhouse webhook test"}


def _url(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise ValidationError("url must be an http or https URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("url must be an http or https URL")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValidationError(f"{what} must be 1 to 255 characters")
    return value


def fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The columns a create (``name`` and ``url`` required) or an update sets, checked."""
    out: dict[str, Any] = {}
    if creating or "name" in body:
        out["name"] = _text(body.get("name"), "name")
    if creating or "url" in body:
        out["url"] = _url(body.get("url"))
    if "is_enabled" in body:
        if not isinstance(body["is_enabled"], bool):
            raise ValidationError("is_enabled must be true or false")
        out["is_enabled"] = body["is_enabled"]
    if "auth_type" in body:
        auth = body["auth_type"]
        if auth not in (None, *AUTH_TYPES):
            raise ValidationError("auth_type must be basic (or null for none)")
        out["auth_type"] = auth
        if auth is None:
            out["username"] = out["password"] = None
    for key in ("username", "password"):
        if key in body and body[key] is not None:
            out[key] = _text(body[key], key)
    if out.get("auth_type") == "basic" and (creating or "username" in body) and not out.get("username"):
        raise ValidationError("basic auth needs a username")
    return out


def webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "is_enabled": webhook.is_enabled,
        "auth_type": webhook.auth_type,
        "created": webhook.created_at.isoformat(),
        "modified": webhook.modified_at.isoformat(),
        "creator_id": webhook.creator_id,
        "creator_name": webhook.creator_name,
    }


def test_delivery(body: dict[str, Any]) -> dict[str, Any]:
    """POST the test message to ``body["url"]`` (with basic auth when asked) and report what came back."""
    url = _url(body.get("url"))
    auth = None
    if body.get("auth_type") == "basic":
        auth = (_text(body.get("username"), "username"), str(body.get("password") or ""))
    try:
        response = httpx.post(url, json=TEST_MESSAGE, auth=auth, timeout=TEST_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return {"success": False, "status_code": 500, "message": str(exc) or type(exc).__name__}
    ok = 200 <= response.status_code < 300
    # the receiver's body is not echoed: a test delivery must not become a way to read other hosts' pages
    return {"success": ok, "status_code": response.status_code,
            "message": "OK" if ok else f"the receiver answered HTTP {response.status_code}"}
