"""The bridge file as a resolution axis, and the on-disk /me cache, with a real temporary HOME, config and bridge."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import orjson
import pytest

from mixhouse.client import oauth
from mixhouse.client.bridge import export_bridge, find_bridge_path, load_bridge, remove_bridge
from mixhouse.client.config import Account, ConfigManager, Target, resolve_session
from mixhouse.client.me_cache import (
    ME_CACHE_TTL_SECONDS,
    drop_me_cache,
    me_cache_path,
    read_me_cache,
    write_me_cache,
)
from mixhouse.errors import ConfigError

ENV_VARS = ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID", "MP_WORKSPACE_ID", "MP_REGION", "MP_ACCOUNT", "MP_TARGET",
            "MP_OAUTH_TOKEN", "MP_API_BASE_URL", "MP_APP_BASE_URL", "MP_CONFIG_PATH", "MP_AUTH_FILE",
            "MP_STORAGE_DIR")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME and working directory: the default bridge places and ~/.mp live there."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def config(tmp_path: Path) -> ConfigManager:
    manager = ConfigManager(tmp_path / "mp" / "config.toml")
    manager.add_account(Account(name="team", username="sa.team", secret="s1", default_project="3"))
    manager.add_account(Account(name="bot", type="oauth_token", token="tok", default_project="9"))
    manager.add_target(Target(name="ecom", account="bot", project="44", workspace=7))
    manager.set_active(workspace=12)
    return manager


def _write_bridge(path: Path, **overrides: object) -> Path:
    payload: dict[str, object] = {
        "version": 2, "account": {"name": "cowork", "type": "service_account", "region": "eu",
                                  "username": "sa.bridge", "secret": "bs", "default_project": "5"},
        "project": "77", "workspace": 8, "headers": {"X-Tenant": "blue"}}
    payload.update(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(payload))
    return path


def test_search_order_env_then_home_then_cwd(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_bridge() is None
    cwd_file = _write_bridge(Path.cwd() / "mixpanel_auth.json", project="1")
    assert find_bridge_path() == cwd_file
    home_file = _write_bridge(home / ".claude" / "mixpanel" / "auth.json", project="2")
    bridge = load_bridge()
    assert bridge is not None and bridge.path == home_file and bridge.project == "2"
    monkeypatch.setenv("MP_AUTH_FILE", str(tmp_path / "elsewhere.json"))
    assert load_bridge() is None  # MP_AUTH_FILE, when set, is the only place looked at
    _write_bridge(tmp_path / "elsewhere.json", project="3")
    bridge = load_bridge()
    assert bridge is not None and bridge.project == "3"


def test_bridge_sits_between_target_and_active(config: ConfigManager, home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    without = resolve_session(config=config)
    assert (without.account.name, without.project.id, without.workspace and without.workspace.id) == ("team", "3", 12)
    assert without.sources == {"account": "config [active]", "project": "account team default_project",
                               "workspace": "config [active]"}
    path = _write_bridge(home / ".claude" / "mixpanel" / "auth.json")
    session = resolve_session(config=config)
    assert (session.account.name, session.account.username) == ("cowork", "sa.bridge")
    assert (session.project.id, session.workspace and session.workspace.id) == ("77", 8)
    assert session.headers == {"X-Tenant": "blue"}
    assert session.sources == dict.fromkeys(("account", "project", "workspace"), f"bridge {path}")
    # kwargs and a target beat the bridge, axis by axis
    session = resolve_session(config=config, account="team")
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("team", "77", 8)
    assert session.sources["account"] == "argument"
    session = resolve_session(config=config, target="ecom")
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("bot", "44", 7)
    session = resolve_session(config=config, project=6, workspace=3)
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("cowork", "6", 3)
    # the environment beats everything
    monkeypatch.setenv("MP_USERNAME", "env.user")
    monkeypatch.setenv("MP_SECRET", "env.secret")
    monkeypatch.setenv("MP_PROJECT_ID", "90")
    monkeypatch.setenv("MP_REGION", "us")
    session = resolve_session(config=config)
    assert (session.account.username, session.project.id) == ("env.user", "90")
    assert session.workspace is not None and session.workspace.id == 8  # the bridge pin beats [active].workspace
    assert session.sources["workspace"] == f"bridge {path}"
    assert resolve_session(config=config, use_bridge=False).workspace is None


def test_bridge_without_pins_falls_to_the_account_default(config: ConfigManager, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_bridge(tmp_path / "b.json", project=None, workspace=None, headers=None)
    monkeypatch.setenv("MP_AUTH_FILE", str(path))
    session = resolve_session(config=ConfigManager(tmp_path / "absent.toml"))
    assert (session.account.name, session.project.id, session.workspace) == ("cowork", "5", None)
    assert session.sources["project"] == "account cowork default_project"
    assert session.headers == {}


@pytest.mark.parametrize("change", [
    {"version": 1}, {"extra": 1}, {"project": "abc"}, {"project": 5}, {"workspace": 0}, {"workspace": True},
    {"headers": {"X": 1}}, {"account": {"name": "../x", "type": "service_account", "username": "u", "secret": "s"}},
    {"account": {"name": "a", "type": "service_account", "username": "u"}},
    {"account": {"name": "a", "type": "service_account", "username": "u", "secret": "s", "colour": "red"}},
    {"account": {"name": "a", "type": "oauth_browser", "region": "us"}},
])
def test_malformed_bridge_is_an_error_not_skipped(change: dict[str, object], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_AUTH_FILE", str(_write_bridge(tmp_path / "bad.json", **change)))
    with pytest.raises(ConfigError, match="invalid bridge file"):
        resolve_session(config=ConfigManager(tmp_path / "absent.toml"))


def test_unreadable_and_symlinked_bridges_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "garbage.json").write_text("{not json")
    monkeypatch.setenv("MP_AUTH_FILE", str(tmp_path / "garbage.json"))
    with pytest.raises(ConfigError, match="cannot read the bridge file"):
        load_bridge()
    real = _write_bridge(tmp_path / "real.json")
    (tmp_path / "link.json").symlink_to(real)
    monkeypatch.setenv("MP_AUTH_FILE", str(tmp_path / "link.json"))
    with pytest.raises(ConfigError, match="symbolic link"):
        load_bridge()


def test_export_round_trip_mode_and_remove(config: ConfigManager, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out" / "auth.json"
    export_bridge(config.get_account("team"), target, project="31", workspace=4, headers={"X-A": "b"})
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert orjson.loads(target.read_bytes())["account"]["secret"] == "s1"  # secrets travel inline, by design
    bridge = load_bridge(target)
    assert bridge is not None
    assert bridge.account == config.get_account("team")
    assert (bridge.project, bridge.workspace, bridge.headers) == ("31", 4, {"X-A": "b"})
    with pytest.raises(ConfigError):
        export_bridge(config.get_account("team"), tmp_path / "x.json", project="3a")
    assert not (tmp_path / "x.json").exists()
    monkeypatch.setenv("MP_AUTH_FILE", str(target))
    assert remove_bridge() == target and not target.exists()
    assert remove_bridge() is None


def test_oauth_browser_bridge_installs_tokens_unless_newer_ones_exist(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))
    later = time.time() + 3000
    oauth.save_tokens("me", {"access_token": "A1", "refresh_token": "R1", "expires_at": later,
                             "client_id": "c", "token_url": "http://x/oauth/token/"})
    exported = tmp_path / "auth.json"
    export_bridge(Account(name="me", type="oauth_browser", default_project="3"), exported)
    tokens = orjson.loads(exported.read_bytes())["tokens"]
    assert tokens["access_token"] == "A1" and tokens["expires_at"].endswith("+00:00")
    # another machine: no tokens yet → the bridge's are installed (expiry back as epoch seconds)
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "other"))
    monkeypatch.setenv("MP_AUTH_FILE", str(exported))
    session = resolve_session(config=ConfigManager(tmp_path / "absent.toml"))
    assert session.account.auth_header() == "Bearer A1"
    assert abs(oauth.load_tokens("me")["expires_at"] - later) < 1
    # tokens refreshed here expire later than the bridge's copy: they are kept
    oauth.save_tokens("me", {**oauth.load_tokens("me"), "access_token": "A2", "expires_at": later + 3600})
    session = resolve_session(config=ConfigManager(tmp_path / "absent.toml"))
    assert session.account.auth_header() == "Bearer A2"


# ------------------------------------------------------------------------------------------------------ /me cache


def test_me_cache_round_trip_ttl_and_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))
    account = Account(name="team", username="u", secret="s1")
    me = {"user_name": "x", "projects": {"3": {"name": "P"}},
          "workspaces": {"7": {"id": 7, "project_id": 3, "member_list": [1, 2]}}}
    assert read_me_cache(account) is None
    write_me_cache(account, me)
    path = me_cache_path("team")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert b"s1" not in path.read_bytes()
    cached = read_me_cache(account)
    assert cached is not None and cached["projects"] == me["projects"]
    assert "member_list" not in cached["workspaces"]["7"]
    now = time.time()
    assert read_me_cache(account, now=now + ME_CACHE_TTL_SECONDS - 60) is not None
    assert read_me_cache(account, now=now + ME_CACHE_TTL_SECONDS + 60) is None
    assert read_me_cache(account, now=now - 3600) is None  # stamped in the future
    assert read_me_cache(Account(name="team", username="u", secret="s2")) is None  # the secret changed
    assert read_me_cache(Account(name="team", username="v", secret="s1")) is None
    monkeypatch.setenv("MP_API_BASE_URL", "http://127.0.0.1:1")
    assert read_me_cache(account) is None  # another server
    monkeypatch.delenv("MP_API_BASE_URL")
    path.write_text("{broken")
    assert read_me_cache(account) is None
    write_me_cache(account, me)
    assert drop_me_cache("team") and not path.exists() and not drop_me_cache("team")


def test_me_cache_for_token_accounts_follows_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("BOT_TOKEN", "t1")
    bot = Account(name="bot", type="oauth_token", token_env="BOT_TOKEN")
    write_me_cache(bot, {"projects": {}})
    assert read_me_cache(bot) == {"projects": {}}
    monkeypatch.setenv("BOT_TOKEN", "t2")
    assert read_me_cache(bot) is None
