"""Response bodies of each API family (spec §2.1, §2.3, §4.1, §7), in one place."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import RedirectResponse, Response

from mixhouse.errors import MixhouseError, RateLimitError

#: A 1×1 transparent GIF for ``img=1``.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


#: JSONP callback names we echo: identifiers, member access and mixpanel-js's ``(function(){})``; nothing that
#: could end the expression and start another (no quotes, ``;``, ``<``, spaces or operators).
_SAFE_CALLBACK = re.compile(r"[A-Za-z0-9_$.\[\](){}]{1,128}")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _retry_headers(exc: MixhouseError) -> dict[str, str]:
    if isinstance(exc, RateLimitError):
        return {"Retry-After": str(max(1, round(exc.retry_after)))}
    if exc.http_status == 503:
        return {"Retry-After": "1"}
    return {}


def legacy_ingest_response(params: Mapping[str, str], ok: bool, error: str | None, status: int = 200) -> Response:
    """``/track``, ``/engage``, ``/groups`` and form ``/import``: GIF, redirect, JSONP, verbose JSON or ``1``/``0``."""
    if params.get("img") == "1":
        return Response(PIXEL_GIF, status_code=status, media_type="image/gif")
    redirect = params.get("redirect")
    if redirect and status == 200:
        return RedirectResponse(redirect, status_code=302)
    verbose = params.get("verbose", "0") not in ("", "0")
    payload: Any = {"status": 1 if ok else 0, "error": None if ok else error} if verbose else (1 if ok else 0)
    callback = params.get("callback")
    if callback and _SAFE_CALLBACK.fullmatch(callback):
        body = f"{callback}({orjson.dumps(payload).decode()})"
        return Response(body, status_code=status, media_type="text/javascript")
    if verbose:
        return json_response(payload, status)
    return Response(b"1" if ok else b"0", status_code=status, media_type="text/plain")


def legacy_ingest_error(params: Mapping[str, str], exc: MixhouseError) -> Response:
    """Auth failures, oversize requests and overload get their HTTP status; other bad input is ``200`` + ``0``.

    401/403 use the ErrorResponse schema ``{"error", "status": "error"}``; 413 and 429 use the ingestion
    ``{"code", "error", "status"}`` shape of spec §2.3/§7; server failures answer ``{"error", "status": 0}``.
    """
    status = exc.http_status
    if status in (401, 403):
        return json_response({"error": exc.message, "status": "error"}, status)
    if status in (413, 429):
        return import_error(exc)
    if status >= 500:
        return json_response({"error": exc.message, "status": 0}, status, _retry_headers(exc))
    return legacy_ingest_response(params, False, exc.message)


def import_error(exc: MixhouseError) -> Response:
    """Modern ``/import``: ``{"code", "error", "status"}``."""
    status = exc.http_status
    body = {"code": status, "error": exc.message, "status": STATUS_TEXT.get(status, "Error")}
    return json_response(body, status, _retry_headers(exc))


def query_error(exc: MixhouseError, request_path: str) -> Response:
    """Query, export and engage APIs: ``{"request": "<path?query>", "error": "<message>"}``."""
    body: dict[str, Any] = {"request": request_path, "error": exc.message}
    if exc.http_status in (401, 403):
        body["status"] = "error"
    if exc.details.get("position") is not None:
        body["position"] = exc.details["position"]
    return json_response(body, exc.http_status, _retry_headers(exc))


def app_error(exc: MixhouseError) -> Response:
    """App API (``/api/app/...``): ``{"error": "<message>", "status": "error"}``."""
    return json_response({"error": exc.message, "status": "error"}, exc.http_status, _retry_headers(exc))


def app_ok(results: Any) -> Response:
    """App API success envelope: ``{"status": "ok", "results": ...}`` (the client library unwraps ``results``)."""
    return json_response({"status": "ok", "results": results})
