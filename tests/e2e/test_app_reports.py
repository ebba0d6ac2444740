"""Saved reports (bookmarks v2) over the App API: lifecycle, params checked by the engines, saved reports that run
through the Query API, history with cursor paging, bulk calls, recorded answer shapes, consumers read-only and
projects isolated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.sending import import_all
from tests.support.server import ServerProcess

END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=6)).date(), (END - timedelta(days=1)).date()


def insights_params(event: str, math: str = "total") -> dict[str, Any]:
    """Bookmark params of an Insights report counting ``event`` per day over the last six whole days."""
    behavior = {"type": "event", "name": event, "resourceType": "events", "filters": [], "filtersDeterminer": "all"}
    return {
        "displayOptions": {"chartType": "line", "analysis": "linear"},
        "sections": {
            "show": [{"type": "metric", "behavior": behavior, "measurement": {"math": math}}],
            "time": [{"dateRangeType": "between", "unit": "day", "value": [FROM.isoformat(), TO.isoformat()]}],
            "filter": [], "group": [],
        },
    }


@pytest.fixture(scope="module")
def projects(server: ServerProcess, client: httpx.Client) -> Any:
    a, b, consumer = projects_with_consumer(server, "reports")
    start = int((END - timedelta(days=3)).timestamp())
    events = [{"event": "Purchase", "properties": {"distinct_id": f"u{n % 4}", "time": start + n * 3600,
                                                   "$insert_id": f"p{n}"}} for n in range(10)]
    import_all(client, a, events)
    return a, b, consumer


def _base(project_id: int) -> str:
    return f"/api/app/projects/{project_id}/bookmarks"


def test_a_saved_report_runs_through_the_query_api(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    params = insights_params("Purchase")
    created = call(client, "POST", _base(a.project_id), sa(a),
                   body={"name": "Purchases", "type": "insights", "params": params, "description": "daily",
                         "v": 2})["results"]
    assert {k: created[k] for k in ("name", "type", "description", "params", "project_id")} == {
        "name": "Purchases", "type": "insights", "description": "daily", "params": params,
        "project_id": a.project_id}
    assert created["creator_name"] and created["created"] == created["modified"]
    saved = client.get("/api/query/insights", params={"project_id": a.project_id, "bookmark_id": created["id"]},
                       auth=sa(a))
    posted = client.post("/api/query/insights", json={"bookmark": params, "project_id": a.project_id}, auth=sa(a))
    assert saved.status_code == posted.status_code == 200, saved.text
    assert saved.json()["series"] == posted.json()["series"]
    assert sum(saved.json()["series"]["Purchase"].values()) == 10


def test_lifecycle_history_and_bulk_calls(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = _base(a.project_id)
    first = call(client, "POST", base, sa(a), body={"name": "One", "type": "insights",
                                                     "params": insights_params("Purchase")})["results"]
    second = call(client, "POST", base, sa(a), body={"name": "Two", "type": "insights",
                                                      "params": insights_params("Purchase", "unique")})["results"]
    renamed = call(client, "PATCH", f"{base}/{first['id']}", sa(a), body={"name": "One!", "v": 2})["results"]
    assert renamed["name"] == "One!" and renamed["params"] == first["params"]
    assert call(client, "GET", f"{base}/{first['id']}", sa(a), v=2)["results"]["name"] == "One!"
    for n in range(3):
        call(client, "PATCH", f"{base}/{first['id']}", sa(a), body={"description": f"edit {n}"})
    page = call(client, "GET", f"{base}/{first['id']}/history", sa(a), page_size=2)["results"]
    assert [e["action"] for e in page["results"]] == ["updated", "updated"]
    assert page["results"][0]["description"] == "edit 2" and page["pagination"]["page_size"] == 2
    rest = call(client, "GET", f"{base}/{first['id']}/history", sa(a), page_size=10,
                cursor=page["pagination"]["next_cursor"])["results"]
    assert [e["action"] for e in rest["results"]] == ["updated", "updated", "created"]
    assert rest["results"][-1]["name"] == "One" and rest["pagination"]["next_cursor"] is None
    listed = call(client, "GET", base, sa(a), v=2, type="insights", ids=f"{first['id']},{second['id']}")
    assert [r["id"] for r in listed["results"]] == [first["id"], second["id"]]
    call(client, "POST", f"{base}/bulk-update", sa(a), 204,
         body={"bookmarks": [{"id": first["id"], "name": "Bulk 1"}, {"id": second["id"], "name": "Bulk 2"}]})
    assert [r["name"] for r in call(client, "GET", base, sa(a), ids=f"{first['id']},{second['id']}")["results"]] \
        == ["Bulk 1", "Bulk 2"]
    call(client, "POST", f"{base}/bulk-update", sa(a), 404,
         body={"bookmarks": [{"id": first["id"], "name": "not applied"}, {"id": 10**9, "name": "x"}]})
    assert call(client, "GET", f"{base}/{first['id']}", sa(a))["results"]["name"] == "Bulk 1"
    call(client, "POST", f"{base}/bulk-delete", sa(a), 204, body={"bookmark_ids": [first["id"], second["id"]]})
    call(client, "GET", f"{base}/{first['id']}", sa(a), 404)
    call(client, "DELETE", f"{base}/{second['id']}", sa(a), 404)


@pytest.mark.parametrize(("body", "fragment"), [
    ({"name": "x", "type": "dashboards", "params": {}}, "Invalid bookmark type"),
    ({"name": "", "type": "insights", "params": insights_params("Purchase")}, "name must be"),
    ({"name": "two\nlines", "type": "insights", "params": insights_params("Purchase")}, "control characters"),
    ({"name": "x", "type": "insights"}, "params is required"),
    ({"name": "x", "type": "insights", "params": {"events": []}}, ""),
    ({"name": "x", "type": "insights", "params": "{not json"}, "JSON object"),
    ({"name": "x", "type": "flows", "params": {"steps": []}}, ""),
    ({"name": "x", "type": "insights", "params": insights_params("Purchase"), "dashboard_id": 10**9},
     "no dashboard"),
])
def test_bad_reports_are_refused(projects: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, _, _ = projects
    status = 404 if "dashboard_id" in body else 400
    error = call(client, "POST", _base(a.project_id), sa(a), status, body=body)
    assert error["status"] == "error" and fragment in error["error"]


def test_params_sent_as_json_text_and_type_is_fixed(projects: Any, client: httpx.Client) -> None:
    import orjson

    a, _, _ = projects
    params = insights_params("Purchase")
    created = call(client, "POST", _base(a.project_id), sa(a), body={
        "name": "Text", "type": "insights", "params": orjson.dumps(params).decode()})["results"]
    assert created["params"] == params
    error = call(client, "PATCH", f"{_base(a.project_id)}/{created['id']}", sa(a), 400, body={"type": "funnels"})
    assert "cannot change" in error["error"]
    call(client, "GET", _base(a.project_id), sa(a), 400, type="nope")


def test_consumers_and_other_projects(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    base = _base(a.project_id)
    kept = call(client, "POST", base, sa(a), body={"name": "Kept", "type": "insights",
                                                    "params": insights_params("Purchase")})["results"]
    seen = call(client, "GET", f"{base}/{kept['id']}", consumer)["results"]
    assert seen["name"] == "Kept" and seen["can_update_basic"] is False
    for method, path, body in (("POST", base, {"name": "n", "type": "insights",
                                               "params": insights_params("Purchase")}),
                               ("PATCH", f"{base}/{kept['id']}", {"name": "n"}),
                               ("DELETE", f"{base}/{kept['id']}", None),
                               ("POST", f"{base}/bulk-delete", {"bookmark_ids": [kept["id"]]}),
                               ("POST", f"{base}/bulk-update", {"bookmarks": [{"id": kept["id"], "name": "n"}]})):
        assert call(client, method, path, consumer, 403, body=body)["status"] == "error"
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]
    other = _base(b.project_id)
    call(client, "GET", f"{other}/{kept['id']}", sa(b), 404)
    call(client, "PATCH", f"{other}/{kept['id']}", sa(b), 404, body={"name": "stolen"})
    call(client, "POST", f"{other}/bulk-delete", sa(b), 404, body={"bookmark_ids": [kept["id"]]})
    call(client, "GET", f"{other}/{kept['id']}/history", sa(b), 404)
    assert kept["id"] not in [r["id"] for r in call(client, "GET", other, sa(b))["results"]]
    assert call(client, "GET", f"{base}/{kept['id']}", sa(a))["results"]["name"] == "Kept"


@pytest.mark.parametrize("report_id", [2**31, 2**63])
def test_ids_beyond_the_id_columns_are_not_found(projects: Any, client: httpx.Client, report_id: int) -> None:
    """Ids are 32-bit integers on PostgreSQL and 64-bit on SQLite: larger ones name nothing, on either (not a 500)."""
    a, _, _ = projects
    call(client, "GET", f"{_base(a.project_id)}/{report_id}", sa(a), 404)
    call(client, "GET", f"/api/app/projects/{a.project_id}/dashboards/{report_id}", sa(a), 404)
    call(client, "POST", f"/api/app/projects/{a.project_id}/dashboards", sa(a), 404,
         body={"title": "Copy", "duplicate": report_id})


def test_pinned_workspace_paths(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    workspace = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"][0]
    path = f"/api/app/workspaces/{workspace['id']}/bookmarks"
    created = call(client, "POST", path, sa(a), body={"name": "Via workspace", "type": "insights",
                                                       "params": insights_params("Purchase")})["results"]
    assert call(client, "GET", f"{path}/{created['id']}", sa(a))["results"]["project_id"] == a.project_id


def test_bookmark_keys_match_the_recorded_answers(projects: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    recorded = [response["body"]["results"] for _, request, response in interactions(lambda path: "/bookmarks/" in path)
                if request["method"] == "GET"
                and isinstance((response.get("body") or {}).get("results"), dict)
                and "params" in response["body"]["results"]]
    assert recorded, "no recorded bookmark answers"
    a, _, _ = projects
    ours = call(client, "POST", _base(a.project_id), sa(a), body={"name": "Shape", "type": "insights",
                                                                   "params": insights_params("Purchase")})["results"]
    for item in recorded:
        assert set(item) - {"dashboard"} <= set(ours), set(item) - set(ours)
