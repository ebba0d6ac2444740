"""Replay of the recorded wire vectors: for every vector whose ``call.api`` is a method this client implements, the
client sends the same method, path, query params and JSON body as the recorded mixpanel-headless client did.

A real local HTTP server records the client's requests and answers each with the recorded response (in order).
Vectors that need something outside the method (setup calls other than pinning a workspace, transport failures,
callbacks) are left out; the test says how many ran.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

import mixhouse as mp
from mixhouse.client import builders
from mixhouse.client import types as t
from mixhouse.client.config import Account, Project, Session, WorkspaceRef
from mixhouse.client.user_aggregate import engage_stats
from mixhouse.client.workspace import NOT_SUPPORTED, Workspace
from mixhouse.errors import MixhouseError
from tests.support.recorder import Recorder
from tests.support.vectors import VECTORS, require_vectors

Call = Callable[[mp.Workspace, dict[str, Any]], Any]


def _plain(value: Any) -> Any:
    """The recorder's encodings of plain values (``{"$type": "float", "value": "1.0"}``) as those values."""
    if isinstance(value, dict):
        if value.get("$type") == "float":
            return float(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _model(value: Any) -> Any:
    """A recorded ``{"$type": "CreateBookmarkParams", ...}`` as this client's params model (or a plain dict)."""
    value = _plain(value)
    if isinstance(value, dict) and "$type" in value:
        fields = {k: v for k, v in value.items() if k != "$type"}
        cls = getattr(t, value["$type"], None)
        if cls is not None:
            return cls.model_validate(fields)
        builder_cls = getattr(builders, value["$type"], None)
        if isinstance(builder_cls, type):
            return builder_cls(**{k: _model(v) for k, v in fields.items()})
        return {k: v for k, v in fields.items() if v is not None}
    if isinstance(value, list):
        return [_model(v) for v in value]
    return value


def _kw(data: dict[str, Any], *names: str, **renames: str) -> dict[str, Any]:
    out = {n: _model(data[n]) for n in names if n in data}
    out.update({new: _model(data[old]) for new, old in renames.items() if old in data})
    return out


_RECORDER_URL: list[str] = []


def _local(url: str) -> str:
    """A recorded absolute Mixpanel URL, sent to the local recorder instead."""
    return re.sub(r"^https://[^/]+", _RECORDER_URL[0], url)


def _list(it: Iterator[Any]) -> list[Any]:
    return list(it)


CALLS: dict[str, Call] = {
    "api_client.request": lambda ws, i: ws.api.request(
        i["method"], _local(i["url"]), params=i.get("params"), json_body=i.get("json_body"), headers=i.get("headers"),
        timeout=i.get("timeout")),
    "api_client.app_request": lambda ws, i: ws.api.app_request(
        i["method"], i["path"], params=i.get("params"), json=i.get("json_body")),
    # discovery
    "api_client.get_events": lambda ws, i: ws.events(**_kw(i, "limit", "from_date", "to_date")),
    "api_client.get_event_properties": lambda ws, i: ws.properties(i["event"]),
    "api_client.get_property_values": lambda ws, i: ws.property_values(
        i["property_name"], event=i.get("event"), limit=i.get("limit", 255)),
    "api_client.get_top_events": lambda ws, i: ws.top_events(**_kw(i, "type", "limit")),
    "api_client.list_funnels": lambda ws, i: ws.funnels(),
    "api_client.list_cohorts": lambda ws, i: ws.cohorts(),
    "api_client.list_bookmarks": lambda ws, i: ws.list_bookmarks(i.get("bookmark_type")),
    "api_client.list_workspaces": lambda ws, i: ws.list_workspaces(),
    "api_client.projects_metadata_index": lambda ws, i: ws.api.projects_metadata_index(),
    "api_client.resolve_workspace_id": lambda ws, i: ws.resolve_workspace_id(),
    # live queries
    "api_client.segmentation": lambda ws, i: ws.segmentation(**_kw(i, "event", "from_date", "to_date", "on", "unit",
                                                                   "where")),
    "api_client.funnel": lambda ws, i: ws.funnel(**_kw(i, "funnel_id", "from_date", "to_date", "unit", "on")),
    "api_client.retention": lambda ws, i: ws.retention(
        interval_count=i.get("interval_count", 8),
        **_kw(i, "born_event", "from_date", "to_date", "born_where", "interval", "unit", return_event="event",
              return_where="where")),
    "api_client.event_counts": lambda ws, i: ws.event_counts(**_kw(i, "events", "from_date", "to_date", "type",
                                                                   "unit")),
    "api_client.property_counts": lambda ws, i: ws.property_counts(
        **_kw(i, "event", "property_name", "from_date", "to_date", "type", "unit", "values", "limit")),
    "api_client.frequency": lambda ws, i: ws.frequency(**_kw(i, "from_date", "to_date", "unit", "addiction_unit",
                                                             "event", "where")),
    "api_client.segmentation_numeric": lambda ws, i: ws.segmentation_numeric(
        **_kw(i, "event", "from_date", "to_date", "on", "unit", "where", "type")),
    "api_client.segmentation_sum": lambda ws, i: ws.segmentation_sum(
        **_kw(i, "event", "from_date", "to_date", "on", "unit", "where")),
    "api_client.segmentation_average": lambda ws, i: ws.segmentation_average(
        **_kw(i, "event", "from_date", "to_date", "on", "unit", "where")),
    "api_client.activity_feed": lambda ws, i: ws.activity_feed(**_kw(
        i, "distinct_ids", "from_date", "to_date", "limit", "include_events", "exclude_events", "sentinel_event",
        "paging_window", "search", "search_properties", "use_custom_events")),
    "api_client.query_saved_report": lambda ws, i: ws.query_saved_report(
        **_kw(i, "bookmark_id", "bookmark_type", "from_date", "to_date")),
    "api_client.query_saved_flows": lambda ws, i: ws.query_saved_flows(i["bookmark_id"]),
    "api_client.arb_funnels_query": lambda ws, i: ws.run_flow_params(
        i["body"]["bookmark"], workspace_id=i.get("workspace_id"),
        mode={"flows_sankey": "sankey", "flows_top_paths": "paths", "flows": "tree"}[i["body"]["query_type"]]),
    "api_client.engage_stats": lambda ws, i: engage_stats(ws.api, **_kw(
        i, "where", "action", "filter_by_cohort", "segment_by_cohorts", "group_id", "as_of_timestamp",
        "include_all_users")),
    # streaming
    "api_client.export_events": lambda ws, i: _list(ws.stream_events(
        raw=True, **_kw(i, "from_date", "to_date", "events", "where", "limit"))),
    "api_client.export_profiles": lambda ws, i: _list(ws.stream_profiles(raw=True, **_kw(
        i, "where", "cohort_id", "output_properties", "distinct_id", "distinct_ids", "group_id", "behaviors",
        "as_of_timestamp", "include_all_users"))),
    # dashboards
    "api_client.list_dashboards": lambda ws, i: ws.list_dashboards(**_kw(i, "ids")),
    "workspace.list_dashboards": lambda ws, i: ws.list_dashboards(**_kw(i, "ids")),
    "api_client.create_dashboard": lambda ws, i: ws.create_dashboard(i["body"]),
    "workspace.create_dashboard": lambda ws, i: ws.create_dashboard(_model(i["params"])),
    "api_client.get_dashboard": lambda ws, i: ws.get_dashboard(i["dashboard_id"]),
    "api_client.update_dashboard": lambda ws, i: ws.update_dashboard(i["dashboard_id"], i["body"]),
    "workspace.update_dashboard": lambda ws, i: ws.update_dashboard(i["dashboard_id"], _model(i["params"])),
    "api_client.delete_dashboard": lambda ws, i: ws.delete_dashboard(i["dashboard_id"]),
    "api_client.bulk_delete_dashboards": lambda ws, i: ws.bulk_delete_dashboards(i["ids"]),
    "api_client.favorite_dashboard": lambda ws, i: ws.favorite_dashboard(i["dashboard_id"]),
    "api_client.unfavorite_dashboard": lambda ws, i: ws.unfavorite_dashboard(i["dashboard_id"]),
    "api_client.pin_dashboard": lambda ws, i: ws.pin_dashboard(i["dashboard_id"]),
    "api_client.unpin_dashboard": lambda ws, i: ws.unpin_dashboard(i["dashboard_id"]),
    "api_client.add_report_to_dashboard": lambda ws, i: ws.add_report_to_dashboard(i["dashboard_id"],
                                                                                   i["bookmark_id"]),
    "api_client.remove_report_from_dashboard": lambda ws, i: ws.remove_report_from_dashboard(i["dashboard_id"],
                                                                                             i["bookmark_id"]),
    "api_client.get_bookmark_dashboard_ids": lambda ws, i: ws.get_bookmark_dashboard_ids(i["bookmark_id"]),
    "api_client.get_dashboard_erf": lambda ws, i: ws.get_dashboard_erf(i["dashboard_id"]),
    "api_client.list_blueprint_templates": lambda ws, i: ws.list_blueprint_templates(**_kw(i, "include_reports")),
    "api_client.create_blueprint": lambda ws, i: ws.create_blueprint(i["template_type"]),
    "api_client.get_blueprint_config": lambda ws, i: ws.get_blueprint_config(i["dashboard_id"]),
    "api_client.update_blueprint_cohorts": lambda ws, i: ws.update_blueprint_cohorts(i["cohorts"]),
    "api_client.finalize_blueprint": lambda ws, i: ws.finalize_blueprint(i["body"]),
    "api_client.create_rca_dashboard": lambda ws, i: ws.create_rca_dashboard(i["body"]),
    "api_client.update_report_link": lambda ws, i: ws.update_report_link(i["dashboard_id"], i["report_link_id"],
                                                                         i["body"]),
    "api_client.update_text_card": lambda ws, i: ws.update_text_card(i["dashboard_id"], i["text_card_id"],
                                                                     i["body"]),
    # reports
    "api_client.list_bookmarks_v2": lambda ws, i: ws.list_bookmarks_v2(**_kw(i, "bookmark_type", "ids")),
    "workspace.list_bookmarks_v2": lambda ws, i: ws.list_bookmarks_v2(**_kw(i, "bookmark_type", "ids")),
    "workspace.create_bookmark": lambda ws, i: ws.create_bookmark(_model(i["params"])),
    "api_client.get_bookmark": lambda ws, i: ws.get_bookmark(i["bookmark_id"]),
    "workspace.get_bookmark": lambda ws, i: ws.get_bookmark(i["bookmark_id"]),
    "api_client.update_bookmark": lambda ws, i: ws.update_bookmark(i["bookmark_id"], i["body"]),
    "workspace.update_bookmark": lambda ws, i: ws.update_bookmark(i["bookmark_id"], _model(i["params"])),
    "api_client.delete_bookmark": lambda ws, i: ws.delete_bookmark(i["bookmark_id"]),
    "workspace.delete_bookmark": lambda ws, i: ws.delete_bookmark(i["bookmark_id"]),
    "api_client.bulk_delete_bookmarks": lambda ws, i: ws.bulk_delete_bookmarks(i["ids"]),
    "workspace.bulk_delete_bookmarks": lambda ws, i: ws.bulk_delete_bookmarks(i["ids"]),
    "api_client.bulk_update_bookmarks": lambda ws, i: ws.bulk_update_bookmarks(_model(i["entries"])),
    "workspace.bulk_update_bookmarks": lambda ws, i: ws.bulk_update_bookmarks(_model(i["entries"])),
    "api_client.bookmark_linked_dashboard_ids": lambda ws, i: ws.bookmark_linked_dashboard_ids(i["bookmark_id"]),
    "workspace.bookmark_linked_dashboard_ids": lambda ws, i: ws.bookmark_linked_dashboard_ids(i["bookmark_id"]),
    "api_client.get_bookmark_history": lambda ws, i: ws.get_bookmark_history(**_kw(i, "bookmark_id", "cursor",
                                                                                    "page_size")),
    "workspace.get_bookmark_history": lambda ws, i: ws.get_bookmark_history(**_kw(i, "bookmark_id", "cursor",
                                                                                  "page_size")),
    # cohorts
    "api_client.list_cohorts_app": lambda ws, i: ws.list_cohorts_full(**_kw(i, "data_group_id", "ids")),
    "workspace.list_cohorts_full": lambda ws, i: ws.list_cohorts_full(**_kw(i, "data_group_id", "ids")),
    "api_client.get_cohort": lambda ws, i: ws.get_cohort(i["cohort_id"]),
    "workspace.get_cohort": lambda ws, i: ws.get_cohort(i["cohort_id"]),
    "api_client.create_cohort": lambda ws, i: ws.create_cohort(i["body"]),
    "workspace.create_cohort": lambda ws, i: ws.create_cohort(_model(i["params"])),
    "api_client.update_cohort": lambda ws, i: ws.update_cohort(i["cohort_id"], i["body"]),
    "workspace.update_cohort": lambda ws, i: ws.update_cohort(i["cohort_id"], _model(i["params"])),
    "api_client.delete_cohort": lambda ws, i: ws.delete_cohort(i["cohort_id"]),
    "workspace.delete_cohort": lambda ws, i: ws.delete_cohort(i["cohort_id"]),
    "api_client.bulk_delete_cohorts": lambda ws, i: ws.bulk_delete_cohorts(i["ids"]),
    "workspace.bulk_delete_cohorts": lambda ws, i: ws.bulk_delete_cohorts(i["ids"]),
    "api_client.bulk_update_cohorts": lambda ws, i: ws.bulk_update_cohorts(_model(i["entries"])),
    "workspace.bulk_update_cohorts": lambda ws, i: ws.bulk_update_cohorts(_model(i["entries"])),
    # feature flags
    "api_client.list_feature_flags": lambda ws, i: ws.list_feature_flags(**_kw(i, "include_archived")),
    "workspace.list_feature_flags": lambda ws, i: ws.list_feature_flags(**_kw(i, "include_archived")),
    "api_client.create_feature_flag": lambda ws, i: ws.create_feature_flag(i["body"]),
    "api_client.get_feature_flag": lambda ws, i: ws.get_feature_flag(i["flag_id"]),
    "api_client.update_feature_flag": lambda ws, i: ws.update_feature_flag(i["flag_id"], i["body"]),
    "api_client.delete_feature_flag": lambda ws, i: ws.delete_feature_flag(i["flag_id"]),
    "api_client.archive_feature_flag": lambda ws, i: ws.archive_feature_flag(i["flag_id"]),
    "api_client.restore_feature_flag": lambda ws, i: ws.restore_feature_flag(i["flag_id"]),
    "api_client.duplicate_feature_flag": lambda ws, i: ws.duplicate_feature_flag(i["flag_id"]),
    "api_client.set_flag_test_users": lambda ws, i: ws.set_flag_test_users(i["flag_id"], i["body"]),
    "api_client.get_flag_history": lambda ws, i: ws.get_flag_history(i["flag_id"], **(i.get("params") or {})),
    "api_client.get_flag_limits": lambda ws, i: ws.get_flag_limits(),
    # experiments
    "api_client.list_experiments": lambda ws, i: ws.list_experiments(**_kw(i, "include_archived")),
    "workspace.list_experiments": lambda ws, i: ws.list_experiments(**_kw(i, "include_archived")),
    "api_client.create_experiment": lambda ws, i: ws.create_experiment(i["body"]),
    "api_client.get_experiment": lambda ws, i: ws.get_experiment(i["experiment_id"]),
    "api_client.update_experiment": lambda ws, i: ws.update_experiment(i["experiment_id"], i["body"]),
    "api_client.delete_experiment": lambda ws, i: ws.delete_experiment(i["experiment_id"]),
    "api_client.launch_experiment": lambda ws, i: ws.launch_experiment(i["experiment_id"]),
    "api_client.conclude_experiment": lambda ws, i: ws.conclude_experiment(
        i["experiment_id"], params=i.get("body")),
    "api_client.decide_experiment": lambda ws, i: ws.decide_experiment(i["experiment_id"], i["body"]),
    "api_client.archive_experiment": lambda ws, i: ws.archive_experiment(i["experiment_id"]),
    "api_client.restore_experiment": lambda ws, i: ws.restore_experiment(i["experiment_id"]),
    "api_client.duplicate_experiment": lambda ws, i: ws.duplicate_experiment(i["experiment_id"], i["body"]),
    "api_client.list_erf_experiments": lambda ws, i: ws.list_erf_experiments(),
    # annotations
    "api_client.list_annotations": lambda ws, i: ws.list_annotations(**_kw(i, "from_date", "to_date", "tags")),
    "workspace.list_annotations": lambda ws, i: ws.list_annotations(**_kw(i, "from_date", "to_date", "tags")),
    "api_client.create_annotation": lambda ws, i: ws.create_annotation(i["body"]),
    "api_client.get_annotation": lambda ws, i: ws.get_annotation(i["annotation_id"]),
    "api_client.update_annotation": lambda ws, i: ws.update_annotation(i["annotation_id"], i["body"]),
    "api_client.delete_annotation": lambda ws, i: ws.delete_annotation(i["annotation_id"]),
    "api_client.list_annotation_tags": lambda ws, i: ws.list_annotation_tags(),
    "api_client.create_annotation_tag": lambda ws, i: ws.create_annotation_tag(i["body"]),
    # alerts
    "api_client.list_alerts": lambda ws, i: ws.list_alerts(**_kw(i, "bookmark_id", "skip_user_filter")),
    "api_client.create_alert": lambda ws, i: ws.create_alert(i["body"]),
    "api_client.get_alert": lambda ws, i: ws.get_alert(i["alert_id"]),
    "api_client.update_alert": lambda ws, i: ws.update_alert(i["alert_id"], i["body"]),
    "api_client.delete_alert": lambda ws, i: ws.delete_alert(i["alert_id"]),
    "api_client.bulk_delete_alerts": lambda ws, i: ws.bulk_delete_alerts(i["ids"]),
    "api_client.get_alert_count": lambda ws, i: ws.get_alert_count(**_kw(i, "alert_type")),
    "api_client.get_alert_history": lambda ws, i: ws.get_alert_history(
        **_kw(i, "alert_id", "page_size", "next_cursor", "previous_cursor")),
    "api_client.test_alert": lambda ws, i: ws.test_alert(i["body"]),
    "api_client.get_alert_screenshot_url": lambda ws, i: ws.get_alert_screenshot_url(i["gcs_key"]),
    "api_client.validate_alerts_for_bookmark": lambda ws, i: ws.validate_alerts_for_bookmark(i["body"]),
    # custom properties
    "api_client.list_custom_properties": lambda ws, i: ws.list_custom_properties(),
    "api_client.create_custom_property": lambda ws, i: ws.create_custom_property(i["body"]),
    "api_client.get_custom_property": lambda ws, i: ws.get_custom_property(i["property_id"]),
    "api_client.update_custom_property": lambda ws, i: ws.update_custom_property(i["property_id"], i["body"]),
    "api_client.delete_custom_property": lambda ws, i: ws.delete_custom_property(i["property_id"]),
    "api_client.validate_custom_property": lambda ws, i: ws.validate_custom_property(i["body"]),
    # webhooks
    "api_client.list_webhooks": lambda ws, i: ws.list_webhooks(),
    "api_client.create_webhook": lambda ws, i: ws.create_webhook(i["body"]),
    "api_client.update_webhook": lambda ws, i: ws.update_webhook(i["webhook_id"], i["body"]),
    "api_client.delete_webhook": lambda ws, i: ws.delete_webhook(i["webhook_id"]),
    "api_client.test_webhook": lambda ws, i: ws.test_webhook(i["body"]),
}

def _workspace_call(name: str) -> Call:
    """``workspace.NAME`` vectors: the Workspace method of that name with the recorded keyword arguments."""

    def call(ws: mp.Workspace, i: dict[str, Any]) -> Any:
        result = getattr(ws, name)(**{k: _model(v) for k, v in i.items()})
        return list(result) if inspect.isgenerator(result) else result

    return call


for _name, _member in inspect.getmembers(Workspace, inspect.isfunction):
    if not _name.startswith("_") and _name not in NOT_SUPPORTED:
        CALLS.setdefault(f"workspace.{_name}", _workspace_call(_name))

DATE_KEYS = ("from_date", "to_date")
DROP_RESPONSE_HEADERS = {"content-type", "content-length", "content-encoding", "transfer-encoding"}


def _vectors() -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for file in sorted(VECTORS.rglob("*.jsonl")):
        for line in file.read_bytes().splitlines():
            vector = orjson.loads(line)
            call = vector.get("call")
            if not call or call.get("api") not in CALLS:
                continue
            interactions = vector["expect"].get("interactions") or []
            if not interactions:
                continue
            out.append(pytest.param(vector, id=vector["id"][-90:]))
    return out


def _skip_reason(vector: dict[str, Any]) -> str | None:
    call = vector["call"]
    for step in call.get("setup") or []:
        if step.get("api") != "api_client.set_workspace_id":
            return f"setup step {step.get('api')} is outside the method"
    if call.get("client_options"):
        return "client options (custom transport settings)"
    for item in vector["expect"]["interactions"]:
        if (item.get("response") or {}).get("transport_error"):
            return "a recorded transport failure"
    if any(k.startswith("on_") for k in call["input"]):
        return "a callback argument"
    if "inject_workspace_id" in call["input"]:
        return "a low-level client option (inject_workspace_id) the Workspace does not expose"
    return None


def _session(call: dict[str, Any]) -> Session:
    s = call["session"]
    if s.get("type") == "oauth_token":
        account = Account(name=s.get("account_name", "a"), type="oauth_token", token=s.get("token", "t"))
    else:
        account = Account(name=s.get("account_name", "a"), username=s["username"], secret=s["secret"])
    workspace = s.get("workspace_id")
    for step in call.get("setup") or []:
        workspace = step["input"]["workspace_id"]
    return Session(account=account, project=Project(id=str(s["project_id"])),
                   workspace=WorkspaceRef(id=int(workspace)) if workspace else None)


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    require_vectors()
    server = Recorder().start()
    _RECORDER_URL[:] = [server.url]
    yield server
    server.stop()


def _header_pattern_ok(headers: dict[str, str], expected: dict[str, Any]) -> bool:
    auth = (expected or {}).get("authorization")
    if not auth or "pattern" not in auth:
        return True
    return re.search(auth["pattern"], headers.get("authorization", "")) is not None


@pytest.mark.parametrize("vector", _vectors())
def test_replay(vector: dict[str, Any], recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = _skip_reason(vector)
    if reason:
        pytest.skip(reason)
    call = vector["call"]
    interactions = vector["expect"]["interactions"]
    monkeypatch.setenv("MP_API_BASE_URL", recorder.url)
    monkeypatch.delenv("MP_APP_BASE_URL", raising=False)
    recorder.requests.clear()
    recorder.answers = []
    for item in interactions:
        response = item.get("response") or {}
        headers = {k: v for k, v in (response.get("headers") or {}).items() if k.lower() not in DROP_RESPONSE_HEADERS}
        if "body_text" in response:
            body: Any = str(response["body_text"]).encode()
        elif "body" in response:
            body = response["body"] if not isinstance(response["body"], str) else response["body"].encode()
        else:
            body = None
        recorder.answers.append((int(response.get("status", 200)), headers, body))
    recorder.default = (599, {}, {"error": "no more recorded responses"})

    ws = mp.Workspace(session=_session(call))
    ws.api._sleep = lambda _seconds: None
    raised: Exception | None = None
    try:
        CALLS[call["api"]](ws, call["input"])
    except (MixhouseError, ValueError) as exc:
        raised = exc
        if "error" not in vector["expect"] and len(recorder.requests) < len(interactions):
            raise AssertionError(f"the call failed before sending every recorded request: {exc!r}") from exc
    finally:
        ws.close()
    expected_error = vector["expect"].get("error")
    if expected_error:
        assert raised is not None, f"expected {expected_error.get('class')}, the call succeeded"
        cls = getattr(mp, str(expected_error.get("class")), None)
        if isinstance(cls, type):
            assert isinstance(raised, cls), f"expected {expected_error.get('class')}, got {raised!r}"

    sent = recorder.requests
    assert len(sent) == len(interactions), (
        f"sent {[(r.method, r.path) for r in sent]}, recorded "
        f"{[(i['request']['method'], i['request']['path']) for i in interactions]}")
    for got, item in zip(sent, interactions, strict=True):
        want = item["request"]
        assert (got.method, got.path) == (want["method"], want["path"])
        if "params" in want or got.params:
            expected = {k: str(v) if not isinstance(v, str) else v for k, v in (want.get("params") or {}).items()}
            actual = dict(got.params)
            for key in DATE_KEYS:  # "today"-relative defaults were recorded on another day
                if key not in call["input"] and key in expected and key in actual:
                    expected.pop(key)
                    actual.pop(key)
            assert actual == expected
        if "json_body" in want:
            assert got.json() == want["json_body"]
        elif want["method"] in ("GET", "DELETE"):
            assert not got.body or got.json() in (None, {})
        assert _header_pattern_ok(got.headers, want.get("headers_contain") or {})
