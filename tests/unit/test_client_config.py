"""Client configuration: the TOML file and the environment, each axis resolved on its own."""

from __future__ import annotations

import base64
import os
import tomllib
from pathlib import Path

import pytest

from mixhouse.client.config import (
    Account,
    ConfigManager,
    Target,
    dumps_toml,
    resolve_session,
)
from mixhouse.errors import ConfigError

ENV_VARS = ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID", "MP_WORKSPACE_ID", "MP_REGION", "MP_ACCOUNT", "MP_TARGET",
            "MP_OAUTH_TOKEN", "MP_API_BASE_URL", "MP_APP_BASE_URL", "MP_CONFIG_PATH")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MP_AUTH_FILE", str(tmp_path / "no-bridge.json"))  # never a bridge file of this machine


@pytest.fixture
def config(tmp_path: Path) -> ConfigManager:
    manager = ConfigManager(tmp_path / "mp" / "config.toml")
    manager.add_account(Account(name="team", username="sa.team", secret="s1", region="eu", default_project="3"))
    manager.add_account(Account(name="bot", type="oauth_token", token="tok", default_project="9"))
    manager.add_target(Target(name="ecom", account="bot", project="44", workspace=7))
    return manager


def test_file_round_trip_and_mode(config: ConfigManager) -> None:
    raw = tomllib.loads(config.config_path.read_text())
    assert raw["active"] == {"account": "team"}  # the first account added becomes active
    assert raw["accounts"]["team"] == {"type": "service_account", "region": "eu", "username": "sa.team",
                                       "secret": "s1", "default_project": "3"}
    assert raw["targets"]["ecom"] == {"account": "bot", "project": "44", "workspace": 7}
    assert oct(config.config_path.stat().st_mode & 0o777) == "0o600"
    assert [a.name for a in config.list_accounts()] == ["bot", "team"]


def test_toml_writer_escapes() -> None:
    text = dumps_toml({"accounts": {"we ird": {"secret": 'a"b\\c\n', "n": 1, "ok": True}}})
    assert tomllib.loads(text) == {"accounts": {"we ird": {"secret": 'a"b\\c\n', "n": 1, "ok": True}}}


def test_active_account_and_default_project(config: ConfigManager) -> None:
    session = resolve_session(config=config)
    assert (session.account.name, session.project.id, session.workspace) == ("team", "3", None)
    assert session.account.region == "eu"
    assert session.account.auth_header() == "Basic " + base64.b64encode(b"sa.team:s1").decode()


def test_kwargs_then_target(config: ConfigManager) -> None:
    session = resolve_session(account="bot", config=config)
    assert (session.account.name, session.project.id) == ("bot", "9")
    assert session.account.auth_header() == "Bearer tok"
    session = resolve_session(target="ecom", config=config)
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("bot", "44", 7)
    # an explicit kwarg beats the target on its own axis only
    session = resolve_session(target="ecom", project="5", config=config)
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("bot", "5", 7)


