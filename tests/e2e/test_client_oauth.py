"""``mp login`` against a live server: registration, the sign-in form (driven here as a person would fill it),
the PKCE exchange, stored tokens, Bearer requests and refresh with rotation; the CLI end to end."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import mixhouse as mp
from mixhouse.client import oauth
from mixhouse.client.config import Account, ConfigManager
from tests.conftest import ProjectCreds, make_project
from tests.support.sending import import_all
from tests.support.server import ServerProcess

CLEAR = ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID", "MP_WORKSPACE_ID", "MP_REGION", "MP_ACCOUNT", "MP_TARGET",
         "MP_OAUTH_TOKEN", "MP_APP_BASE_URL", "MP_OAUTH_BASE_URL")


@pytest.fixture(scope="module")
def creds(server: ServerProcess, client: httpx.Client) -> ProjectCreds:
    made = make_project(server.data_dir, "client-oauth")
    import_all(client, made, [{"event": "Login", "properties": {"time": int(time.time()) - 3600,
                                                                "distinct_id": "u1", "$insert_id": "o1"}}])
    return made


def sign_in(creds: ProjectCreds, secret: str | None = None) -> Any:
    """What a person does in the browser: fill the form, be sent back to the loopback address."""

    def open_url(url: str) -> None:
        with httpx.Client(timeout=30.0) as http:
            page = http.get(url)
            assert page.status_code == 200, page.text
            hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
            granted = http.post(url.split("?")[0], data={**hidden, "username": creds.sa_username,
                                                         "secret": secret or creds.sa_secret, "action": "allow"})
            assert granted.status_code == 302, granted.text
            assert http.get(granted.headers["location"]).status_code == 200

    return open_url


@pytest.fixture
def env(server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MP_API_BASE_URL", server.url)
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("MP_CONFIG_PATH", str(tmp_path / "config.toml"))
    return tmp_path


def test_login_then_bearer_requests_and_refresh(creds: ProjectCreds, env: Path) -> None:
    tokens = oauth.login(open_url=sign_in(creds), timeout=30)
    oauth.save_tokens("me", tokens)
    path = env / "store" / "accounts" / "me" / "tokens.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ConfigManager().add_account(Account(name="me", type="oauth_browser", default_project=str(creds.project_id)))
    with mp.Workspace() as ws:
        assert ws.account.type == "oauth_browser"
        assert ws.events() == ["Login"]
        first = orjson.loads(path.read_bytes())
        # an access token about to expire is refreshed before the request; the refresh token rotates
        path.write_bytes(orjson.dumps({**first, "expires_at": time.time() + 5}))
        assert ws.me()["projects"]
        second = orjson.loads(path.read_bytes())
        assert second["access_token"] != first["access_token"]
        assert second["refresh_token"] != first["refresh_token"]
        assert ws.list_dashboards() == []
    # the old refresh token was used up: refreshing with it is an AuthenticationError saying to log in again
    path.write_bytes(orjson.dumps({**second, "refresh_token": first["refresh_token"], "expires_at": 0}))
    with mp.Workspace() as ws, pytest.raises(mp.AuthenticationError, match="mp login"):
        ws.events()


def test_missing_tokens_say_what_to_do(creds: ProjectCreds, env: Path) -> None:
    ConfigManager().add_account(Account(name="nobody", type="oauth_browser", default_project=str(creds.project_id)))
    with mp.Workspace() as ws, pytest.raises(mp.ConfigError, match="mp login --name nobody"):
        ws.events()


def test_cli_login(creds: ProjectCreds, server: ServerProcess, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in CLEAR}
    environment.update({"MP_API_BASE_URL": server.url, "MP_STORAGE_DIR": str(tmp_path / "store"),
                        "MP_CONFIG_PATH": str(tmp_path / "config.toml")})
    proc = subprocess.Popen([sys.executable, "-m", "mixhouse.cli.mp", "login", "--name", "cli", "--project",
                             str(creds.project_id), "--no-browser"], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=environment)
    try:
        assert proc.stderr is not None
        url = ""
        deadline = time.time() + 60
        while time.time() < deadline and not url.startswith("http"):
            url = proc.stderr.readline().strip()
        sign_in(creds)(url)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    done = subprocess.run([sys.executable, "-m", "mixhouse.cli.mp", "inspect", "events"], capture_output=True,
                          text=True, timeout=60, env=environment)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == ["Login"]
