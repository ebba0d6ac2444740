"""Export and engage read-back: parameters, paging, auth, errors, isolation between projects."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.readback import engage, export
from tests.support.server import ServerProcess

DAY = "2024-03-10"
T0 = 1710072000  # 2024-03-10T12:00:00Z


def _import(http: httpx.Client, creds: ProjectCreds, events: list[dict[str, Any]]) -> None:
    response = http.post("/import", params={"project_id": creds.project_id}, content=orjson.dumps(events),
                         headers={"Content-Type": "application/json"}, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text


def _event(name: str, user: str, offset: int, **props: Any) -> dict[str, Any]:
    return {"event": name, "properties": {"time": T0 + offset, "distinct_id": user,
                                          "$insert_id": f"{name[:3]}-{user}-{offset}".replace(" ", ""), **props}}


@pytest.fixture
def loaded(server: ServerProcess, http: httpx.Client) -> ProjectCreds:
    creds = make_project(server.data_dir, "read")
    _import(http, creds, [
        _event("Signup", "u1", 0, plan="pro", amount=10),
        _event("Purchase", "u1", 60, amount=150),
        _event("Purchase", "u2", 120, amount=50),
        _event("View", "u3", 180),
        _event("Purchase", "u3", 86400 + 5, amount=999),  # next day
    ])
    return creds


def test_export_day_range_is_inclusive_and_ordered(loaded: ProjectCreds, http: httpx.Client) -> None:
    events = export(http, loaded, from_date=DAY, to_date=DAY)
    assert [(e["event"], e["properties"]["distinct_id"]) for e in events] == [
        ("Signup", "u1"), ("Purchase", "u1"), ("Purchase", "u2"), ("View", "u3")]
    assert [e["properties"]["time"] for e in events] == [T0, T0 + 60, T0 + 120, T0 + 180]
    assert len(export(http, loaded, from_date=DAY, to_date="2024-03-11")) == 5


def test_export_event_filter_limit_and_ms(loaded: ProjectCreds, http: httpx.Client) -> None:
    events = export(http, loaded, from_date=DAY, to_date="2024-03-11", event='["Purchase"]', limit=2,
                    time_in_ms="true")
    assert [e["properties"]["time"] for e in events] == [(T0 + 60) * 1000, (T0 + 120) * 1000]
    assert {e["event"] for e in events} == {"Purchase"}


def test_export_gzip_when_asked(loaded: ProjectCreds, http: httpx.Client, server: ServerProcess) -> None:
    for i in range(40):  # enough to pass the 1400-byte threshold
        _import(http, loaded, [_event("Bulk", f"b{i}", 200 + i, filler="x" * 40)])
    raw = httpx.get(f"{server.url}/api/2.0/export", params={"project_id": loaded.project_id, "from_date": DAY,
                                                            "to_date": DAY},
                    auth=(loaded.sa_username, loaded.sa_secret), headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert len(raw.content.splitlines()) == 44  # httpx inflated it (it checked the gzip stream)
    small = httpx.get(f"{server.url}/api/2.0/export", params={"project_id": loaded.project_id, "from_date": DAY,
                                                              "to_date": DAY, "event": '["Signup"]'},
                      auth=(loaded.sa_username, loaded.sa_secret), headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1400 bytes: plain


@pytest.mark.parametrize(("params", "fragment"), [
    ({"from_date": "2024-13-01", "to_date": DAY}, "from_date"),
    ({"to_date": DAY}, "from_date is required"),
    ({"from_date": "2024-03-12", "to_date": DAY}, "before"),
    ({"from_date": DAY, "to_date": DAY, "limit": "0"}, "limit"),
    ({"from_date": DAY, "to_date": DAY, "event": '{"a": 1}'}, "event"),
])
def test_export_bad_parameters_are_400_with_request_and_error(
    loaded: ProjectCreds, http: httpx.Client, params: dict[str, str], fragment: str
) -> None:
    response = http.get("/api/2.0/export", params={"project_id": loaded.project_id, **params},
                        auth=(loaded.sa_username, loaded.sa_secret))
    assert response.status_code == 400
    body = response.json()
    assert fragment in body["error"]
    assert body["request"].startswith("/api/2.0/export?")


def test_read_apis_require_valid_credentials(loaded: ProjectCreds, http: httpx.Client) -> None:
    params = {"project_id": loaded.project_id, "from_date": DAY, "to_date": DAY}
    assert http.get("/api/2.0/export", params=params).status_code == 401
    assert http.get("/api/2.0/export", params=params, auth=(loaded.sa_username, "wrong")).status_code == 401
    assert http.get("/api/2.0/export", params=params, auth=("nope", "")).status_code == 401
    no_pid = http.get("/api/2.0/export", params={"from_date": DAY, "to_date": DAY},
                      auth=(loaded.sa_username, loaded.sa_secret))
    assert no_pid.status_code == 401 and "project_id" in no_pid.json()["error"]
    assert http.post("/api/query/engage", data={"project_id": loaded.project_id}).status_code == 401


def test_credentials_of_one_project_cannot_read_another(server: ServerProcess, loaded: ProjectCreds,
                                                        http: httpx.Client) -> None:
    other = make_project(server.data_dir, "other")
    cross = http.get("/api/2.0/export", params={"project_id": loaded.project_id, "from_date": DAY, "to_date": DAY},
                     auth=(other.sa_username, other.sa_secret))
    assert cross.status_code == 403
    secret_cross = http.get("/api/2.0/export",
                            params={"project_id": loaded.project_id, "from_date": DAY, "to_date": DAY},
                            auth=(other.api_secret, ""))
    assert secret_cross.status_code == 403
    assert export(http, other, from_date=DAY, to_date=DAY) == []
    engage_cross = http.post("/api/query/engage", data={"project_id": loaded.project_id},
                             auth=(other.sa_username, other.sa_secret))
    assert engage_cross.status_code == 403


def test_export_and_engage_aliases(loaded: ProjectCreds, http: httpx.Client) -> None:
    params = {"project_id": loaded.project_id, "from_date": DAY, "to_date": DAY}
    auth = (loaded.sa_username, loaded.sa_secret)
    assert http.get("/api/query/export", params=params, auth=auth).content == \
        http.get("/api/2.0/export", params=params, auth=auth).content
    for path in ("/api/query/engage", "/api/query/engage/", "/api/2.0/engage"):
        assert http.post(path, data={"project_id": loaded.project_id}, auth=auth).json()["status"] == "ok"


def _seed_profiles(http: httpx.Client, creds: ProjectCreds, count: int) -> None:
    updates = [{"$token": creds.token, "$distinct_id": f"p{i:04d}",
                "$set": {"rank": i, "tier": "gold" if i % 3 == 0 else "basic", "$email": f"p{i}@x.io"}}
               for i in range(count)]
    for start in range(0, count, 500):
        assert http.post("/engage", json=updates[start:start + 500]).text == "1"


def test_engage_paging_with_session_id(server: ServerProcess, http: httpx.Client) -> None:
    creds = make_project(server.data_dir, "paging")
    _seed_profiles(http, creds, 2300)
    first = engage(http, creds)
    assert (first["page"], first["page_size"], first["total"], len(first["results"])) == (0, 1000, 2300, 1000)
    seen = [r["$distinct_id"] for r in first["results"]]
    page = 1
    while True:
        body = engage(http, creds, page=page, session_id=first["session_id"])
        if not body["results"]:
            break
        seen += [r["$distinct_id"] for r in body["results"]]
        page += 1
    assert seen == [f"p{i:04d}" for i in range(2300)]
    bad = http.post("/api/query/engage", data={"project_id": creds.project_id, "page": 1},
                    auth=(creds.sa_username, creds.sa_secret))
    assert bad.status_code == 400 and "session_id" in bad.json()["error"]


def test_engage_filters_and_output_properties(server: ServerProcess, http: httpx.Client) -> None:
    creds = make_project(server.data_dir, "filters")
    _seed_profiles(http, creds, 30)
    only = engage(http, creds, distinct_ids='["p0003", "p0004", "missing"]', output_properties='["tier"]')
    assert only["results"] == [{"$distinct_id": "p0003", "$properties": {"tier": "gold"}},
                               {"$distinct_id": "p0004", "$properties": {"tier": "basic"}}]
    single = engage(http, creds, distinct_id="p0007")
    assert [r["$distinct_id"] for r in single["results"]] == ["p0007"]
    golds = engage(http, creds, where='properties["tier"] == "gold" and properties["rank"] >= 20')
    assert [r["$distinct_id"] for r in golds["results"]] == ["p0021", "p0024", "p0027"]
    top = engage(http, creds, sort_key='properties["rank"]', sort_order="descending", limit=2)
    assert [r["$distinct_id"] for r in top["results"]] == ["p0029", "p0028"]
    found = engage(http, creds, search="p17@")
    assert [r["$distinct_id"] for r in found["results"]] == ["p0017"]
    bad = http.post("/api/query/engage", data={"project_id": creds.project_id, "where": 'properties["x" =='},
                    auth=(creds.sa_username, creds.sa_secret))
    assert bad.status_code == 400 and "position" in bad.json()["error"]


def test_engage_json_body_as_the_headless_client_sends(loaded: ProjectCreds, http: httpx.Client) -> None:
    _seed_profiles(http, loaded, 3)
    response = http.post("/api/query/engage/", params={"project_id": loaded.project_id},
                         json={"project_id": loaded.project_id, "page": 0, "distinct_ids": ["p0001"]},
                         auth=(loaded.sa_username, loaded.sa_secret))
    assert [r["$distinct_id"] for r in response.json()["results"]] == ["p0001"]


def test_export_time_order_survives_concurrent_ingest(loaded: ProjectCreds, http: httpx.Client) -> None:
    now = int(time.time())
    events = [_event("Tick", "t", 0) | {"properties": {"time": now - i, "distinct_id": "t", "$insert_id": f"tick-{i}"}}
              for i in range(50)]
    _import(http, loaded, events)
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(now - 86400))
    times = [e["properties"]["time"] for e in export(http, loaded, from_date=yesterday, to_date=today,
                                                     event='["Tick"]')]
    assert times == sorted(times) and len(times) == 50
