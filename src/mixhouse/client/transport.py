"""The HTTP side of the client: Mixpanel's wire protocol on one ``httpx.Client``.

- Base URL per API family: ``MP_API_BASE_URL`` (read on every request) gives ``{base}/api/query``,
  ``{base}/api/2.0`` (export), ``{base}/api/query/engage`` and ``{base}/api/app``; ``MP_APP_BASE_URL`` re-homes the
  App API alone; otherwise the region's Mixpanel hosts.
- Auth: the session account's ``Authorization`` header (Basic or Bearer), read per request so ``use()`` can swap
  the account without a new ``httpx.Client``.
- Query/Engage/Export calls carry ``project_id`` as a query parameter; Query/Engage calls carry
  ``query_origin=mixpanel-headless`` and, when a workspace is pinned, ``workspace_id``. App calls put the project
  (and workspace) in the path and unwrap the ``{"status": "ok", "results": ...}`` envelope; 204 → ``{"status": "ok"}``.
- Errors: 401 → AuthenticationError; 400/403/404/422 and other 4xx → QueryError; 5xx → ServerError; 429 is retried
  (``Retry-After`` seconds capped at 60, else 1/2/4 s backoff with ≤10 % jitter) ``max_retries`` times, then
  RateLimitError.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson

from mixhouse import __version__
from mixhouse.client.config import Session, WorkspaceRef
from mixhouse.client.me_cache import read_me_cache, write_me_cache
from mixhouse.errors import (
    AuthenticationError,
    MixhouseError,
    QueryError,
    RateLimitError,
    ServerError,
    WorkspaceScopeError,
)

ENDPOINTS: dict[str, dict[str, str]] = {
    "us": {"query": "https://mixpanel.com/api/query", "export": "https://data.mixpanel.com/api/2.0",
           "engage": "https://mixpanel.com/api/query/engage", "app": "https://mixpanel.com/api/app"},
    "eu": {"query": "https://eu.mixpanel.com/api/query", "export": "https://data-eu.mixpanel.com/api/2.0",
           "engage": "https://eu.mixpanel.com/api/query/engage", "app": "https://eu.mixpanel.com/api/app"},
    "in": {"query": "https://in.mixpanel.com/api/query", "export": "https://data-in.mixpanel.com/api/2.0",
           "engage": "https://in.mixpanel.com/api/query/engage", "app": "https://in.mixpanel.com/api/app"},
}
OVERRIDE_PREFIXES = {"query": "/api/query", "export": "/api/2.0", "engage": "/api/query/engage", "app": "/api/app"}
QUERY_ORIGIN = "mixpanel-headless"
WORKSPACE_SCOPED_FAMILIES = frozenset({"query", "engage"})
RETRY_AFTER_CAP = 60.0
TIMEOUTS = {"app": 135.0, "query": 503.0, "engage": 503.0, "export": 600.0}


def base_url(region: str, family: str) -> str:
    """The base of an API family, honouring ``MP_API_BASE_URL`` / ``MP_APP_BASE_URL`` at call time."""
    if family == "app":
        app_base = os.environ.get("MP_APP_BASE_URL")
        if app_base:
            return app_base.rstrip("/") + OVERRIDE_PREFIXES["app"]
    override = os.environ.get("MP_API_BASE_URL")
    if override:
        return override.rstrip("/") + OVERRIDE_PREFIXES[family]
    return ENDPOINTS[region][family]


def _message(body: Any, default: str) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    elif isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return default


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class ApiClient:
    """One ``httpx.Client`` shared by every call of a Workspace (and kept across ``use()``)."""

    def __init__(self, session: Session, *, max_retries: int = 3, transport: httpx.BaseTransport | None = None,
                 entry: str = "lib", sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.max_retries = max_retries
        self._sleep = sleep
        self._http = httpx.Client(transport=transport, follow_redirects=False, timeout=httpx.Timeout(135.0))
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        self._user_agent = f"mixhouse/{__version__} (entry={entry}; python/{py})"
        self._resolved_workspace: dict[str, int] = {}
        self._me: dict[str, Any] = {}

    # ---------------------------------------------------------------------------------------------- session state
    @property
    def project_id(self) -> str:
        return self.session.project.id

    @property
    def region(self) -> str:
        return self.session.account.region

    @property
    def workspace_id(self) -> int | None:
        return self.session.workspace.id if self.session.workspace else None

    def close(self) -> None:
        self._http.close()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent}
        name, value = os.environ.get("MP_CUSTOM_HEADER_NAME"), os.environ.get("MP_CUSTOM_HEADER_VALUE")
        if name and value:
            headers[name] = value
        headers.update(self.session.headers)  # a bridge file's headers
        headers.update(extra or {})
        headers["Authorization"] = self.session.account.auth_header()  # never overridden by a caller's headers
        return headers

    def url(self, family: str, path: str) -> str:
        if path and not path.startswith("/"):
            path = "/" + path
        return base_url(self.region, family) + path

    # ---------------------------------------------------------------------------------------------- sending
    def _send(self, method: str, url: str, *, family: str, params: dict[str, Any] | None = None,
              json: Any = None, form: dict[str, Any] | None = None, stream: bool = False) -> httpx.Response:
        """Send with the 429 retry loop; the caller maps the final response."""
        attempt = 0
        timeout = httpx.Timeout(TIMEOUTS.get(family, 135.0), connect=30.0)
        while True:
            request = self._http.build_request(
                method, url, params=_clean(params), headers=self._headers(),
                content=orjson.dumps(json) if json is not None else None, data=_clean(form), timeout=timeout)
            if json is not None:
                request.headers["Content-Type"] = "application/json"
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                raise ServerError(f"request timed out: {method} {url}", details={"url": url}) from exc
            except httpx.TransportError as exc:
                raise ServerError(f"cannot reach {url}: {exc}", details={"url": url}) from exc
            if response.status_code != 429:
                return response
            retry_after = _retry_after(response)
            if stream:
                response.close()
            if attempt >= self.max_retries:
                wait = retry_after if retry_after is not None else 60.0
                raise RateLimitError(
                    f"rate limited by the server after {attempt + 1} attempts; retry after {wait:g} s",
                    retry_after=min(wait, 3600.0),
                    details={"retry_after": min(wait, 3600.0), "project_id": self.project_id, "url": url})
            if retry_after is not None:
                delay = min(retry_after, RETRY_AFTER_CAP)
            else:
                backoff = float(2**attempt)
                delay = backoff + random.uniform(0, backoff * 0.1)
            self._sleep(delay)
            attempt += 1

    def _check(self, response: httpx.Response, *, app: bool) -> Any:
        status = response.status_code
        if status == 204:
            return {"status": "ok"}
        try:
            body: Any = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = response.text
        if 200 <= status < 300:
            if isinstance(body, str) and response.content:
                raise MixhouseError(f"the server answered {status} with a body that is not JSON",
                                    details={"code": "INVALID_RESPONSE", "body": body[:500]})
            return body
        details = {"status_code": status, "url": str(response.request.url), "response": body}
        if status == 401:
            raise AuthenticationError(
                _message(body, "authentication failed: check the account's username and secret (or token)"),
                details=details)
        if 400 <= status < 500:
            default = "permission denied" if status == 403 else ("not found" if status == 404 else "invalid request")
            raise QueryError(_message(body, default), details=details)
        raise ServerError(f"Server error: {_message(body, str(status))}", details=details)

    def request(self, method: str, url: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        """The seeds' escape hatch: an authenticated request to any absolute URL (``query_origin`` added, retries
        and error mapping as everywhere); the JSON answer, unwrapped of nothing."""
        query = {**(params or {}), "query_origin": QUERY_ORIGIN}
        attempt = 0
        while True:
            request = self._http.build_request(
                method, url, params=_clean(query), headers=self._headers(headers),
                content=orjson.dumps(json_body) if json_body is not None else None,
                timeout=httpx.Timeout(timeout) if timeout is not None else httpx.Timeout(135.0, connect=30.0))
            if json_body is not None:
                request.headers["Content-Type"] = "application/json"
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                raise ServerError(f"cannot reach {url}: {exc}", details={"url": url}) from exc
            if response.status_code != 429 or attempt >= self.max_retries:
                break
            retry_after = _retry_after(response)
            self._sleep(min(retry_after, RETRY_AFTER_CAP) if retry_after is not None else float(2**attempt))
            attempt += 1
        if response.status_code == 429:
            wait = _retry_after(response) or 60.0
            raise RateLimitError(f"rate limited by the server; retry after {wait:g} s", retry_after=min(wait, 3600.0),
                                 details={"retry_after": min(wait, 3600.0), "url": url})
        return self._check(response, app=False)

    def query_request(self, method: str, family: str, path: str, *, params: dict[str, Any] | None = None,
                      json: Any = None, form: dict[str, Any] | None = None, inject_project_id: bool = True,
                      query_origin: bool = True) -> Any:
        """A Query/Engage/Export call: ``project_id`` and ``query_origin`` in the query string."""
        query: dict[str, Any] = dict(params or {})
        if inject_project_id:
            query.setdefault("project_id", self.project_id)
        if query_origin:
            query["query_origin"] = QUERY_ORIGIN
        if family in WORKSPACE_SCOPED_FAMILIES and self.workspace_id is not None:
            query.setdefault("workspace_id", str(self.workspace_id))
        response = self._send(method, self.url(family, path), family=family, params=query, json=json, form=form)
        return self._check(response, app=False)

    def app_request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                    form: dict[str, Any] | None = None, raw: bool = False) -> Any:
        """An App API call (``path`` under ``/api/app``); ``results`` is unwrapped unless ``raw``."""
        response = self._send(method, self.url("app", path), family="app", params=params, json=json, form=form)
        body = self._check(response, app=True)
        if not raw and isinstance(body, dict) and "results" in body:
            return body["results"]
        return body

    def stream_lines(self, family: str, path: str, *, params: dict[str, Any]) -> Iterator[bytes]:
        """A streamed GET (export): one JSON line at a time, no ``query_origin``."""
        query = {"project_id": self.project_id, **params}
        response = self._send("GET", self.url(family, path), family=family, params=query, stream=True)
        try:
            if response.status_code >= 400:
                response.read()
                self._check(response, app=False)
            for line in response.iter_lines():
                if line.strip():
                    yield line.encode()
        finally:
            response.close()

    # ---------------------------------------------------------------------------------------------- App paths
    def maybe_scoped_path(self, suffix: str) -> str:
        """``/workspaces/{wid}/x`` when a workspace is pinned, else ``/projects/{pid}/x``."""
        if self.workspace_id is not None:
            return f"/workspaces/{self.workspace_id}/{suffix}"
        return f"/projects/{self.project_id}/{suffix}"

    def require_scoped_path(self, suffix: str) -> str:
        """``/projects/{pid}/workspaces/{wid}/x``, resolving the workspace when none is pinned."""
        return f"/projects/{self.project_id}/workspaces/{self.resolve_workspace_id()}/{suffix}"

    def project_path(self, suffix: str) -> str:
        return f"/projects/{self.project_id}/{suffix}"

    # ---------------------------------------------------------------------------------------------- /me, workspaces
    def me(self, *, force_refresh: bool = False) -> dict[str, Any]:
        """``GET /api/app/me``, answered from memory or the on-disk cache (:mod:`mixhouse.client.me_cache`) when
        they hold it; ``force_refresh`` always asks the server and rewrites both."""
        cached = None if force_refresh else self.cached_me()
        if cached is not None:
            return cached
        body = self.app_request("GET", "/me")
        if not isinstance(body, dict):
            raise MixhouseError("/me answered something that is not an object", details={"body": body})
        self._me[self.session.account.name] = body
        write_me_cache(self.session.account, body)
        return body

    def cached_me(self) -> dict[str, Any] | None:
        """The ``/me`` answer this process or the disk cache already holds for the account (never a request)."""
        account = self.session.account
        if account.name not in self._me:
            on_disk = read_me_cache(account)
            if on_disk is None:
                return None
            self._me[account.name] = on_disk
        me: dict[str, Any] = self._me[account.name]
        return me

    def list_workspaces(self) -> list[dict[str, Any]]:
        body = self.app_request("GET", self.project_path("workspaces/public"))
        if not isinstance(body, list):
            raise MixhouseError("workspaces/public answered something that is not a list",
                                details={"code": "INVALID_RESPONSE", "response": body})
        return body

    def projects_metadata_index(self) -> dict[str, Any]:
        body = self.app_request("GET", "/projects/metadata/index")
        return body if isinstance(body, dict) else {}

    def resolve_workspace_id(self) -> int:
        """Pinned id → cached id → ``/me`` → ``workspaces/public`` → ``metadata/index``.

        Preference among candidates: ``is_global``, then the name "All Project Data", then ``is_default``, then the
        first visible one, then the first. 403/404 fall through to the next source; other errors propagate.
        """
        if self.workspace_id is not None:
            return self.workspace_id
        cache_key = f"{self.session.account.name}:{self.project_id}"
        if cache_key in self._resolved_workspace:
            return self._resolved_workspace[cache_key]
        sources: list[Callable[[], list[dict[str, Any]]]] = [
            self._workspaces_from_me, self.list_workspaces, self._workspaces_from_index]
        for source in sources:
            try:
                candidates = source()
            except QueryError as exc:
                if exc.details.get("status_code") in (403, 404):
                    continue
                raise
            chosen = pick_workspace(candidates)
            if chosen is not None:
                self._resolved_workspace[cache_key] = chosen
                return chosen
        raise WorkspaceScopeError(
            f"project {self.project_id} has no workspace this account can use; pin one with MP_WORKSPACE_ID, "
            "Workspace(workspace=N) or ws.use(workspace=N) (`mp workspace list` shows them)",
            details={"code": "NO_WORKSPACES", "project_id": self.project_id})

    def _workspaces_from_me(self) -> list[dict[str, Any]]:
        me = self.cached_me()  # only a /me already fetched or cached on disk: no request for it here
        if me is None:
            return []
        workspaces = me.get("workspaces") or {}
        return [w for w in workspaces.values() if isinstance(w, dict) and
                str(w.get("project_id")) == self.project_id]

    def _workspaces_from_index(self) -> list[dict[str, Any]]:
        entry = self.projects_metadata_index().get(self.project_id) or {}
        workspaces = entry.get("workspaces") or {}
        return [w for w in workspaces.values() if isinstance(w, dict)]

    def pin(self, workspace: WorkspaceRef | None) -> None:
        self.session = self.session.replace(workspace=workspace)


def pick_workspace(candidates: list[dict[str, Any]]) -> int | None:
    rows = [c for c in candidates if isinstance(c.get("id"), int)]
    if not rows:
        return None
    tests: list[Callable[[dict[str, Any]], Any]] = [
        lambda w: w.get("is_global"), lambda w: w.get("name") == "All Project Data",
        lambda w: w.get("is_default"), lambda w: w.get("is_visible", True)]
    for test in tests:
        for row in rows:
            if test(row):
                return int(row["id"])
    return int(rows[0]["id"])


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}
