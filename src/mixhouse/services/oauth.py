"""OAuth 2.0 for the client library's ``mp login`` (RFC 6749 authorization code + RFC 7636 PKCE, RFC 7591 dynamic
registration), with service accounts as the resource owners.

A client registers its redirect URIs (``POST /oauth/mcp/register/``); ``/oauth/authorize/`` shows a form where the
user signs in with a service account's username and secret, then redirects back with a single-use code (10 minutes);
``/oauth/token/`` exchanges it, with the PKCE verifier, for a one-hour access token (a bearer token of that
service account) and a 30-day refresh token, which rotates on every refresh. Loopback redirect URIs
(``http://localhost`` / ``127.0.0.1``) match on any port, as RFC 8252 asks for native apps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Final
from urllib.parse import urlsplit

from mixhouse.errors import OAuthError
from mixhouse.meta.oauth import Client, OAuthStore
from mixhouse.meta.store import MetaStore

_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
MAX_REDIRECT_URIS: Final = 10


def _uri(value: Any, allowed_hosts: tuple[str, ...]) -> str:
    if not isinstance(value, str) or len(value) > 2048:
        raise OAuthError("invalid_redirect_uri", "a redirect URI must be an http(s) URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise OAuthError("invalid_redirect_uri", f"{value!r} is not an http(s) URL without a fragment")
    if parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return value
    if parts.scheme == "http":
        raise OAuthError("invalid_redirect_uri", "plain http redirect URIs must be loopback (localhost)")
    if (parts.hostname or "") not in allowed_hosts:
        raise OAuthError("invalid_redirect_uri", f"redirect URIs on {parts.hostname} are not allowed here: loopback "
                                                 "only, or a host listed in MIXHOUSE_OAUTH_REDIRECT_HOSTS")
    return value


def register(store: MetaStore, body: dict[str, Any], allowed_hosts: tuple[str, ...] = ()) -> dict[str, Any]:
    """RFC 7591 registration of a public client (``token_endpoint_auth_method: none``); redirect URIs on loopback,
    or https on ``allowed_hosts``."""
    uris = body.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_REDIRECT_URIS:
        raise OAuthError("invalid_client_metadata", f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs")
    checked = [_uri(uri, allowed_hosts) for uri in uris]
    if body.get("token_endpoint_auth_method", "none") != "none":
        raise OAuthError("invalid_client_metadata", "only public clients (token_endpoint_auth_method none)")
    grants = body.get("grant_types") or []
    if not isinstance(grants, list):
        raise OAuthError("invalid_client_metadata", "grant_types must be a list")
    for grant in grants:
        if grant not in ("authorization_code", "refresh_token"):
            raise OAuthError("invalid_client_metadata", f"grant type {grant!r} is not supported")
    name = str(body.get("client_name") or "")[:255]
    client = OAuthStore(store).register(name, checked)
    return {"client_id": client.client_id, "client_id_issued_at": int(client.created_at.timestamp()),
            "client_name": client.name, "redirect_uris": list(client.redirect_uris),
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "scope": str(body.get("scope") or "")}


def _matches(registered: str, asked: str) -> bool:
    if registered == asked:
        return True
    a, b = urlsplit(registered), urlsplit(asked)
    return (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query) \
        and a.hostname in ("localhost", "127.0.0.1", "::1")


def authorization_client(store: MetaStore, params: dict[str, str]) -> Client:
    """The client of an authorization request whose ``client_id`` and ``redirect_uri`` check out (errors here are
    shown to the user, never sent to an unchecked redirect URI)."""
    client = OAuthStore(store).client(params.get("client_id", ""))
    if client is None:
        raise OAuthError("invalid_client", "unknown client_id: register the client first")
    redirect_uri = params.get("redirect_uri", "")
    if not any(_matches(registered, redirect_uri) for registered in client.redirect_uris):
        raise OAuthError("invalid_request", "redirect_uri is not one this client registered")
    return client


def check_authorization(params: dict[str, str]) -> None:
    """The rest of an authorization request (errors here go back to the client's redirect URI)."""
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    if params.get("code_challenge_method") != "S256" or not _CHALLENGE.match(params.get("code_challenge", "")):
        raise OAuthError("invalid_request", "a PKCE code_challenge with code_challenge_method S256 is required")


def _challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def token(store: MetaStore, form: dict[str, str]) -> dict[str, Any]:
    """The token endpoint: ``authorization_code`` (with the PKCE verifier) or ``refresh_token``."""
    oauth = OAuthStore(store)
    client_id = form.get("client_id", "")
    if oauth.client(client_id) is None:
        raise OAuthError("invalid_client", "unknown client_id")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        verifier = form.get("code_verifier", "")
        if not _CHALLENGE.match(verifier):
            raise OAuthError("invalid_request", "code_verifier must be 43 to 128 unreserved characters")
        redeemed = oauth.redeem_code(form.get("code", ""), client_id, form.get("redirect_uri", ""))
        if redeemed is None or not hmac.compare_digest(_challenge_of(verifier), redeemed.code_challenge):
            raise OAuthError("invalid_grant", "the code is unknown, used, expired, or not for this client, redirect "
                                              "URI and verifier")
        account_id = redeemed.service_account_id
    elif grant == "refresh_token":
        found = oauth.use_refresh_token(form.get("refresh_token", ""), client_id)
        if found is None:
            raise OAuthError("invalid_grant", "the refresh token is unknown, used, expired or not this client's")
        account_id = found
    else:
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
    tokens = oauth.issue_tokens(client_id, account_id)
    return {"access_token": tokens.access_token, "token_type": "Bearer", "expires_in": tokens.expires_in,
            "refresh_token": tokens.refresh_token, "scope": "projects"}
