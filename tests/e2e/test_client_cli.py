"""The ``mp`` CLI against a live Mixhouse server, run as a user runs it (a subprocess)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.sending import import_all
from tests.support.server import ServerProcess

CLEAR = ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID", "MP_WORKSPACE_ID", "MP_REGION", "MP_ACCOUNT", "MP_TARGET",
         "MP_OAUTH_TOKEN", "MP_API_BASE_URL", "MP_APP_BASE_URL", "MP_CONFIG_PATH", "MP_STORAGE_DIR", "MP_AUTH_FILE")


@pytest.fixture(scope="module")
def project(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[dict[str, Any]], str, str]:
    creds = make_project(server.data_dir, "client-cli")
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
    events = [{"event": ("Login", "Purchase")[i % 2], "properties": {
        "time": int((base + timedelta(hours=i)).timestamp()), "distinct_id": f"u{i % 7}", "$insert_id": f"c{i}",
        "country": ("DE", "FR", "US")[i % 3]}} for i in range(60)]
    import_all(client, creds, events)
    return creds, events, base.date().isoformat(), (base + timedelta(days=3)).date().isoformat()


def _env(server: ServerProcess, creds: ProjectCreds, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAR}
    env.update({"MP_API_BASE_URL": server.url, "MP_USERNAME": creds.sa_username, "MP_SECRET": creds.sa_secret,
                "MP_PROJECT_ID": str(creds.project_id), "MP_REGION": "us",
                "MP_CONFIG_PATH": str(tmp_path / "config.toml"), "HOME": str(tmp_path)})
    env.update(extra)
    return env


def mp(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mixhouse.cli.mp", *args], capture_output=True, text=True,
                          timeout=120, env=env, input=stdin)


def _ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout) if done.stdout.strip() else None


def test_inspect_and_query(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, events, start, end = project
    env = _env(server, creds, tmp_path)
    assert _ok(mp(env, "inspect", "events")) == ["Login", "Purchase"]
    assert "country" in _ok(mp(env, "inspect", "properties", "-e", "Purchase"))
    assert sorted(_ok(mp(env, "inspect", "values", "-p", "country"))) == ["DE", "FR", "US"]
    seg = _ok(mp(env, "query", "segmentation", "-e", "Purchase", "--from", start, "--to", end, "--on", "country"))
    expected = Counter(e["properties"]["country"] for e in events if e["event"] == "Purchase")
    assert seg["total"] == sum(expected.values())
    assert {k: sum(v.values()) for k, v in seg["series"].items()} == dict(expected)
    done = mp(env, "query", "segmentation", "-e", "Purchase", "--from", start, "--to", end, "-f", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert sum(int(float(r["count"])) for r in rows) == sum(expected.values())
    lines = mp(env, "inspect", "events", "-f", "jsonl").stdout.splitlines()
    assert [orjson.loads(line) for line in lines] == ["Login", "Purchase"]
    assert mp(env, "inspect", "events", "-f", "plain").stdout.split() == ["Login", "Purchase"]
    table = mp(env, "query", "event-counts", "-e", "Login,Purchase", "--from", start, "--to", end, "-f", "table")
    assert table.returncode == 0 and "Purchase" in table.stdout and "count" in table.stdout


def test_entities(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, _events, start, _end = project
    env = _env(server, creds, tmp_path)
    dash = _ok(mp(env, "dashboards", "create", "--title", "CLI board"))
    assert [d["id"] for d in _ok(mp(env, "dashboards", "list"))] == [dash["id"]]
    assert _ok(mp(env, "dashboards", "get", str(dash["id"])))["title"] == "CLI board"
    params = {"sections": {"show": [{"behavior": {"type": "event", "name": "Login", "resourceType": "events"},
                                     "measurement": {"math": "total"}}]}, "displayOptions": {"chartType": "bar"}}
    (tmp_path / "params.json").write_text(orjson.dumps(params).decode())
    report = _ok(mp(env, "reports", "create", "-n", "Logins", "-t", "insights", "-p", f"@{tmp_path / 'params.json'}",
                    "--dashboard-id", str(dash["id"])))
    assert [r["name"] for r in _ok(mp(env, "reports", "list"))] == ["Logins"]
    assert _ok(mp(env, "reports", "get", str(report["id"])))["type"] == "insights"
    cohort = _ok(mp(env, "cohorts", "create", "--name", "Buyers"))
    assert _ok(mp(env, "cohorts", "get", str(cohort["id"])))["name"] == "Buyers"
    assert [c["name"] for c in _ok(mp(env, "cohorts", "list"))] == ["Buyers"]
    flag = _ok(mp(env, "flags", "create", "--name", "New nav", "--key", "new_nav"))
    assert [f["key"] for f in _ok(mp(env, "flags", "list"))] == ["new_nav"]
    assert _ok(mp(env, "flags", "get", str(flag["id"])))["name"] == "New nav"
    assert _ok(mp(env, "flags", "update", str(flag["id"]), "--status", "enabled"))["status"] == "enabled"
    assert _ok(mp(env, "flags", "duplicate", str(flag["id"])))["key"] == "new_nav_copy"
    tag = _ok(mp(env, "annotations", "tags", "create", "--name", "ops"))
    assert [t["name"] for t in _ok(mp(env, "annotations", "tags", "list"))] == ["ops"]
    assert _ok(mp(env, "webhooks", "list")) == []
    hook = _ok(mp(env, "webhooks", "create", "--name", "h", "--url", "https://example.invalid/x"))
    assert _ok(mp(env, "webhooks", "update", str(hook["id"]), "--name", "h2"))["name"] == "h2"
    assert tag["id"]
    note = _ok(mp(env, "annotations", "create", "--date", start, "--description", "launch"))
    assert [a["id"] for a in _ok(mp(env, "annotations", "list"))] == [note["id"]]
    exp = _ok(mp(env, "experiments", "create", "--name", "Exp"))
    assert _ok(mp(env, "experiments", "launch", str(exp["id"])))["status"] == "active"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert _ok(mp(env, "experiments", "conclude", str(exp["id"]), "--end-date", tomorrow))["status"] == "concluded"
    condition = '{"keys": [], "type": "absolute", "op": ">", "value": 0}'
    alert = _ok(mp(env, "alerts", "create", "--bookmark-id", str(report["id"]), "--name", "Any logins",
                   "--condition", condition, "--paused"))
    assert [a["name"] for a in _ok(mp(env, "alerts", "list"))] == ["Any logins"]
    assert _ok(mp(env, "alerts", "history", str(alert["id"]), "--page-size", "10"))["results"] == []
    assert _ok(mp(env, "alerts", "count"))["anomaly_alerts_count"] == 1
    assert mp(env, "alerts", "delete", str(alert["id"])).returncode == 0
    assert mp(env, "reports", "bulk-delete", "--ids", str(report["id"])).returncode == 0
    assert _ok(mp(env, "reports", "list")) == []
    done = mp(env, "dashboards", "delete", str(dash["id"]))
    assert done.returncode == 0, done.stderr
    missing = mp(env, "dashboards", "get", str(dash["id"]))
    assert missing.returncode == 4 and "Error:" in missing.stderr


def test_errors_and_exit_codes(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, *_ = project
    bad = mp(_env(server, creds, tmp_path, MP_SECRET="wrong"), "inspect", "events")
    assert bad.returncode == 2 and "Fix:" in bad.stderr
    env = {k: v for k, v in _env(server, creds, tmp_path).items() if k not in ("MP_USERNAME", "MP_SECRET")}
    none = mp(env, "inspect", "events")
    assert none.returncode == 1 and "MP_USERNAME" in none.stderr
    missing = mp(_env(server, creds, tmp_path), "alerts", "history", "424242", "--page-size", "10")
    assert missing.returncode == 4 and "Error:" in missing.stderr
    invalid = mp(_env(server, creds, tmp_path), "query", "segmentation", "-e", "X", "--from", "2024-01-02",
                 "--to", "2024-01-01", "--where", 'properties["a" ==')
    assert invalid.returncode == 3 and "Error:" in invalid.stderr
    badfmt = mp(_env(server, creds, tmp_path), "inspect", "events", "-f", "xml")
    assert badfmt.returncode == 2 and "xml" in badfmt.stderr


def test_accounts_in_the_config_file(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, *_ = project
    env = {k: v for k, v in _env(server, creds, tmp_path).items()
           if k not in ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID")}
    added = mp(env, "account", "add", "team", "--username", creds.sa_username, "--secret-stdin", "--project",
               str(creds.project_id), stdin=creds.sa_secret + "\n")
    assert added.returncode == 0, added.stderr
    accounts = _ok(mp(env, "account", "list", "-f", "json"))
    assert [(a["name"], a["active"], a["default_project"]) for a in accounts] == [
        ("team", True, str(creds.project_id))]
    assert creds.sa_secret not in mp(env, "account", "list", "-f", "json").stdout
    assert _ok(mp(env, "account", "test"))["ok"] is True
    assert _ok(mp(env, "inspect", "events")) == ["Login", "Purchase"]
    workspaces = _ok(mp(env, "workspace", "list", "-f", "json"))
    assert workspaces and workspaces[0]["is_global"]
    assert _ok(mp(env, "project", "show")) == {"account": "team", "project_id": str(creds.project_id),
                                               "workspace_id": None}
    other = make_project(server.data_dir, "cli-other")
    assert mp(env, "target", "add", "other", "-a", "team", "-p", str(other.project_id)).returncode == 0
    # the account is not a member of the other project: 403 from the server
    refused = mp(env, "-t", "other", "inspect", "events")
    assert refused.returncode in (2, 3), refused.stderr
    assert mp(env, "account", "remove", "team").returncode == 0
    assert _ok(mp(env, "account", "list", "-f", "json")) == []
