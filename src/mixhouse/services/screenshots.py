"""Alert screenshots: each recorded check that read a series gets a key (``alerts/{alert}/checks/{check}.svg``,
Mixpanel's ``gcs_key``); ``signed_url`` turns a key into a URL on this server that works without credentials until
it expires (an hour), like a cloud-storage signed URL. Signatures use a key made when the server starts, so URLs do
not outlive the process."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Final
from urllib.parse import urlencode

from mixhouse.errors import NotFoundError, PermissionDeniedError

TTL_S: Final = 3600
PATH_PREFIX: Final = "/api/app/screenshots/"
_SIGNING_KEY: Final = secrets.token_bytes(32)
_KEY: Final = re.compile(r"^alerts/(\d{1,18})/checks/(\d{1,18})\.svg$")


def key_of(alert_id: int, check_id: int) -> str:
    return f"alerts/{alert_id}/checks/{check_id}.svg"


def parse_key(key: str) -> tuple[int, int]:
    """``(alert id, check id)`` of a screenshot key."""
    found = _KEY.match(key)
    if found is None:
        raise NotFoundError(f"no screenshot {key!r}")
    return int(found.group(1)), int(found.group(2))


def _signature(key: str, expires: int) -> str:
    return hmac.new(_SIGNING_KEY, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def signed_url(base_url: str, key: str, now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + TTL_S)
    query = urlencode({"expires": expires, "signature": _signature(key, expires)})
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{key}?{query}"


def check_signature(key: str, expires: str | None, signature: str | None, now: float | None = None) -> None:
    """Refuse (403) a screenshot URL that was not signed here or has expired."""
    try:
        until = int(expires or "")
    except ValueError:
        raise PermissionDeniedError("this screenshot URL is not signed") from None
    if not hmac.compare_digest(_signature(key, until).encode(), (signature or "").encode("utf-8", "replace")):
        raise PermissionDeniedError("this screenshot URL is not signed by this server")
    if until < (now if now is not None else time.time()):
        raise PermissionDeniedError("this screenshot URL has expired: ask for a new one")
