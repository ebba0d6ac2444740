"""The credential bridge file: one account (secrets inline), optional project/workspace pins and extra headers.

A bridge lets a process with no config file (a sandbox, a VM, a CI job) talk as an account another machine
exported with ``mp account export-bridge``. It is JSON, the mixpanel-headless "v2" schema::

    {
      "version": 2,
      "account": {"name": "team", "type": "service_account", "region": "us",
                  "username": "sa.user", "secret": "...", "default_project": "3"},
      "tokens": {"access_token": "...", "refresh_token": "...", "expires_at": "2026-04-22T12:00:00+00:00",
                 "token_type": "Bearer", "scope": "read"},          # oauth_browser accounts only (required there)
      "project": "3",                                              # optional pin (digits)
      "workspace": 7,                                              # optional pin (positive integer)
      "headers": {"X-Tenant": "a"}                                 # optional, sent on every request
    }

Unknown top-level or account keys are refused (a typo never silently drops a pin). ``tokens`` may carry more keys
than the five above; this client writes ``client_id`` and ``token_url`` there too so that the reader can refresh the
access token, and ignores whatever else it does not know.

Where the bridge is looked for (first existing file wins): ``MP_AUTH_FILE`` when set (then only that path), else
``~/.claude/mixpanel/auth.json``, else ``./mixpanel_auth.json``. A file that exists but is malformed is a
:class:`~mixhouse.errors.ConfigError`, never skipped. Symlinks are refused: the file holds secrets.

An ``oauth_browser`` bridge account's tokens are copied into this machine's token store
(``{MP_STORAGE_DIR or ~/.mp}/accounts/<name>/tokens.json``) when the account is resolved, unless the store already
holds tokens for that account that expire later (a refresh here rotated them; the bridge's copy is older).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from mixhouse.client.config import ACCOUNT_TYPES, Account
from mixhouse.errors import ConfigError

BRIDGE_VERSION = 2
BRIDGE_KEYS = frozenset({"version", "account", "tokens", "project", "workspace", "headers"})
ACCOUNT_KEYS = frozenset({"name", "type", "region", "username", "secret", "token", "token_env", "default_project"})
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Bridge:
    """A loaded bridge file (``path`` is where it was read from)."""

    path: Path
    account: Account
    tokens: dict[str, Any] | None = field(default=None, repr=False)
    project: str | None = None
    workspace: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def bridge_search_paths() -> list[Path]:
    """The candidate paths, in order: ``MP_AUTH_FILE`` alone when set, else the two default places."""
    override = os.environ.get("MP_AUTH_FILE")
    if override:
        return [Path(override).expanduser()]
    return [Path.home() / ".claude" / "mixpanel" / "auth.json", Path.cwd() / "mixpanel_auth.json"]


def find_bridge_path() -> Path | None:
    """The bridge file that :func:`load_bridge` would read, or ``None``."""
    for candidate in bridge_search_paths():
        if candidate.is_symlink():
            raise ConfigError(f"refusing to read the bridge file {candidate}: it is a symbolic link",
                              details={"path": str(candidate)})
        if candidate.exists():
            return candidate
    return None


def load_bridge(path: Path | None = None) -> Bridge | None:
    """Read and check the bridge file (``path``, else the first of :func:`bridge_search_paths` that exists)."""
    found = path if path is not None else find_bridge_path()
    if found is None or not found.exists():
        return None
    try:
        payload = orjson.loads(found.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the bridge file {found}: {exc}", details={"path": str(found)}) from exc
    return parse_bridge(payload, found)


def _fail(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"invalid bridge file {path}: {problem}", details={"path": str(path)})


def parse_bridge(payload: Any, path: Path) -> Bridge:
    """Check a bridge payload (see the module docstring for the schema)."""
    if not isinstance(payload, dict):
        raise _fail(path, "the top level must be a JSON object")
    unknown = sorted(set(payload) - BRIDGE_KEYS)
    if unknown:
        raise _fail(path, f"unknown keys {unknown}")
    if payload.get("version", BRIDGE_VERSION) != BRIDGE_VERSION:
        raise _fail(path, f"version must be {BRIDGE_VERSION}, not {payload.get('version')!r}")
    account = _parse_account(payload.get("account"), path)
    tokens = payload.get("tokens")
    if tokens is not None and (not isinstance(tokens, dict) or not isinstance(tokens.get("access_token"), str)
                               or not tokens["access_token"]):
        raise _fail(path, "tokens must be an object with an access_token")
    if account.type == "oauth_browser" and tokens is None:
        raise _fail(path, "an oauth_browser account needs its tokens")
    project = payload.get("project")
    if project is not None and (not isinstance(project, str) or not project.isdigit()):
        raise _fail(path, f"project must be a string of digits, not {project!r}")
    workspace = payload.get("workspace")
    if workspace is not None and (isinstance(workspace, bool) or not isinstance(workspace, int) or workspace <= 0):
        raise _fail(path, f"workspace must be a positive integer, not {workspace!r}")
    headers = payload.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        raise _fail(path, "headers must map header names to string values")
    return Bridge(path=path, account=account, tokens=tokens, project=project, workspace=workspace,
                  headers=dict(headers))


def _parse_account(block: Any, path: Path) -> Account:
    if not isinstance(block, dict):
        raise _fail(path, "account must be an object")
    unknown = sorted(set(block) - ACCOUNT_KEYS)
    if unknown:
        raise _fail(path, f"account has unknown keys {unknown}")
    name = block.get("name")
    if not isinstance(name, str) or not ACCOUNT_NAME.match(name):
        raise _fail(path, f"account.name must be 1-64 letters, digits, '-' or '_', not {name!r}")
    if block.get("type") not in ACCOUNT_TYPES:
        raise _fail(path, f"account.type must be one of {list(ACCOUNT_TYPES)}, not {block.get('type')!r}")
    project = block.get("default_project")
    try:
        return Account(name=name, type=str(block["type"]), region=str(block.get("region", "us")),
                       username=block.get("username"), secret=block.get("secret"), token=block.get("token"),
                       token_env=block.get("token_env"), default_project=None if project is None else str(project))
    except ConfigError as exc:
        raise _fail(path, exc.message) from None


# ----------------------------------------------------------------------------------------------- oauth tokens


def _expires_epoch(value: Any) -> float:
    """``expires_at`` as epoch seconds (our store writes a number, the bridge an ISO-8601 string)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    return 0.0


