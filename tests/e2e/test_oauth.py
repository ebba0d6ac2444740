"""OAuth for ``mp login``: dynamic registration, the sign-in page, the PKCE code exchange and rotating refresh
tokens, done as the client library does them (form posts to ``/oauth/token/``), against a running server; the
access token then reads the App API as its service account."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.server import ServerProcess

REDIRECT = "http://localhost:19284/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@pytest.fixture(scope="module")
def creds(server: ServerProcess) -> ProjectCreds:
    return make_project(server.data_dir, "oauth")


def _register(client: httpx.Client) -> str:
    response = client.post("/oauth/mcp/register/", json={
        "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "token_endpoint_auth_method": "none", "scope": "projects"})
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def _authorize(client: httpx.Client, client_id: str, challenge: str, creds: ProjectCreds,
               redirect: str = "http://localhost:40111/callback") -> dict[str, list[str]]:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "st-1",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    page = client.get("/oauth/authorize/", params=params)
    assert page.status_code == 200 and "<form" in page.text and 'name="secret"' in page.text
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    assert hidden["code_challenge"] == challenge
    wrong = client.post("/oauth/authorize/", data={**hidden, "username": creds.sa_username, "secret": "nope",
                                                   "action": "allow"})
    assert wrong.status_code == 401 and "Wrong username or secret" in wrong.text
    granted = client.post("/oauth/authorize/", data={**hidden, "username": creds.sa_username,
                                                     "secret": creds.sa_secret, "action": "allow"})
    assert granted.status_code == 302, granted.text
    location = urlsplit(granted.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    return parse_qs(location.query)


def _token(client: httpx.Client, **form: str) -> httpx.Response:
    return client.post("/oauth/token/", data=form)


def test_code_exchange_refresh_rotation_and_bearer_use(creds: ProjectCreds, client: httpx.Client) -> None:
    client_id = _register(client)
    verifier, challenge = _pkce()
    # a loopback redirect URI matches on any port (the CLI picks a free one)
    back = _authorize(client, client_id, challenge, creds)
    assert back["state"] == ["st-1"]
    code = back["code"][0]
    redirect = "http://localhost:40111/callback"
    bad = _token(client, grant_type="authorization_code", code=code, redirect_uri=redirect, client_id=client_id,
                 code_verifier=_pkce()[0])
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    # the failed attempt used the code up
    again = _token(client, grant_type="authorization_code", code=code, redirect_uri=redirect, client_id=client_id,
                   code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    code = _authorize(client, client_id, challenge, creds)["code"][0]
    tokens = _token(client, grant_type="authorization_code", code=code, redirect_uri=redirect, client_id=client_id,
                    code_verifier=verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600) and body["refresh_token"]
    assert tokens.headers["cache-control"] == "no-store"
    me = client.get("/api/app/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and str(creds.project_id) in me.json()["results"]["projects"]
    refreshed = _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"], client_id=client_id)
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != body["access_token"]
    reused = _token(client, grant_type="refresh_token", refresh_token=body["refresh_token"], client_id=client_id)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    fresh = refreshed.json()["access_token"]
    assert client.get("/api/app/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_refusals(creds: ProjectCreds, client: httpx.Client) -> None:
    client_id = _register(client)
    _, challenge = _pkce()
    base = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "s",
            "code_challenge": challenge, "code_challenge_method": "S256"}
    unknown = client.get("/oauth/authorize/", params={**base, "client_id": "nope"})
    assert unknown.status_code == 400 and "unknown client_id" in unknown.text
    elsewhere = client.get("/oauth/authorize/", params={**base, "redirect_uri": "https://evil.example/cb"})
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    plain = client.get("/oauth/authorize/", params={**base, "code_challenge_method": "plain"})
    assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
    page = client.get("/oauth/authorize/", params=base)
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    denied = client.post("/oauth/authorize/", data={**hidden, "action": "deny"})
    assert denied.status_code == 302 and "error=access_denied" in denied.headers["location"]
    assert "state=s" in denied.headers["location"]
    for form in ({"grant_type": "password", "client_id": client_id}, {"grant_type": "refresh_token",
                                                                      "client_id": "nope", "refresh_token": "x"}):
        refused = _token(client, **form)
        assert refused.status_code == 400 and refused.json()["error"] in ("unsupported_grant_type", "invalid_client")
    for uri in ("http://example.com/cb", "https://example.com/cb"):  # https only on hosts the server lists
        bad: dict[str, Any] = {"redirect_uris": [uri]}
        refused = client.post("/oauth/mcp/register/", json=bad)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_redirect_uri"
    assert _client_names_are_escaped(client)


def _client_names_are_escaped(client: httpx.Client) -> bool:
    """The sign-in page escapes what it echoes: a client name with markup comes back inert."""
    response = client.post("/oauth/mcp/register/", json={"redirect_uris": [REDIRECT],
                                                          "client_name": "<script>x</script>"})
    client_id = response.json()["client_id"]
    _, challenge = _pkce()
    page = client.get("/oauth/authorize/", params={"response_type": "code", "client_id": client_id,
                                                   "redirect_uri": REDIRECT, "code_challenge": challenge,
                                                   "code_challenge_method": "S256"})
    return "<script>x</script>" not in page.text and "&lt;script&gt;" in page.text
