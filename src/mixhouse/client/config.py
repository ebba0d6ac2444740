"""Client configuration: the TOML file (``~/.mp/config.toml`` or ``MP_CONFIG_PATH``) and the environment.

The file has the mixpanel-headless schema::

    [active]
    account = "team"          # the account used when nothing else names one
    workspace = 7             # optional pinned workspace (data view)

    [accounts.team]
    type = "service_account"  # or "oauth_token", or "oauth_browser" (made by `mp login`)
    region = "us"             # us | eu | in
    username = "sa.user"      # service_account
    secret = "..."            # service_account
    # token = "..." / token_env = "MY_TOKEN_VAR"   (oauth_token: exactly one)
    default_project = "3"     # the project used when nothing else names one

    [targets.ecom]            # a named (account, project, workspace?) triple
    account = "team"
    project = "3"
    workspace = 7

Resolution (:func:`resolve_session`), one independent chain per axis:

- account:   ``MP_USERNAME``+``MP_SECRET``+``MP_PROJECT_ID``(+``MP_REGION``) service account, else
  ``MP_OAUTH_TOKEN``+``MP_PROJECT_ID``(+``MP_REGION``) → ``MP_ACCOUNT`` → ``account=`` → target → bridge file →
  ``[active].account`` → the only account in the file;
- project:   ``MP_PROJECT_ID`` → ``project=`` → target → bridge ``project`` → the account's ``default_project``;
- workspace: ``MP_WORKSPACE_ID`` → ``workspace=`` → target → bridge ``workspace`` → ``[active].workspace`` → none
  (resolved lazily when an App API call needs one).

The bridge file (:mod:`mixhouse.client.bridge`: ``MP_AUTH_FILE``, else ``~/.claude/mixpanel/auth.json``, else
``./mixpanel_auth.json``) also adds its ``headers`` to every request. :attr:`Session.sources` records where each
axis came from (``mp session`` prints it).

``MP_TARGET`` names a target like ``target=``. ``MP_REGION`` is required with the env credentials, except when
``MP_API_BASE_URL`` is set (every request then goes to that one base; the region defaults to ``us``).
"""

from __future__ import annotations

import base64
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from mixhouse.errors import ConfigError

Region = Literal["us", "eu", "in"]
REGIONS: tuple[str, ...] = ("us", "eu", "in")
ACCOUNT_TYPES: tuple[str, ...] = ("service_account", "oauth_token", "oauth_browser")

ENV_ACCOUNT_NAME = "env-service-account"
ENV_OAUTH_ACCOUNT_NAME = "env-oauth-token"


@dataclass(frozen=True)
class Account:
    """A named credential: a service account (HTTP Basic), a static OAuth bearer token, or the tokens ``mp login``
    stored (``oauth_browser``, refreshed when they are about to expire)."""

    name: str
    type: str = "service_account"
    region: str = "us"
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None
    default_project: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ACCOUNT_TYPES:
            raise ConfigError(f"account {self.name!r}: type must be one of {list(ACCOUNT_TYPES)}, not {self.type!r}")
        if self.region not in REGIONS:
            raise ConfigError(f"account {self.name!r}: region must be one of {list(REGIONS)}, not {self.region!r}")
        if self.type == "service_account" and (not self.username or not self.secret):
            raise ConfigError(f"account {self.name!r}: a service_account needs both username and secret")
        if self.type == "oauth_token" and (self.token is None) == (self.token_env is None):
            raise ConfigError(f"account {self.name!r}: an oauth_token account needs exactly one of token, token_env")

    def auth_header(self) -> str:
        """The ``Authorization`` header value (read again each time: ``token_env`` may change)."""
        if self.type == "service_account":
            raw = f"{self.username}:{self.secret}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        if self.type == "oauth_browser":
            from mixhouse.client.oauth import access_token

            return f"Bearer {access_token(self.name)}"
        token = self.token
        if token is None and self.token_env is not None:
            token = os.environ.get(self.token_env)
            if not token:
                raise ConfigError(f"account {self.name!r}: environment variable {self.token_env} is not set",
                                  details={"env_var": self.token_env})
        return f"Bearer {token}"

    def to_block(self) -> dict[str, Any]:
        block: dict[str, Any] = {"type": self.type, "region": self.region}
        for key in ("username", "secret", "token", "token_env", "default_project"):
            value = getattr(self, key)
            if value is not None:
                block[key] = value
        return block


