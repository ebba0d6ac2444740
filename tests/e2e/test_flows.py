"""``/arb_funnels`` (flows) through the server: the params ``query_flow`` sends, checked against the brute-force
paths on generated data; saved flows reports by ``bookmark_id``; refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from mixhouse.services import flows as service
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as ref
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "Asia/Tokyo"
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=14)).date(), (END - timedelta(days=1)).date()


def _flow(event: str = "View Item", **options: Any) -> dict[str, Any]:
    step = {"event": event, "forward": options.pop("forward", 3), "reverse": options.pop("reverse", 0),
            "bool_op": "and", "property_filter_params_list": [], "step_label": event}
    return {"steps": [step], "conversion_window": {"unit": "day", "value": 1}, "count_type": "unique",
            "cardinality_threshold": 3, "collapse_repeated": False, "hidden_events": [], "exclusions": [],
            "date_range": {"type": "between", "from_date": FROM.isoformat(), "to_date": TO.isoformat()},
            "chartType": "sankey", "anchor_position": 1, "flows_merge_type": "graph", "version": 2, **options}


def _post(client: httpx.Client, creds: ProjectCreds, params: dict[str, Any], query_type: str = "flows_sankey",
          status: int = 200) -> Any:
    response = client.post("/api/query/arb_funnels", json={"bookmark": params, "project_id": creds.project_id,
                                                           "query_type": query_type},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "flows", timezone=TZ)
    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(DemoConfig(seed=13, events=4000, end=END, days=15), batch_size=2000):
        import_all(client, creds, batch)
        sent += batch
    return creds, events_ref.load(sent)


def _expected(events: list[events_ref.Event], params: dict[str, Any], query_type: str,
              anchor_where: str | None = None) -> dict[str, Any]:
    query = service.parse_flow(params, TZ)
    counted = ref.flow_paths(events, query.anchor, FROM, TO, timezone=TZ, forward=query.forward,
                             reverse=query.reverse, window=query.window_ms, totals=query.totals,
                             collapse=query.collapse, hidden=query.hidden, excluded=query.excluded,
                             per_session=query.per_session, window_sessions=query.window_sessions,
                             anchor_where=anchor_where)
    paths = [(reverse, forward, users) for (reverse, forward), users in counted.items()]
    answer = service.build_answer(query, paths, query_type)
    answer.pop("computed_at")
    return answer


@pytest.mark.parametrize(("options", "query_type"), [
    ({}, "flows_sankey"),
    ({"reverse": 2, "forward": 2}, "flows_sankey"),
    ({"collapse_repeated": True, "hidden_events": ["Search"], "cardinality_threshold": 5}, "flows_top_paths"),
    ({"exclusions": ["Add To Cart"], "count_type": "total"}, "flows"),
    ({"count_type": "session", "reverse": 1}, "flows_sankey"),
    ({"conversion_window": {"unit": "session", "value": 2}, "reverse": 2, "forward": 3}, "flows_top_paths"),
])
def test_flows_match_reference(shop: Any, client: httpx.Client, options: dict[str, Any], query_type: str) -> None:
    creds, events = shop
    params = _flow(**options)
    got = _post(client, creds, params, query_type)
    assert got.pop("computed_at")
    assert got == _expected(events, params, query_type)
    anchor = got["steps"][options.get("reverse", 0)]["nodes"][0]
    assert anchor["type"] == "ANCHOR" and int(anchor["totalCount"]) > 50


def _segfilter(name: str, kind: str, operator: str | None, operand: Any) -> dict[str, Any]:
    """A step filter as the client library's ``build_segfilter_entry`` writes it."""
    spec: dict[str, Any] = {"operand": operand} if operator is None else {"operator": operator, "operand": operand}
    return {"property": {"name": name, "source": "properties", "type": kind}, "type": kind,
            "selected_property_type": kind, "filter": spec}


