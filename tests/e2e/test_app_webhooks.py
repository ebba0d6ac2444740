"""Project webhooks over the App API: the lifecycle, the password never answered, a test delivery to a real HTTP
receiver started here (basic auth checked on its side), consumers read-only, projects isolated."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.receiver import serving
from tests.support.server import ServerProcess, free_port

#: What the receiver got: (Authorization header, JSON body) per request.
RECEIVED: list[tuple[str | None, Any]] = []


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        RECEIVED.append((self.headers.get("Authorization"), orjson.loads(body)))
        status = 200 if self.path == "/ok" else 503
        self.send_response(status)
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"nope" if status != 200 else b"done")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with serving(_Receiver) as url:
        yield url


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    return projects_with_consumer(server, "hooks")


def test_lifecycle_without_ever_answering_the_password(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = f"/api/app/projects/{a.project_id}/webhooks/"
    hook = call(client, "POST", base, sa(a), body={"name": "Ops", "url": "https://hooks.example.com/x",
                                                     "auth_type": "basic", "username": "u", "password": "p4ss"})
    assert hook["status"] == "ok"
    hook = hook["results"]
    assert {k: hook[k] for k in ("name", "url", "is_enabled", "auth_type")} == {
        "name": "Ops", "url": "https://hooks.example.com/x", "is_enabled": True, "auth_type": "basic"}
    assert len(hook["id"]) == 36 and "password" not in hook and "username" not in hook
    assert [h["id"] for h in call(client, "GET", base, sa(a))["results"]] == [hook["id"]]
    patched = call(client, "PATCH", f"{base}{hook['id']}/", sa(a), body={"name": "Ops 2", "is_enabled": False})
    assert (patched["results"]["name"], patched["results"]["is_enabled"]) == ("Ops 2", False)
    assert "p4ss" not in orjson.dumps(call(client, "GET", base, sa(a))).decode()
    call(client, "DELETE", f"{base}{hook['id']}/", sa(a), 204)
    call(client, "DELETE", f"{base}{hook['id']}/", sa(a), 404)
    assert call(client, "GET", base, sa(a))["results"] == []


@pytest.mark.parametrize(("body", "fragment"), [
    ({"name": "x", "url": "ftp://example.com"}, "http or https"),
    ({"name": "", "url": "https://example.com"}, "name must be"),
    ({"name": "x", "url": "https://example.com", "auth_type": "digest"}, "auth_type must be basic"),
    ({"name": "x", "url": "https://example.com", "auth_type": "basic"}, "needs a username"),
])
def test_bad_webhooks_are_400(projects: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, _, _ = projects
    error = call(client, "POST", f"/api/app/projects/{a.project_id}/webhooks/", sa(a), 400, body=body)
    assert fragment in error["error"]


def test_test_delivery_reaches_a_real_receiver(projects: Any, client: httpx.Client, receiver: str) -> None:
    a, _, _ = projects
    path = f"/api/app/projects/{a.project_id}/webhooks/test/"
    RECEIVED.clear()
    ok = call(client, "POST", path, sa(a), body={"url": receiver + "/ok", "auth_type": "basic",
                                                   "username": "hook", "password": "s3cret"})["results"]
    assert ok == {"success": True, "status_code": 200, "message": "OK"}
    authorization, message = RECEIVED[-1]
    assert authorization == "Basic " + base64.b64encode(b"hook:s3cret").decode()
    assert message["type"] == "test"
    failing = call(client, "POST", path, sa(a), body={"url": receiver + "/down"})["results"]
    assert (failing["success"], failing["status_code"]) == (False, 503)
    refused = call(client, "POST", path, sa(a), body={"url": f"http://127.0.0.1:{free_port()}/"})["results"]
    assert (refused["success"], refused["status_code"]) == (False, 500) and refused["message"]


def test_consumers_and_other_projects(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    base = f"/api/app/projects/{a.project_id}/webhooks/"
    hook = call(client, "POST", base, sa(a), body={"name": "Kept", "url": "https://example.com/k"})["results"]
    assert [h["id"] for h in call(client, "GET", base, consumer)["results"]] == [hook["id"]]
    for method, path, body in (("POST", base, {"name": "n", "url": "https://e.com"}),
                               ("PATCH", f"{base}{hook['id']}/", {"name": "n"}),
                               ("DELETE", f"{base}{hook['id']}/", None),
                               ("POST", base + "test/", {"url": "https://e.com"})):
        assert call(client, method, path, consumer, 403, body=body)["status"] == "error"
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]
    call(client, "DELETE", f"/api/app/projects/{b.project_id}/webhooks/{hook['id']}/", sa(b), 404)
    assert [h["name"] for h in call(client, "GET", base, sa(a))["results"]] == ["Kept"]