@dataclass(frozen=True)
class Project:
    id: str
    name: str | None = None


@dataclass(frozen=True)
class WorkspaceRef:
    id: int
    name: str | None = None
    is_default: bool | None = None
    is_global: bool | None = None


@dataclass(frozen=True)
class Target:
    name: str
    account: str
    project: str
    workspace: int | None = None


@dataclass(frozen=True)
class Session:
    """What one Workspace talks as: an account, a project and (optionally) a pinned workspace."""

    account: Account
    project: Project
    workspace: WorkspaceRef | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Extra request headers (a bridge file's ``headers``)."""
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    """Where each axis came from: ``{"account": "env MP_USERNAME/MP_SECRET", "project": "target ecom", ...}``."""

    def replace(self, **changes: Any) -> Session:
        return replace(self, **changes)


def default_config_path() -> Path:
    override = os.environ.get("MP_CONFIG_PATH")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".mp" / "config.toml"


# --------------------------------------------------------------------------------------------------------- TOML out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {type(value).__name__} to the config file")


def _toml_key(key: str) -> str:
    if key and all(ch.isalnum() or ch in "-_" for ch in key):
        return key
    return _toml_value(key)


def dumps_toml(raw: dict[str, Any]) -> str:
    """Write the config's two levels (``[section]`` and ``[section.name]`` tables) as TOML."""
    lines: list[str] = []
    for section, body in raw.items():
        if not isinstance(body, dict):
            lines.append(f"{_toml_key(section)} = {_toml_value(body)}")
            continue
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in body.items() if isinstance(v, dict)}
        if scalars or not tables:
            lines.append(f"[{_toml_key(section)}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
            lines.append("")
        for name, table in tables.items():
            lines.append(f"[{_toml_key(section)}.{_toml_key(name)}]")
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items())
            lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------ the manager


