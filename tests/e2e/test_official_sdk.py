"""The unmodified official `mixpanel` SDK against a real server; read back through export and engage."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from mixpanel import BufferedConsumer, Consumer, Mixpanel, MixpanelException, ServiceAccountCredentials

from tests.conftest import ProjectCreds, make_project
from tests.support.readback import export, profiles
from tests.support.server import ServerProcess


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _consumer(server: ServerProcess, **kwargs: Any) -> Consumer:
    base = server.url
    return Consumer(
        events_url=f"{base}/track",
        people_url=f"{base}/engage",
        import_url=f"{base}/import",
        groups_url=f"{base}/groups",
        **kwargs,
    )


def _strip_server_props(props: dict[str, Any]) -> dict[str, Any]:
    server_added = {"$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms", "$import"}
    return {k: v for k, v in props.items() if k not in server_added}


def test_track_then_export_returns_exact_event(
    server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    mp = Mixpanel(project.token, consumer=_consumer(server))
    mp.track("user-1", "Signed Up", {"plan": "pro", "seats": 3, "trial": True, "tags": ["a", "b"]})
    events = export(http, project, from_date=_yesterday(), to_date=_today())
    assert len(events) == 1
    event = events[0]
    assert event["event"] == "Signed Up"
    props = event["properties"]
    assert props["distinct_id"] == "user-1"
    assert abs(props["time"] - time.time()) < 60
    assert isinstance(props["time"], int)
    assert _strip_server_props(props) == {
        "time": props["time"],
        "distinct_id": "user-1",
        "$insert_id": props["$insert_id"],
        "mp_lib": "python",
        "$lib_version": props["$lib_version"],
        "plan": "pro",
        "seats": 3,
        "trial": True,
        "tags": ["a", "b"],
    }
    assert "token" not in props
    assert props["$mp_api_endpoint"] == server.host
    assert props["mp_processing_time_ms"] >= props["$mp_api_timestamp_ms"] - 1


def test_import_with_api_secret_and_with_service_account(
    server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    old = int((datetime.now(UTC) - timedelta(days=30)).timestamp())
    mp = Mixpanel(project.token, consumer=_consumer(server))
    mp.import_data(None, "u-secret", "Old Event", old, {"source": "secret"}, api_secret=project.api_secret)

    creds = ServiceAccountCredentials(project.sa_username, project.sa_secret, str(project.project_id))
    mp_sa = Mixpanel(project.token, consumer=_consumer(server, credentials=creds))
    mp_sa.import_data(None, "u-sa", "Old Event", old + 1, {"source": "service-account"})

    day = datetime.fromtimestamp(old, UTC).date().isoformat()
    events = export(http, project, from_date=day, to_date=day, auth="secret")
    assert [(e["properties"]["distinct_id"], e["properties"]["source"]) for e in events] == [
        ("u-secret", "secret"),
        ("u-sa", "service-account"),
    ]
    assert all(e["properties"]["$import"] is True for e in events)
    assert [e["properties"]["time"] for e in events] == [old, old + 1]


def test_import_with_wrong_secret_raises(server: ServerProcess, project: ProjectCreds) -> None:
    mp = Mixpanel(project.token, consumer=_consumer(server))
    with pytest.raises(MixpanelException):
        mp.import_data(None, "u", "E", int(time.time()) - 100, api_secret="not-the-secret")


def test_track_with_unknown_token_raises(server: ServerProcess) -> None:
    mp = Mixpanel("0" * 32, consumer=_consumer(server))
    with pytest.raises(MixpanelException):
        mp.track("u", "E")


def test_people_operations_fold_in_order(server: ServerProcess, project: ProjectCreds, http: httpx.Client) -> None:
    mp = Mixpanel(project.token, consumer=_consumer(server))
    mp.people_set("p1", {"$name": "Ada", "plan": "free", "score": 1})
    mp.people_set_once("p1", {"plan": "ignored", "first_seen_source": "ads"})
    mp.people_increment("p1", {"score": 4, "logins": 1})
    mp.people_append("p1", {"history": "a"})
    mp.people_append("p1", {"history": "b"})
    mp.people_union("p1", {"tags": ["x", "y"]})
    mp.people_union("p1", {"tags": ["y", "z"]})
    mp.people_remove("p1", {"tags": "x"})
    mp.people_unset("p1", ["first_seen_source"])
    mp.people_track_charge("p1", 9.5, {"$time": datetime(2024, 1, 2, 3, 4, 5)})
    mp.people_set("p2", {"$name": "Bob"})
    mp.people_delete("p2")
    mp.people_set("p3", {"$name": "Cy"})
    mp.people_clear_charges("p3")

    found = profiles(http, project)
    assert set(found) == {"p1", "p3"}
    p1 = found["p1"]
    assert p1["$name"] == "Ada"
    assert p1["plan"] == "free"
    assert p1["score"] == 5
    assert p1["logins"] == 1
    assert p1["history"] == ["a", "b"]
    assert p1["tags"] == ["y", "z"]
    assert "first_seen_source" not in p1
    assert p1["$transactions"] == [{"$amount": 9.5, "$time": "2024-01-02T03:04:05"}]
    assert "$last_seen" in p1
    assert "$transactions" not in found["p3"]


def test_group_operations(server: ServerProcess, project: ProjectCreds, http: httpx.Client) -> None:
    mp = Mixpanel(project.token, consumer=_consumer(server))
    mp.group_set("company", "acme", {"name": "Acme", "size": 10, "old": 1})
    mp.group_set_once("company", "acme", {"name": "ignored", "founded": 1990})
    mp.group_union("company", "acme", {"regions": ["eu", "us"]})
    mp.group_remove("company", "acme", {"regions": "eu"})
    mp.group_unset("company", "acme", ["old"])
    mp.group_set("company", "gone", {"name": "Gone"})
    mp.group_delete("company", "gone")

    groups = profiles(http, project, data_group_id="company")
    assert set(groups) == {"acme"}
    acme = groups["acme"]
    assert {k: v for k, v in acme.items() if k != "$last_seen"} == {
        "name": "Acme", "size": 10, "founded": 1990, "regions": ["us"],
    }
    assert profiles(http, project) == {}  # group profiles are not user profiles


def test_buffered_consumer_batches(server: ServerProcess, project: ProjectCreds, http: httpx.Client) -> None:
    base = server.url
    consumer = BufferedConsumer(
        max_size=50, events_url=f"{base}/track", people_url=f"{base}/engage", groups_url=f"{base}/groups",
        import_url=f"{base}/import",
    )
    mp = Mixpanel(project.token, consumer=consumer)
    for i in range(120):
        mp.track(f"user-{i % 7}", "Batch Event", {"i": i})
    for i in range(60):
        mp.people_set(f"user-{i}", {"n": i})
    consumer.flush()
    events = export(http, project, from_date=_yesterday(), to_date=_today(), event='["Batch Event"]')
    assert sorted(e["properties"]["i"] for e in events) == list(range(120))
    assert len(profiles(http, project)) == 60


def test_merge_in_original_id_merge_project(server: ServerProcess, http: httpx.Client) -> None:
    creds = make_project(server.data_dir, "orig", identity_mode="original")
    mp = Mixpanel(creds.token, consumer=_consumer(server))
    mp.track("anon-1", "Viewed", {"n": 1})
    mp.track("known-1", "Bought", {"n": 2})
    sa = ServiceAccountCredentials(creds.sa_username, creds.sa_secret, str(creds.project_id))
    Mixpanel(creds.token, consumer=_consumer(server, credentials=sa)).merge(None, "known-1", "anon-1")
    events = export(http, creds, from_date=_yesterday(), to_date=_today())
    by_n = {e["properties"].get("n"): e["properties"]["distinct_id"] for e in events if "n" in e["properties"]}
    assert by_n == {1: "known-1", 2: "known-1"}  # the merge re-attributes the earlier event


def test_simplified_id_merge_is_retroactive(server: ServerProcess, project: ProjectCreds, http: httpx.Client) -> None:
    mp = Mixpanel(project.token, consumer=_consumer(server))
    mp.track("$device:d1", "Landing", {"$device_id": "d1", "step": 1})
    mp.track("u-42", "Sign Up", {"$device_id": "d1", "$user_id": "u-42", "step": 2})
    mp.track("u-42", "Purchase", {"$user_id": "u-42", "step": 3})
    # a second user on the same device cannot take the device over
    mp.track("u-43", "Sign Up", {"$device_id": "d1", "$user_id": "u-43", "step": 4})
    events = export(http, project, from_date=_yesterday(), to_date=_today())
    ids = {e["properties"]["step"]: e["properties"]["distinct_id"] for e in events}
    assert ids == {1: "u-42", 2: "u-42", 3: "u-42", 4: "u-43"}
