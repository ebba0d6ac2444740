"""Data views: a project's workspaces besides its global one. Entities made through a data view's path belong to it
and its lists show only them; the project path and the global workspace see every entity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_app_reports import insights_params
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def views(server: ServerProcess) -> Any:
    from mixhouse.meta.store import MetaStore

    a, b, _ = projects_with_consumer(server, "views")
    with MetaStore.for_data_dir(server.data_dir) as store:
        marketing = store.create_workspace(a.project_id, "Marketing", description="campaign data")
        with pytest.raises(Exception, match="already has a workspace"):
            store.create_workspace(a.project_id, "Marketing")
    return a, b, marketing.id


def test_data_views_scope_entity_lists(views: Any, client: httpx.Client) -> None:
    a, b, marketing = views
    listed = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"]
    assert [(w["name"], w["is_global"]) for w in listed] == [("All Project Data", True), ("Marketing", False)]
    global_id = listed[0]["id"]
    me = call(client, "GET", "/api/app/me", sa(a))["results"]
    assert str(marketing) in me["workspaces"] or marketing in me["workspaces"]
    for kind, body in (("bookmarks", {"name": "r", "type": "insights", "params": insights_params("x")}),
                       ("dashboards", {"title": "d"}), ("cohorts", {"name": "c"})):
        in_view = call(client, "POST", f"/api/app/workspaces/{marketing}/{kind}", sa(a), body=body)["results"]
        outside = call(client, "POST", f"/api/app/projects/{a.project_id}/{kind}", sa(a), body=body)["results"]
        seen_in_view = [e["id"] for e in call(client, "GET", f"/api/app/workspaces/{marketing}/{kind}",
                                              sa(a))["results"]]
        assert seen_in_view == [in_view["id"]], kind
        for everything in (f"/api/app/projects/{a.project_id}/{kind}", f"/api/app/workspaces/{global_id}/{kind}"):
            assert {in_view["id"], outside["id"]} <= {e["id"] for e in call(client, "GET", everything,
                                                                             sa(a))["results"]}, kind
    # another project's account cannot use the data view
    call(client, "GET", f"/api/app/workspaces/{marketing}/dashboards", sa(b), 403)


def test_cli_adds_accounts_with_roles_and_data_views(views: Any, server: ServerProcess,
                                                     client: httpx.Client) -> None:
    """``mixhouse accounts add`` and ``mixhouse workspaces create|list`` against the running server's store."""
    import subprocess
    import sys

    import orjson

    a, _, _ = views

    def mixhouse(*args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "mixhouse", *args, "--data-dir", str(server.data_dir)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return [orjson.loads(line) for line in done.stdout.splitlines()]

    reader = mixhouse("accounts", "add", str(a.project_id), "--role", "consumer", "--name", "reader")[0]
    writer = mixhouse("accounts", "add", str(a.project_id), "--role", "admin")[0]
    reader_auth, writer_auth = (reader["username"], reader["secret"]), (writer["username"], writer["secret"])
    me = call(client, "GET", "/api/app/me", reader_auth)["results"]
    assert me["projects"][str(a.project_id)]["role"] == "consumer"
    base = f"/api/app/projects/{a.project_id}/dashboards"
    call(client, "POST", base, reader_auth, 403, body={"title": "no"})
    call(client, "POST", base, writer_auth, body={"title": "yes"})
    made = mixhouse("workspaces", "create", str(a.project_id), "Support", "--description", "tickets")[0]
    assert (made["name"], made["is_global"], made["description"]) == ("Support", False, "tickets")
    assert "Support" in [w["name"] for w in mixhouse("workspaces", "list", str(a.project_id))]
    done = subprocess.run([sys.executable, "-m", "mixhouse", "accounts", "add", str(a.project_id), "--role", "boss",
                           "--data-dir", str(server.data_dir)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 2 and "role must be one of" in done.stderr
