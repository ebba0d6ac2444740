"""``mp`` configuration against a live server, run as a subprocess: the /me cache across runs, the bridge file,
``mp session``, the account commands, ``mp help`` and the groups the server has no API for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from mixhouse.client.config import Account, ConfigManager
from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_client_cli import CLEAR, _ok, mp
from tests.support.recorder import Recorder
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def two(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds]:
    return make_project(server.data_dir, "cfg-one"), make_project(server.data_dir, "cfg-two")


def _env(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    """No credentials in the environment: only a config file, a HOME and (maybe) a bridge under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in CLEAR}
    env.update({"MP_API_BASE_URL": server.url, "MP_CONFIG_PATH": str(tmp_path / "config.toml"),
                "HOME": str(tmp_path / "home")})
    return env


def _config(tmp_path: Path, creds: ProjectCreds, name: str = "team") -> ConfigManager:
    config = ConfigManager(tmp_path / "config.toml")
    config.add_account(Account(name=name, username=creds.sa_username, secret=creds.sa_secret,
                               default_project=str(creds.project_id)))
    return config


def test_me_is_cached_across_runs_and_bound_to_the_credentials(server: ServerProcess, two: Any,
                                                               tmp_path: Path) -> None:
    one, other = two
    env = _env(server, tmp_path)
    config = _config(tmp_path, one)
    first = _ok(mp(env, "project", "list", "-f", "json"))
    assert [(p["id"], p["name"]) for p in first] == [(str(one.project_id), "cfg-one")]
    cache = tmp_path / "home" / ".mp" / "accounts" / "team" / "me.json"
    record = orjson.loads(cache.read_bytes())
    assert list(record["me"]["projects"]) == [str(one.project_id)]

    # A second run answers from the file: edit the cached name, and the edited name comes back (no /me call).
    record["me"]["projects"][str(one.project_id)]["name"] = "from-the-cache"
    (workspace_id,) = record["me"]["workspaces"]
    record["me"]["workspaces"][workspace_id]["id"] = 424242  # auto-resolution reads the cache too
    cache.write_bytes(orjson.dumps(record))
    assert [p["name"] for p in _ok(mp(env, "project", "list", "-f", "json"))] == ["from-the-cache"]
    assert _ok(mp(env, "workspace", "show"))["workspace_id"] == 424242

    # --refresh asks the server and rewrites the file
    assert [p["name"] for p in _ok(mp(env, "project", "list", "--refresh", "-f", "json"))] == ["cfg-one"]
    assert [p["name"] for p in _ok(mp(env, "project", "list", "-f", "json"))] == ["cfg-one"]
    assert _ok(mp(env, "workspace", "show"))["workspace_id"] == int(workspace_id)

    # Another credential under the same account name (the file edited by hand) never reads the old answer.
    raw = config.read()
    raw["accounts"]["team"].update(username=other.sa_username, secret=other.sa_secret,
                                   default_project=str(other.project_id))
    config.write(raw)
    assert [p["name"] for p in _ok(mp(env, "project", "list", "-f", "json"))] == ["cfg-two"]

    # `mp account update` drops the file; so does `mp account remove`
    assert cache.exists()
    assert mp(env, "account", "update", "team", "--project", str(other.project_id)).returncode == 0
    assert not cache.exists()
    assert mp(env, "project", "list").returncode == 0
    assert cache.exists()
    assert mp(env, "account", "remove", "team").returncode == 0
    assert not cache.exists()


def test_bridge_file_carries_an_account_to_a_machine_without_config(server: ServerProcess, two: Any,
                                                                    tmp_path: Path) -> None:
    one, _other = two
    env = _env(server, tmp_path)
    _config(tmp_path, one, name="exported")
    bridge = tmp_path / "shared" / "auth.json"
    done = mp(env, "account", "export-bridge", "--to", str(bridge), "--project", str(one.project_id))
    assert done.returncode == 0, done.stderr
    assert oct(bridge.stat().st_mode & 0o777) == "0o600"

    elsewhere = _env(server, tmp_path / "vm")  # no config file at all
    elsewhere["MP_AUTH_FILE"] = str(bridge)
    assert _ok(mp(elsewhere, "project", "list", "-f", "json"))[0]["id"] == str(one.project_id)
    session = _ok(mp(elsewhere, "session"))
    assert session["account"] == {"name": "exported", "type": "service_account", "region": "us",
                                  "source": f"bridge {bridge}"}
    assert session["project"] == {"id": str(one.project_id), "source": f"bridge {bridge}"}
    assert _ok(mp(elsewhere, "-p", "12345", "session"))["project"] == {"id": "12345", "source": "argument"}
    shown = _ok(mp(elsewhere, "session", "--bridge"))["bridge"]
    assert (shown["path"], shown["project"], shown["account"]["name"]) == (str(bridge), str(one.project_id),
                                                                           "exported")

    # the default place: ~/.claude/mixpanel/auth.json under HOME
    default_env = {k: v for k, v in elsewhere.items() if k != "MP_AUTH_FILE"}
    assert _ok(mp(default_env, "session", "--bridge")) == {"bridge": None}
    home_bridge = tmp_path / "vm" / "home" / ".claude" / "mixpanel" / "auth.json"
    home_bridge.parent.mkdir(parents=True)
    home_bridge.write_bytes(bridge.read_bytes())
    assert _ok(mp(default_env, "inspect", "events")) == []
    assert mp(default_env, "account", "remove-bridge").returncode == 0
    assert not home_bridge.exists()
    done = mp(default_env, "inspect", "events")
    assert done.returncode == 1 and "no account to use" in done.stderr

    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 2, "account": {"name": "x", "type": "service_account"}}')
    done = mp({**elsewhere, "MP_AUTH_FILE": str(broken)}, "inspect", "events")
    assert done.returncode == 1 and "invalid bridge file" in done.stderr and done.stdout == ""