class ConfigManager:
    """Reads and edits the config file; every call re-reads it (last write wins)."""

    def __init__(self, config_path: Path | None = None) -> None:
        self.config_path = config_path or default_config_path()

    def read(self) -> dict[str, Any]:
        if not self.config_path.exists():
            return {}
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the config file {self.config_path}: {exc}",
                              details={"path": str(self.config_path)}) from exc

    def write(self, raw: dict[str, Any]) -> None:
        path = self.config_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(dumps_toml(raw), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    # accounts
    def list_accounts(self) -> list[Account]:
        accounts = self.read().get("accounts", {}) or {}
        return [self._account(name, block) for name, block in sorted(accounts.items())]

    def get_account(self, name: str) -> Account:
        block = (self.read().get("accounts", {}) or {}).get(name)
        if block is None:
            raise ConfigError(f"no account named {name!r} in {self.config_path} (add one with `mp account add`)",
                              details={"account": name})
        return self._account(name, block)

    @staticmethod
    def _account(name: str, block: Any) -> Account:
        if not isinstance(block, dict):
            raise ConfigError(f"[accounts.{name}] must be a table")
        unknown = set(block) - {"type", "region", "username", "secret", "token", "token_env", "default_project"}
        if unknown:
            raise ConfigError(f"[accounts.{name}] has unknown keys: {sorted(unknown)}")
        project = block.get("default_project")
        return Account(name=name, type=str(block.get("type", "service_account")), region=str(block.get("region", "us")),
                       username=block.get("username"), secret=block.get("secret"), token=block.get("token"),
                       token_env=block.get("token_env"), default_project=None if project is None else str(project))

    def add_account(self, account: Account, *, make_active: bool | None = None) -> None:
        raw = self.read()
        accounts = raw.setdefault("accounts", {})
        if account.name in accounts:
            raise ConfigError(f"account {account.name!r} already exists (remove it first with `mp account remove`)")
        accounts[account.name] = account.to_block()
        active = raw.setdefault("active", {})
        if make_active or (make_active is None and "account" not in active):
            active["account"] = account.name
        self.write(raw)

    def update_account(self, name: str, **changes: Any) -> Account:
        account = replace(self.get_account(name), **changes)
        raw = self.read()
        raw["accounts"][name] = account.to_block()
        self.write(raw)
        return account

    def remove_account(self, name: str) -> None:
        raw = self.read()
        if name not in (raw.get("accounts") or {}):
            raise ConfigError(f"no account named {name!r}")
        del raw["accounts"][name]
        if (raw.get("active") or {}).get("account") == name:
            raw["active"].pop("account", None)
            raw["active"].pop("workspace", None)
        self.write(raw)

    # [settings]
    def custom_header(self) -> tuple[str, str] | None:
        """``[settings].custom_header = {name = "...", value = "..."}``: a header sent on every request."""
        settings = self.read().get("settings") or {}
        header = settings.get("custom_header") if isinstance(settings, dict) else None
        if header is None:
            return None
        if not isinstance(header, dict):
            raise ConfigError("[settings].custom_header must be an inline table {name = ..., value = ...}")
        name, value = header.get("name"), header.get("value")
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise ConfigError("[settings].custom_header needs `name` and `value` strings")
        return name, value

    # [active]
    def get_active(self) -> dict[str, Any]:
        active = self.read().get("active", {}) or {}
        return dict(active)

    def set_active(self, *, account: str | None = None, workspace: int | None = None,
                   clear_workspace: bool = False) -> None:
        raw = self.read()
        active = raw.setdefault("active", {})
        if account is not None:
            if account not in (raw.get("accounts") or {}):
                raise ConfigError(f"no account named {account!r}")
            active["account"] = account
        if workspace is not None:
            active["workspace"] = int(workspace)
        elif clear_workspace:
            active.pop("workspace", None)
        self.write(raw)

    # targets
    def list_targets(self) -> list[Target]:
        targets = self.read().get("targets", {}) or {}
        return [self._target(name, block) for name, block in sorted(targets.items())]

    def get_target(self, name: str) -> Target:
        block = (self.read().get("targets", {}) or {}).get(name)
        if block is None:
            raise ConfigError(f"no target named {name!r} in {self.config_path} (add one with `mp target add`)",
                              details={"target": name})
        return self._target(name, block)

    @staticmethod
    def _target(name: str, block: Any) -> Target:
        if not isinstance(block, dict) or "account" not in block or "project" not in block:
            raise ConfigError(f"[targets.{name}] needs account and project")
        workspace = block.get("workspace")
        return Target(name=name, account=str(block["account"]), project=str(block["project"]),
                      workspace=None if workspace is None else int(workspace))

    def add_target(self, target: Target) -> None:
        raw = self.read()
        if target.account not in (raw.get("accounts") or {}):
            raise ConfigError(f"target {target.name!r} names an unknown account {target.account!r}")
        block: dict[str, Any] = {"account": target.account, "project": target.project}
        if target.workspace is not None:
            block["workspace"] = target.workspace
        raw.setdefault("targets", {})[target.name] = block
        self.write(raw)

    def remove_target(self, name: str) -> None:
        raw = self.read()
        if name not in (raw.get("targets") or {}):
            raise ConfigError(f"no target named {name!r}")
        del raw["targets"][name]
        self.write(raw)

    def apply_target(self, name: str) -> Target:
        """Make a target the persisted state: ``[active]`` account and workspace, the account's default project."""
        target = self.get_target(name)
        raw = self.read()
        raw["active"] = {"account": target.account, **({"workspace": target.workspace} if target.workspace else {})}
        raw["accounts"][target.account]["default_project"] = target.project
        self.write(raw)
        return target


# ------------------------------------------------------------------------------------------------------- resolution


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _env_region() -> str | None:
    region = _env("MP_REGION")
    if region is None:
        return "us" if _env("MP_API_BASE_URL") else None
    if region not in REGIONS:
        raise ConfigError(f"MP_REGION={region!r} is not one of {list(REGIONS)}",
                          details={"env_var": "MP_REGION", "value": region})
    return region


def env_account() -> Account | None:
    """The account the environment describes: the service-account quad beats ``MP_OAUTH_TOKEN``."""
    project = _env("MP_PROJECT_ID")
    region = _env_region()
    if project is None or region is None:
        return None
    username, secret = _env("MP_USERNAME"), _env("MP_SECRET")
    if username and secret:
        return Account(name=ENV_ACCOUNT_NAME, type="service_account", region=region, username=username,
                       secret=secret)
    token = _env("MP_OAUTH_TOKEN")
    if token:
        return Account(name=ENV_OAUTH_ACCOUNT_NAME, type="oauth_token", region=region, token=token)
    return None


def _parse_workspace(value: Any, where: str) -> int:
    try:
        workspace = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: workspace id must be a positive integer, not {value!r}") from None
    if workspace <= 0:
        raise ConfigError(f"{where}: workspace id must be a positive integer, not {value!r}")
    return workspace


def _parse_project(value: Any, where: str) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ConfigError(f"{where}: project id must be digits, not {value!r}")
    return text


def resolve_session(*, account: str | None = None, project: str | int | None = None,
                    workspace: int | None = None, target: str | None = None,
                    config: ConfigManager | None = None, use_bridge: bool = True) -> Session:
    """Resolve the three axes independently (env > kwargs > target > bridge file > ``[active]`` > account default).

    ``use_bridge=False`` ignores any bridge file (``Workspace(session=...)`` callers never reach here).
    """
    from mixhouse.client.bridge import install_bridge_tokens, load_bridge

    config = config or ConfigManager()
    target_name = _env("MP_TARGET") or target
    tgt = config.get_target(target_name) if target_name else None
    target_label = f"target {target_name}{' (MP_TARGET)' if _env('MP_TARGET') else ''}"
    bridge = load_bridge() if use_bridge else None
    bridge_label = f"bridge {bridge.path}" if bridge else ""
    active = config.get_active()
    sources: dict[str, str] = {}

    # account axis
    resolved: Account | None = env_account()
    if resolved is not None:
        sources["account"] = "env MP_USERNAME/MP_SECRET" if resolved.type == "service_account" else \
            "env MP_OAUTH_TOKEN"
    else:
        name, sources["account"] = _first(
            (_env("MP_ACCOUNT"), "env MP_ACCOUNT"), (account, "argument"), (tgt.account if tgt else None, target_label))
        if name is None and bridge is not None:
            resolved, sources["account"] = bridge.account, bridge_label
        elif name is None and active.get("account"):
            name, sources["account"] = active["account"], "config [active]"
            resolved = config.get_account(str(name))
        elif name is None:
            accounts = config.list_accounts()
            if len(accounts) != 1:
                raise ConfigError(
                    "no account to use. Fix one of: set MP_USERNAME, MP_SECRET, MP_PROJECT_ID and MP_REGION (or "
                    "MP_OAUTH_TOKEN, MP_PROJECT_ID, MP_REGION); pass Workspace(account=...); set MP_ACCOUNT; run "
                    f"`mp account add NAME ...` (config file: {config.config_path}); or provide a bridge file "
                    "(MP_AUTH_FILE)", details={"axis": "account", "config_path": str(config.config_path)})
            resolved, sources["account"] = accounts[0], "config (the only account)"
        else:
            resolved = config.get_account(str(name))
    if bridge is not None and resolved is bridge.account:
        install_bridge_tokens(bridge)

    # project axis
    project_value, sources["project"] = _first(
        (_env("MP_PROJECT_ID"), "env MP_PROJECT_ID"), (project, "argument"),
        (tgt.project if tgt else None, target_label), (bridge.project if bridge else None, bridge_label),
        (resolved.default_project, f"account {resolved.name} default_project"))
    if project_value is None:
        raise ConfigError(
            f"no project for account {resolved.name!r}. Fix one of: set MP_PROJECT_ID; pass Workspace(project=...); "
            f"or run `mp project use ID` (it stores the account's default_project)",
            details={"axis": "project", "account": resolved.name})
    project_id = _parse_project(project_value, "project")

    # workspace axis (a pinned [active] workspace belongs to the [active] account)
    active_workspace = active.get("workspace") if active.get("account") in (None, resolved.name) else None
    workspace_value, sources["workspace"] = _first(
        (_env("MP_WORKSPACE_ID"), "env MP_WORKSPACE_ID"), (workspace, "argument"),
        (tgt.workspace if tgt else None, target_label), (bridge.workspace if bridge else None, bridge_label),
        (active_workspace, "config [active]"))
    if workspace_value is None:
        sources["workspace"] = "none (resolved on the first App API call that needs one)"
    ws_ref = WorkspaceRef(id=_parse_workspace(workspace_value, "workspace")) if workspace_value else None
    custom = config.custom_header()
    headers = {custom[0]: custom[1]} if custom else {}
    headers.update(bridge.headers if bridge else {})  # the bridge's headers win on a clash
    return Session(account=resolved, project=Project(id=project_id), workspace=ws_ref, headers=headers,
                   sources=sources)


def _first(*candidates: tuple[Any, str]) -> tuple[Any, str]:
    """The first candidate value that is set (not None, not empty) and its source label."""
    for value, label in candidates:
        if value is not None and value != "":
            return value, label
    return None, ""
