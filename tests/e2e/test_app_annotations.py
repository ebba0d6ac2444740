"""Annotations over the App API, as ``ws.list_annotations()`` / ``create_annotation`` / ... call them: the
lifecycle, both path styles, the immutable date, role checks and project isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    return projects_with_consumer(server, "notes")


def test_lifecycle(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = f"/api/app/projects/{a.project_id}/annotations/"
    release = call(client, "POST", base + "tags/", sa(a), body={"name": "releases"})["results"]
    assert call(client, "POST", base + "tags/", sa(a), body={"name": "releases"})["results"] == release  # same tag
    incident = call(client, "POST", base + "tags/", sa(a), body={"name": "incidents"})["results"]
    created = call(client, "POST", base, sa(a), body={"date": "2026-03-31 09:30:00", "description": "v2.5 release",
                                                        "tags": [release["id"]]})
    assert created["status"] == "ok"
    note = created["results"]
    assert {k: note[k] for k in ("project_id", "date", "description")} == {
        "project_id": a.project_id, "date": "2026-03-31 09:30:00", "description": "v2.5 release"}
    assert [t["name"] for t in note["tags"]] == ["releases"]
    other = call(client, "POST", base, sa(a), body={"date": "2026-04-02", "description": "outage"})["results"]

    assert call(client, "GET", f"{base}{note['id']}/", sa(a))["results"] == note
    listed = call(client, "GET", base, sa(a))["results"]
    assert [n["id"] for n in listed] == [note["id"], other["id"]]
    assert [n["id"] for n in call(client, "GET", base, sa(a), fromDate="2026-04-01")["results"]] == [other["id"]]
    assert [n["id"] for n in call(client, "GET", base, sa(a), toDate="2026-03-31")["results"]] == [note["id"]]
    assert [n["id"] for n in call(client, "GET", base, sa(a), tags=f"{release['id']}")["results"]] == [note["id"]]

    patched = call(client, "PATCH", f"{base}{note['id']}/", sa(a),
                    body={"description": "v2.5.1 release", "tags": [incident["id"], release["id"]]})["results"]
    assert patched["description"] == "v2.5.1 release" and patched["date"] == "2026-03-31 09:30:00"
    assert sorted(t["name"] for t in patched["tags"]) == ["incidents", "releases"]
    error = call(client, "PATCH", f"{base}{note['id']}/", sa(a), 400, body={"date": "2026-04-01 00:00:00"})
    assert error == {"error": "the annotation date cannot be changed after creation", "status": "error"}

    # the pinned-workspace path style reaches the same annotations
    (workspace,) = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"]
    scoped = call(client, "GET", f"/api/app/workspaces/{workspace['id']}/annotations/", sa(a))["results"]
    assert [n["id"] for n in scoped] == [note["id"], other["id"]]

    call(client, "DELETE", f"{base}{other['id']}/", sa(a), 204)
    call(client, "GET", f"{base}{other['id']}/", sa(a), 404)
    assert [t["name"] for t in call(client, "GET", base + "tags/", sa(a))["results"]] == ["releases", "incidents"]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"date": "31/03/2026", "description": "x"}, "date must be"),
    ({"date": "2026-02-30", "description": "x"}, "not a calendar date"),
    ({"date": "2026-03-31", "description": ""}, "description must be"),
    ({"date": "2026-03-31", "description": "x" * 513}, "description must be"),
    ({"date": "2026-03-31", "description": "x", "tags": [987654]}, "unknown annotation tags"),
])
def test_bad_annotations_are_400(projects: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, _, _ = projects
    error = call(client, "POST", f"/api/app/projects/{a.project_id}/annotations/", sa(a), 400, body=body)
    assert fragment in error["error"] and error["status"] == "error"


def test_consumers_read_but_do_not_write(projects: Any, client: httpx.Client) -> None:
    a, _, consumer = projects
    base = f"/api/app/projects/{a.project_id}/annotations/"
    note = call(client, "POST", base, sa(a), body={"date": "2026-05-01", "description": "kept"})["results"]
    assert any(n["id"] == note["id"] for n in call(client, "GET", base, consumer)["results"])
    for method, path, body in (("POST", base, {"date": "2026-05-02", "description": "no"}),
                               ("PATCH", f"{base}{note['id']}/", {"description": "no"}),
                               ("DELETE", f"{base}{note['id']}/", None), ("POST", base + "tags/", {"name": "no"})):
        error = call(client, method, path, consumer, 403, body=body)
        assert error == {"error": f"the consumer role cannot change project {a.project_id}", "status": "error"}
    assert call(client, "GET", f"{base}{note['id']}/", sa(a))["results"]["description"] == "kept"


def test_projects_are_isolated(projects: Any, client: httpx.Client) -> None:
    a, b, _ = projects
    note = call(client, "POST", f"/api/app/projects/{a.project_id}/annotations/", sa(a),
                 body={"date": "2026-06-01", "description": "a only"})["results"]
    (workspace,) = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"]
    for method, path in (("GET", f"/api/app/projects/{a.project_id}/annotations/"),
                         ("GET", f"/api/app/projects/{a.project_id}/annotations/{note['id']}/"),
                         ("DELETE", f"/api/app/projects/{a.project_id}/annotations/{note['id']}/"),
                         ("GET", f"/api/app/workspaces/{workspace['id']}/annotations/")):
        error = call(client, method, path, sa(b), 403)
        assert "no access" in error["error"]
    # through its own project, b cannot reach a's annotation id either
    call(client, "GET", f"/api/app/projects/{b.project_id}/annotations/{note['id']}/", sa(b), 404)
    call(client, "DELETE", f"/api/app/projects/{b.project_id}/annotations/{note['id']}/", sa(b), 404)
    assert call(client, "GET", f"/api/app/projects/{a.project_id}/annotations/{note['id']}/", sa(a))["results"]


def test_annotation_keys_match_the_recorded_answers(projects: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    recorded = [response["body"]["results"] for _, request, response in
                interactions({"/api/app/projects/12345/annotations/", "/api/app/projects/12345/annotations/42/"})
                if request["method"] in ("GET", "POST") and isinstance((response.get("body") or {}).get("results"),
                                                                       dict)]
    assert recorded, "no recorded annotation answers"
    a, _, _ = projects
    ours = call(client, "POST", f"/api/app/projects/{a.project_id}/annotations/", sa(a),
                 body={"date": "2026-03-31", "description": "shape"})["results"]
    assert all(set(ours) == set(item) for item in recorded)