def test_account_token_update_logout_and_login(server: ServerProcess, two: Any, tmp_path: Path) -> None:
    one, _other = two
    env = _env(server, tmp_path)
    config = _config(tmp_path, one)
    config.add_account(Account(name="bot", type="oauth_token", token="t-one", default_project="3"))
    assert mp(env, "account", "token", "team").stdout.strip() == "N/A"
    assert mp(env, "account", "token", "bot").stdout.strip() == "t-one"
    assert mp(env, "account", "update", "bot", "--secret-stdin", stdin="t-two\n").returncode == 0
    assert mp(env, "account", "token", "bot").stdout.strip() == "t-two"
    assert mp({**env, "BOT_TOKEN": "t-env"}, "account", "update", "bot", "--token-env", "BOT_TOKEN").returncode == 0
    assert mp({**env, "BOT_TOKEN": "t-env"}, "account", "token", "bot").stdout.strip() == "t-env"
    assert config.get_account("bot").token is None

    done = mp(env, "account", "update", "bot", "--username", "someone")
    assert done.returncode == 1 and "--username applies to service_account" in done.stderr
    done = mp(env, "account", "update", "team", "--region", "mars")
    assert done.returncode == 1 and "region" in done.stderr
    assert config.get_account("team").region == "us"
    assert mp(env, "account", "update", "team", "--secret-stdin", stdin="wrong\n").returncode == 0
    done = mp(env, "account", "test", "team")
    assert done.returncode == 2  # the new secret is what is sent now
    assert mp(env, "account", "update", "team", "--secret-stdin", stdin=f"{one.sa_secret}\n").returncode == 0
    assert _ok(mp(env, "account", "test", "team"))["ok"] is True

    done = mp(env, "account", "login", "team", "--no-browser")
    assert done.returncode == 1 and "oauth_browser" in done.stderr
    done = mp(env, "account", "logout", "team")
    assert done.returncode == 0 and "had no stored tokens" in done.stderr
    assert mp(env, "account", "logout", "ghost").returncode == 1


@pytest.mark.parametrize("group", ["lexicon", "schemas", "drop-filters", "custom-events",
                                   "metrics", "behaviors", "lookup-tables", "business-context", "replays"])
def test_groups_without_a_server_side_fail_by_name(group: str, tmp_path: Path, server: ServerProcess) -> None:
    done = mp(_env(server, tmp_path), group, "list", "--format", "json")
    assert done.returncode == 1
    assert f"`mp {group} list --format json` is not supported by this server yet" in done.stderr
    assert done.stdout == ""


def test_help_is_an_offline_reference(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in CLEAR}
    env.update(HOME=str(tmp_path), MP_API_BASE_URL="http://127.0.0.1:9")  # nothing listens: no request is made
    rows = _ok(mp(env, "help", "-f", "json"))
    by_name = {row["name"]: row for row in rows}
    assert by_name["me"]["supported"] and "cached 24h" in by_name["me"]["summary"]
    assert by_name["segmentation"]["parameters"].startswith("(event")
    assert by_name["list_replays"]["supported"] is False
    one = _ok(mp(env, "help", "me", "-f", "json"))
    assert one["signature"].startswith("me(") and "force_refresh" in one["signature"]
    done = mp(env, "help", "no_such_method")
    assert done.returncode == 3 and "no method 'no_such_method'" in done.stderr


def test_two_runs_ask_me_once_and_send_the_bridge_headers(tmp_path: Path) -> None:
    """Against a recording HTTP server: every request of both runs is seen, so /me is counted, not inferred."""
    me = {"user_name": "rec", "organizations": {}, "workspaces": {"5": {"id": 5, "project_id": 3, "name": "All"}},
          "projects": {"3": {"name": "Recorded", "organization_id": 1}}}
    recorder = Recorder(default=(200, {}, {"status": "ok", "results": me})).start()
    try:
        env = {k: v for k, v in os.environ.items() if k not in CLEAR}
        bridge = tmp_path / "auth.json"
        bridge.write_bytes(orjson.dumps({"version": 2, "headers": {"X-Tenant": "blue"}, "account": {
            "name": "rec", "type": "service_account", "region": "us", "username": "u", "secret": "s",
            "default_project": "3"}}))
        env.update(MP_API_BASE_URL=recorder.url, HOME=str(tmp_path / "home"), MP_AUTH_FILE=str(bridge),
                   MP_CONFIG_PATH=str(tmp_path / "config.toml"))
        for _ in range(2):
            assert [p["name"] for p in _ok(mp(env, "project", "list", "-f", "json"))] == ["Recorded"]
            assert _ok(mp(env, "workspace", "show"))["workspace_id"] == 5
        assert [r.path for r in recorder.requests] == ["/api/app/me"]
        assert _ok(mp(env, "project", "list", "--refresh", "-f", "json"))[0]["id"] == "3"
        assert [r.path for r in recorder.requests] == ["/api/app/me", "/api/app/me"]
        assert all(r.headers.get("x-tenant") == "blue" for r in recorder.requests)
    finally:
        recorder.stop()