def test_env_beats_kwargs(config: ConfigManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_ACCOUNT", "bot")
    monkeypatch.setenv("MP_PROJECT_ID", "77")
    monkeypatch.setenv("MP_WORKSPACE_ID", "12")
    session = resolve_session(account="team", project="3", workspace=5, config=config)
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("bot", "77", 12)
    monkeypatch.setenv("MP_TARGET", "ecom")
    monkeypatch.delenv("MP_ACCOUNT")
    monkeypatch.delenv("MP_PROJECT_ID")
    monkeypatch.delenv("MP_WORKSPACE_ID")
    session = resolve_session(target="nothing-such", config=config)  # MP_TARGET wins over target=
    assert (session.account.name, session.project.id) == ("bot", "44")


def test_env_service_account_quad_beats_oauth_token(config: ConfigManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_OAUTH_TOKEN", "bearer-1")
    monkeypatch.setenv("MP_PROJECT_ID", "100")
    monkeypatch.setenv("MP_REGION", "in")
    session = resolve_session(config=config)
    assert (session.account.type, session.account.region, session.project.id) == ("oauth_token", "in", "100")
    assert session.account.auth_header() == "Bearer bearer-1"
    monkeypatch.setenv("MP_USERNAME", "env.user")
    monkeypatch.setenv("MP_SECRET", "env.secret")
    session = resolve_session(account="team", config=config)
    assert (session.account.type, session.account.username) == ("service_account", "env.user")


def test_env_quad_needs_a_region_unless_a_base_url(config: ConfigManager, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_USERNAME", "env.user")
    monkeypatch.setenv("MP_SECRET", "env.secret")
    monkeypatch.setenv("MP_PROJECT_ID", "100")
    assert resolve_session(config=config).account.name == "team"  # incomplete quad: the config decides
    monkeypatch.setenv("MP_API_BASE_URL", "http://127.0.0.1:8000")
    session = resolve_session(config=config)
    assert (session.account.username, session.account.region) == ("env.user", "us")
    monkeypatch.setenv("MP_REGION", "mars")
    with pytest.raises(ConfigError, match="MP_REGION"):
        resolve_session(config=config)


def test_active_workspace_belongs_to_the_active_account(config: ConfigManager) -> None:
    config.set_active(workspace=21)
    assert resolve_session(config=config).workspace.id == 21  # type: ignore[union-attr]
    assert resolve_session(account="bot", config=config).workspace is None


def test_apply_target_persists(config: ConfigManager) -> None:
    config.apply_target("ecom")
    assert config.get_active() == {"account": "bot", "workspace": 7}
    assert config.get_account("bot").default_project == "44"
    session = resolve_session(config=config)
    assert (session.account.name, session.project.id, session.workspace and session.workspace.id) == ("bot", "44", 7)


def test_errors_say_what_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = ConfigManager(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="MP_USERNAME") as info:
        resolve_session(config=empty)
    assert info.value.code == "config_error"
    empty.add_account(Account(name="solo", username="u", secret="s"))
    with pytest.raises(ConfigError, match="MP_PROJECT_ID"):
        resolve_session(config=empty)
    with pytest.raises(ConfigError, match="no account named 'ghost'"):
        resolve_session(account="ghost", config=empty)
    with pytest.raises(ConfigError, match="no target named"):
        resolve_session(target="ghost", config=empty)
    with pytest.raises(ConfigError, match="project id must be digits"):
        resolve_session(project="abc", config=empty)
    with pytest.raises(ConfigError, match="token, token_env"):
        Account(name="x", type="oauth_token")
    bad = tmp_path / "bad.toml"
    bad.write_text("[accounts\n")
    with pytest.raises(ConfigError, match="cannot read the config file"):
        resolve_session(config=ConfigManager(bad))


def test_config_path_env_and_token_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.toml"
    monkeypatch.setenv("MP_CONFIG_PATH", str(path))
    manager = ConfigManager()
    assert manager.config_path == path
    manager.add_account(Account(name="tok", type="oauth_token", token_env="MY_TOKEN", default_project="1"))
    session = resolve_session()
    with pytest.raises(ConfigError, match="MY_TOKEN"):
        session.account.auth_header()
    monkeypatch.setenv("MY_TOKEN", "abc")
    assert session.account.auth_header() == "Bearer abc"
    assert os.environ["MP_CONFIG_PATH"] == str(path)


def test_settings_custom_header_and_the_bridge_on_top(config: ConfigManager, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``[settings].custom_header`` is sent on every request; a bridge file's header of the same name wins."""
    from mixhouse.client.bridge import export_bridge

    text = config.config_path.read_text()
    config.config_path.write_text(text + '\n[settings]\ncustom_header = { name = "X-Org", value = "acme" }\n')
    assert config.custom_header() == ("X-Org", "acme")
    assert resolve_session(config=config).headers == {"X-Org": "acme"}
    bridge = export_bridge(config.get_account("team"), tmp_path / "bridge.json", headers={"X-Org": "bridged"})
    monkeypatch.setenv("MP_AUTH_FILE", str(bridge))
    assert resolve_session(config=config).headers == {"X-Org": "bridged"}
    config.config_path.write_text(text + '\n[settings]\ncustom_header = "X-Org: acme"\n')
    with pytest.raises(ConfigError, match="custom_header must be an inline table"):
        config.custom_header()


def test_target_excludes_the_other_axes(config: ConfigManager) -> None:
    import mixhouse as mp

    for axes in ({"account": "team"}, {"project": "5"}, {"workspace": 3}):
        with pytest.raises(ConfigError, match="mutually exclusive") as refused:
            mp.Workspace(target="ecom", _config=config, **axes)  # type: ignore[arg-type]
        assert refused.value.details["code"] == "WS1_TARGET_MUTUALLY_EXCLUSIVE"
