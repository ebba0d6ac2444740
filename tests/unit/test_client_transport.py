"""The client's HTTP side against a real local HTTP server: base URLs, auth, params, retries, error mapping,
App envelope unwrapping and workspace auto-resolution."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import mixhouse as mp
from mixhouse.client.config import Account, Project, Session, WorkspaceRef
from mixhouse.client.transport import ApiClient, base_url
from tests.support.recorder import Recorder


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Recorder]:
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))  # each test its own /me cache
    server = Recorder().start()
    monkeypatch.setenv("MP_API_BASE_URL", server.url + "/")
    monkeypatch.delenv("MP_APP_BASE_URL", raising=False)
    yield server
    server.stop()


def _session(workspace: int | None = None) -> Session:
    return Session(account=Account(name="a", username="sa.user", secret="s3cret"), project=Project(id="123"),
                   workspace=WorkspaceRef(id=workspace) if workspace else None)


def _ws(workspace: int | None = None) -> mp.Workspace:
    return mp.Workspace(session=_session(workspace))


def test_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MP_API_BASE_URL", raising=False)
    monkeypatch.delenv("MP_APP_BASE_URL", raising=False)
    assert base_url("eu", "export") == "https://data-eu.mixpanel.com/api/2.0"
    assert base_url("in", "engage") == "https://in.mixpanel.com/api/query/engage"
    monkeypatch.setenv("MP_API_BASE_URL", "http://proxy:9/mp/")
    assert base_url("eu", "query") == "http://proxy:9/mp/api/query"
    assert base_url("us", "export") == "http://proxy:9/mp/api/2.0"
    assert base_url("us", "app") == "http://proxy:9/mp/api/app"
    monkeypatch.setenv("MP_APP_BASE_URL", "http://app-host")
    assert base_url("us", "app") == "http://app-host/api/app"
    assert base_url("us", "engage") == "http://proxy:9/mp/api/query/engage"


def test_query_params_and_headers(recorder: Recorder) -> None:
    recorder.default = (200, {}, ["Login"])
    with _ws() as ws:
        assert ws.events(from_date="2024-01-01", to_date="2024-01-31") == ["Login"]
    req = recorder.requests[-1]
    assert (req.method, req.path) == ("GET", "/api/query/events/names")
    assert req.query == {"type": "general", "limit": "5000", "from_date": "2024-01-01", "to_date": "2024-01-31",
                         "project_id": "123", "query_origin": "mixpanel-headless"}
    assert req.headers["authorization"] == "Basic c2EudXNlcjpzM2NyZXQ="
    assert req.headers["user-agent"].startswith("mixhouse/")


def test_pinned_workspace_scopes_query_and_app_paths(recorder: Recorder) -> None:
    recorder.default = (200, {}, {"data": {"values": {}}})
    with _ws(workspace=7) as ws:
        ws.segmentation("E", from_date="2024-01-01", to_date="2024-01-02")
        recorder.default = (200, {}, {"status": "ok", "results": []})
        ws.list_dashboards()
        ws.list_feature_flags()
    seg, dash, flags = recorder.requests
    assert seg.query["workspace_id"] == "7"
    assert dash.path == "/api/app/workspaces/7/dashboards" and "query_origin" not in dash.query
    assert flags.path == "/api/app/projects/123/workspaces/7/feature-flags/"


def test_export_has_no_query_origin(recorder: Recorder) -> None:
    recorder.default = (200, {}, b'{"event":"A","properties":{"time":1,"distinct_id":"x","$insert_id":"i"}}\n'
                                 b'not json\n\n{"event":"B","properties":{"time":2,"distinct_id":"y"}}\n')
    with _ws() as ws:
        events = list(ws.stream_events(from_date="2024-01-01", to_date="2024-01-02", events=["A", "B"]))
    assert [e["event_name"] for e in events] == ["A", "B"]
    assert events[0]["insert_id"] == "i" and events[0]["event_time"].year == 1970
    req = recorder.requests[-1]
    assert req.path == "/api/2.0/export"
    assert req.query == {"project_id": "123", "from_date": "2024-01-01", "to_date": "2024-01-02",
                         "event": '["A", "B"]'}


def test_app_envelope_and_204(recorder: Recorder) -> None:
    recorder.answers = [(200, {}, {"status": "ok", "results": {"id": 5, "title": "T"}}), (204, {}, None)]
    with _ws() as ws:
        assert ws.get_dashboard(5).title == "T"
        assert ws.api.app_request("DELETE", "/projects/123/dashboards/5") == {"status": "ok"}


def test_retry_after_is_honoured(recorder: Recorder) -> None:
    recorder.answers = [(429, {"Retry-After": "1"}, {"error": "slow down"}),
                        (200, {}, {"data": {"values": {"E": {"2024-01-01": 4}}}})]
    started = time.monotonic()
    with _ws() as ws:
        result = ws.segmentation("E", from_date="2024-01-01", to_date="2024-01-01")
    assert result.total == 4
    assert time.monotonic() - started >= 0.95
    assert len(recorder.requests) == 2
    assert recorder.requests[0].query == recorder.requests[1].query


def test_retry_after_is_capped_and_backoff_grows(recorder: Recorder) -> None:
    waits: list[float] = []
    recorder.answers = [(429, {"Retry-After": "7200"}, None), (429, {}, None), (429, {}, None),
                        (429, {"Retry-After": "7200"}, None)]
    client = ApiClient(_session(), sleep=waits.append)
    with pytest.raises(mp.RateLimitError) as info:
        client.query_request("GET", "query", "/segmentation", params={"event": "E"})
    client.close()
    assert len(recorder.requests) == 4  # the first try and 3 retries
    assert waits[0] == 60.0  # Retry-After capped at 60 s
    assert 2.0 <= waits[1] <= 2.2 and 4.0 <= waits[2] <= 4.4  # 2**attempt backoff with ≤10 % jitter
    assert info.value.retry_after == 3600.0 and info.value.code == "rate_limited"


@pytest.mark.parametrize(("status", "body", "error", "message"), [
    (401, {"error": "bad creds"}, mp.AuthenticationError, "bad creds"),
    (403, {"error": "no access"}, mp.QueryError, "no access"),
    (400, {"request": "/x", "error": "unknown unit"}, mp.QueryError, "unknown unit"),
    (404, {"message": "gone"}, mp.QueryError, "gone"),
    (422, {}, mp.QueryError, "invalid request"),
    (500, {"error": "boom"}, mp.ServerError, "Server error: boom"),
    (503, b"upstream down", mp.ServerError, "upstream down"),
])
def test_error_mapping(recorder: Recorder, status: int, body: object, error: type[mp.MixhouseError],
                       message: str) -> None:
    recorder.default = (status, {}, body)
    with _ws() as ws, pytest.raises(error, match=message) as info:
        ws.top_events()
    assert isinstance(info.value, mp.MixhouseError)
    assert info.value.details["status_code"] == status


def test_non_json_success_is_an_error(recorder: Recorder) -> None:
    recorder.default = (200, {}, b"<html>hi</html>")
    with _ws() as ws, pytest.raises(mp.MixhouseError, match="not JSON"):
        ws.top_events()


def test_unreachable_server_is_a_server_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_API_BASE_URL", "http://127.0.0.1:9")
    with _ws() as ws, pytest.raises(mp.ServerError, match="cannot reach"):
        ws.top_events()


def _workspace(wid: int, **flags: object) -> dict[str, object]:
    return {"id": wid, "name": f"W{wid}", "project_id": 123, **flags}


def test_workspace_resolution_order(recorder: Recorder) -> None:
    # no /me fetched yet → workspaces/public → prefer is_global
    recorder.answers = [
        (200, {}, {"status": "ok", "results": [_workspace(3), _workspace(4, is_default=True),
                                               _workspace(5, is_global=True)]}),
        (200, {}, {"status": "ok", "results": []})]
    with _ws() as ws:
        ws.list_feature_flags()
        ws.list_feature_flags()  # cached: no second resolution
    paths = [r.path for r in recorder.requests]
    assert paths == ["/api/app/projects/123/workspaces/public",
                     "/api/app/projects/123/workspaces/5/feature-flags/",
                     "/api/app/projects/123/workspaces/5/feature-flags/"]


def test_workspace_resolution_uses_a_fetched_me(recorder: Recorder) -> None:
    recorder.answers = [
        (200, {}, {"status": "ok", "results": {"workspaces": {
            "1": {**_workspace(1), "project_id": 999, "is_global": True}, "2": _workspace(2, is_default=True)}}})]
    with _ws() as ws:
        ws.me()
        assert ws.resolve_workspace_id() == 2  # the other project's global workspace is not a candidate
    assert [r.path for r in recorder.requests] == ["/api/app/me"]


def test_workspace_resolution_falls_through_403_to_metadata_index(recorder: Recorder) -> None:
    recorder.answers = [
        (403, {}, {"error": "forbidden", "status": "error"}),
        (200, {}, {"status": "ok", "results": {"123": {"workspaces": {
            "8": _workspace(8), "9": {**_workspace(9), "name": "All Project Data"}}}}}),
        (200, {}, {"status": "ok", "results": []})]
    with _ws() as ws:
        assert ws.resolve_workspace_id() == 9
    assert recorder.requests[1].path == "/api/app/projects/metadata/index"


def test_no_workspace_is_a_workspace_scope_error(recorder: Recorder) -> None:
    recorder.answers = [(404, {}, {"error": "no"}), (200, {}, {"status": "ok", "results": {}})]
    with _ws() as ws, pytest.raises(mp.WorkspaceScopeError, match="MP_WORKSPACE_ID") as info:
        ws.list_feature_flags()
    assert info.value.details["code"] == "NO_WORKSPACES"


def test_401_during_resolution_propagates(recorder: Recorder) -> None:
    recorder.default = (401, {}, {"error": "who are you"})
    with _ws() as ws, pytest.raises(mp.AuthenticationError):
        ws.resolve_workspace_id()


def test_import_without_server_dependencies() -> None:
    code = (
        "import sys\n"
        "for name in ('chdb', 'fastapi', 'starlette', 'uvicorn', 'sqlalchemy', 'alembic', 'psycopg', 'iptocc',"
        " 'maxminddb'):\n"
        "    sys.modules[name] = None\n"
        "import mixhouse as mp\n"
        "import mixhouse.client\n"
        "from mixhouse.cli import mp as cli\n"
        "s = mp.Session(account=mp.Account(name='a', username='u', secret='s'), project=mp.Project(id='1'))\n"
        "ws = mp.Workspace(session=s)\n"
        "ws.close()\n"
        "assert 'pandas' not in sys.modules\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
