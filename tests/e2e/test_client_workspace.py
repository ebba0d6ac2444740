"""The Workspace client library against a live Mixhouse server with real data (no HTTP mocks).

Answers are checked against brute-force counts over the events sent and against the server's own Query API.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import mixhouse as mp
from mixhouse.client.config import Account, Project, Session, WorkspaceRef
from tests.conftest import ProjectCreds, make_project
from tests.support.client_env import use_service_account
from tests.support.sending import import_all
from tests.support.server import ServerProcess

EVENTS = ("Sign Up", "View Item", "Purchase")


@dataclass(frozen=True)
class Loaded:
    creds: ProjectCreds
    events: list[dict[str, Any]]
    from_date: str
    to_date: str


@pytest.fixture(scope="module")
def loaded(server: ServerProcess, client: httpx.Client) -> Loaded:
    creds = make_project(server.data_dir, "client-lib")
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    events: list[dict[str, Any]] = []
    for user in range(30):
        for day in range(4):
            for k, name in enumerate(EVENTS):
                if (user + day + k) % 3 == 0 and name != "Sign Up":
                    continue
                t = int((base + timedelta(days=day, hours=user % 12, minutes=k)).timestamp())
                events.append({"event": name, "properties": {
                    "time": t, "distinct_id": f"u{user}", "$insert_id": f"{user}-{day}-{k}",
                    "plan": ("free", "pro", "team")[user % 3], "price": user + day,
                    "cart": {"items": user % 4, "coupon": user % 2 == 0, "sku": f"s{user % 3}"}}})
    import_all(client, creds, events)
    return Loaded(creds, events, base.date().isoformat(), (base + timedelta(days=4)).date().isoformat())


@pytest.fixture(autouse=True)
def private_storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The /me cache and OAuth tokens under tmp_path, and no bridge file of this machine."""
    monkeypatch.setenv("MP_STORAGE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("MP_AUTH_FILE", str(tmp_path / "no-bridge.json"))


@pytest.fixture
def ws(server: ServerProcess, loaded: Loaded, monkeypatch: pytest.MonkeyPatch,
       tmp_path: Path) -> Iterator[mp.Workspace]:
    use_service_account(monkeypatch, server.url, loaded.creds, tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


def _query(client: httpx.Client, creds: ProjectCreds, path: str, **params: Any) -> Any:
    response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


def test_me_projects_workspaces(ws: mp.Workspace, loaded: Loaded) -> None:
    me = ws.me()
    assert str(loaded.creds.project_id) in {str(k) for k in me["projects"]}
    assert [p.id for p in ws.projects()] == [str(loaded.creds.project_id)]
    workspaces = ws.workspaces()
    assert len(workspaces) >= 1 and any(w.is_global for w in workspaces)
    public = ws.list_workspaces()
    assert {w.id for w in public} >= {w.id for w in workspaces if w.is_visible is not False}
    assert ws.resolve_workspace_id() == next(w.id for w in workspaces if w.is_global)


def test_discovery(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    assert ws.events() == sorted(EVENTS)
    assert "plan" in ws.properties("Purchase")
    assert set(ws.property_values("plan", event="Purchase")) == {"free", "pro", "team"}
    subs = {s.name: s for s in ws.subproperties("cart", event="Purchase")}
    assert {k: v.type for k, v in subs.items()} == {"items": "number", "coupon": "boolean", "sku": "string"}
    assert set(subs["sku"].sample_values) <= {"s0", "s1", "s2"}
    assert ws.funnels() == []
    assert ws.cohorts() == []
    assert ws.list_bookmarks() == []
    # discovery answers are cached for the Workspace's lifetime (as the seeds say) until clear_discovery_cache()
    created = ws.create_cohort(mp.CreateCohortParams(name="Cached Later"))
    assert ws.cohorts() == [] and "plan" in ws.properties("Purchase")
    ws.clear_discovery_cache()
    assert [c.name for c in ws.cohorts()] == ["Cached Later"]
    ws.delete_cohort(created.id)
    # /events/top reports today's events: none here (all are from earlier days)
    top = ws.top_events()
    raw_top = _query(client, loaded.creds, "/events/top", type="general")
    assert [(e.event, e.count) for e in top] == [(e["event"], e["amount"]) for e in raw_top["events"]]


def test_segmentation_matches_brute_force(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    result = ws.segmentation("Purchase", from_date=loaded.from_date, to_date=loaded.to_date)
    expected = sum(1 for e in loaded.events if e["event"] == "Purchase")
    assert result.total == expected
    raw = _query(client, loaded.creds, "/segmentation", event="Purchase", from_date=loaded.from_date,
                 to_date=loaded.to_date, unit="day", type="general")
    assert result.series == raw["data"]["values"]
    assert result.raw["data"]["values"] == raw["data"]["values"]
    df = result.df
    assert int(df["count"].sum()) == expected
    by_plan = ws.segmentation("Purchase", from_date=loaded.from_date, to_date=loaded.to_date,
                              on='properties["plan"]')
    counts = Counter(e["properties"]["plan"] for e in loaded.events if e["event"] == "Purchase")
    assert {k: sum(v.values()) for k, v in by_plan.series.items()} == dict(counts)
    where = ws.segmentation("Purchase", from_date=loaded.from_date, to_date=loaded.to_date,
                            where='properties["plan"] == "pro"')
    assert where.total == counts["pro"]


def test_event_and_property_counts(ws: mp.Workspace, loaded: Loaded) -> None:
    result = ws.event_counts(["Sign Up", "Purchase"], from_date=loaded.from_date, to_date=loaded.to_date)
    for name in ("Sign Up", "Purchase"):
        assert sum(result.series[name].values()) == sum(1 for e in loaded.events if e["event"] == name)
    assert set(result.df["event"]) == {"Sign Up", "Purchase"}
    props = ws.property_counts("View Item", "plan", from_date=loaded.from_date, to_date=loaded.to_date)
    counts = Counter(e["properties"]["plan"] for e in loaded.events if e["event"] == "View Item")
    assert {k: sum(v.values()) for k, v in props.series.items()} == dict(counts)


def test_numeric_and_frequency(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    total = ws.segmentation_sum("Purchase", from_date=loaded.from_date, to_date=loaded.to_date,
                                on='properties["price"]')
    assert sum(total.results.values()) == sum(e["properties"]["price"] for e in loaded.events
                                              if e["event"] == "Purchase")
    avg = ws.segmentation_average("Purchase", from_date=loaded.from_date, to_date=loaded.to_date,
                                  on='properties["price"]')
    raw = _query(client, loaded.creds, "/segmentation/average", event="Purchase", from_date=loaded.from_date,
                 to_date=loaded.to_date, on='properties["price"]', unit="day")
    assert avg.results == raw["results"]
    buckets = ws.segmentation_numeric("Purchase", from_date=loaded.from_date, to_date=loaded.to_date,
                                      on='properties["price"]')
    assert sum(sum(v.values()) for v in buckets.series.values()) == \
        sum(1 for e in loaded.events if e["event"] == "Purchase")
    freq = ws.frequency(from_date=loaded.from_date, to_date=loaded.to_date, event="Purchase")
    raw_freq = _query(client, loaded.creds, "/retention/addiction", event="Purchase", from_date=loaded.from_date,
                      to_date=loaded.to_date, unit="day", addiction_unit="hour")
    assert freq.data == raw_freq["data"]


def test_retention(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    result = ws.retention(born_event="Sign Up", return_event="Purchase", from_date=loaded.from_date,
                          to_date=loaded.to_date, interval_count=3)
    raw = _query(client, loaded.creds, "/retention", born_event="Sign Up", event="Purchase",
                 from_date=loaded.from_date, to_date=loaded.to_date, retention_type="birth", interval_count=3,
                 unit="day")
    assert [(c.date, c.size) for c in result.cohorts] == [(d, raw[d]["first"]) for d in sorted(raw)]
    assert result.cohorts[0].size == 30  # every user signs up on the first day
    assert len(result.df) == len(raw)


def test_stream_events_and_profiles(ws: mp.Workspace, loaded: Loaded, server: ServerProcess,
                                    client: httpx.Client) -> None:
    events = list(ws.stream_events(from_date=loaded.from_date, to_date=loaded.to_date))
    assert len(events) == len(loaded.events)
    first = events[0]
    assert set(first) == {"event_name", "event_time", "distinct_id", "insert_id", "properties"}
    only = list(ws.stream_events(from_date=loaded.from_date, to_date=loaded.to_date, events=["Purchase"],
                                 where='properties["plan"] == "team"', raw=True))
    assert len(only) == sum(1 for e in loaded.events if e["event"] == "Purchase"
                            and e["properties"]["plan"] == "team")
    assert all(e["event"] == "Purchase" for e in only)
    limited = list(ws.stream_events(from_date=loaded.from_date, to_date=loaded.to_date, limit=5))
    assert len(limited) == 5
    # profiles: set a few, stream them back
    updates = [{"$token": loaded.creds.token, "$distinct_id": f"u{i}", "$set": {"plan": "pro", "n": i}}
               for i in range(3)]
    response = client.post("/engage", json=updates)
    assert response.text == "1", response.text
    deadline = time.time() + 10
    profiles: list[dict[str, Any]] = []
    while time.time() < deadline:
        profiles = list(ws.stream_profiles())
        if len(profiles) == 3:
            break
        time.sleep(0.3)
    assert sorted(p["distinct_id"] for p in profiles) == ["u0", "u1", "u2"]
    assert all(p["properties"]["plan"] == "pro" for p in profiles)
    picked = list(ws.stream_profiles(distinct_ids=["u1"], output_properties=["n"]))
    assert [(p["distinct_id"], p["properties"].get("n")) for p in picked] == [("u1", 1)]
    filtered = list(ws.stream_profiles(where='properties["n"] >= 1', raw=True))
    assert sorted(p["$distinct_id"] for p in filtered) == ["u1", "u2"]


def test_dashboards_reports_and_saved_queries(ws: mp.Workspace, loaded: Loaded) -> None:
    dash = ws.create_dashboard(mp.CreateDashboardParams(title="Client KPIs", description="from the client"))
    assert dash.title == "Client KPIs"
    assert [d.id for d in ws.list_dashboards()] == [dash.id]
    updated = ws.update_dashboard(dash.id, mp.UpdateDashboardParams(title="Client KPIs v2"))
    assert updated.title == "Client KPIs v2" and ws.get_dashboard(dash.id).title == "Client KPIs v2"
    ws.favorite_dashboard(dash.id)
    assert ws.get_dashboard(dash.id).is_favorited is True
    ws.unfavorite_dashboard(dash.id)
    ws.pin_dashboard(dash.id)
    ws.unpin_dashboard(dash.id)

    params = {"sections": {"show": [{"behavior": {"type": "event", "name": "Purchase", "resourceType": "events"},
                                     "measurement": {"math": "total"}}],
                           "time": [{"dateRangeType": "between", "unit": "day", "value": [loaded.from_date,
                                                                                           loaded.to_date]}]},
              "displayOptions": {"chartType": "line"}}
    with pytest.raises(mp.QueryError, match="dashboard_id"):
        ws.create_bookmark(mp.CreateBookmarkParams(name="No dash", bookmark_type="insights", params=params))
    report = ws.create_bookmark(mp.CreateBookmarkParams(name="Purchases", bookmark_type="insights", params=params,
                                                        dashboard_id=dash.id))
    assert report.name == "Purchases" and report.type == "insights"
    assert ws.get_bookmark(report.id).name == "Purchases"
    assert [b.id for b in ws.list_bookmarks_v2()] == [report.id]
    assert [b.id for b in ws.list_bookmarks()] == [report.id]
    assert dash.id in ws.bookmark_linked_dashboard_ids(report.id)
    assert ws.get_bookmark_dashboard_ids(report.id) == [dash.id]
    renamed = ws.update_bookmark(report.id, mp.UpdateBookmarkParams(name="Purchases (all)"))
    assert renamed.name == "Purchases (all)"
    history = ws.get_bookmark_history(report.id)
    assert len(history.results) >= 2

    saved = ws.query_saved_report(report.id)
    expected = sum(1 for e in loaded.events if e["event"] == "Purchase")
    series = next(iter(saved.series.values()))
    assert sum(series.values()) == expected
    assert saved.df["value"].sum() == expected

    ws.delete_bookmark(report.id)
    assert ws.list_bookmarks_v2() == []
    ws.delete_dashboard(dash.id)
    assert ws.list_dashboards() == []
    with pytest.raises(mp.QueryError) as info:
        ws.get_dashboard(dash.id)
    assert info.value.details["status_code"] == 404


def test_cohorts_annotations_webhooks(ws: mp.Workspace, loaded: Loaded) -> None:
    cohort = ws.create_cohort(mp.CreateCohortParams(name="Power Users", description="d"))
    assert ws.get_cohort(cohort.id).name == "Power Users"
    assert ws.update_cohort(cohort.id, mp.UpdateCohortParams(name="Super Users")).name == "Super Users"
    assert [c.name for c in ws.list_cohorts_full()] == ["Super Users"]
    assert [c.name for c in ws.cohorts()] == ["Super Users"]
    ws.delete_cohort(cohort.id)
    assert ws.list_cohorts_full() == []

    tag = ws.create_annotation_tag(mp.CreateAnnotationTagParams(name="release"))
    note = ws.create_annotation(mp.CreateAnnotationParams(date=loaded.from_date, description="v2 shipped",
                                                          tags=[int(tag.id or 0)]))
    assert ws.get_annotation(note.id).description == "v2 shipped"
    assert [a.id for a in ws.list_annotations(from_date=loaded.from_date, to_date=loaded.to_date)] == [note.id]
    assert ws.update_annotation(note.id, mp.UpdateAnnotationParams(description="v2.1")).description == "v2.1"
    assert [t.name for t in ws.list_annotation_tags()] == ["release"]
    ws.delete_annotation(note.id)
    assert ws.list_annotations() == []

    hook = ws.create_webhook(mp.CreateWebhookParams(name="ops", url="https://example.invalid/hook"))
    assert [w.name for w in ws.list_webhooks()] == ["ops"]
    assert ws.update_webhook(str(hook.id), mp.UpdateWebhookParams(name="ops2")).name == "ops2"
    ws.delete_webhook(str(hook.id))
    assert ws.list_webhooks() == []


def test_flags_and_experiments(ws: mp.Workspace) -> None:
    flag = ws.create_feature_flag(mp.CreateFeatureFlagParams(name="Dark Mode", key="dark_mode"))
    assert flag.key == "dark_mode" and flag.status == "disabled"
    assert [f.key for f in ws.list_feature_flags()] == ["dark_mode"]
    enabled = ws.update_feature_flag(str(flag.id), mp.UpdateFeatureFlagParams(
        name="Dark Mode", key="dark_mode", status=mp.FeatureFlagStatus.ENABLED, ruleset=flag.ruleset or {}))
    assert enabled.status == "enabled"
    assert ws.get_flag_limits().limit > 0
    ws.set_flag_test_users(str(flag.id), mp.SetTestUsersParams(users={"On": "u1"}))
    assert ws.get_flag_history(str(flag.id)).count >= 2
    copy = ws.duplicate_feature_flag(str(flag.id))
    assert copy.key == "dark_mode_copy"
    ws.archive_feature_flag(str(copy.id))
    assert [f.key for f in ws.list_feature_flags()] == ["dark_mode"]
    assert ws.restore_feature_flag(str(copy.id)).key == "dark_mode_copy"
    ws.delete_feature_flag(str(copy.id))

    exp = ws.create_experiment(mp.CreateExperimentParams(name="Checkout Flow Test"))
    assert ws.get_experiment(str(exp.id)).name == "Checkout Flow Test"
    assert ws.launch_experiment(str(exp.id)).status == "active"
    concluded = ws.conclude_experiment(str(exp.id))
    assert concluded.status == "concluded"
    decided = ws.decide_experiment(str(exp.id), mp.ExperimentDecideParams(success=True))
    assert decided.status == "success"
    dup = ws.duplicate_experiment(str(exp.id), mp.DuplicateExperimentParams(name="Again"))
    assert dup.name == "Again" and dup.status == "draft"
    assert {e["name"] for e in ws.list_erf_experiments()} >= {"Checkout Flow Test", "Again"}
    ws.delete_experiment(str(dup.id))
    assert [e.name for e in ws.list_experiments()] == ["Checkout Flow Test"]


def test_use_switches_project_without_new_client(ws: mp.Workspace, server: ServerProcess, loaded: Loaded,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    http = ws.api._http
    other = make_project(server.data_dir, "client-other")
    monkeypatch.delenv("MP_PROJECT_ID")
    # the env account belongs to the first project: the other project refuses it (403 → QueryError)
    ws.use(project=str(other.project_id))
    assert ws.project.id == str(other.project_id) and ws.api._http is http
    with pytest.raises(mp.QueryError) as info:
        ws.events()
    assert info.value.details["status_code"] in (401, 403)
    ws.use(project=str(loaded.creds.project_id))
    assert ws.events() == sorted(EVENTS)
    wid = ws.workspaces()[0].id
    ws.use(workspace=wid)
    assert ws.workspace == WorkspaceRef(id=wid)
    dash = ws.create_dashboard({"title": "Scoped"})
    assert [d.id for d in ws.list_dashboards()] == [dash.id]
    ws.delete_dashboard(dash.id)


def test_errors_are_mapped(ws: mp.Workspace, loaded: Loaded, server: ServerProcess) -> None:
    with pytest.raises(mp.QueryError) as info:
        ws.segmentation("Purchase", from_date=loaded.from_date, to_date=loaded.to_date, where='properties["x" ==')
    assert info.value.details["status_code"] == 400
    assert isinstance(info.value, mp.MixhouseError) and info.value.code == "query_error"
    bad = Session(account=Account(name="bad", username=loaded.creds.sa_username, secret="wrong"),
                  project=Project(id=str(loaded.creds.project_id)))
    with mp.Workspace(session=bad) as wrong, pytest.raises(mp.AuthenticationError) as auth:
        wrong.events()
    assert auth.value.code == "unauthenticated"
    with pytest.raises(mp.NotSupportedError, match=r"list_drop_filters\(\) is not supported by this server yet"):
        ws.list_drop_filters()
    with pytest.raises(mp.NotSupportedError, match="jql"):
        ws.jql("function main() {}")
    with pytest.raises(AttributeError):
        ws.no_such_method()  # type: ignore[attr-defined]
    # inline custom properties are evaluated (decision 0040); a saved one this project does not have is a 400 naming
    # its id (not read as something else)
    dates = {"from_date": loaded.from_date, "to_date": loaded.to_date}
    inline = mp.InlineCustomProperty("A * 2", {"A": mp.PropertyInput("price", "number")}, "number")
    doubled = ws.query("Purchase", math="sum", math_property=inline, mode="total", **dates)
    plain = ws.query("Purchase", math="sum", math_property="price", mode="total", **dates)
    assert plain.series["Purchase"]["all"] > 0
    assert doubled.series["Purchase"]["all"] == pytest.approx(2 * plain.series["Purchase"]["all"])
    with pytest.raises(mp.QueryError, match="no custom property with id 7 in this project") as refused:
        ws.query("Purchase", math="sum", math_property=mp.CustomPropertyRef(7), **dates)
    assert refused.value.details["status_code"] == 400
    with pytest.raises(mp.QueryError, match="no custom property with id 7 in this project"):
        ws.query("Purchase", where=mp.Filter.equals(mp.CustomPropertyRef(7), "x"), **dates)


def test_group_analytics(ws: mp.Workspace, loaded: Loaded) -> None:
    """``data_group_id`` names the group key (decisions 0043, 0046): event, funnel and retention metrics and flows
    count its values' groups, never users (a key no event carries: no group is born)."""
    dates = {"from_date": loaded.from_date, "to_date": loaded.to_date}
    nobody = ws.query_retention("Sign Up", "Purchase", data_group_id=3, **dates)
    users = ws.query_retention("Sign Up", "Purchase", **dates)
    assert sum(c["first"] for c in users.cohorts.values()) > 0
    assert sum(c["first"] for c in nobody.cohorts.values()) == 0
    plans = ws.query("Purchase", math="unique", mode="total", data_group_id="plan", **dates)
    purchased = {e["properties"]["plan"] for e in loaded.events if e["event"] == "Purchase"}
    flow = ws.query_flow("Purchase", data_group_id="plan", **dates)
    assert int(flow.steps[0]["nodes"][0]["totalCount"]) == len(purchased)  # each plan enters once
    assert next(iter(plans.series.values())) == {"all": len(purchased)}
    converted = ws.query_funnel(["Sign Up", "Purchase"], data_group_id="plan", **dates)
    assert converted.series[next(iter(converted.series))]["count"]["2. Purchase"]["all"] == len(purchased)


def test_bearer_token_account(ws: mp.Workspace, loaded: Loaded, server: ServerProcess,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    made = subprocess.run([sys.executable, "-m", "mixhouse", "tokens", "create", "--username",
                           loaded.creds.sa_username, "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        pytest.skip(f"cannot create an access token: {made.stderr}")
    token = orjson.loads(made.stdout)["token"]
    monkeypatch.delenv("MP_USERNAME")
    monkeypatch.delenv("MP_SECRET")
    monkeypatch.setenv("MP_OAUTH_TOKEN", token)
    with mp.Workspace() as bearer:
        assert bearer.account.type == "oauth_token"
        assert bearer.events() == sorted(EVENTS)
        assert bearer.me()["projects"]


def _post(client: httpx.Client, creds: ProjectCreds, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"/api/query{path}", json=body, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


def test_run_bookmark_params(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    time_section = [{"dateRangeType": "between", "unit": "day", "value": [loaded.from_date, loaded.to_date]}]
    insights = {"sections": {"show": [{"behavior": {"type": "event", "name": "Purchase", "resourceType": "events"},
                                       "measurement": {"math": "unique"}}], "time": time_section},
                "displayOptions": {"chartType": "bar"}}
    result = ws.run_params(insights)
    users = {e["properties"]["distinct_id"] for e in loaded.events if e["event"] == "Purchase"}
    assert next(iter(result.series.values())) == {"all": len(users)}
    assert result.params == insights and result.from_date.startswith(loaded.from_date)
    raw = _post(client, loaded.creds, "/insights", {"bookmark": insights, "project_id": loaded.creds.project_id})
    assert result.series == raw["series"]
    assert result.df["value"].tolist() == [len(users)]

    from mixhouse.services.funnel_definition import funnel_params  # the server's params builder (test side only)

    funnel = funnel_params(["Sign Up", "Purchase"], window=3)
    funnel["displayOptions"] = {"chartType": "funnel-steps"}
    funnel["sections"]["time"] = time_section
    got = ws.run_funnel_params(funnel)
    raw = _post(client, loaded.creds, "/insights", {"bookmark": funnel, "project_id": loaded.creds.project_id})
    assert got.series == raw["series"]
    assert got.series["Sign Up through Purchase"]["count"]["1. Sign Up"]["all"] == 30

    flow = {"steps": [{"event": "Sign Up", "forward": 2, "reverse": 0, "bool_op": "and",
                       "property_filter_params_list": [], "step_label": "Sign Up"}],
            "conversion_window": {"unit": "day", "value": 1}, "count_type": "unique", "cardinality_threshold": 3,
            "collapse_repeated": False, "hidden_events": [], "exclusions": [],
            "date_range": {"type": "between", "from_date": loaded.from_date, "to_date": loaded.to_date},
            "chartType": "sankey", "anchor_position": 1, "flows_merge_type": "graph", "version": 2}
    flows = ws.run_flow_params(flow)
    raw = _post(client, loaded.creds, "/arb_funnels", {"bookmark": flow, "project_id": loaded.creds.project_id,
                                                       "query_type": "flows_sankey"})
    assert flows.steps == raw["steps"] and flows.steps
    with pytest.raises(mp.BookmarkValidationError) as info:
        ws.run_params(insights, limit=0)
    assert info.value.rule == "query_limit"
    with pytest.raises(mp.QueryError):
        ws.run_params({"sections": {"show": [{"behavior": {"type": "nonsense"}}]}})


def test_use_with_config_accounts_and_persist(server: ServerProcess, loaded: Loaded, tmp_path: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mixhouse.client.config import ConfigManager, Target

    for name in ("MP_USERNAME", "MP_SECRET", "MP_PROJECT_ID", "MP_WORKSPACE_ID", "MP_ACCOUNT", "MP_TARGET",
                 "MP_OAUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MP_API_BASE_URL", server.url)
    path = tmp_path / "config.toml"
    monkeypatch.setenv("MP_CONFIG_PATH", str(path))
    other = make_project(server.data_dir, "client-persist")
    config = ConfigManager()
    config.add_account(Account(name="main", username=loaded.creds.sa_username, secret=loaded.creds.sa_secret,
                               default_project=str(loaded.creds.project_id)))
    config.add_account(Account(name="other", username=other.sa_username, secret=other.sa_secret,
                               default_project=str(other.project_id)))
    with mp.Workspace() as ws:
        assert ws.account.name == "main" and ws.events() == sorted(EVENTS)
        ws.use(account="other")
        assert ws.project.id == str(other.project_id) and ws.events() == []
        wid = ws.workspaces()[0].id
        ws.use(workspace=wid, persist=True)
    assert config.get_active() == {"account": "other", "workspace": wid}
    with mp.Workspace() as again:
        assert (again.account.name, again.workspace) == ("other", WorkspaceRef(id=wid))
    config.add_target(Target(name="back", account="main", project=str(loaded.creds.project_id)))
    with mp.Workspace(target="back") as tgt:
        assert tgt.account.name == "main" and tgt.workspace is None and tgt.events() == sorted(EVENTS)
        tgt.use(target="back", persist=True)
    assert config.get_active() == {"account": "main"}


def test_typed_queries(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    dates = {"from_date": loaded.from_date, "to_date": loaded.to_date}
    purchases = [e for e in loaded.events if e["event"] == "Purchase"]
    unique = ws.query("Purchase", math="unique", mode="total", **dates)
    assert next(iter(unique.series.values())) == {"all": len({e["properties"]["distinct_id"] for e in purchases})}
    by_plan = ws.query(mp.Metric("Purchase", filters=[mp.Filter.equals("plan", ["pro", "team"])]), mode="total",
                       group_by="plan", **dates)
    series = next(iter(by_plan.series.values()))
    counts = Counter(e["properties"]["plan"] for e in purchases)
    assert {k: v["all"] for k, v in series.items() if k != "$overall"} == {"pro": counts["pro"],
                                                                          "team": counts["team"]}
    total = ws.query("Purchase", math="sum", math_property="price", mode="total",
                     where=mp.Filter.greater_than("price", 10), **dates)
    assert next(iter(total.series.values()))["all"] == sum(e["properties"]["price"] for e in purchases
                                                          if e["properties"]["price"] > 10)
    params = ws.build_params(["Sign Up", "Purchase"], formula="B / A", formula_label="Rate", mode="total", **dates)
    assert params["sections"]["show"][-1] == {"type": "formula", "definition": "B / A", "measurement": {},
                                              "referencedMetrics": [], "name": "Rate"}
    rate = ws.query(["Sign Up", "Purchase"], formula="B / A", formula_label="Rate", mode="total", **dates)
    raw = _post(client, loaded.creds, "/insights", {"bookmark": params, "project_id": loaded.creds.project_id})
    assert rate.series == raw["series"]

    funnel = ws.query_funnel(["Sign Up", "Purchase"], conversion_window=1, **dates)
    steps = funnel.series["Sign Up through Purchase"]["count"]
    assert steps["1. Sign Up"]["all"] == 30 and 0 < steps["2. Purchase"]["all"] <= 30
    assert isinstance(funnel, mp.FunnelQueryResult)
    retention = ws.query_retention("Sign Up", "Purchase", retention_unit="day", **dates)
    raw = _post(client, loaded.creds, "/insights", {"bookmark": ws.build_retention_params(
        "Sign Up", "Purchase", retention_unit="day", **dates), "project_id": loaded.creds.project_id})
    assert retention.series == raw["series"] and retention.series
    flow = ws.query_flow("Sign Up", forward=2, **dates)
    assert flow.steps and flow.mode == "sankey"
    per_user = Counter(e["properties"]["distinct_id"] for e in purchases)
    frequent = ws.query("Purchase", mode="total", where=mp.FrequencyFilter("Purchase", 3), **dates)
    assert next(iter(frequent.series.values()))["all"] == sum(n for n in per_user.values() if n >= 3)
    compared = ws.query("Purchase", mode="total", time_comparison=mp.TimeComparison.relative("day"), **dates)
    assert compared.raw["time_comparison"]["series"] and compared.raw["meta"]["liftComparison"]
    with pytest.raises(mp.BookmarkValidationError, match="needs a property"):
        ws.query("Purchase", math="average")


def test_query_user(ws: mp.Workspace, loaded: Loaded, client: httpx.Client) -> None:
    updates = [{"$token": loaded.creds.token, "$distinct_id": f"q{i}",
                "$set": {"tier": ("gold", "silver")[i % 2], "ltv": i * 10,
                         **({"$email": "q0@example.com"} if i == 0 else {})}} for i in range(6)]
    assert client.post("/engage", json=updates).text == "1"
    deadline = time.time() + 10
    gold: Any = None
    while time.time() < deadline:
        gold = ws.query_user(mode="profiles", where=mp.Filter.equals("tier", "gold"), limit=None,
                             sort_by="ltv", sort_order="ascending", properties=["ltv", "tier"])
        if gold.total == 3:
            break
        time.sleep(0.3)
    assert [p["distinct_id"] for p in gold.profiles] == ["q0", "q2", "q4"]
    assert [p["properties"]["ltv"] for p in gold.profiles] == [0, 20, 40]
    assert list(gold.df["distinct_id"]) == ["q0", "q2", "q4"]
    assert list(gold.df.columns) == ["distinct_id", "last_seen", "ltv", "tier"]
    everyone = ws.query_user(mode="profiles", where='properties["ltv"] >= 0', limit=None)
    built_in = [name for name in everyone.df.columns if name not in ("distinct_id", "last_seen")]
    assert built_in == sorted(built_in) and "email" in built_in and not any(n.startswith("$") for n in built_in)
    assert everyone.df.set_index("distinct_id").loc["q0", "email"] == "q0@example.com"
    one = ws.query_user(mode="profiles", where='properties["ltv"] >= 30')
    assert one.total == 1  # limit=1 by default, as in the seeds
    rich = ws.query_user(mode="profiles", where=[mp.Filter.at_least("ltv", 30), mp.Filter.is_set("tier")],
                         limit=10)
    assert sorted(p["distinct_id"] for p in rich.profiles) == ["q3", "q4", "q5"]
    gold_count = ws.query_user(where=mp.Filter.equals("tier", "gold"))  # aggregate mode (the default): a count
    assert (gold_count.mode, gold_count.value, gold_count.total) == ("aggregate", 3, 3)
    spread = ws.query_user(where=mp.Filter.equals("tier", "gold"), aggregate="extremes", aggregate_property="ltv")
    assert spread.aggregate_data == {"max": 40, "min": 0}


def test_blueprints_and_rca(ws: mp.Workspace) -> None:
    templates = {t.name: t for t in ws.list_blueprint_templates()}
    assert {"product_analytics", "company_kpis", "conversion"} <= set(templates)
    dash = ws.create_blueprint("product_analytics")
    config = ws.get_blueprint_config(dash.id)
    cards = config.model_dump()["cards"]
    reports = [c for c in cards if c["type"] == "report"]
    assert reports
    keep = mp.BlueprintFinishParams(dashboard_id=dash.id, cards=[
        mp.BlueprintCard(type="report", bookmark_id=reports[0]["bookmark_id"])])
    finished = ws.finalize_blueprint(keep)
    assert finished.id == dash.id
    assert ws.bookmark_linked_dashboard_ids(reports[0]["bookmark_id"]) == [dash.id]
    rca = ws.create_rca_dashboard(mp.CreateRcaDashboardParams(
        rca_source_id=reports[0]["bookmark_id"], rca_source_data=mp.RcaSourceData(type="anomaly")))
    assert rca.id != dash.id and ws.get_dashboard_erf(rca.id)["metrics"]


def test_cohorts_in_typed_queries(ws: mp.Workspace, loaded: Loaded) -> None:
    """A saved cohort (users with 3+ purchases in the last 30 days) as a metric, a breakdown and a flow filter."""
    definition = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "bhvr_0", "operator": ">=", "operand": 3}]},
        "behaviors": {"bhvr_0": {"count": {"event_selector": {"event": "Purchase"}},
                                 "window": {"unit": "day", "value": 30}}}}
    cohort = ws.create_cohort(mp.CreateCohortParams(name="Buyers", definition=definition))
    per_user = Counter(e["properties"]["distinct_id"] for e in loaded.events if e["event"] == "Purchase")
    members = {u for u, n in per_user.items() if n >= 3}
    assert 0 < len(members) < len(per_user)
    assert ws.get_cohort(cohort.id).count == len(members)
    dates = {"from_date": loaded.from_date, "to_date": loaded.to_date}
    split = ws.query("Purchase", group_by=mp.CohortBreakdown(cohort.id, "Buyers"), mode="total", **dates)
    series = next(iter(split.series.values()))
    assert series["Buyers"]["all"] == sum(per_user[u] for u in members)
    assert series["Not In Buyers"]["all"] == sum(n for u, n in per_user.items() if u not in members)
    flow = ws.query_flow("Sign Up", forward=1, where=mp.Filter.in_cohort(cohort.id, "Buyers"), **dates)
    assert flow.params["filter_by_cohort"] == {"name": "Buyers", "negated": False, "id": cohort.id}
    anchor = flow.steps[0]["nodes"][0]
    assert (anchor["event"], int(anchor["totalCount"])) == ("Sign Up", len(members))  # uniques: the members
    # flow property filters (filter_by_event): only the events that pass are in the flow
    pro = ws.query_flow("Sign Up", forward=1, where=mp.Filter.equals("plan", "pro"), **dates)
    assert pro.params["filter_by_event"]["children"][0]["propertyName"] == "plan"
    pro_users = {e["properties"]["distinct_id"] for e in loaded.events if e["properties"]["plan"] == "pro"}
    assert int(pro.steps[0]["nodes"][0]["totalCount"]) == len(pro_users) > 0
    ws.delete_cohort(cohort.id)


def test_inline_cohort_definitions(ws: mp.Workspace, loaded: Loaded) -> None:
    per_user = Counter(e["properties"]["distinct_id"] for e in loaded.events if e["event"] == "Purchase")
    members = {u for u, n in per_user.items() if n >= 3}
    buyers = mp.CohortDefinition(mp.CohortCriteria.did_event("Purchase", at_least=3, within_days=30))
    saved = ws.create_cohort(mp.CreateCohortParams(name="Inline buyers", definition=buyers))
    assert ws.get_cohort(saved.id).count == len(members)
    dates = {"from_date": loaded.from_date, "to_date": loaded.to_date}
    only = ws.query("Purchase", mode="total", where=mp.Filter.in_cohort(buyers, "Buyers"), **dates)
    assert next(iter(only.series.values()))["all"] == sum(per_user[u] for u in members)
    profiles = ws.query_user(mode="profiles", cohort=buyers, include_all_users=True, limit=None)
    assert {p["distinct_id"] for p in profiles.profiles} == members
    either = mp.CohortDefinition.any_of(mp.CohortCriteria.in_cohort(saved.id),
                                        mp.CohortCriteria.did_not_do_event("Purchase", within_days=30))
    assert either.to_dict()["selector"]["operator"] == "or"
    ws.delete_cohort(saved.id)


def test_alerts(ws: mp.Workspace, loaded: Loaded) -> None:
    dash = ws.create_dashboard({"title": "Alerts"})
    params = {"sections": {"show": [{"behavior": {"type": "event", "name": "Purchase", "resourceType": "events"},
                                     "measurement": {"math": "total"}}],
                           "time": [{"dateRangeType": "between", "unit": "day",
                                     "value": [loaded.from_date, loaded.to_date]}]},
              "displayOptions": {"chartType": "bar"}}
    report = ws.create_bookmark(mp.CreateBookmarkParams(name="Buys", bookmark_type="insights", params=params,
                                                        dashboard_id=dash.id))
    condition = {"keys": [], "type": "absolute", "op": ">", "value": 0}
    alert = ws.create_alert(mp.CreateAlertParams(bookmark_id=report.id, name="Any buys", condition=condition,
                                                 frequency=86400, paused=True, subscriptions=[]))
    assert alert.name == "Any buys" and alert.paused is True
    assert [a.id for a in ws.list_alerts(bookmark_id=report.id)] == [alert.id]
    assert ws.get_alert(alert.id).condition["op"] == ">"
    assert ws.update_alert(alert.id, mp.UpdateAlertParams(name="Buys > 0")).name == "Buys > 0"
    count = ws.get_alert_count()
    assert count.anomaly_alerts_count == 1 and count.is_below_limit
    assert ws.get_alert_history(alert.id, page_size=5).results == []
    checked = ws.validate_alerts_for_bookmark(mp.ValidateAlertsForBookmarkParams(
        alert_ids=[alert.id], bookmark_type="insights", bookmark_params=params))
    assert checked.invalid_count == 0 and checked.alert_validations[0].valid
    second = ws.create_alert({"bookmark_id": report.id, "name": "Two", "condition": condition,
                              "frequency": 3600, "paused": True, "subscriptions": []})
    ws.delete_alert(alert.id)
    ws.bulk_delete_alerts([second.id])
    assert ws.list_alerts() == []
    with pytest.raises(mp.QueryError) as info:
        ws.get_alert(alert.id)
    assert info.value.details["status_code"] == 404
