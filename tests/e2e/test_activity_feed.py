"""``/stream/bookmark`` (the activity feed the headless client calls) against a brute-force reference.

Pages are walked with the returned cursor until it is null; together they must be exactly the reference's events
(no overlap, no gap), each page oldest first and every page older than the one before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as ref
from tests.support.reference_time import zone
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "Europe/Berlin"
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=20)).date(), END.date()
EXTRA = ref.ADDED_BY_IMPORT


@pytest.fixture(scope="module")
def feed(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[ref.Event], dict[str, str]]:
    creds = make_project(server.data_dir, "activity-feed", timezone=TZ)
    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(DemoConfig(seed=21, events=2500, end=END, days=20), batch_size=1000):
        same_second = [  # events in one second whose order only the insert id decides
            {"event": "Tick", "properties": {"time": batch[0]["properties"]["time"], "distinct_id": "ticker",
                                             "$insert_id": f"tick-{n}", "n": n, "note": "Needle in haystack"}}
            for n in range(5)
        ]
        batch = batch + same_second if not sent else batch
        import_all(client, creds, batch)
        sent += batch
    events = ref.load(sent)
    return creds, events, ref.canonical_map(events)


def _post(client: httpx.Client, creds: ProjectCreds, body: dict[str, Any], status: int = 200) -> Any:
    response = client.post("/api/query/stream/bookmark", params={"workspace_id": "1"},
                           json={"project_id": str(creds.project_id), "mode": "raw", **body},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == status, response.text
    return response.json()


def _between(start: date, end: date) -> dict[str, Any]:
    return {"dateRange": {"type": "between", "from": start.isoformat(), "to": end.isoformat()}, "entries": []}


def _key(event: dict[str, Any]) -> tuple[Any, ...]:
    props = {k: v for k, v in event["properties"].items() if k not in EXTRA}
    return event["event"], props["$insert_id"], orjson.dumps(props, option=orjson.OPT_SORT_KEYS)


def _walk(client: httpx.Client, creds: ProjectCreds, body: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    for _ in range(200):
        answer = _post(client, creds, {**body, **({"sentinel_event": cursor} if cursor else {})})
        assert answer["status"] == "ok"
        pages.append(answer["results"]["events"])
        cursor = answer["results"]["sentinel_event"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ran out")


def _busiest_users(events: list[ref.Event], n: int) -> list[str]:
    counts: dict[str, int] = {}
    for event in events:
        if event.user:
            counts[event.user] = counts.get(event.user, 0) + 1
    return sorted(counts, key=lambda user: (-counts[user], user))[:n]


@pytest.mark.parametrize("limit", [7, 50, None])
def test_pages_cover_the_window_exactly(feed: Any, client: httpx.Client, limit: int | None) -> None:
    creds, events, canonical = feed
    ids = [*_busiest_users(events, 3), "ticker"]
    body: dict[str, Any] = {"bookmark": _between(FROM, TO), "distinct_ids": ids}
    if limit is not None:
        body["limit"] = limit
    pages = _walk(client, creds, body)
    expected = ref.activity(events, ids, FROM, TO, TZ, canonical)
    walked = [event for page in pages for event in page]
    assert sorted(map(_key, walked)) == sorted(map(_key, expected))
    assert len(walked) == len({_key(event) for event in walked})  # no event twice
    if limit is not None:
        assert all(len(page) == limit for page in pages[:-1]) and len(pages[-1]) <= limit
    newest_first = [event["properties"]["time"] for page in pages for event in reversed(page)]
    assert newest_first == sorted(newest_first, reverse=True)
    for page in pages:
        times = [event["properties"]["time"] for event in page]
        assert times == sorted(times)  # within a page, oldest first


def test_any_id_of_a_merged_user_reaches_all_its_events(feed: Any, client: httpx.Client) -> None:
    creds, events, canonical = feed
    merged = next(event for event in events if event.stored_id != event.user and event.stored_id)
    got = _post(client, creds, {"bookmark": _between(FROM, TO), "distinct_ids": [merged.stored_id]})
    expected = ref.activity(events, [merged.user], FROM, TO, TZ, canonical)
    assert sorted(map(_key, got["results"]["events"])) == sorted(map(_key, expected))
    assert {e["properties"]["$distinct_id"] for e in got["results"]["events"]} == {merged.user}


def test_filters_match_reference(feed: Any, client: httpx.Client) -> None:
    creds, events, canonical = feed
    ids = _busiest_users(events, 5)
    every = ref.activity(events, ids, FROM, TO, TZ, canonical)
    names = sorted({event["event"] for event in every})
    assert len(names) >= 2
    body = {"bookmark": _between(FROM, TO), "distinct_ids": ids}

    included = _post(client, creds, {**body, "include_events": names[:1]})["results"]["events"]
    assert sorted(map(_key, included)) == sorted(_key(e) for e in every if e["event"] == names[0])
    excluded = _post(client, creds, {**body, "exclude_events": names[:1]})["results"]["events"]
    assert sorted(map(_key, excluded)) == sorted(_key(e) for e in every if e["event"] != names[0])

    browser = next(e["properties"]["$browser"] for e in every if "$browser" in e["properties"])
    needle = browser[1:4].upper()  # case-insensitive substring
    found = _post(client, creds, {**body, "search": needle, "search_properties": [
        {"value": "$browser", "resourceType": "event"}]})["results"]["events"]
    assert found and sorted(map(_key, found)) == sorted(
        _key(e) for e in every if needle.lower() in str(e["properties"].get("$browser", "")).lower())


def test_search_reads_names_and_values(feed: Any, client: httpx.Client) -> None:
    creds, _, _ = feed
    body = {"bookmark": _between(FROM, TO), "distinct_ids": ["ticker"]}
    assert len(_post(client, creds, {**body, "search": "needle IN"})["results"]["events"]) == 5
    assert len(_post(client, creds, {**body, "search": "tIcK"})["results"]["events"]) == 5
    assert _post(client, creds, {**body, "search": "no such text"})["results"]["events"] == []
    assert _post(client, creds, {**body, "search": "note"})["results"]["events"] == []  # a key, not a value


def test_paging_keeps_copies_stored_under_different_ids(feed: Any, client: httpx.Client) -> None:
    """Same name, time and insert id under two stored ids of one merged user: two events, both paged out."""
    creds, _, _ = feed
    moment = int((END - timedelta(days=2)).timestamp())
    tie = [
        {"event": "Tie", "properties": {"time": moment, "distinct_id": "$device:tie-dev", "$device_id": "tie-dev",
                                        "$insert_id": "same"}},
        {"event": "Tie", "properties": {"time": moment, "distinct_id": "tie-user", "$user_id": "tie-user",
                                        "$device_id": "tie-dev", "$insert_id": "same"}},
    ]
    response = client.post("/import", params={"project_id": creds.project_id, "strict": "1"}, json=tie,
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    pages = _walk(client, creds, {"bookmark": _between(FROM, TO), "distinct_ids": ["tie-user"], "limit": 1})
    assert [len(page) for page in pages] == [1, 1]
    assert {event["properties"]["$distinct_id"] for page in pages for event in page} == {"tie-user"}


def test_a_merge_made_after_a_read_shows_at_once(feed: Any, client: httpx.Client) -> None:
    """The feed resolves ids from the identity state the ingest path keeps: a device read before its merge, then
    merged into a user, is that user's on the next read (both endpoints, asked by either id)."""
    creds, _, _ = feed
    moment = int((END - timedelta(days=3)).timestamp())
    body = {"bookmark": _between(FROM, TO)}
    anonymous = {"event": "Browse", "properties": {"time": moment, "distinct_id": "$device:late-dev",
                                                   "$device_id": "late-dev", "$insert_id": "late-1"}}
    import_all(client, creds, [anonymous])
    before = _post(client, creds, {**body, "distinct_ids": ["late-user"]})["results"]["events"]
    assert before == []
    alone = _post(client, creds, {**body, "distinct_ids": ["$device:late-dev"]})["results"]["events"]
    assert [e["properties"]["$distinct_id"] for e in alone] == ["$device:late-dev"]
    login = {"event": "Log In", "properties": {"time": moment + 60, "distinct_id": "late-user", "$user_id": "late-user",
                                               "$device_id": "late-dev", "$insert_id": "late-2"}}
    import_all(client, creds, [login])
    for asked in ("late-user", "$device:late-dev"):
        after = _post(client, creds, {**body, "distinct_ids": [asked]})["results"]["events"]
        assert [(e["event"], e["properties"]["$distinct_id"]) for e in after] == [
            ("Browse", "late-user"), ("Log In", "late-user")]
        legacy = client.get("/api/query/stream/query", auth=(creds.sa_username, creds.sa_secret), params={
            "project_id": creds.project_id, "distinct_ids": orjson.dumps([asked]).decode(),
            "from_date": FROM.isoformat(), "to_date": TO.isoformat()})
        assert legacy.status_code == 200, legacy.text
        assert [e["event"] for e in legacy.json()["results"]["events"]] == ["Browse", "Log In"]


