"""HTTP credential parsing (spec §1.2)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from mixhouse.errors import AuthenticationError, ValidationError


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (OAuth-style access tokens), or None for another scheme."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def basic_credentials(headers: Mapping[str, str]) -> BasicCredentials | None:
    """``Authorization: Basic`` as base64 ``user:secret`` or, as Mixpanel's docs allow, plain ``user:secret``."""
    header = headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise AuthenticationError("unsupported Authorization scheme; use HTTP Basic")
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = value
    if ":" not in decoded:
        decoded = value if ":" in value else decoded + ":"
    username, _, password = decoded.partition(":")
    return BasicCredentials(username, password)


def project_id_param(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationError(f"project_id must be an integer, got {value!r}") from exc
