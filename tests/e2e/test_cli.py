"""The `mixhouse` and `mp` commands, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from tests.support.server import ServerProcess


def _mixhouse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mixhouse", *args], capture_output=True, text=True, timeout=120,
                          env=None if env is None else {**os.environ, **env})


def test_projects_create_json_shape_and_list(tmp_path: Path) -> None:
    own = {"MIXHOUSE_META_URL": ""}  # a new data directory's own store, even when the suite's metadata is shared
    result = _mixhouse("projects", "create", "Shop", "--timezone", "Europe/Berlin", "--data-dir", str(tmp_path),
                       "--json", env=own)
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    assert set(body) == {"project_id", "token", "api_secret", "service_account"}
    assert isinstance(body["project_id"], int)
    assert set(body["service_account"]) == {"username", "secret"}
    assert len(body["token"]) == 32 and len(body["api_secret"]) == 32

    listed = _mixhouse("projects", "list", "--data-dir", str(tmp_path), "--json", env=own)
    assert listed.returncode == 0, listed.stderr
    rows = orjson.loads(listed.stdout)
    assert [(r["project_id"], r["name"], r["timezone"]) for r in rows] == [(body["project_id"], "Shop",
                                                                           "Europe/Berlin")]
    assert body["api_secret"] not in listed.stdout


def test_projects_create_rejects_bad_timezone(tmp_path: Path) -> None:
    result = _mixhouse("projects", "create", "X", "--timezone", "Mars/Olympus", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "timezone" in (result.stdout + result.stderr).lower()


def test_projects_create_while_server_runs_is_usable_at_once(server: ServerProcess) -> None:
    result = _mixhouse("projects", "create", "Live", "--data-dir", str(server.data_dir), "--json")
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout)
    event = {"event": "Hello", "properties": {"token": body["token"], "distinct_id": "u"}}
    assert httpx.post(f"{server.url}/track", json=[event]).text == "1"
    auth = (body["service_account"]["username"], body["service_account"]["secret"])
    engage = httpx.post(f"{server.url}/api/query/engage", data={"project_id": body["project_id"]}, auth=auth)
    assert engage.status_code == 200


def test_second_server_on_same_data_dir_is_refused(server: ServerProcess) -> None:
    result = _mixhouse("serve", "--data-dir", str(server.data_dir), "--port", "1")
    assert result.returncode == 2
    assert "in use by another Mixhouse process" in result.stdout + result.stderr


def test_mp_help_lists_commands() -> None:
    result = subprocess.run([sys.executable, "-c", "from mixhouse.cli.mp import app; app()", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "version" in result.stdout
