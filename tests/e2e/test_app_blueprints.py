"""Dashboard blueprints, RCA dashboards and ERF metrics over the App API: templates whose reports are real bookmark
params over the project's own events (every one runs), cohort placeholders mapped to a saved cohort, finishing a
blueprint with chosen cards, consumers read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.sending import import_all
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def world(server: ServerProcess, client: httpx.Client) -> Any:
    a, b, consumer = projects_with_consumer(server, "blueprints")
    now = int(datetime.now(UTC).timestamp())
    events = []
    for n in range(120):
        name = ("View Item", "View Item", "Sign Up", "Purchase")[n % 4]
        browser = "Chrome" if n % 9 < 4 else "Safari"  # users u0..u3 on Chrome, the others on Safari
        events.append({"event": name, "properties": {"distinct_id": f"u{n % 9}", "time": now - n * 3000,
                                                     "$insert_id": f"b{n}", "$browser": browser}})
    import_all(client, a, events)
    return a, b, consumer


def _runs(client: httpx.Client, creds: Any, params: dict[str, Any]) -> Any:
    response = client.post("/api/query/insights", json={"bookmark": params, "project_id": creds.project_id},
                           auth=sa(creds))
    assert response.status_code == 200, response.text
    return response.json()


def test_templates_create_and_every_report_runs(world: Any, client: httpx.Client) -> None:
    a, _, _ = world
    base = f"/api/app/projects/{a.project_id}/dashboards"
    templates = call(client, "GET", f"{base}/blueprints-all", sa(a), include_reports="true")["results"]["templates"]
    assert {"product_analytics", "company_kpis", "conversion"} <= set(templates)
    assert all({"title_key", "description_key", "number_of_reports", "reports"} <= set(t) for t in templates.values())
    for key in templates:
        board = call(client, "POST", f"{base}/blueprints", sa(a), body={"template_type": key})["results"]
        assert (board["generation_type"], board["template_type"]) == ("Blueprint", key)
        reports = board["contents"]["report"]
        assert len(reports) == templates[key]["number_of_reports"] and board["contents"]["text"]
        for report in reports.values():
            _runs(client, a, report["params"])
        config = call(client, "GET", f"{base}/{board['id']}/blueprint-config", sa(a))["results"]
        assert config["variables"] == {"key_event": "View Item", "signup_event": "Sign Up",
                                       "conversion_event": "Purchase"}
        assert config["cards"][0]["type"] == "text"
        assert {c["bookmark_id"] for c in config["cards"] if c["type"] == "report"} == {int(i) for i in reports}
    call(client, "POST", f"{base}/blueprints", sa(a), 400, body={"template_type": "nope"})


def test_cohort_placeholders_and_finishing(world: Any, client: httpx.Client) -> None:
    a, _, _ = world
    base = f"/api/app/projects/{a.project_id}/dashboards"
    board = call(client, "POST", f"{base}/blueprints", sa(a), body={"template_type": "conversion"})["results"]
    config = call(client, "GET", f"{base}/{board['id']}/blueprint-config", sa(a))["results"]
    assert config["cohort_placeholders"] == {"new_users": None}
    few = {"selector": {"operator": "or", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Purchase", "selector": {
            "operator": "and", "children": [{"value": "$browser", "resourceType": "events",
                                             "filterOperator": "equals", "filterValue": ["Chrome"]}]}}},
                            "window": {"unit": "day", "value": 30}}}}
    cohort = call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a),
                  body={"name": "Chrome buyers", **few})["results"]
    by_browser = next(c for c in config["cards"] if c.get("name", "").endswith("by browser"))
    before = _runs(client, a, by_browser["params"])["series"]
    call(client, "PUT", f"{base}/blueprints/cohorts", sa(a), 204,
         body={"cohorts": [{"placeholder": "new_users", "cohort_id": cohort["id"]}]})
    call(client, "PUT", f"{base}/blueprints/cohorts", sa(a), 400,
         body={"cohorts": [{"placeholder": "who", "cohort_id": cohort["id"]}]})
    report = call(client, "GET", f"/api/app/projects/{a.project_id}/bookmarks/{by_browser['bookmark_id']}",
                  sa(a))["results"]
    assert report["params"]["sections"]["filter"][-1]["value"] == "$cohorts"
    after = _runs(client, a, report["params"])["series"]
    assert set(before["Purchase"]) == {"$overall", "Chrome", "Safari"}
    assert set(after["Purchase"]) == {"$overall", "Chrome"}  # only the Chrome buyers are left
    assert after["Purchase"]["Chrome"] == before["Purchase"]["Chrome"]
    # finish with the header, one report and a new text card
    reports = [c for c in config["cards"] if c["type"] == "report"]
    cards = [config["cards"][0], {"type": "report", "bookmark_id": reports[0]["bookmark_id"]},
             {"type": "text", "markdown": "That's all"}]
    done = call(client, "POST", f"{base}/blueprints/finish", sa(a), body={"dashboard_id": board["id"],
                                                                           "cards": cards})["results"]
    shown = [(c["content_type"], c["content_id"]) for r in done["layout"]["order"]
             for c in done["layout"]["rows"][r]["cells"]]
    assert [kind for kind, _ in shown] == ["text", "report", "text"]
    assert shown[1][1] == reports[0]["bookmark_id"]
    assert call(client, "GET", f"{base}/{board['id']}/blueprint-config", sa(a))["results"]["finished"] is True
    dropped = call(client, "GET", f"/api/app/projects/{a.project_id}/bookmarks/{reports[1]['bookmark_id']}",
                   sa(a))["results"]
    assert dropped["dashboard_id"] is None
    plain = call(client, "POST", base, sa(a), body={"title": "plain"})["results"]
    call(client, "GET", f"{base}/{plain['id']}/blueprint-config", sa(a), 400)


def test_rca_dashboard_and_erf(world: Any, client: httpx.Client) -> None:
    from tests.e2e.test_app_reports import insights_params

    a, b, consumer = world
    source = call(client, "POST", f"/api/app/projects/{a.project_id}/bookmarks", sa(a),
                  body={"name": "Purchases", "type": "insights", "params": insights_params("Purchase")})["results"]
    day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    base = f"/api/app/projects/{a.project_id}/dashboards"
    rca = call(client, "POST", f"{base}/rca", sa(a), body={"rca_source_id": source["id"],
                                                            "rca_source_data": {"type": "metric", "date": day}})
    rca = rca["results"]
    assert rca["generation_type"] == "RCA" and "Purchases" in rca["title"]
    reports = list(rca["contents"]["report"].values())
    assert len(reports) == 6
    split = next(r for r in reports if r["name"] == "Purchase by $browser")
    answer = _runs(client, a, split["params"])["series"]
    assert {"Chrome", "Safari"} <= set(next(iter(answer.values())))
    erf = call(client, "GET", f"{base}/{rca['id']}/erf", sa(a))["results"]
    assert erf["dashboard_id"] == rca["id"] and len(erf["metrics"]) == 6
    assert {m["event"] for m in erf["metrics"]} == {"Purchase"}
    call(client, "POST", f"{base}/rca", sa(b), 403, body={"rca_source_id": source["id"]})
    other = f"/api/app/projects/{b.project_id}/dashboards"
    call(client, "POST", f"{other}/rca", sa(b), 404, body={"rca_source_id": source["id"]})
    call(client, "GET", f"{other}/{rca['id']}/erf", sa(b), 404)
    for method, path, body in (("POST", f"{base}/blueprints", {"template_type": "conversion"}),
                               ("POST", f"{base}/rca", {"rca_source_id": source["id"]}),
                               ("POST", f"{base}/blueprints/finish", {"dashboard_id": rca["id"], "cards": []})):
        call(client, method, path, consumer, 403, body=body)
