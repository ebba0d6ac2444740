"""``mp login``: OAuth 2.0 authorization code + PKCE (RFC 7636) with dynamic client registration (RFC 7591), and the
stored tokens of ``oauth_browser`` accounts (refreshed, with rotation, when they are about to expire).

The OAuth endpoints are ``{base}/oauth/``: ``MP_OAUTH_BASE_URL`` if set, else ``MP_API_BASE_URL`` (a Mixhouse
server serves them; decision 26), else the region's Mixpanel host. Tokens live in
``{MP_STORAGE_DIR or ~/.mp}/accounts/<name>/tokens.json`` (mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import orjson

from mixhouse.errors import AuthenticationError, ConfigError, OAuthError

OAUTH_HOSTS = {"us": "https://mixpanel.com", "eu": "https://eu.mixpanel.com", "in": "https://in.mixpanel.com"}
REFRESH_MARGIN_SECONDS = 60


def oauth_base(region: str) -> str:
    for name in ("MP_OAUTH_BASE_URL", "MP_API_BASE_URL"):
        value = os.environ.get(name)
        if value:
            return value.rstrip("/") + "/oauth"
    return OAUTH_HOSTS[region] + "/oauth"


def storage_dir() -> Path:
    value = os.environ.get("MP_STORAGE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".mp"


def tokens_path(account: str) -> Path:
    return storage_dir() / "accounts" / account / "tokens.json"


def load_tokens(account: str) -> dict[str, Any]:
    path = tokens_path(account)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"account {account!r} has no OAuth tokens ({path}): run `mp login --name {account}`",
                          details={"account": account}) from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}; run `mp login --name {account}` again") from exc
    if not isinstance(data, dict) or "access_token" not in data:
        raise ConfigError(f"{path} holds no access token: run `mp login --name {account}` again")
    return data


def save_tokens(account: str, tokens: dict[str, Any]) -> None:
    path = tokens_path(account)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(tokens, option=orjson.OPT_INDENT_2))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _token_answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        message = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        if error == "invalid_grant":
            raise AuthenticationError(f"the OAuth sign-in is no longer valid ({message or error}): run `mp login` "
                                      "again", details={"error": error})
        raise OAuthError(error or "server_error", message or f"token endpoint answered {response.status_code}")
    return body


def _stamp(answer: dict[str, Any], client_id: str, token_url: str) -> dict[str, Any]:
    return {"access_token": answer["access_token"], "refresh_token": answer.get("refresh_token"),
            "token_type": answer.get("token_type", "Bearer"), "scope": answer.get("scope"),
            "expires_at": time.time() + float(answer.get("expires_in", 3600)), "client_id": client_id,
            "token_url": token_url}


def access_token(account: str) -> str:
    """A valid access token for an ``oauth_browser`` account, refreshed (and stored) when near expiry."""
    tokens = load_tokens(account)
    if float(tokens.get("expires_at", 0)) - REFRESH_MARGIN_SECONDS > time.time():
        return str(tokens["access_token"])
    refresh = tokens.get("refresh_token")
    if not refresh:
        raise AuthenticationError(f"the OAuth access token of {account!r} expired and there is no refresh token: "
                                  f"run `mp login --name {account}`")
    with httpx.Client(timeout=30.0) as http:
        response = http.post(str(tokens["token_url"]), data={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": tokens["client_id"]})
    fresh = _stamp(_token_answer(response), str(tokens["client_id"]), str(tokens["token_url"]))
    if not fresh["refresh_token"]:
        fresh["refresh_token"] = refresh
    save_tokens(account, fresh)
    return str(fresh["access_token"])


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _Callback:
    """A one-shot loopback HTTP server for the redirect (RFC 8252)."""

    def __init__(self) -> None:
        self.query: dict[str, list[str]] | None = None
        self.done = threading.Event()
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                split = urlsplit(self.path)
                if split.path != "/callback":
                    self.send_response(404)
                    self.end_headers()
                    return
                callback.query = parse_qs(split.query)
                body = b"<html><body><p>Signed in. You can close this window.</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                callback.done.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def login(*, region: str = "us", open_url: Callable[[str], Any] | None = None, timeout: float = 300.0,
          scope: str = "projects") -> dict[str, Any]:
    """Run the browser sign-in; returns the tokens to store (``save_tokens``). ``open_url`` shows the sign-in page
    (default: the web browser)."""
    base = oauth_base(region)
    callback = _Callback()
    try:
        redirect = f"http://localhost:{callback.port}/callback"
        with httpx.Client(timeout=30.0) as http:
            registered = http.post(f"{base}/mcp/register/", json={
                "redirect_uris": [redirect], "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "token_endpoint_auth_method": "none", "scope": scope,
                "client_name": "mixhouse mp"})
            if registered.status_code not in (200, 201):
                raise OAuthError("registration_failed",
                                 f"client registration at {base}/mcp/register/ answered {registered.status_code}")
            client_id = str(registered.json()["client_id"])
            verifier, challenge = pkce_pair()
            state = secrets.token_urlsafe(16)
            url = f"{base}/authorize/?" + urlencode({
                "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": state,
                "code_challenge": challenge, "code_challenge_method": "S256", "scope": scope})
            if open_url is None:
                import webbrowser

                print(f"Opening {url}\nIf no browser opens, visit that address.", flush=True)
                webbrowser.open(url)
            else:
                open_url(url)
            if not callback.done.wait(timeout):
                raise OAuthError("timeout", f"no sign-in within {timeout:g} s")
            query = callback.query or {}
            if query.get("state", [""])[0] != state:
                raise OAuthError("invalid_state", "the sign-in answer does not match this login (state)")
            if "error" in query:
                raise OAuthError(query["error"][0], query.get("error_description", ["sign-in refused"])[0])
            code = query.get("code", [""])[0]
            token_url = f"{base}/token/"
            response = http.post(token_url, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client_id,
                "code_verifier": verifier})
        return _stamp(_token_answer(response), client_id, token_url)
    finally:
        callback.close()