def test_paging_window_bounds_each_page(feed: Any, client: httpx.Client) -> None:
    creds, events, canonical = feed
    ids = _busiest_users(events, 10)
    pages = _walk(client, creds, {"bookmark": _between(FROM, TO), "distinct_ids": ids, "paging_window": 3})
    expected = ref.activity(events, ids, FROM, TO, TZ, canonical)
    walked = [event for page in pages for event in page]
    assert sorted(map(_key, walked)) == sorted(map(_key, expected))
    for page in pages:
        if page:
            assert page[-1]["properties"]["time"] - page[0]["properties"]["time"] <= 3 * 86_400
    assert len(pages) >= 20 // 3


def test_relative_and_since_ranges(feed: Any, client: httpx.Client) -> None:
    creds, events, canonical = feed
    ids = _busiest_users(events, 4)
    today = datetime.now(UTC).astimezone(zone(TZ)).date()
    relative = _post(client, creds, {"bookmark": {"dateRange": {"type": "relative_after", "window": {
        "unit": "day", "value": 5}}, "entries": []}, "distinct_ids": ids})["results"]["events"]
    expected = ref.activity(events, ids, today - timedelta(days=5), today, TZ, canonical)
    assert sorted(map(_key, relative)) == sorted(map(_key, expected))
    since = _post(client, creds, {"bookmark": {"dateRange": {"type": "since", "from": (today - timedelta(days=2))
                                               .isoformat()}}, "distinct_ids": ids})["results"]["events"]
    expected = ref.activity(events, ids, today - timedelta(days=2), today, TZ, canonical)
    assert sorted(map(_key, since)) == sorted(map(_key, expected))


