"""App API access through HTTP: ``/api/app/me``, a project's public workspaces and the metadata index, with the
App envelope, and no view into projects the service account is not a member of."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def two(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds]:
    return make_project(server.data_dir, "app-a", timezone="Europe/Paris"), make_project(server.data_dir, "app-b")


def _get(client: httpx.Client, path: str, creds: ProjectCreds | None, status: int = 200) -> Any:
    auth = (creds.sa_username, creds.sa_secret) if creds else None
    response = client.get(path, auth=auth)
    assert response.status_code == status, response.text
    return response.json()


def test_me_lists_only_the_accounts_projects_and_workspaces(two: Any, client: httpx.Client) -> None:
    a, b = two
    body = _get(client, "/api/app/me", a)
    assert body["status"] == "ok"
    me = body["results"]
    assert list(me["projects"]) == [str(a.project_id)]
    project = me["projects"][str(a.project_id)]
    assert (project["name"], project["timezone"], project["role"], project["has_workspaces"]) == (
        "app-a", "Europe/Paris", "owner", True)
    assert str(project["organization_id"]) in me["organizations"]
    (workspace,) = me["workspaces"].values()
    assert (workspace["project_id"], workspace["name"], workspace["is_global"], workspace["is_default"]) == (
        a.project_id, "All Project Data", True, True)
    assert list(_get(client, "/api/app/me/", b)["results"]["projects"]) == [str(b.project_id)]


def test_public_workspaces_and_metadata_index(two: Any, client: httpx.Client) -> None:
    a, _ = two
    (workspace,) = _get(client, f"/api/app/projects/{a.project_id}/workspaces/public", a)["results"]
    assert workspace["name"] == "All Project Data" and workspace["project_id"] == a.project_id
    index = _get(client, "/api/app/projects/metadata/index", a)["results"]
    assert list(index) == [str(a.project_id)]
    assert [w["id"] for w in index[str(a.project_id)]["workspaces"].values()] == [workspace["id"]]


@pytest.mark.parametrize(("path", "status", "fragment"), [
    ("/api/app/projects/{other}/workspaces/public", 403, "no access to project"),
    ("/api/app/projects/999999/workspaces/public", 403, "no access to project"),
    ("/api/app/projects/abc/workspaces/public", 400, "project id must be an integer"),
])
def test_other_projects_are_refused(two: Any, client: httpx.Client, path: str, status: int, fragment: str) -> None:
    a, b = two  # b's project exists, the account is just not a member
    body = _get(client, path.format(other=b.project_id), a, status)
    assert body["status"] == "error" and fragment in body["error"]


def test_bad_credentials_are_401(two: Any, client: httpx.Client) -> None:
    a, _ = two
    assert _get(client, "/api/app/me", None, 401) == {
        "error": "Invalid credentials: the App API needs HTTP Basic or a bearer token", "status": "error"}
    response = client.get("/api/app/me", auth=(a.sa_username, "wrong"))
    assert response.status_code == 401 and response.json() == {"error": "Invalid credentials", "status": "error"}
    response = client.get("/api/app/me", auth=(a.api_secret, ""))  # a project secret is not an App API credential
    assert response.status_code == 401


def test_public_workspace_keys_match_the_recorded_answers(two: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    recorded = [item for _, _, response in interactions({"/api/app/projects/12345/workspaces/public"})
                for item in ((response.get("body") or {}).get("results") or []) if isinstance(item, dict)]
    fullest = max((set(item) for item in recorded), key=len)
    a, _ = two
    (ours,) = _get(client, f"/api/app/projects/{a.project_id}/workspaces/public", a)["results"]
    assert set(ours) == fullest


def _token(server: ServerProcess, username: str, *args: str) -> str:
    import subprocess
    import sys

    import orjson

    done = subprocess.run([sys.executable, "-m", "mixhouse", "tokens", "create", "--username", username,
                           "--data-dir", str(server.data_dir), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    body = orjson.loads(done.stdout)
    assert body["username"] == username
    return str(body["token"])


def test_bearer_access_tokens(two: Any, server: ServerProcess, client: httpx.Client) -> None:
    """A token from ``mixhouse tokens create`` acts as its service account on the App and Query APIs."""
    a, b = two
    token = _token(server, a.sa_username, "--name", "ci", "--expires-days", "7")
    bearer = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/app/me", headers=bearer)
    assert me.status_code == 200 and list(me.json()["results"]["projects"]) == [str(a.project_id)]
    created = client.post(f"/api/app/projects/{a.project_id}/annotations/", headers=bearer,
                          json={"date": "2026-07-01", "description": "by token"})
    assert created.status_code == 200, created.text
    names = client.get("/api/query/events/names", headers=bearer,
                       params={"project_id": a.project_id, "type": "general"})
    assert names.status_code == 200, names.text
    refused = client.get("/api/query/events/names", headers=bearer, params={"project_id": b.project_id})
    assert refused.status_code == 403 and "no access to project" in refused.json()["error"]
    assert client.get(f"/api/app/projects/{b.project_id}/workspaces/public", headers=bearer).status_code == 403
    for bad in ("Bearer mhat_unknown", "Bearer not-ours", "Bearer"):
        response = client.get("/api/app/me", headers={"Authorization": bad})
        assert response.status_code == 401, bad
    missing = client.get("/api/query/events/names", headers=bearer)
    assert missing.status_code == 401 and "project_id is required" in missing.json()["error"]


def test_expired_tokens_stop_working(two: Any, server: ServerProcess, client: httpx.Client) -> None:
    from sqlalchemy import text

    from mixhouse.meta.store import MetaStore

    a, _ = two
    token = _token(server, a.sa_username, "--expires-days", "1")
    assert client.get("/api/app/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with MetaStore.for_data_dir(server.data_dir) as store, store.engine.begin() as connection:
        connection.execute(text("UPDATE access_tokens SET expires_at = '2000-01-01 00:00:00'"))
    assert client.get("/api/app/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_tokens_create_refuses_an_unknown_account(server: ServerProcess) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "mixhouse", "tokens", "create", "--username", "nobody",
                           "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "no service account 'nobody'" in done.stderr


def test_rotated_secrets_and_tokens(server: ServerProcess, client: httpx.Client) -> None:
    """`mixhouse projects rotate-secret|rotate-token`: the new value works at once, the old one no longer does (the
    old ones were never used here, so no cached check keeps them alive)."""
    import base64
    import subprocess
    import sys

    import orjson

    creds = make_project(server.data_dir, "rotating")

    def rotate(command: str) -> dict[str, Any]:
        done = subprocess.run([sys.executable, "-m", "mixhouse", "projects", command, str(creds.project_id),
                               "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))

    token = rotate("rotate-token")["token"]
    secret = rotate("rotate-secret")["api_secret"]
    assert token != creds.token and secret != creds.api_secret

    def track(with_token: str) -> httpx.Response:
        event = {"event": "Rotated", "properties": {"token": with_token, "distinct_id": "u"}}
        return client.post("/track", data={"data": base64.b64encode(orjson.dumps(event)).decode()})

    old = track(creds.token)
    assert (old.status_code, old.json()["error"]) == (401, "invalid or missing project token")
    assert track(token).text == "1"
    params = {"from_date": "2026-01-01", "to_date": "2026-01-01"}
    assert client.get("/api/2.0/export", params=params, auth=(creds.api_secret, "")).status_code == 401
    assert client.get("/api/2.0/export", params=params, auth=(secret, "")).status_code == 200
    missing = subprocess.run([sys.executable, "-m", "mixhouse", "projects", "rotate-token", "999999",
                              "--data-dir", str(server.data_dir)], capture_output=True, text=True, check=False)
    assert missing.returncode != 0 and "999999" in (missing.stderr + missing.stdout)
