"""Flow segments by an inline custom property (what ``query_flow(segments=GroupBy(InlineCustomProperty(...)))``
sends; decision 0040) through the server, against the brute-force flow reference run over the events with the
property's value written out; custom properties elsewhere in flows stay refused by name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_flows import END, FROM, TO, TZ, _expected, _flow, _post
from tests.support import reference_event_queries as events_ref
from tests.support.client_env import use_service_account
from tests.support.sending import import_demo
from tests.support.server import ServerProcess

#: ``left($browser, 3)``, named "Browser prefix", as the client library writes a custom property group entry.
PREFIX = {"customProperty": {"displayFormula": "left(A, 3)", "name": "Browser prefix", "description": "",
                             "composedProperties": {"A": {"value": "$browser", "type": "string",
                                                          "resourceType": "event"}},
                             "propertyType": "string", "resourceType": "events"},
          "dataset": "$mixpanel", "propertyType": "string", "resourceType": "events", "value": None}


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "flows-custom-properties", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=23, events=3000, end=END, days=15))
    return creds, events_ref.load(sent)


def _with_prefix(events: list[events_ref.Event]) -> list[events_ref.Event]:
    def prefixed(e: events_ref.Event) -> events_ref.Event:
        browser = e.properties.get("$browser")
        return replace(e, properties={**e.properties, "Browser prefix": browser[:3]}) \
            if isinstance(browser, str) else e

    return [prefixed(e) for e in events]


@pytest.mark.parametrize("query_type", ["flows_sankey", "flows_top_paths"])
def test_custom_property_segments_match_the_reference(shop: Any, client: httpx.Client, query_type: str) -> None:
    creds, events = shop
    params = {**_flow(forward=2), "segments": [PREFIX]}
    got = _post(client, creds, params, query_type)
    got.pop("computed_at")
    assert got == _expected(_with_prefix(events), params, query_type, segments=("Browser prefix",))
    labels = {b["segments"]["Browser prefix"] for b in got["breakdowns"]}
    assert "Chr" in labels and len(labels) > 2


def test_custom_properties_in_flow_filters_stay_refused(shop: Any, client: httpx.Client) -> None:
    creds, _ = shop
    children = [{"customProperty": PREFIX["customProperty"], "resourceType": "events", "filterOperator": "equals",
                 "filterValue": ["Chr"]}]
    params = {**_flow(), "filter_by_event": {"operator": "and", "children": children}}
    assert "custom properties" in _post(client, creds, params, status=400)["error"]


def test_saved_custom_property_segments(shop: Any, client: httpx.Client) -> None:
    """A ``customPropertyId`` saved through the App API segments a flow as the same property inline does, posted or
    saved as a flows report and run by ``bookmark_id``."""
    creds, _ = shop
    auth = (creds.sa_username, creds.sa_secret)
    created = client.post(f"/api/app/projects/{creds.project_id}/custom_properties/", auth=auth, json={
        key: PREFIX["customProperty"][key] for key in ("name", "resourceType", "displayFormula", "composedProperties")})
    assert created.status_code == 200, created.text
    saved = {"customPropertyId": created.json()["results"]["customPropertyId"], "resourceType": "events"}
    inline = _post(client, creds, {**_flow(forward=2), "segments": [PREFIX]})
    by_id = _post(client, creds, {**_flow(forward=2), "segments": [saved]})
    assert by_id["breakdowns"] == inline["breakdowns"] and by_id["steps"] == inline["steps"]
    report = client.post(f"/api/app/projects/{creds.project_id}/bookmarks", auth=auth, json={
        "name": "Prefixes", "type": "flows", "params": {**_flow(forward=2), "segments": [saved]}})
    assert report.status_code == 200, report.text
    ran = client.get("/api/query/arb_funnels", auth=auth, params={
        "project_id": creds.project_id, "bookmark_id": report.json()["results"]["id"]})
    assert ran.status_code == 200, ran.text
    assert ran.json()["breakdowns"] == inline["breakdowns"]


def test_saved_custom_property_step_filter_through_the_client(shop: Any, server: ServerProcess,
                                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``FlowStep(filters=[Filter.equals(CustomPropertyRef(id), "Chr")])``: the client writes the saved property as
    the segfilter's name (``{"id": N}``); only View Item events whose browser starts with "Chr" are anchors."""
    import mixhouse as mp

    creds, events = shop
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    with mp.Workspace() as ws:
        saved = ws.create_custom_property(mp.CreateCustomPropertyParams(
            name="Prefix for steps", resource_type="events", display_formula="left(A, 3)",
            composed_properties={"A": mp.ComposedPropertyValue(value="$browser", resource_type="event")}))
        step = mp.FlowStep("View Item", forward=2, filters=[mp.Filter.equals(mp.CustomPropertyRef(
            saved.custom_property_id), "Chr")])
        flow = ws.query_flow(step, from_date=FROM.isoformat(), to_date=TO.isoformat(), conversion_window=1)
    sent = flow.params["steps"][0]["property_filter_params_list"][0]["property"]
    assert sent["name"] == {"id": saved.custom_property_id}
    inline = {**flow.params, "steps": [{**flow.params["steps"][0], "property_filter_params_list": [
        {**flow.params["steps"][0]["property_filter_params_list"][0], "property": {
            "customProperty": PREFIX["customProperty"], "source": "properties", "type": "string"}}]}]}
    expected = _expected(_with_prefix(events), inline, "flows_sankey",
                         anchor_where='properties["Browser prefix"] == "Chr"')
    assert flow.steps == expected["steps"] and flow.steps
    whole = _expected(events, {**flow.params, "steps": [{"event": "View Item", "forward": 2}]}, "flows_sankey")
    assert expected["steps"] != whole["steps"]  # the filter keeps fewer anchors
