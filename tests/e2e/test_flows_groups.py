"""Flows and retention of groups (``data_group_id``, what ``query_flow`` / ``query_retention(data_group_id=...)``
send; decisions 0043 and 0046) through the server: the demo's companies against the brute-force references run over
each event once per group it names, the group standing as the user; once through the client library; and the
refusals of what is about users."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from mixhouse.demo.generator import GROUP_KEY, DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_flows import END, FROM, TO, TZ, _expected, _flow, _post
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as insights_ref
from tests.support import reference_retention as retention_ref
from tests.support.client_env import use_service_account
from tests.support.sending import import_demo
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def companies(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "flows-groups", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=17, events=3000, end=END, days=15))
    return creds, events_ref.load(sent)


@pytest.mark.parametrize(("options", "query_type"), [
    ({}, "flows_sankey"),
    ({"reverse": 2, "forward": 2, "count_type": "total"}, "flows_top_paths"),
    ({"segments": [{"value": "$browser"}], "exclusions": ["Purchase"]}, "flows_sankey"),
    ({"steps": [{"event": "View Item", "forward": 2}, {"event": "Add To Cart", "forward": 2}]}, "flows"),
])
def test_flows_of_groups_match_the_reference(companies: Any, client: httpx.Client, options: dict[str, Any],
                                             query_type: str) -> None:
    creds, events = companies
    as_groups = [replace(e, user=g) for e in events for g in insights_ref.group_ids(e, GROUP_KEY)]
    params = {**_flow(**options), "data_group_id": GROUP_KEY}
    got = _post(client, creds, params, query_type)
    assert got.pop("computed_at")
    segments = tuple(segment["value"] for segment in options.get("segments", []))
    expected = _expected(as_groups, params, query_type, segments=segments)
    assert got == expected
    by_user = _post(client, creds, {key: value for key, value in params.items() if key != "data_group_id"},
                    query_type)
    by_user.pop("computed_at")
    assert by_user != got  # groups, not users
    assert by_user == _expected(events, params, query_type, segments=segments)


@pytest.mark.parametrize(("change", "fragment"), [
    ({"count_type": "session"}, "sessions (a user's)"),
    ({"conversion_window": {"unit": "session", "value": 2}}, "sessions (a user's)"),
    ({"filter_by_cohort": {"id": 1}}, "cohorts (of users)"),
    ({"segments": [{"value": "plan", "resourceType": "people"}]}, "user profile filters and segments"),
    ({"data_group_id": True}, "data_group_id names a group key"),
    ({"segments": [{"value": "$browser", "dataGroupId": "team"}]}, "dataGroupId"),
])
def test_flows_of_groups_refusals(companies: Any, client: httpx.Client, change: dict[str, Any],
                                  fragment: str) -> None:
    creds, _ = companies
    params = {**_flow(), "data_group_id": GROUP_KEY, **change}
    assert fragment in _post(client, creds, params, status=400)["error"]


def test_groups_through_the_client(companies: Any, server: ServerProcess, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    """``Workspace.query_flow`` and ``Workspace.query_retention`` with ``data_group_id``: the answers are the
    references' over the companies."""
    import mixhouse as mp

    creds, events = companies
    as_groups = [replace(e, user=g) for e in events for g in insights_ref.group_ids(e, GROUP_KEY)]
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    dates = {"from_date": FROM.isoformat(), "to_date": TO.isoformat()}
    with mp.Workspace() as ws:
        flow = ws.query_flow("View Item", forward=2, conversion_window=1, data_group_id=GROUP_KEY, **dates)
        expected = _expected(as_groups, flow.params, "flows_sankey")
        assert flow.steps == expected["steps"] and flow.steps
        retained = ws.query_retention("View Item", "Add To Cart", retention_unit="day", data_group_id=GROUP_KEY,
                                      **dates)
        found = retention_ref.retention(as_groups, FROM, TO, timezone=TZ, born_event="View Item",
                                        event="Add To Cart", interval_count=(TO - FROM).days + 1)
        cohorts = {day[:10]: entry for day, entry in retained.cohorts.items()}
        assert {day: (c["first"], c["counts"]) for day, c in cohorts.items()} == {
            day: (c["first"], c["counts"]) for day, c in found.items()}
        assert sum(c["first"] for c in found.values()) > 0
