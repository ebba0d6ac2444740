"""Dashboards over the App API: create with rows, add and remove reports (a report from elsewhere is cloned),
text cards and report links, layout changes, duplicates, favorites per account, pins, bulk delete, the dashboards
of a report, recorded answer shapes, consumers read-only and projects isolated."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.e2e.test_app_reports import insights_params
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> Any:
    return projects_with_consumer(server, "boards")


def _boards(project_id: int) -> str:
    return f"/api/app/projects/{project_id}/dashboards"


def _report(client: httpx.Client, creds: Any, name: str, dashboard_id: int | None = None) -> dict[str, Any]:
    body = {"name": name, "type": "insights", "params": insights_params("Purchase"), "dashboard_id": dashboard_id}
    return call(client, "POST", f"/api/app/projects/{creds.project_id}/bookmarks", sa(creds), body=body)["results"]


def _shown(board: dict[str, Any]) -> list[tuple[str, int]]:
    layout = board["layout"]
    return [(c["content_type"], c["content_id"]) for row in layout["order"] for c in layout["rows"][row]["cells"]]


def test_rows_of_reports_and_text(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    rows = [{"contents": [
        {"content_type": "text", "content_params": {"markdown": "<h2>KPIs</h2>"}},
        {"content_type": "report", "content_params": {"bookmark": {
            "name": "Daily purchases", "type": "insights",
            "params": orjson.dumps(insights_params("Purchase")).decode()}}},
    ]}]
    board = call(client, "POST", _boards(a.project_id), sa(a),
                 body={"title": "KPIs", "description": "top line", "rows": rows, "time_filter": {"x": 1}})["results"]
    assert (board["title"], board["description"], board["time_filter"]) == ("KPIs", "top line", {"x": 1})
    (text_id, text), = board["contents"]["text"].items()
    (report_id, report), = board["contents"]["report"].items()
    assert text["markdown"] == "<h2>KPIs</h2>" and report["name"] == "Daily purchases"
    assert report["dashboard_id"] == board["id"] and report["params"] == insights_params("Purchase")
    assert _shown(board) == [("text", int(text_id)), ("report", int(report_id))]
    assert [c["width"] for c in board["layout"]["rows"][board["layout"]["order"][0]]["cells"]] == [6, 6]
    got = call(client, "GET", f"{_boards(a.project_id)}/{board['id']}", sa(a))["results"]
    assert got["contents"] == board["contents"] and got["layout"] == board["layout"]
    # the report saved on the dashboard runs
    ran = client.get("/api/query/insights", params={"project_id": a.project_id, "bookmark_id": report_id},
                     auth=sa(a))
    assert ran.status_code == 200, ran.text


def test_add_and_remove_reports_as_the_client_library_does(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = _boards(a.project_id)
    board = call(client, "POST", base, sa(a), body={"title": "Growth"})["results"]
    assert _shown(board) == []
    # create_bookmark: the report is created on the dashboard, then added to its layout (placed, not cloned)
    own = _report(client, a, "On growth", board["id"])
    add = {"content": {"action": "create", "content_type": "report",
                       "content_params": {"source_bookmark_id": own["id"]}}}
    board = call(client, "PATCH", f"{base}/{board['id']}", sa(a), body=add)["results"]
    assert _shown(board) == [("report", own["id"])]
    # a report from elsewhere is cloned onto the dashboard
    loose = _report(client, a, "Elsewhere")
    add["content"]["content_params"] = {"source_bookmark_id": loose["id"]}
    board = call(client, "PATCH", f"{base}/{board['id']}", sa(a), body=add)["results"]
    clone_id = _shown(board)[1][1]
    assert clone_id != loose["id"] and board["contents"]["report"][str(clone_id)]["name"] == "Elsewhere"
    ids_path = f"{base}/bookmarks/{{}}/dashboard-ids"
    assert call(client, "GET", ids_path.format(own["id"]), sa(a))["results"] == [board["id"]]
    assert call(client, "GET", ids_path.format(loose["id"]), sa(a))["results"] == []
    linked = f"/api/app/projects/{a.project_id}/bookmarks/{own['id']}/linked-dashboard-ids"
    assert call(client, "GET", linked, sa(a))["results"] == [board["id"]]
    remove = {"content": {"action": "delete", "content_type": "report", "content_id": own["id"]}}
    board = call(client, "PATCH", f"{base}/{board['id']}", sa(a), body=remove)["results"]
    assert _shown(board) == [("report", clone_id)]
    kept = call(client, "GET", f"/api/app/projects/{a.project_id}/bookmarks/{own['id']}", sa(a))["results"]
    assert kept["dashboard_id"] is None  # removing a card keeps the report
    call(client, "PATCH", f"{base}/{board['id']}", sa(a), 404, body=remove)


def test_cards_layout_duplicate_favorites_and_pins(projects: Any, client: httpx.Client) -> None:
    a, _, consumer = projects
    base = _boards(a.project_id)
    board = call(client, "POST", base, sa(a), body={"title": "Cards"})["results"]
    path = f"{base}/{board['id']}"
    text = {"content": {"action": "create", "content_type": "text", "content_params": {"markdown": "hi"}}}
    board = call(client, "PATCH", path, sa(a), body=text)["results"]
    target = _report(client, a, "Linked")
    link = {"content": {"action": "create", "content_type": "report-link",
                        "content_params": {"bookmark_id": target["id"], "type": "link"}}}
    board = call(client, "PATCH", path, sa(a), body=link)["results"]
    (text_id,), (link_id,) = board["contents"]["text"], board["contents"]["report-link"]
    call(client, "PATCH", f"{path}/text-cards/{text_id}", sa(a), 204, body={"markdown": "hello"})
    call(client, "PATCH", f"{path}/report-links/{link_id}", sa(a), 204, body={"type": "embedded"})
    call(client, "PATCH", f"{path}/text-cards/{link_id}", sa(a), 404, body={"markdown": "x"})
    board = call(client, "GET", path, sa(a))["results"]
    assert board["contents"]["text"][text_id]["markdown"] == "hello"
    assert board["contents"]["report-link"][link_id] == {"id": int(link_id), "bookmark_id": target["id"],
                                                          "type": "embedded"}
    # one row holding both cards, side by side
    layout = {"order": ["r1"], "rows": {"r1": {"cells": [
        {"content_type": "report-link", "content_id": int(link_id), "width": 4},
        {"content_type": "text", "content_id": int(text_id), "width": 8}]}}}
    board = call(client, "PATCH", path, sa(a), body={"layout": layout, "title": "Cards 2"})["results"]
    assert _shown(board) == [("report-link", int(link_id)), ("text", int(text_id))] and board["title"] == "Cards 2"
    bad = {"order": ["r1"], "rows": {"r1": {"cells": [{"content_type": "report", "content_id": 1, "width": 4}]}}}
    assert "unknown content" in call(client, "PATCH", path, sa(a), 400, body={"layout": bad})["error"]
    copy = call(client, "POST", base, sa(a), body={"title": "Copy", "duplicate": board["id"]})["results"]
    assert copy["title"] == "Copy" and len(_shown(copy)) == 2 and copy["contents"]["text"] != board["contents"]["text"]
    assert [c["markdown"] for c in copy["contents"]["text"].values()] == ["hello"]
    # favorites are per account; pins are the project's
    call(client, "POST", f"{path}/favorites", consumer, 204)
    assert call(client, "GET", path, consumer)["results"]["is_favorited"] is True
    assert call(client, "GET", path, sa(a))["results"]["is_favorited"] is False
    call(client, "DELETE", f"{path}/favorites", consumer, 204)
    call(client, "POST", f"{path}/pin", sa(a), 204)
    assert call(client, "GET", path, consumer)["results"]["pinned_date"]
    call(client, "DELETE", f"{path}/pin", sa(a), 204)
    assert call(client, "GET", path, sa(a))["results"]["pinned_date"] is None
    listed = call(client, "GET", base, sa(a), ids=f"{board['id']},{copy['id']}")["results"]
    assert [d["id"] for d in listed] == [board["id"], copy["id"]]
    call(client, "POST", f"{base}/bulk-delete", sa(a), 404, body={"dashboard_ids": [copy["id"], 10**9]})
    call(client, "POST", f"{base}/bulk-delete", sa(a), 204, body={"dashboard_ids": [copy["id"], board["id"]]})
    assert call(client, "GET", base, sa(a), ids=f"{board['id']},{copy['id']}")["results"] == []
    # the linked report outlives the dashboard
    call(client, "GET", f"/api/app/projects/{a.project_id}/bookmarks/{target['id']}", sa(a))


@pytest.mark.parametrize(("body", "fragment"), [
    ({"title": ""}, "title must be"),
    ({"title": "x", "filters": {}}, "filters must be"),
    ({"title": "x", "rows": [{"contents": []}]}, "1 to 4 contents"),
    ({"title": "x", "rows": [{"contents": [{"content_type": "video", "content_params": {}}]}]}, "content_type"),
    ({"title": "x", "rows": [{"contents": [{"content_type": "report", "content_params": {
        "bookmark": {"name": "b", "type": "insights", "params": {"bad": 1}}}}]}]}, ""),
])
def test_bad_dashboards_are_400(projects: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, _, _ = projects
    before = call(client, "GET", _boards(a.project_id), sa(a))["results"]
    error = call(client, "POST", _boards(a.project_id), sa(a), 400, body=body)
    assert fragment in error["error"]
    assert call(client, "GET", _boards(a.project_id), sa(a))["results"] == before


def test_consumers_and_other_projects(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    base = _boards(a.project_id)
    board = call(client, "POST", base, sa(a), body={"title": "Private matters"})["results"]
    path = f"{base}/{board['id']}"
    assert call(client, "GET", path, consumer)["results"]["can_update_basic"] is False
    for method, route, body in (("POST", base, {"title": "n"}), ("PATCH", path, {"title": "n"}),
                                ("DELETE", path, None), ("POST", f"{path}/pin", None),
                                ("POST", f"{base}/bulk-delete", {"dashboard_ids": [board["id"]]})):
        assert call(client, method, route, consumer, 403, body=body)["status"] == "error"
    other = _boards(b.project_id)
    call(client, "GET", f"{other}/{board['id']}", sa(b), 404)
    call(client, "PATCH", f"{other}/{board['id']}", sa(b), 404, body={"title": "stolen"})
    call(client, "DELETE", f"{other}/{board['id']}", sa(b), 404)
    stranger = _report(client, b, "Theirs")
    steal = {"content": {"action": "create", "content_type": "report",
                         "content_params": {"source_bookmark_id": stranger["id"]}}}
    call(client, "PATCH", path, sa(a), 404, body=steal)
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]
    assert call(client, "GET", path, sa(a))["results"]["title"] == "Private matters"


def test_dashboard_keys_match_the_recorded_answers(projects: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    recorded = [response["body"]["results"] for _, request, response in
                interactions(lambda path: "/dashboards/" in path)
                if request["method"] == "GET" and isinstance((response.get("body") or {}).get("results"), dict)
                and "layout" in response["body"]["results"]]
    assert recorded, "no recorded dashboard answers"
    a, _, _ = projects
    ours = call(client, "POST", _boards(a.project_id), sa(a), body={"title": "Shape"})["results"]
    for item in recorded:
        assert set(item) <= set(ours), set(item) - set(ours)
        assert set(item["contents"]) <= set(ours["contents"])
        assert set(item["layout"]) == set(ours["layout"])


def test_a_refused_patch_changes_nothing(projects: Any, client: httpx.Client) -> None:
    """Settings, layout and the content change of one PATCH apply together or not at all; malformed layouts are
    400s (a boolean content id would otherwise match report 1)."""
    a, _, _ = projects
    base = _boards(a.project_id)
    board = call(client, "POST", base, sa(a), body={"title": "Steady"})["results"]
    path = f"{base}/{board['id']}"
    missing = {"title": "Changed", "content": {"action": "delete", "content_type": "report", "content_id": 999}}
    call(client, "PATCH", path, sa(a), 404, body=missing)
    bad_card = {"title": "Changed", "content": {"action": "update", "content_type": "text", "content_id": 1,
                                                "content_params": "nope"}}
    call(client, "PATCH", path, sa(a), 400, body=bad_card)
    assert call(client, "GET", path, sa(a))["results"]["title"] == "Steady"
    own = _report(client, a, "One", board["id"])
    add = {"content": {"action": "create", "content_type": "report", "content_params": {"source_bookmark_id":
                                                                                         own["id"]}}}
    call(client, "PATCH", path, sa(a), body=add)
    for layout in ({"order": ["r"], "rows": {"r": {"cells": [{"content_type": "report", "content_id": True}]}}},
                   {"order": [1], "rows": {"1": {"cells": [{"content_type": "report", "content_id": own["id"]}]}}},
                   {"order": ["r"], "rows": {"r": {"cells": [{"content_type": "report", "content_id": [1]}]}}}):
        call(client, "PATCH", path, sa(a), 400, body={"layout": layout, "title": "Changed"})
    got = call(client, "GET", path, sa(a))["results"]
    assert got["title"] == "Steady" and _shown(got) == [("report", own["id"])]


def test_deleting_a_report_takes_its_cards_and_links_off_dashboards(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = _boards(a.project_id)
    board = call(client, "POST", base, sa(a), body={"title": "Holder"})["results"]
    path = f"{base}/{board['id']}"
    shown = _report(client, a, "Shown", board["id"])
    linked = _report(client, a, "Linked elsewhere")
    for content in ({"action": "create", "content_type": "report", "content_params": {"source_bookmark_id":
                                                                                     shown["id"]}},
                    {"action": "create", "content_type": "report-link",
                     "content_params": {"bookmark_id": linked["id"], "type": "link"}},
                    {"action": "create", "content_type": "text", "content_params": {"markdown": "stays"}}):
        call(client, "PATCH", path, sa(a), body={"content": content})
    bookmarks = f"/api/app/projects/{a.project_id}/bookmarks"
    call(client, "POST", f"{bookmarks}/bulk-delete", sa(a), 204, body={"bookmark_ids": [shown["id"], linked["id"]]})
    got = call(client, "GET", path, sa(a))["results"]
    assert [kind for kind, _ in _shown(got)] == ["text"] and not got["contents"]["report-link"]
    copy = call(client, "POST", base, sa(a), body={"title": "Copy", "duplicate": board["id"]})["results"]
    assert [kind for kind, _ in _shown(copy)] == ["text"]
