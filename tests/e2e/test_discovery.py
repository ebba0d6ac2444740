"""Discovery endpoints (``/events/names``, ``/events/top``, ``/events/properties/top``, ``/events/properties/values``)
against a brute-force reference over a generated dataset, plus auth, bad parameters and project isolation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_discovery as ref
from tests.support.sending import import_all
from tests.support.server import ServerProcess

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Loaded:
    creds: ProjectCreds
    events: list[ref.StoredEvent]
    today_ms: int  # today 00:00 UTC


def _midnight_today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def loaded(server: ServerProcess, client: httpx.Client) -> Loaded:
    creds = make_project(server.data_dir, "discovery")
    midnight = _midnight_today()
    sent: list[dict[str, Any]] = []
    cutoff = time.time() + 1800  # /import refuses events more than an hour ahead; the generator fills all of today
    for batch in generate_event_batches(DemoConfig(seed=11, events=3000, end=midnight + timedelta(days=1))):
        batch = [event for event in batch if event["properties"]["time"] <= cutoff]
        import_all(client, creds, batch, strict=False)
        sent += batch
    # older than the default 31-day window: visible only with explicit dates
    old_time = int((midnight - timedelta(days=40)).timestamp())
    old = [{"event": "Ancient Event", "properties": {"time": old_time + i, "distinct_id": f"old{i}",
                                                     "$insert_id": f"old-{i}", "legacy": i}} for i in range(3)]
    import_all(client, creds, old, strict=False)
    sent += old
    stored = ref.stored_events(sent)
    assert len(stored) < len(sent)  # the generator resends some events: dedup matters
    return Loaded(creds, stored, int(midnight.timestamp() * 1000))


def _get(client: httpx.Client, creds: ProjectCreds, path: str, **params: Any) -> Any:
    response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


def _default_window(data: Loaded) -> list[ref.StoredEvent]:
    return ref.in_window(data.events, data.today_ms - 30 * DAY_MS, data.today_ms + DAY_MS)


# --- /events/names ------------------------------------------------------------------------------------------------


def test_event_names_match_reference(loaded: Loaded, client: httpx.Client) -> None:
    window = _default_window(loaded)
    expected = ref.event_names(window)
    assert len(expected) > 20 and "Ancient Event" not in expected
    assert _get(client, loaded.creds, "/events/names", type="general") == expected
    assert _get(client, loaded.creds, "/events/names", type="general", limit=5) == expected[:5]
    assert _get(client, loaded.creds, "/events/names") == expected  # type defaults to general


def test_event_names_as_the_headless_client_asks(loaded: Loaded, client: httpx.Client) -> None:
    today = _midnight_today().date().isoformat()
    answer = _get(client, loaded.creds, "/events/names", type="general", limit=5000, from_date="2000-01-01",
                  to_date=today, query_origin="mixpanel-headless")
    assert answer == ref.event_names(loaded.events, 5000)
    assert "Ancient Event" in answer


def test_event_names_legacy_alias_and_post_form(loaded: Loaded, client: httpx.Client) -> None:
    expected = ref.event_names(_default_window(loaded), 7)
    creds = loaded.creds
    legacy = client.get("/api/2.0/events/names", params={"project_id": creds.project_id, "type": "general",
                                                         "limit": 7}, auth=(creds.sa_username, creds.sa_secret))
    assert legacy.status_code == 200 and legacy.json() == expected
    posted = client.post("/api/query/events/names", data={"project_id": str(creds.project_id), "type": "unique",
                                                          "limit": "7"}, auth=(creds.sa_username, creds.sa_secret))
    assert posted.status_code == 200 and posted.json() == expected
    secret = client.get("/api/query/events/names", params={"limit": 7}, auth=(creds.api_secret, ""))
    assert secret.status_code == 200 and secret.json() == expected


# --- /events/properties/top ---------------------------------------------------------------------------------------


def test_top_properties_match_reference_for_every_event(loaded: Loaded, client: httpx.Client) -> None:
    window = _default_window(loaded)
    for name in ref.event_names(window):
        assert _get(client, loaded.creds, "/events/properties/top", event=name) == ref.top_properties(window, name)
    for name in ("View Item", "Purchase", "Sign Up"):
        got = _get(client, loaded.creds, "/events/properties/top", event=name, limit=100)
        assert got == ref.top_properties(window, name, 100)
        assert list(got) == list(ref.top_properties(window, name, 100))  # order too
        assert "time" not in got and "distinct_id" not in got


def test_top_properties_of_unknown_event_is_empty(loaded: Loaded, client: httpx.Client) -> None:
    assert _get(client, loaded.creds, "/events/properties/top", event="No Such Event") == {}


# --- /events/properties/values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "event", "limit"), [
    ("$browser", None, None),
    ("$browser", "Page View", None),
    ("plan", None, None),
    ("tags", "View Item", None),          # list property: elements
    ("price", "View Item", 20),           # floats
    ("$screen_width", None, None),        # ints
    ("$browser_version", None, None),     # ints and floats
    ("logged_in", None, None),            # booleans
    ("search_term", "Search", 3),
    ("no_such_property", None, None),
])
def test_property_values_match_reference(loaded: Loaded, client: httpx.Client, name: str, event: str | None,
                                         limit: int | None) -> None:
    params: dict[str, Any] = {"name": name}
    if event is not None:
        params["event"] = event
    if limit is not None:
        params["limit"] = limit
    expected = ref.property_values(_default_window(loaded), name, event, limit or 255)
    assert _get(client, loaded.creds, "/events/properties/values", **params) == expected
    if name != "no_such_property":
        assert expected


# --- /events/top --------------------------------------------------------------------------------------------------


def test_top_events_today(loaded: Loaded, client: httpx.Client) -> None:
    before_ms = int(time.time() * 1000)
    answer = _get(client, loaded.creds, "/events/top", type="general")
    after_ms = int(time.time() * 1000)
    assert answer["type"] == "general"
    today = (loaded.today_ms, loaded.today_ms + DAY_MS, loaded.today_ms - DAY_MS)
    low = ref.top_events_general(loaded.events, *today, before_ms)
    high = ref.top_events_general(loaded.events, *today, after_ms)
    assert [(e["event"], e["amount"]) for e in answer["events"]] == [(n, a) for n, a, _ in low][:100]
    for got, one, other in zip(answer["events"], low, high, strict=False):
        assert min(one[2], other[2]) - 1e-9 <= got["percent_change"] <= max(one[2], other[2]) + 1e-9
    limited = _get(client, loaded.creds, "/events/top", type="general", limit=3)
    assert [e["event"] for e in limited["events"]] == [n for n, _, _ in low][:3]
    unique = _get(client, loaded.creds, "/events/top", type="unique")
    general = {e["event"]: e["amount"] for e in answer["events"]}
    assert unique["type"] == "unique" and unique["events"]
    assert all(0 < e["amount"] <= general[e["event"]] for e in unique["events"])


# --- errors and isolation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/events/names", "/events/top", "/events/properties/top",
                                  "/events/properties/values"])
def test_auth_required(loaded: Loaded, client: httpx.Client, path: str) -> None:
    creds = loaded.creds
    params: dict[str, Any] = {"project_id": creds.project_id, "event": "Purchase", "name": "plan", "type": "general"}
    for auth in (None, (creds.sa_username, "wrong-secret"), ("wrong-api-secret", "")):
        response = client.get(f"/api/query{path}", params=params, auth=auth)
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["request"].startswith(f"/api/query{path}?") and body["error"]


@pytest.mark.parametrize(("path", "params", "fragment"), [
    ("/events/names", {"type": "weird"}, "type"),
    ("/events/names", {"limit": "0"}, "limit"),
    ("/events/names", {"limit": "many"}, "limit"),
    ("/events/names", {"from_date": "2024-13-01", "to_date": "2024-12-01"}, "from_date"),
    ("/events/names", {"to_date": "2024-12-01"}, "from_date"),
    ("/events/names", {"from_date": "2024-12-02", "to_date": "2024-12-01"}, "before"),
    ("/events/properties/top", {}, "event"),
    ("/events/properties/top", {"event": "Purchase", "limit": "-1"}, "limit"),
    ("/events/properties/values", {"event": "Purchase"}, "name"),
    ("/events/top", {"type": "sum"}, "type"),
])
def test_bad_parameters_are_400(loaded: Loaded, client: httpx.Client, path: str, params: dict[str, str],
                                fragment: str) -> None:
    creds = loaded.creds
    response = client.get(f"/api/query{path}", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"request", "error"}
    assert body["request"].startswith(f"/api/query{path}?project_id=")
    assert fragment in body["error"]


def test_projects_are_isolated_and_duplicates_count_once(loaded: Loaded, server: ServerProcess,
                                                         client: httpx.Client) -> None:
    other = make_project(server.data_dir, "discovery-other")
    now = int(time.time()) - 60
    dup = {"event": "Only Here", "properties": {"time": now, "distinct_id": "x", "$insert_id": "dup-1", "color": "red"}}
    import_all(client, other, [
        dup, dup, dup,
        {"event": "Only Here", "properties": {"time": now, "distinct_id": "y", "$insert_id": "a", "color": "blue"}},
        {"event": "Only Here", "properties": {"time": now, "distinct_id": "z", "$insert_id": "b", "color": "blue"}},
        {"event": "Also Here", "properties": {"time": now, "distinct_id": "x", "$insert_id": "c", "n": 1.5}},
    ], strict=False)
    assert _get(client, other, "/events/names") == ["Only Here", "Also Here"]
    assert _get(client, other, "/events/properties/top", event="Only Here")["color"] == {"count": 3}
    assert _get(client, other, "/events/properties/values", event="Only Here", name="color") == ["blue", "red"]
    assert _get(client, other, "/events/properties/values", name="n") == ["1.5"]
    assert _get(client, other, "/events/properties/values", name="$browser") == []
    # the first project's credentials do not reach the other project, and its own answer is unchanged
    cross = client.get("/api/query/events/names", params={"project_id": other.project_id},
                       auth=(loaded.creds.sa_username, loaded.creds.sa_secret))
    assert cross.status_code in (401, 403)
    assert "Only Here" not in _get(client, loaded.creds, "/events/names")
