"""The on-disk ``/me`` cache: one file per account, kept 24 hours, bound to the credentials that fetched it.

``/me`` lists the account's organizations, projects and workspaces; ``projects()``, ``workspaces()``, ``mp project
list`` and workspace auto-resolution read it, so caching it saves a round trip on every run of ``mp``. The file is
``{MP_STORAGE_DIR or ~/.mp}/accounts/<account name>/me.json`` (the directory the OAuth tokens use; mode 0600 in a
0700 directory), holding ``{"cached_at": <epoch seconds>, "credential": <fingerprint>, "me": <the answer>}``.

A cached answer is used only when all of these hold, else it is fetched again (and the file rewritten):

- it is younger than 24 hours (and not stamped in the future);
- its ``credential`` fingerprint equals the current one: a SHA-256 over the account type, the region, the API base
  (``MP_API_BASE_URL``/``MP_APP_BASE_URL`` or the region's host) and the credential itself (username and secret, or
  the static token; for ``oauth_browser`` accounts the account name, since their access token rotates hourly and
  ``mp account login/logout`` drop the file anyway). So an account whose secret changed, two env accounts with the
  same name, or another server never read each other's answer;
- the file parses (a damaged file is a miss, never an error).

``Workspace.me(force_refresh=True)`` (``--refresh`` in the CLI) fetches and rewrites it; ``mp account update``,
``remove``, ``login`` and ``logout`` delete it. Workspace members lists (``member_list``, ``unified_member_list``)
are not kept: they can be large and nothing here reads them.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import orjson

from mixhouse.client.config import Account

ME_CACHE_TTL_SECONDS = 24 * 3600
_DROPPED_WORKSPACE_KEYS = ("member_list", "unified_member_list")


def account_dir(account: str) -> Path:
    """The per-account storage directory (OAuth tokens and this cache)."""
    from mixhouse.client.oauth import storage_dir

    return storage_dir() / "accounts" / account


def me_cache_path(account: str) -> Path:
    return account_dir(account) / "me.json"


def credential_fingerprint(account: Account) -> str:
    """A SHA-256 naming the credential and the server it talks to (never the secret itself)."""
    from mixhouse.client.transport import base_url

    if account.type == "service_account":
        credential = [account.username or "", account.secret or ""]
    elif account.type == "oauth_token":
        credential = [account.auth_header()]
    else:
        credential = [account.name]
    material = [account.type, account.region, base_url(account.region, "app"), *credential]
    return hashlib.sha256(orjson.dumps(material)).hexdigest()


def read_me_cache(account: Account, *, now: float | None = None) -> dict[str, Any] | None:
    """The cached ``/me`` answer for ``account``, or ``None`` (missing, expired, other credentials, damaged)."""
    path = me_cache_path(account.name)
    if path.is_symlink():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("me"), dict):
        return None
    cached_at = data.get("cached_at")
    if not isinstance(cached_at, int | float) or isinstance(cached_at, bool):
        return None
    age = (time.time() if now is None else now) - float(cached_at)
    if age < 0 or age > ME_CACHE_TTL_SECONDS:
        return None
    if data.get("credential") != credential_fingerprint(account):
        return None
    me: dict[str, Any] = data["me"]
    return me


def write_me_cache(account: Account, me: dict[str, Any]) -> None:
    """Store ``/me`` for ``account`` (atomic: a reader never sees half a file)."""
    body = dict(me)
    workspaces = body.get("workspaces")
    if isinstance(workspaces, dict):
        body["workspaces"] = {
            key: ({k: v for k, v in ws.items() if k not in _DROPPED_WORKSPACE_KEYS} if isinstance(ws, dict) else ws)
            for key, ws in workspaces.items()}
    path = me_cache_path(account.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    record = {"cached_at": time.time(), "credential": credential_fingerprint(account), "me": body}
    tmp = path.with_name(f".me.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(record))
    tmp.replace(path)


def drop_me_cache(account: str) -> bool:
    """Delete the account's cached ``/me``; whether there was one."""
    path = me_cache_path(account)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
