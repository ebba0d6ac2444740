"""``/events``, ``/events/properties``, ``/retention/addiction`` and ``/stream/query`` against a brute-force reference
(``tests/support/reference_event_queries``) over a generated dataset plus hand-built tricky events, in a project
whose timezone is not UTC; plus aliases, methods, auth, CSV and bad parameters."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as ref
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "America/Los_Angeles"
END = datetime(2025, 3, 15, tzinfo=UTC)  # the generated month spans the US DST change of 2025-03-09
FROM, TO = date(2025, 2, 12), date(2025, 3, 15)
EXTRA = ref.ADDED_BY_IMPORT


@dataclass(frozen=True)
class Loaded:
    creds: ProjectCreds
    events: list[ref.Event]
    canonical: dict[str, str]


def _local_ts(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(TZ)).timestamp())


def _tricky() -> list[dict[str, Any]]:
    """Identity merge, exact duplicates, an empty distinct_id, local-midnight edges and list-valued properties."""
    def ev(name: str, ts: int, did: str, insert_id: str, **props: Any) -> dict[str, Any]:
        return {"event": name, "properties": {"time": ts, "distinct_id": did, "$insert_id": insert_id, **props}}

    dup = ev("Tricky", _local_ts(2025, 3, 1, 23, 59, 59), "t-user", "dup-1", color="red", tags=["a", "b", "a"])
    return [
        # anonymous device events, then the device pairs with t-user: all three belong to t-user
        ev("Tricky", _local_ts(2025, 3, 1, 0, 0, 0), "$device:t-dev", "t1", **{"$device_id": "t-dev"}, color="blue"),
        ev("Tricky", _local_ts(2025, 3, 1, 10), "$device:t-dev", "t2", **{"$device_id": "t-dev"}, color=None),
        ev("Tricky", _local_ts(2025, 3, 2, 0, 0, 1), "t-user", "t3", **{"$device_id": "t-dev", "$user_id": "t-user"},
           color="blue", tags=["b", "c"]),
        dup, dup, dup,  # exact duplicates count once
        # the last second of a local day (UTC: the next day) and the empty distinct_id
        ev("Tricky", _local_ts(2025, 3, 1, 23, 59, 59), "", "t4", color="green", n=2),
        ev("Tricky", _local_ts(2025, 3, 1, 23, 59, 59), "", "t5", color="green", n=2.5),
        ev("Tricky", _local_ts(2025, 3, 2, 0, 30), "other", "t6", tags=[], n=True),
        # a different event with the same insert id is a different event
        ev("Tricky Other", _local_ts(2025, 3, 1, 23, 59, 59), "t-user", "dup-1"),
        # DST: 2025-03-09 02:00 local does not exist; 01:30 and 03:30 are an hour apart
        ev("Tricky", _local_ts(2025, 3, 9, 1, 30), "dst", "t7", color="blue"),
        ev("Tricky", _local_ts(2025, 3, 9, 3, 30), "dst", "t8", color="blue"),
    ]


@pytest.fixture(scope="module")
def loaded(server: ServerProcess, client: httpx.Client) -> Loaded:
    creds = make_project(server.data_dir, "event-queries", timezone=TZ)
    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(DemoConfig(seed=7, events=3000, end=END)):
        import_all(client, creds, batch)
        sent += batch
    tricky = _tricky()
    import_all(client, creds, tricky)
    sent += tricky
    events = ref.load(sent)
    assert len(events) < len(sent)
    assert any(event.user != event.stored_id for event in events)  # merges happened
    return Loaded(creds, events, ref.canonical_map(events))


def _get(client: httpx.Client, creds: ProjectCreds, path: str, **params: Any) -> Any:
    response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


NAMES = ["Page View", "Sign Up", "Purchase", "Tricky", "No Such Event"]


# --- /events ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "unit", "from_date", "to_date"), [
    ("general", "day", FROM, TO),
    ("unique", "day", FROM, TO),
    ("average", "day", FROM, TO),
    ("unique", "week", date(2025, 2, 19), TO),
    ("general", "month", FROM, TO),
    ("general", "hour", date(2025, 3, 1), date(2025, 3, 10)),
    ("general", "minute", date(2025, 3, 1), date(2025, 3, 2)),
])
def test_event_counts_match_reference(loaded: Loaded, client: httpx.Client, kind: str, unit: str, from_date: date,
                                      to_date: date) -> None:
    got = _get(client, loaded.creds, "/events", event=orjson.dumps(NAMES).decode(), type=kind, unit=unit,
               from_date=from_date.isoformat(), to_date=to_date.isoformat())
    expected = ref.event_counts(loaded.events, NAMES, kind, unit, from_date, to_date, TZ)
    assert got == expected
    assert any(v for v in got["data"]["values"]["Page View"].values())


def test_event_counts_tricky_day(loaded: Loaded, client: httpx.Client) -> None:
    got = _get(client, loaded.creds, "/events", event='["Tricky"]', type="unique", unit="day",
               from_date="2025-03-01", to_date="2025-03-02")["data"]["values"]["Tricky"]
    # Mar 1: t-dev → t-user (merged, one user) and the empty id (not a user); Mar 2: t-user and "other"
    assert got == {"2025-03-01": 1, "2025-03-02": 2}
    general = _get(client, loaded.creds, "/events", event='["Tricky"]', type="general", unit="day",
                   from_date="2025-03-01", to_date="2025-03-02")["data"]["values"]["Tricky"]
    assert general == {"2025-03-01": 5, "2025-03-02": 2}  # one copy of the triple duplicate, both empty-id events
    hours = _get(client, loaded.creds, "/events", event='["Tricky"]', type="general", unit="hour",
                 from_date="2025-03-09", to_date="2025-03-09")["data"]
    assert len(hours["series"]) == 23 and "2025-03-09 02:00:00" not in hours["series"]
    assert hours["values"]["Tricky"]["2025-03-09 01:00:00"] == hours["values"]["Tricky"]["2025-03-09 03:00:00"] == 1


def test_event_counts_interval_and_aliases(loaded: Loaded, client: httpx.Client) -> None:
    creds = loaded.creds
    today = datetime.now(ZoneInfo(TZ)).date()
    got = _get(client, creds, "/events", event='["Page View"]', type="general", unit="day", interval=3)
    assert got["data"]["series"] == [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert got["data"]["values"] == {"Page View": dict.fromkeys(got["data"]["series"], 0)}
    months = _get(client, creds, "/events", event='["Page View"]', type="unique", unit="month", interval=2)
    assert months["data"]["series"][-1] == today.replace(day=1).isoformat() and len(months["data"]["series"]) == 2
    hours = _get(client, creds, "/events", event='["Page View"]', type="general", unit="hour", interval=5)
    assert len(hours["data"]["series"]) == 5
    params = {"event": '["Sign Up", "Purchase"]', "type": "unique", "unit": "week", "from_date": "2025-02-20",
              "to_date": "2025-03-14"}
    expected = ref.event_counts(loaded.events, ["Sign Up", "Purchase"], "unique", "week", date(2025, 2, 20),
                                date(2025, 3, 14), TZ)
    legacy = client.get("/api/2.0/events", params={"project_id": creds.project_id, "workspace_id": 7, **params},
                        auth=(creds.sa_username, creds.sa_secret))
    assert legacy.status_code == 200 and legacy.json() == expected
    posted = client.post("/api/query/events", data={"project_id": str(creds.project_id), **params},
                         auth=(creds.sa_username, creds.sa_secret))
    assert posted.status_code == 200 and posted.json() == expected
    secret = client.get("/api/query/events/", params=params, auth=(creds.api_secret, ""))
    assert secret.status_code == 200 and secret.json() == expected


def test_event_counts_csv(loaded: Loaded, client: httpx.Client) -> None:
    creds = loaded.creds
    response = client.get("/api/query/events", params={
        "project_id": creds.project_id, "event": '["Sign Up", "Purchase"]', "type": "general", "unit": "day",
        "from_date": "2025-03-01", "to_date": "2025-03-07", "format": "csv"}, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    expected = ref.event_counts(loaded.events, ["Sign Up", "Purchase"], "general", "day", date(2025, 3, 1),
                                date(2025, 3, 7), TZ)["data"]
    assert rows[0] == ["date", "Purchase", "Sign Up"]
    assert rows[1:] == [[key, str(expected["values"]["Purchase"][key]), str(expected["values"]["Sign Up"][key])]
                        for key in expected["series"]]


# --- /events/properties -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "name", "kind", "unit", "values", "limit"), [
    ("Page View", "$browser", "general", "day", None, None),
    ("Page View", "$browser", "unique", "week", None, None),
    ("View Item", "price", "average", "day", None, 5),
    ("Add To Cart", "cart_items", "general", "month", None, None),  # list-valued
    ("Page View", "$os", "unique", "day", ["iOS", "Windows", "Nope"], None),
    ("Page View", "logged_in", "general", "day", None, None),  # booleans
    ("Tricky", "color", "unique", "day", None, None),  # null, merge, empty id
    ("Tricky", "tags", "general", "hour", None, None),
    ("Tricky", "n", "general", "day", None, None),
    ("Page View", "no_such_property", "general", "day", None, None),
])
def test_property_counts_match_reference(loaded: Loaded, client: httpx.Client, event: str, name: str, kind: str,
                                         unit: str, values: list[str] | None, limit: int | None) -> None:
    from_date, to_date = (date(2025, 3, 1), date(2025, 3, 9)) if unit == "hour" else (FROM, TO)
    params: dict[str, Any] = {"event": event, "name": name, "type": kind, "unit": unit,
                              "from_date": from_date.isoformat(), "to_date": to_date.isoformat()}
    if values is not None:
        params["values"] = orjson.dumps(values).decode()
    if limit is not None:
        params["limit"] = limit
    got = _get(client, loaded.creds, "/events/properties", **params)
    expected = ref.property_counts(loaded.events, event, name, kind, unit, from_date, to_date, TZ, values,
                                   limit or 255)
    assert got == expected
    if name != "no_such_property":
        assert got["legend_size"] > 0


def test_property_counts_tricky_values(loaded: Loaded, client: httpx.Client) -> None:
    got = _get(client, loaded.creds, "/events/properties", event="Tricky", name="tags", type="general", unit="day",
               from_date="2025-03-01", to_date="2025-03-02")["data"]["values"]
    assert got == {"a": {"2025-03-01": 1, "2025-03-02": 0}, "b": {"2025-03-01": 1, "2025-03-02": 1},
                   "c": {"2025-03-01": 0, "2025-03-02": 1}}


# --- /retention/addiction -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "addiction_unit", "event", "where"), [
    ("day", "hour", None, None),
    ("week", "day", None, None),
    ("month", "day", "Page View", None),
    ("day", "hour", '["Page View", "View Item"]', 'properties["$browser"] == "Chrome"'),
    ("week", "hour", None, None),
])
def test_frequency_matches_reference(loaded: Loaded, client: httpx.Client, unit: str, addiction_unit: str,
                                     event: str | None, where: str | None) -> None:
    params: dict[str, Any] = {"unit": unit, "addiction_unit": addiction_unit, "from_date": FROM.isoformat(),
                              "to_date": TO.isoformat()}
    names = None
    if event is not None:
        params["event"] = event
        names = orjson.loads(event) if event.startswith("[") else [event]
    if where is not None:
        params["where"] = where
    got = _get(client, loaded.creds, "/retention/addiction", **params)
    assert got == ref.frequency(loaded.events, unit, addiction_unit, FROM, TO, TZ, names, where)
    assert any(counts[0] for counts in got["data"].values())


def test_frequency_shape(loaded: Loaded, client: httpx.Client) -> None:
    got = _get(client, loaded.creds, "/retention/addiction", unit="day", addiction_unit="hour", event="Tricky",
               from_date="2025-03-08", to_date="2025-03-09")["data"]
    assert [len(counts) for counts in got.values()] == [24, 23]  # the DST day has 23 hours
    assert got["2025-03-09"][:3] == [1, 1, 0]  # "dst" was active in two distinct hours


# --- /stream/query ------------------------------------------------------------------------------------------------


def _comparable(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def props(event: dict[str, Any]) -> bytes:
        kept = {k: v for k, v in event["properties"].items() if k not in EXTRA}
        return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)

    return sorted((e["properties"]["time"], e["event"], e["properties"]["$insert_id"], props(e)) for e in events)


@pytest.mark.parametrize("ids", [
    ["$device:t-dev"],                 # any id of a merged cluster reaches all its events
    ["t-user", "other", "nobody"],
    ["user_00001", "user_00002", ""],
    [],
])
def test_activity_matches_reference(loaded: Loaded, client: httpx.Client, ids: list[str]) -> None:
    got = _get(client, loaded.creds, "/stream/query", distinct_ids=orjson.dumps(ids).decode(),
               from_date=FROM.isoformat(), to_date=TO.isoformat())
    assert got["status"] == "ok"
    events = got["results"]["events"]
    expected = ref.activity(loaded.events, ids, FROM, TO, TZ, loaded.canonical)
    assert _comparable(events) == _comparable(expected)
    times = [e["properties"]["time"] for e in events]
    assert times == sorted(times)
    if ids and ids[0] == "$device:t-dev":
        assert len(events) == 5 and {e["properties"]["$distinct_id"] for e in events} == {"t-user"}
        assert all(e["properties"]["distinct_id"] == "t-user" for e in events)


def test_activity_window_is_local_days(loaded: Loaded, client: httpx.Client) -> None:
    got = _get(client, loaded.creds, "/stream/query", distinct_ids='["t-user"]', from_date="2025-03-02",
               to_date="2025-03-02")["results"]["events"]
    assert [e["properties"]["$insert_id"] for e in got] == ["t3"]


# --- errors -------------------------------------------------------------------------------------------------------

_OK = {
    "/events": {"event": '["Page View"]', "type": "general", "unit": "day", "from_date": "2025-03-01",
                "to_date": "2025-03-02"},
    "/events/properties": {"event": "Page View", "name": "$os", "type": "general", "unit": "day",
                           "from_date": "2025-03-01", "to_date": "2025-03-02"},
    "/retention/addiction": {"unit": "day", "addiction_unit": "hour", "from_date": "2025-03-01",
                             "to_date": "2025-03-02"},
    "/stream/query": {"distinct_ids": '["a"]', "from_date": "2025-03-01", "to_date": "2025-03-02"},
}


@pytest.mark.parametrize(("path", "change", "fragment"), [
    ("/events", {"event": None}, "event"),
    ("/events", {"event": "not json"}, "event"),
    ("/events", {"event": '[{"a": 1}]'}, "event"),
    ("/events", {"type": "sum"}, "type"),
    ("/events", {"type": "unique", "unit": "hour"}, "hour"),
    ("/events", {"unit": "year"}, "unit"),
    ("/events", {"to_date": "2999-01-01"}, "to_date cannot be later than today"),
    ("/events", {"from_date": None, "to_date": None}, "from_date"),
    ("/events", {"from_date": None, "to_date": None, "interval": "0"}, "interval"),
    ("/events", {"from_date": "2025-03-03"}, "before"),
    ("/events", {"format": "xml"}, "format"),
    ("/events/properties", {"name": None}, "name"),
    ("/events/properties", {"event": None}, "event"),
    ("/events/properties", {"values": "[1,"}, "values"),
    ("/events/properties", {"limit": "0"}, "limit"),
    ("/retention/addiction", {"addiction_unit": "week"}, "unit"),
    ("/retention/addiction", {"unit": "hour"}, "unit"),
    ("/retention/addiction", {"where": 'properties["x" =='}, ""),
    ("/retention/addiction", {"on": 'properties["x"]'}, "on"),
    ("/retention/addiction", {"to_date": "2999-01-01"}, "to_date"),
    ("/stream/query", {"distinct_ids": None}, "distinct_ids"),
    ("/stream/query", {"distinct_ids": "{}"}, "distinct_ids"),
    ("/stream/query", {"from_date": None}, "from_date"),
])
def test_bad_parameters_are_400(loaded: Loaded, client: httpx.Client, path: str, change: dict[str, str | None],
                                fragment: str) -> None:
    creds = loaded.creds
    params = {key: value for key, value in {**_OK[path], **change}.items() if value is not None}
    response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["request"].startswith(f"/api/query{path}?project_id=") and body["error"]
    assert fragment in body["error"]


@pytest.mark.parametrize("path", list(_OK))
def test_auth_required(loaded: Loaded, client: httpx.Client, path: str) -> None:
    creds = loaded.creds
    for auth in (None, (creds.sa_username, "wrong-secret"), ("wrong-api-secret", "")):
        response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **_OK[path]}, auth=auth)
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["request"].startswith(f"/api/query{path}?") and body["error"]


def test_projects_are_isolated(loaded: Loaded, server: ServerProcess, client: httpx.Client) -> None:
    other = make_project(server.data_dir, "event-queries-other")
    ts = int(datetime(2025, 3, 1, 12, tzinfo=UTC).timestamp())
    import_all(client, other, [{"event": "Page View", "properties": {"time": ts, "distinct_id": "t-user",
                                                                  "$insert_id": "iso-1"}}])
    got = _get(client, other, "/events", event='["Page View", "Tricky"]', type="general", unit="day",
               from_date="2025-03-01", to_date="2025-03-01")
    assert got["data"]["values"] == {"Page View": {"2025-03-01": 1}, "Tricky": {"2025-03-01": 0}}
    feed = _get(client, other, "/stream/query", distinct_ids='["$device:t-dev", "t-user"]', from_date="2025-03-01",
                to_date="2025-03-02")["results"]["events"]
    assert [e["properties"]["$insert_id"] for e in feed] == ["iso-1"]