def tokens_for_bridge(stored: dict[str, Any]) -> dict[str, Any]:
    """Our token store's record in the bridge's shape (ISO ``expires_at``; refresh details kept)."""
    out: dict[str, Any] = {
        "access_token": stored["access_token"],
        "expires_at": datetime.fromtimestamp(_expires_epoch(stored.get("expires_at")), tz=UTC).isoformat(),
        "token_type": stored.get("token_type") or "Bearer",
        "scope": stored.get("scope") or "read",
    }
    for key in ("refresh_token", "client_id", "token_url"):
        if stored.get(key):
            out[key] = stored[key]
    return out


def install_bridge_tokens(bridge: Bridge) -> None:
    """Copy an ``oauth_browser`` bridge account's tokens into the token store, unless the store's expire later."""
    if bridge.account.type != "oauth_browser" or bridge.tokens is None:
        return
    from mixhouse.client import oauth

    incoming = {**bridge.tokens, "expires_at": _expires_epoch(bridge.tokens.get("expires_at"))}
    try:
        current = oauth.load_tokens(bridge.account.name)
    except ConfigError:
        current = None
    if current is not None and _expires_epoch(current.get("expires_at")) >= incoming["expires_at"]:
        return
    oauth.save_tokens(bridge.account.name, incoming)


# -------------------------------------------------------------------------------------------------- writing


def export_bridge(account: Account, to: Path, *, project: str | None = None, workspace: int | None = None,
                  headers: dict[str, str] | None = None) -> Path:
    """Write ``account`` (secrets inline) as a bridge file at ``to`` (mode 0600, directory 0700 if created)."""
    block: dict[str, Any] = {"name": account.name, **account.to_block()}
    payload: dict[str, Any] = {"version": BRIDGE_VERSION, "account": block}
    if account.type == "oauth_browser":
        from mixhouse.client import oauth

        payload["tokens"] = tokens_for_bridge(oauth.load_tokens(account.name))
    if project is not None:
        payload["project"] = str(project)
    if workspace is not None:
        payload["workspace"] = workspace
    if headers:
        payload["headers"] = dict(headers)
    parse_bridge(payload, to)  # the same checks a reader makes: never write a file nobody can load
    if not to.parent.exists():
        to.parent.mkdir(parents=True, mode=0o700)
    tmp = to.with_name(f".{to.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.chmod(tmp, 0o600)
    tmp.replace(to)
    return to


def remove_bridge(at: Path | None = None) -> Path | None:
    """Delete the bridge file at ``at`` (else the one :func:`load_bridge` would read); the path removed, or None."""
    target = at if at is not None else find_bridge_path()
    if target is None or not (target.exists() or target.is_symlink()):
        return None
    target.unlink()
    return target
