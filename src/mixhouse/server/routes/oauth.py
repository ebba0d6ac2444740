"""OAuth under ``/oauth/``: dynamic client registration, the sign-in page and the token endpoint
(``services/oauth.py`` has the rules)."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mixhouse.errors import MixhouseError, OAuthError, ValidationError
from mixhouse.meta.oauth import OAuthStore
from mixhouse.server.context import runtime
from mixhouse.server.responses import json_response
from mixhouse.services import oauth

#: The OAuth parameters the sign-in form carries through.
_CARRIED = ("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(exc: MixhouseError) -> Response:
    error = exc.oauth_error if isinstance(exc, OAuthError) else "invalid_request"
    return json_response({"error": error, "error_description": exc.message}, 400, headers=_NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:4rem auto}}label{{display:block;margin:.6rem 0}}
input[type=text],input[type=password]{{width:100%}}</style></head><body><h1>{html.escape(title)}</h1>{body}
</body></html>""", status_code=status, headers={**_NO_STORE, "X-Frame-Options": "DENY"})


def _sign_in(params: dict[str, str], client_name: str, message: str = "", status: int = 200) -> HTMLResponse:
    hidden = "".join(f'<input type="hidden" name="{key}" value="{html.escape(params.get(key, ""))}">'
                     for key in _CARRIED)
    note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
    who = html.escape(client_name or params.get("client_id", ""))
    back_to = html.escape(urlsplit(params.get("redirect_uri", "")).netloc)
    return _page("Sign in to Mixhouse", f"""<p>{who} asks to act as one of your service accounts.
It will send you back to <strong>{back_to}</strong>: allow only if you started this sign-in there.</p>{note}
<form method="post">{hidden}
<label>Service account username <input type="text" name="username" autocomplete="username" required></label>
<label>Secret <input type="password" name="secret" autocomplete="current-password" required></label>
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></form>""", status)


def _back(params: dict[str, str], **values: str) -> RedirectResponse:
    redirect_uri = params["redirect_uri"]
    query = urlencode({**values, **({"state": params["state"]} if params.get("state") else {})})
    return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", status_code=302,
                            headers=_NO_STORE)


async def register(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ValidationError("the registration must be a JSON object")
        rt = runtime(request)
        client = await run_in_threadpool(oauth.register, rt.meta, body, rt.settings.oauth_redirect_hosts)
    except orjson.JSONDecodeError:
        return _oauth_error(ValidationError("the registration must be JSON"))
    except MixhouseError as exc:
        return _oauth_error(exc)
    return json_response(client, 201, headers=_NO_STORE)


async def authorize(request: Request) -> Response:
    meta = runtime(request).meta
    params = dict(request.query_params) if request.method == "GET" else await _form(request)
    try:
        client = await run_in_threadpool(oauth.authorization_client, meta, params)
    except MixhouseError as exc:  # never redirect to an unchecked URI: tell the user
        return _page("This sign-in link is not valid", f"<p>{html.escape(exc.message)}</p>", 400)
    try:
        oauth.check_authorization(params)
    except OAuthError as exc:
        return _back(params, error=exc.oauth_error, error_description=exc.message)
    if request.method == "GET":
        return _sign_in(params, client.name)
    if params.get("action") == "deny":
        return _back(params, error="access_denied", error_description="the user denied access")
    account = await run_in_threadpool(meta.authenticate_service_account, params.get("username", ""),
                                      params.get("secret", ""))
    if account is None:
        return _sign_in(params, client.name, "Wrong username or secret.", 401)
    code = await run_in_threadpool(OAuthStore(meta).issue_code, client.client_id, account.id,
                                   params["redirect_uri"], params["code_challenge"])
    return _back(params, code=code)


async def token(request: Request) -> Response:
    try:
        answer: dict[str, Any] = await run_in_threadpool(oauth.token, runtime(request).meta, await _form(request))
    except MixhouseError as exc:
        return _oauth_error(exc)
    return json_response(answer, headers=_NO_STORE)


def routes() -> list[Route]:
    out = []
    for path, endpoint, methods in (("/oauth/mcp/register", register, ["POST"]),
                                    ("/oauth/authorize", authorize, ["GET", "POST"]),
                                    ("/oauth/token", token, ["POST"])):
        out += [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]
    return out
