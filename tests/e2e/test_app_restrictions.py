"""Restriction flags are enforced: a private dashboard is its creator's alone; a restricted dashboard, a
modification-restricted report and a locked cohort are changed only by their creator, owners and admins; a
visibility-restricted report is seen only by its creator, owners and admins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import make_project
from tests.e2e.test_app_reports import insights_params
from tests.support.app_api import call, sa
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def team(server: ServerProcess) -> Any:
    from mixhouse.meta.store import MetaStore

    project = make_project(server.data_dir, "restrictions")
    with MetaStore.for_data_dir(server.data_dir) as store:
        alice = store.add_service_account(project.project_id, "analyst", "alice")
        bob = store.add_service_account(project.project_id, "analyst", "bob")
    return project, sa(project), alice, bob


def test_dashboards(team: Any, client: httpx.Client) -> None:
    project, owner, alice, bob = team
    base = f"/api/app/projects/{project.project_id}/dashboards"
    private = call(client, "POST", base, alice, body={"title": "Mine", "is_private": True})["results"]
    assert private["id"] in [d["id"] for d in call(client, "GET", base, alice)["results"]]
    for other in (bob, owner):
        assert private["id"] not in [d["id"] for d in call(client, "GET", base, other)["results"]]
        call(client, "GET", f"{base}/{private['id']}", other, 404)
        call(client, "PATCH", f"{base}/{private['id']}", other, 404, body={"title": "x"})
    guarded = call(client, "POST", base, alice, body={"title": "Guarded", "is_restricted": True})["results"]
    assert call(client, "GET", f"{base}/{guarded['id']}", bob)["results"]["title"] == "Guarded"
    call(client, "PATCH", f"{base}/{guarded['id']}", bob, 403, body={"title": "Bob's"})
    call(client, "DELETE", f"{base}/{guarded['id']}", bob, 403)
    call(client, "POST", f"{base}/bulk-delete", bob, 403, body={"dashboard_ids": [guarded["id"]]})
    assert call(client, "PATCH", f"{base}/{guarded['id']}", owner, body={"title": "Owner's"})["results"]["title"] \
        == "Owner's"
    call(client, "PATCH", f"{base}/{guarded['id']}", alice, body={"title": "Alice's"})


def test_reports_and_cohorts(team: Any, client: httpx.Client) -> None:
    project, owner, alice, bob = team
    reports = f"/api/app/projects/{project.project_id}/bookmarks"
    hidden = call(client, "POST", reports, alice, body={"name": "Hidden", "type": "insights", "params":
                                                         insights_params("x"), "is_visibility_restricted": True})
    hidden = hidden["results"]
    assert hidden["id"] not in [r["id"] for r in call(client, "GET", reports, bob)["results"]]
    call(client, "GET", f"{reports}/{hidden['id']}", bob, 404)
    assert call(client, "GET", f"{reports}/{hidden['id']}", owner)["results"]["name"] == "Hidden"
    fixed = call(client, "POST", reports, alice, body={"name": "Fixed", "type": "insights", "params":
                                                        insights_params("x"), "is_modification_restricted": True})
    fixed = fixed["results"]
    call(client, "PATCH", f"{reports}/{fixed['id']}", bob, 403, body={"name": "Bob's"})
    call(client, "POST", f"{reports}/bulk-update", bob, 403, body={"bookmarks": [{"id": fixed["id"], "name": "b"}]})
    assert call(client, "PATCH", f"{reports}/{fixed['id']}", owner, body={"name": "Owner's"})["results"]["name"] \
        == "Owner's"
    cohorts = f"/api/app/projects/{project.project_id}/cohorts"
    locked = call(client, "POST", cohorts, alice, body={"name": "Locked", "is_locked": True})["results"]
    assert call(client, "GET", f"{cohorts}/{locked['id']}", bob)["results"]["is_locked"] is True
    call(client, "PATCH", f"{cohorts}/{locked['id']}", bob, 403, body={"name": "Bob's"})
    call(client, "DELETE", f"{cohorts}/{locked['id']}", bob, 403)
    call(client, "PATCH", f"{cohorts}/{locked['id']}", owner, body={"description": "checked"})
