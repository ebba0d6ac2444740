"""``mp`` dashboards (blueprints, RCA, ERF, card edits), reports and cohorts (bulk updates, dashboard ids),
experiments update and alerts (update, test, validate, screenshot, bulk-delete) against a live Mixhouse server,
run as a user runs them (a subprocess); every change is read back from the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_client_cli import _env, _ok, mp
from tests.support.sending import import_all
from tests.support.server import ServerProcess

INSIGHTS = {"sections": {"show": [{"behavior": {"type": "event", "name": "Login", "resourceType": "events"},
                                   "measurement": {"math": "total"}}]}, "displayOptions": {"chartType": "line"}}
CONDITION = '{"keys": [], "type": "absolute", "op": ">", "value": 0}'


@pytest.fixture(scope="module")
def creds(server: ServerProcess, client: httpx.Client) -> ProjectCreds:
    made = make_project(server.data_dir, "client-cli-entities")
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    import_all(client, made, [{"event": ("Login", "Purchase")[i % 2], "properties": {
        "time": int((base + timedelta(hours=i)).timestamp()), "distinct_id": f"u{i % 4}", "$insert_id": f"e{i}"}}
        for i in range(30)])
    return made


def _report(env: dict[str, str], dashboard_id: int, name: str, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "insights.json").write_text(orjson.dumps(INSIGHTS).decode())
    return dict(_ok(mp(env, "reports", "create", "-n", name, "-t", "insights", "-p", f"@{tmp_path / 'insights.json'}",
                       "--dashboard-id", str(dashboard_id))))


def test_dashboard_blueprints_rca_erf_and_cards(server: ServerProcess, creds: ProjectCreds, tmp_path: Path) -> None:
    env = _env(server, creds, tmp_path)
    templates = _ok(mp(env, "dashboards", "blueprints"))
    assert "product_analytics" in [t["name"] for t in templates]
    board = _ok(mp(env, "dashboards", "blueprint-create", "product_analytics"))
    assert board["template_type"] == "product_analytics"
    assert board["id"] in [d["id"] for d in _ok(mp(env, "dashboards", "list"))]
    erf = _ok(mp(env, "dashboards", "erf", str(board["id"])))
    assert erf["dashboard_id"] == board["id"]
    assert {m["bookmark_id"] for m in erf["metrics"]} <= {int(i) for i in board["contents"]["report"]}
    assert erf["metrics"]

    [card_id] = [int(i) for i in board["contents"]["text"]]
    done = mp(env, "dashboards", "update-text-card", str(board["id"]), str(card_id), "--markdown", "## Edited")
    assert done.returncode == 0, done.stderr
    after = _ok(mp(env, "dashboards", "get", str(board["id"])))
    assert after["contents"]["text"][str(card_id)]["markdown"] == "## Edited"

    source = _report(env, board["id"], "Logins", tmp_path)
    rca = _ok(mp(env, "dashboards", "rca", "--source-id", str(source["id"]), "--source-data", '{"type": "anomaly"}'))
    assert rca["title"] == "Root cause analysis: Logins" and rca["generation_type"] == "RCA"
    bad = mp(env, "dashboards", "rca", "--source-id", str(source["id"]), "--source-data", "[1]")
    assert bad.returncode != 0 and "--source-data" in bad.stderr

    # a report-link card, made through the API (the CLI has no command that adds one)
    linked = _ok(mp(env, "dashboards", "create", "--title", "Links"))
    added = httpx.patch(f"{server.url}/api/app/projects/{creds.project_id}/dashboards/{linked['id']}",
                        auth=(creds.sa_username, creds.sa_secret), json={"content": {
                            "action": "create", "content_type": "report-link",
                            "content_params": {"bookmark_id": source["id"], "type": "link"}}})
    assert added.status_code == 200, added.text
    [link_id] = [int(i) for i in added.json()["results"]["contents"]["report-link"]]
    done = mp(env, "dashboards", "update-report-link", str(linked["id"]), str(link_id), "--type", "embedded")
    assert done.returncode == 0, done.stderr
    links = _ok(mp(env, "dashboards", "get", str(linked["id"])))["contents"]["report-link"]
    assert links[str(link_id)]["type"] == "embedded"
    refused = mp(env, "dashboards", "update-report-link", str(linked["id"]), str(link_id), "--type", "nope")
    assert refused.returncode == 3 and "link" in refused.stderr

    assert _ok(mp(env, "reports", "dashboard-ids", str(source["id"]))) == [board["id"]]
    # the dashboard the report is on and the one with a link to it
    assert _ok(mp(env, "reports", "linked-dashboards", str(source["id"]))) == sorted([board["id"], linked["id"]])


def test_bulk_updates_and_experiment_update(server: ServerProcess, creds: ProjectCreds, tmp_path: Path) -> None:
    env = _env(server, creds, tmp_path)
    board = _ok(mp(env, "dashboards", "create", "--title", "Bulk"))
    first, second = (_report(env, board["id"], name, tmp_path) for name in ("One", "Two"))
    entries = f'[{{"id": {first["id"]}, "name": "One renamed"}}, {{"id": {second["id"]}, "description": "d2"}}]'
    done = mp(env, "reports", "bulk-update", "--entries", entries)
    assert done.returncode == 0, done.stderr
    assert _ok(mp(env, "reports", "get", str(first["id"])))["name"] == "One renamed"
    assert _ok(mp(env, "reports", "get", str(second["id"])))["description"] == "d2"
    assert mp(env, "reports", "bulk-update", "--entries", "{}").returncode == 3

    cohorts = [_ok(mp(env, "cohorts", "create", "--name", name)) for name in ("A", "B")]
    (tmp_path / "entries.json").write_text(
        f'[{{"id": {cohorts[0]["id"]}, "name": "A2"}}, {{"id": {cohorts[1]["id"]}, "description": "bee"}}]')
    done = mp(env, "cohorts", "bulk-update", "-e", f"@{tmp_path / 'entries.json'}")
    assert done.returncode == 0, done.stderr
    assert _ok(mp(env, "cohorts", "get", str(cohorts[0]["id"])))["name"] == "A2"
    assert _ok(mp(env, "cohorts", "get", str(cohorts[1]["id"])))["description"] == "bee"

    exp = _ok(mp(env, "experiments", "create", "--name", "Checkout test"))
    updated = _ok(mp(env, "experiments", "update", str(exp["id"]), "--name", "Checkout v2", "--hypothesis", "faster",
                     "--tags", "web, checkout"))
    assert updated["name"] == "Checkout v2"
    got = _ok(mp(env, "experiments", "get", str(exp["id"])))
    assert (got["name"], got["hypothesis"], sorted(got["tags"])) == ("Checkout v2", "faster", ["checkout", "web"])
    assert mp(env, "experiments", "update", str(exp["id"]), "--settings", "{not json").returncode == 3


def test_alert_update_test_validate_screenshot_bulk_delete(server: ServerProcess, creds: ProjectCreds,
                                                          tmp_path: Path) -> None:
    env = _env(server, creds, tmp_path)
    board = _ok(mp(env, "dashboards", "create", "--title", "Alerts"))
    report = _report(env, board["id"], "Watched", tmp_path)
    alerts = [_ok(mp(env, "alerts", "create", "--bookmark-id", str(report["id"]), "--name", name,
                     "--condition", CONDITION, "--paused")) for name in ("First", "Second", "Third")]
    updated = _ok(mp(env, "alerts", "update", str(alerts[0]["id"]), "--name", "First, renamed", "--active",
                     "--frequency", "3600"))
    assert updated["name"] == "First, renamed"
    got = _ok(mp(env, "alerts", "get", str(alerts[0]["id"])))
    assert (got["name"], got["paused"], got["frequency"]) == ("First, renamed", False, 3600)

    tested = mp(env, "alerts", "test", "--bookmark-id", str(report["id"]), "--name", "Try", "--condition", CONDITION)
    assert tested.returncode == 0, tested.stderr
    answer = _ok(tested)
    assert answer["status"] == "sent" and isinstance(answer["value"], float)  # the report read now
    assert len(_ok(mp(env, "alerts", "list"))) == 3  # a test saves nothing

    (tmp_path / "p.json").write_text(orjson.dumps(INSIGHTS).decode())
    checks = _ok(mp(env, "alerts", "validate", "--alert-ids", f"{alerts[0]['id']},{alerts[1]['id']}",
                    "--bookmark-type", "insights", "--bookmark-params", f"@{tmp_path / 'p.json'}"))
    assert checks["invalid_count"] == 0 and len(checks["alert_validations"]) == 2
    missing = mp(env, "alerts", "validate", "--alert-ids", "424242", "--bookmark-type", "insights",
                 "--bookmark-params", "{}")
    assert missing.returncode == 4 and "424242" in missing.stderr

    shot = mp(env, "alerts", "screenshot", "--gcs-key", "no-such-key")
    assert shot.returncode == 4 and "no-such-key" in shot.stderr

    done = mp(env, "alerts", "bulk-delete", "--ids", f"{alerts[1]['id']},{alerts[2]['id']}")
    assert done.returncode == 0, done.stderr
    assert [a["id"] for a in _ok(mp(env, "alerts", "list"))] == [alerts[0]["id"]]
    assert mp(env, "alerts", "get", str(alerts[1]["id"])).returncode == 4