@pytest.mark.parametrize(("filters", "bool_op", "where"), [
    ([_segfilter("$os", "string", "==", ["Mac OS X", "iOS"])], "and", 'properties["$os"] in ["Mac OS X", "iOS"]'),
    ([_segfilter("price", "number", ">", 50), _segfilter("$os", "string", "!=", ["Windows"])], "and",
     'properties["price"] > 50 and not (properties["$os"] == "Windows")'),
    ([_segfilter("price", "number", "><", [10, 20]), _segfilter("$browser", "string", "in", ["Fire"])], "or",
     '(properties["price"] >= 10 and properties["price"] <= 20) or "Fire" in properties["$browser"]'),
])
def test_anchor_step_filters(shop: Any, client: httpx.Client, filters: list[dict[str, Any]], bool_op: str,
                             where: str) -> None:
    """``FlowStep("View Item", filters=[...])``: only anchor events that pass the filters start a path."""
    creds, events = shop
    params = _flow("View Item", forward=2, reverse=1)
    params["steps"][0].update(property_filter_params_list=filters, bool_op=bool_op)
    got = _post(client, creds, params)
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey", anchor_where=where)
    unfiltered = _post(client, creds, _flow("View Item", forward=2, reverse=1))
    filtered_count, all_count = (int(answer["steps"][1]["nodes"][0]["totalCount"]) for answer in (got, unfiltered))
    assert 0 < filtered_count < all_count


def test_saved_flows_report(shop: Any, server: ServerProcess, client: httpx.Client) -> None:
    from mixhouse.meta.store import MetaStore

    creds, events = shop
    params = _flow("Sign Up", forward=2)
    with MetaStore.for_data_dir(server.data_dir) as store:
        saved = store.create_report(creds.project_id, "flows", "After sign-up", params)
    response = client.get("/api/query/arb_funnels", params={"project_id": creds.project_id, "bookmark_id": saved.id,
                                                            "query_type": "flows_sankey"},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    got = response.json()
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey")


@pytest.mark.parametrize(("change", "fragment"), [
    ({"steps": [{"event": "A"}, {"event": "B"}]}, "several anchor"),
    ({"count_type": "sometimes"}, "count_type must be unique, total or session"),
    ({"steps": [{"event": "A", "property_filter_params_list": [_segfilter("d", "datetime", "==", "2024-01-01")]}]},
     "datetime properties are not supported yet"),
    ({"conversion_window": {"unit": "session", "value": 13}}, "from 1 to 12"),
    ({"segments": [{"value": "$os"}]}, "segments"),
    ({"conversion_window": {"unit": "hour", "value": 1}}, "conversion_window"),
])
def test_unsupported_flows_are_400(shop: Any, client: httpx.Client, change: dict[str, Any], fragment: str) -> None:
    creds, _ = shop
    assert fragment in _post(client, creds, {**_flow(), **change}, status=400)["error"]


@pytest.mark.parametrize("negated", [False, True])
def test_filter_by_cohort(shop: Any, client: httpx.Client, negated: bool) -> None:
    """``filter_by_cohort`` (``build_flow_cohort_filter``'s ``{"id", "name", "negated"}``): only the paths of the
    cohort's members (or of everyone else), as the flows reference walks them over those users' events."""
    from tests.support import reference_cohorts as cohort_ref
    from tests.support.app_api import call

    creds, events = shop
    definition = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 2}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Add To Cart"}, "type": "absolute"},
                            "window": {"unit": "day", "value": 30}}}}
    cohort = call(client, "POST", f"/api/app/projects/{creds.project_id}/cohorts", (creds.sa_username,
                                                                                     creds.sa_secret),
                  body={"name": "Carters", **definition})["results"]
    logged = [cohort_ref.LoggedEvent(e.name, e.user, e.time_ms // 1000, e.properties) for e in events if e.user]
    today = datetime.now(ZoneInfo(TZ)).date()
    members = cohort_ref.members(logged, {}, definition, today, TZ, lambda _: {})
    assert 0 < len(members) < len({e.user for e in events})
    chosen = [e for e in events if (e.user in members) != negated]
    params = {**_flow(), "filter_by_cohort": {"id": cohort["id"], "name": "Carters", "negated": negated}}
    got = _post(client, creds, params)
    assert got.pop("computed_at")
    assert got == _expected(chosen, _flow(), "flows_sankey")