@pytest.mark.parametrize(("change", "fragment"), [
    ({"bookmark": None}, "bookmark"),
    ({"bookmark": {"dateRange": {"type": "sometime"}}}, "dateRange.type"),
    ({"bookmark": {"dateRange": {"type": "between", "from": "2025-01-02"}}}, "dateRange.to"),
    ({"bookmark": {"dateRange": {"type": "between", "from": "2025-01-02", "to": "2999-01-01"}}}, "later than today"),
    ({"bookmark": {"dateRange": {"type": "relative_after", "window": {"unit": "year", "value": 1}}}}, "unit"),
    ({"distinct_ids": []}, "distinct_ids"),
    ({"distinct_ids": "user"}, "distinct_ids"),
    ({"include_events": ["a"], "exclude_events": ["b"]}, "mutually exclusive"),
    ({"search_properties": [{"value": "x", "resourceType": "event"}]}, "requires search"),
    ({"search": "x", "search_properties": [{"value": "x", "resourceType": "user"}]}, "event properties"),
    ({"limit": 0}, "limit"),
    ({"limit": 15_001}, "limit"),
    ({"paging_window": 31}, "paging_window"),
    ({"sentinel_event": {"event": "x"}}, "sentinel_event"),
    ({"sentinel_event": {"event": "x", "properties": {"time": 1e308}}}, "out of range"),
    ({"sentinel_event": {"event": "x", "properties": {"mp_time_ms": 10**20}}}, "out of range"),
    ({"mode": "aggregate"}, "mode"),
])
def test_bad_requests_are_400(feed: Any, client: httpx.Client, change: dict[str, Any], fragment: str) -> None:
    creds, _, _ = feed
    body = {"bookmark": _between(FROM, TO), "distinct_ids": ["ticker"], **change}
    answer = _post(client, creds, {k: v for k, v in body.items() if v is not None}, status=400)
    assert fragment in answer["error"] and answer["request"].startswith("/api/query/stream/bookmark")


def test_auth_and_isolation(feed: Any, server: ServerProcess, client: httpx.Client) -> None:
    creds, _, _ = feed
    body = {"project_id": str(creds.project_id), "bookmark": _between(FROM, TO), "distinct_ids": ["ticker"]}
    assert client.post("/api/query/stream/bookmark", json=body).status_code == 401
    other = make_project(server.data_dir, "activity-feed-other")
    refused = client.post("/api/query/stream/bookmark", json=body, auth=(other.sa_username, other.sa_secret))
    assert refused.status_code in (401, 403)
    empty = _post(client, other, {"bookmark": _between(FROM, TO), "distinct_ids": ["ticker"]})
    assert empty["results"] == {"events": [], "sentinel_event": None}


def test_only_the_latest_copy_is_shown_and_searched(feed: Any, client: httpx.Client) -> None:
    creds, _, _ = feed
    moment = int((END - timedelta(days=3)).timestamp())
    copy = {"event": "Resent", "properties": {"time": moment, "distinct_id": "resender", "$insert_id": "r-1"}}
    import_all(client, creds, [{**copy, "properties": {**copy["properties"], "color": "mauve"}}])
    import_all(client, creds, [{**copy, "properties": {**copy["properties"], "color": "teal"}}])  # wins
    body = {"bookmark": _between(FROM, TO), "distinct_ids": ["resender"]}
    shown = _post(client, creds, body)["results"]["events"]
    assert [event["properties"]["color"] for event in shown] == ["teal"]
    assert _post(client, creds, {**body, "search": "mauve"})["results"]["events"] == []
    assert len(_post(client, creds, {**body, "search": "teal"})["results"]["events"]) == 1
    params = {"project_id": creds.project_id, "distinct_ids": '["resender"]', "from_date": FROM.isoformat(),
              "to_date": TO.isoformat()}
    legacy = client.get("/api/query/stream/query", params=params, auth=(creds.sa_username, creds.sa_secret))
    assert [event["properties"]["color"] for event in legacy.json()["results"]["events"]] == ["teal"]
