"""Segmentation endpoints (``/segmentation``, ``/segmentation/sum``, ``/segmentation/average``,
``/segmentation/numeric``) against a brute-force reference over a generated dataset plus hand-built tricky events
(identity merge, duplicates, empty ids, midnight and DST in a non-UTC project, list fan-out), plus errors and auth."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_segmentation as ref
from tests.support.sending import import_all
from tests.support.server import ServerProcess

END = datetime(2025, 3, 15, tzinfo=UTC)  # generated events span [END - 30 days, END)
FIRST, LAST = date(2025, 2, 13), date(2025, 3, 14)
NY = "America/New_York"


@dataclass(frozen=True)
class Loaded:
    creds: ProjectCreds
    timezone: str
    events: list[ref.Event]


def _at(text: str, timezone: str = NY) -> int:
    """Epoch seconds of a local wall time (``fold`` 0), e.g. ``2025-03-09 01:30``."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone)).timestamp())


def _tricky() -> list[dict[str, Any]]:
    """Hand-built ``Tricky`` events for the New York project."""
    seq = iter(range(1000))

    def ev(when: int, distinct_id: str, **props: Any) -> dict[str, Any]:
        return {"event": "Tricky", "properties": {"time": when, "distinct_id": distinct_id,
                                                  "$insert_id": f"t{next(seq)}", **props}}

    dup = ev(_at("2025-03-08 12:00"), "bob", tags=["x"], amount=4)
    fall_back = datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # 01:30 EDT, then 01:30 EST an hour later
    return [
        # a device before sign-up (late on the 8th, local), then sign-up on the 9th: one user for `unique`
        ev(_at("2025-03-08 23:59"), "$device:D1", **{"$device_id": "D1"}, tags=["a", "b", "a"], amount=10),
        ev(_at("2025-03-09 00:00"), "$device:D1", **{"$device_id": "D1"}, tags=[], amount=2.5),
        ev(_at("2025-03-09 01:30"), "alice", **{"$device_id": "D1", "$user_id": "alice"}, tags="a", amount="7"),
        ev(_at("2025-03-09 03:30"), "$device:D1", **{"$device_id": "D1"}, amount=None),  # after the DST jump
        ev(_at("2025-03-09 23:59"), "alice", **{"$user_id": "alice"}, tags=["c", 1, True, None, {"k": 1}, [1]]),
        # exact duplicates count once
        dup, dup, dup,
        # empty distinct_id: counted in general, not in unique
        ev(_at("2025-03-09 12:00"), "", tags=["a"], amount=1),
        ev(_at("2025-03-09 12:01"), "", amount=True),
        ev(_at("2025-03-10 00:00"), "carol", tags=["b"], amount=-3),
        ev(_at("2025-03-01 00:00"), "carol", tags=["b"], amount=1000),
        ev(_at("2025-02-28 23:59"), "carol", tags=["b"], amount=2150.5),
        # the repeated hour of the fall-back day: both copies of 01:30 share the key 01:00
        ev(int(fall_back.timestamp()), "dave", amount=5),
        ev(int((fall_back + timedelta(hours=1)).timestamp()), "erin", amount=6),
    ]


def _load(server: ServerProcess, client: httpx.Client, name: str, timezone: str) -> Loaded:
    creds = make_project(server.data_dir, name, timezone=timezone)
    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(DemoConfig(seed=7, events=3000, end=END)):
        import_all(client, creds, batch, strict=False)
        sent += batch
    extra = _tricky()
    import_all(client, creds, extra, strict=False)
    sent += extra
    events = ref.stored(sent)
    assert len(events) < len(sent)  # dedup matters
    return Loaded(creds, timezone, events)


@pytest.fixture(scope="module")
def utc(server: ServerProcess, client: httpx.Client) -> Loaded:
    return _load(server, client, "seg-utc", "UTC")


@pytest.fixture(scope="module")
def ny(server: ServerProcess, client: httpx.Client) -> Loaded:
    return _load(server, client, "seg-ny", NY)


def _get(client: httpx.Client, data: Loaded, path: str, **params: Any) -> Any:
    response = client.get(f"/api/query{path}", params={"project_id": data.creds.project_id, **params},
                          auth=(data.creds.sa_username, data.creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


def _check(client: httpx.Client, data: Loaded, event: str, start: date, end: date, **options: Any) -> Any:
    params = _query(**options)
    got = _get(client, data, "/segmentation", event=event, from_date=start.isoformat(), to_date=end.isoformat(),
               **params)
    expected = ref.segmentation(data.events, event, start, end, timezone=data.timezone, **options)
    _same(got, expected)
    return got


def _same(got: Any, expected: Any) -> None:
    """Equal, numbers up to float rounding (averages and sums are added up in a different order)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), (got, expected)
        for key, value in expected.items():
            _same(got[key], value)
    elif isinstance(expected, list):
        assert got == expected
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    else:
        assert got == expected and type(got) is type(expected), (got, expected)


# --- /segmentation ------------------------------------------------------------------------------------------------

CASES = [
    # (event, unit, type, on, where, limit)
    ("Page View", "day", "general", None, None, None),
    ("Page View", "day", "unique", None, None, None),
    ("Page View", "week", "average", None, None, None),
    ("View Item", "month", "general", 'properties["tags"]', None, None),
    ("View Item", "day", "unique", 'properties["tags"]', 'properties["price"] > 20', None),
    ("Page View", "hour", "general", 'properties["$browser"]', None, 3),
    ("Page View", "day", "general", 'properties["$browser_version"]', 'properties["$os"] == "Mac OS X"', None),
    ("Sign Up", "day", "unique", 'properties["mp_country_code"]', None, None),
    ("Purchase", "week", "general", 'properties["logged_in"]', 'defined(properties["$device_id"])', None),
    ("View Item", "day", "average", 'properties["plan"]', '"bundle" in properties["tags"]', 2),
    # keys from several inputs, hot and not, computed once per group of equal inputs
    ("Page View", "day", "unique", 'properties["$os"] + " / " + string(properties["$browser_version"])', None, 5),
    # keys that read the time cannot be grouped: computed per event
    ("Page View", "day", "unique", 'string(event["time"] >= datetime("2025-03-01")) + properties["$os"]', None, None),
]


@pytest.mark.parametrize(("event", "unit", "kind", "on", "where", "limit"), CASES)
@pytest.mark.parametrize("zone", ["utc", "ny"])
def test_generated_data_matches_reference(request: pytest.FixtureRequest, client: httpx.Client, zone: str,
                                          event: str, unit: str, kind: str, on: str | None, where: str | None,
                                          limit: int | None) -> None:
    data: Loaded = request.getfixturevalue(zone)
    got = _check(client, data, event, FIRST, LAST, unit=unit, kind=kind, on=on, where=where,
                 **({"limit": limit} if limit else {}))
    assert any(any(v for v in per.values()) for per in got["data"]["values"].values())
    if limit:
        assert got["legend_size"] <= limit


def _query(**options: Any) -> dict[str, Any]:
    """Reference options → wire parameters (``kind`` is ``type``)."""
    renamed = {"type" if k == "kind" else k: v for k, v in options.items() if v is not None}
    return renamed


@pytest.mark.parametrize(("interval", "kind", "on"), [
    (7, "unique", None),          # uniques are distinct over the whole 7-day bucket
    (3, "general", 'properties["$browser"]'),
    (5, "average", None),         # the last bucket is cut at to_date
    (1, "unique", None),
])
@pytest.mark.parametrize("zone", ["utc", "ny"])
def test_interval_buckets_match_reference(request: pytest.FixtureRequest, client: httpx.Client, zone: str,
                                          interval: int, kind: str, on: str | None) -> None:
    data: Loaded = request.getfixturevalue(zone)
    got = _check(client, data, "Page View", FIRST, LAST, kind=kind, on=on, interval=interval, unit="hour")
    assert got["data"]["series"][0] == FIRST.isoformat()
    assert len(got["data"]["series"]) == ((LAST - FIRST).days // interval) + 1


def test_minute_unit_on_one_day(ny: Loaded, client: httpx.Client) -> None:
    got = _check(client, ny, "Page View", date(2025, 3, 9), date(2025, 3, 9), unit="minute")
    assert len(got["data"]["series"]) == 23 * 60  # the DST day has 23 hours
    assert "2025-03-09 02:30:00" not in got["data"]["series"]


def test_identity_merge_dedup_and_empty_ids(ny: Loaded, client: httpx.Client) -> None:
    day = date(2025, 3, 9)
    general = _check(client, ny, "Tricky", day, day)
    unique = _check(client, ny, "Tricky", day, day, kind="unique")
    average = _check(client, ny, "Tricky", day, day, kind="average")
    # D1 at 00:00, alice 01:30, D1 03:30, alice 23:59, two empty ids: 6 events, one user (D1 is alice)
    assert general["data"]["values"] == {"Tricky": {"2025-03-09": 6}}
    assert unique["data"]["values"] == {"Tricky": {"2025-03-09": 1}}
    assert average["data"]["values"] == {"Tricky": {"2025-03-09": 6.0}}
    week = _check(client, ny, "Tricky", date(2025, 3, 3), day, kind="unique", unit="week")
    assert week["data"]["values"] == {"Tricky": {"2025-03-03": 2}}  # alice (D1 on the 8th is alice) and bob


def test_timezone_midnight_and_dst(ny: Loaded, utc: Loaded, client: httpx.Client) -> None:
    got = _check(client, ny, "Tricky", date(2025, 2, 28), date(2025, 3, 10))
    values = got["data"]["values"]["Tricky"]
    assert (values["2025-02-28"], values["2025-03-01"], values["2025-03-08"], values["2025-03-10"]) == (1, 1, 2, 1)
    in_utc = _check(client, utc, "Tricky", date(2025, 2, 28), date(2025, 3, 10))
    in_utc_values = in_utc["data"]["values"]["Tricky"]
    assert (in_utc_values["2025-02-28"], in_utc_values["2025-03-01"]) == (0, 2)  # 23:59 New York is 04:59 UTC
    hours = _check(client, ny, "Tricky", date(2025, 3, 9), date(2025, 3, 9), unit="hour")
    series = hours["data"]["series"]
    assert len(series) == 23 and "2025-03-09 02:00:00" not in series
    assert hours["data"]["values"]["Tricky"]["2025-03-09 03:00:00"] == 1
    fall = _check(client, ny, "Tricky", date(2024, 11, 3), date(2024, 11, 3), unit="hour")
    assert len(fall["data"]["series"]) == 24  # 25 hours, the repeated one listed once
    assert fall["data"]["values"]["Tricky"]["2024-11-03 01:00:00"] == 2
    _check(client, ny, "Tricky", date(2024, 11, 1), date(2025, 3, 14), unit="month", kind="unique")


def test_list_fan_out_and_undefined(ny: Loaded, client: httpx.Client) -> None:
    got = _check(client, ny, "Tricky", date(2025, 3, 8), date(2025, 3, 10), on='properties["tags"]')
    values = got["data"]["values"]
    assert set(values) == {"a", "b", "c", "1", "true", "null", "x", "undefined"}
    assert values["a"]["2025-03-08"] == 1 and values["a"]["2025-03-09"] == 2
    limited = _check(client, ny, "Tricky", date(2025, 3, 8), date(2025, 3, 10), on='properties["tags"]', limit=2)
    assert list(limited["data"]["values"]) == ["a", "undefined"]  # 3 events each: ties by key
    assert limited["legend_size"] == 2
    _check(client, ny, "Tricky", date(2025, 2, 1), date(2025, 3, 14), on='properties["tags"]', kind="unique",
           where='event["distinct_id"] != "carol"')
    _check(client, ny, "Tricky", date(2025, 2, 1), date(2025, 3, 14), on='number(properties["amount"]) > 3',
           kind="average")


def test_no_events_gives_zeros(ny: Loaded, client: httpx.Client) -> None:
    got = _get(client, ny, "/segmentation", event="No Such Event", from_date="2025-03-01", to_date="2025-03-03")
    assert got == {"data": {"series": ["2025-03-01", "2025-03-02", "2025-03-03"],
                            "values": {"No Such Event": {"2025-03-01": 0, "2025-03-02": 0, "2025-03-03": 0}}},
                   "legend_size": 1}
    segmented = _get(client, ny, "/segmentation", event="No Such Event", from_date="2025-03-01",
                     to_date="2025-03-01", on='properties["x"]')
    assert segmented == {"data": {"series": ["2025-03-01"], "values": {}}, "legend_size": 0}


def test_aliases_post_secret_csv(ny: Loaded, client: httpx.Client) -> None:
    creds = ny.creds
    params = {"event": "Sign Up", "from_date": "2025-03-01", "to_date": "2025-03-07", "unit": "day",
              "type": "general", "on": 'properties["mp_country_code"]', "limit": "5"}
    expected = ref.segmentation(ny.events, "Sign Up", date(2025, 3, 1), date(2025, 3, 7), timezone=NY,
                                on='properties["mp_country_code"]', limit=5)
    sa = (creds.sa_username, creds.sa_secret)
    with_id = {**params, "project_id": str(creds.project_id), "workspace_id": "77", "query_origin": "x"}
    for path in ("/api/query/segmentation", "/api/2.0/segmentation", "/api/2.0/segmentation/"):
        response = client.get(path, params=with_id, auth=sa)
        assert response.status_code == 200 and response.json() == expected, response.text
    posted = client.post("/api/query/segmentation", data=with_id, auth=sa)
    assert posted.status_code == 200 and posted.json() == expected
    secret = client.get("/api/2.0/segmentation", params=params, auth=(creds.api_secret, ""))
    assert secret.status_code == 200 and secret.json() == expected
    as_csv = client.get("/api/query/segmentation", params={**with_id, "format": "csv"}, auth=sa)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    segments = list(expected["data"]["values"])
    assert rows[0] == ["date", *segments]
    assert rows[1:] == [[key, *(str(expected["data"]["values"][s][key]) for s in segments)]
                        for key in expected["data"]["series"]]


# --- /segmentation/sum, /average, /numeric ------------------------------------------------------------------------


@pytest.mark.parametrize(("event", "on", "where", "unit"), [
    ("Purchase", 'properties["price"]', None, "day"),
    ("View Item", 'properties["price"] * 2', 'properties["$os"] != "Windows"', "hour"),
    ("Tricky", 'properties["amount"]', None, "day"),
])
def test_sum_and_average_match_reference(ny: Loaded, client: httpx.Client, event: str, on: str,
                                         where: str | None, unit: str) -> None:
    start, end = (date(2025, 2, 28), date(2025, 3, 10)) if event == "Tricky" else (FIRST, LAST)
    for path, mean in (("/segmentation/sum", False), ("/segmentation/average", True)):
        got = _get(client, ny, path, event=event, from_date=start.isoformat(), to_date=end.isoformat(), on=on,
                   unit=unit, **({"where": where} if where else {}))
        expected = ref.numeric_summary(ny.events, event, start, end, on, timezone=NY, unit=unit, where=where,
                                       mean=mean)
        assert got["status"] == "ok" and datetime.fromisoformat(got["computed_at"])
        _same(got["results"], expected)
        assert any(expected.values())


def test_sum_counts_non_numbers_as_zero(ny: Loaded, client: httpx.Client) -> None:
    got = _get(client, ny, "/segmentation/sum", event="Tricky", from_date="2025-03-09", to_date="2025-03-09",
               on='properties["amount"]')
    assert got["results"] == {"2025-03-09": 3.5}  # 2.5 + 1; "7", null, true and missing count 0
    avg = _get(client, ny, "/segmentation/average", event="Tricky", from_date="2025-03-09", to_date="2025-03-09",
               on='properties["amount"]')
    assert avg["results"] == {"2025-03-09": 1.75}


@pytest.mark.parametrize(("event", "on", "kind", "start", "end"), [
    ("Purchase", 'properties["price"]', "general", FIRST, LAST),
    ("View Item", 'properties["price"]', "unique", FIRST, LAST),
    ("Page View", 'properties["$screen_width"]', "average", FIRST, LAST),
    ("Tricky", 'properties["amount"]', "general", date(2025, 2, 28), date(2025, 3, 10)),
])
def test_numeric_matches_reference(ny: Loaded, client: httpx.Client, event: str, on: str, kind: str,
                                   start: date, end: date) -> None:
    got = _get(client, ny, "/segmentation/numeric", event=event, from_date=start.isoformat(),
               to_date=end.isoformat(), on=on, type=kind)
    expected = ref.numeric(ny.events, event, start, end, on, timezone=NY, kind=kind)
    _same(got, expected)
    assert 1 <= got["legend_size"] <= 10


def test_numeric_labels(ny: Loaded, client: httpx.Client) -> None:
    got = _get(client, ny, "/segmentation/numeric", event="Tricky", from_date="2025-02-28", to_date="2025-03-10",
               on='properties["amount"]')
    assert next(iter(got["data"]["values"])) == "-500 - 0" and "2,000 - 2,500" in got["data"]["values"]


# --- errors -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params", "fragment"), [
    ("/segmentation", {"unit": "fortnight"}, "unit"),
    ("/segmentation", {"type": "weird"}, "type"),
    ("/segmentation", {"limit": "0"}, "limit"),
    ("/segmentation", {"event": ""}, "event"),
    ("/segmentation", {"from_date": "2025-13-01"}, "from_date"),
    ("/segmentation", {"to_date": "2999-01-01"}, "to_date cannot be later than today"),
    ("/segmentation", {"format": "xml"}, "format"),
    ("/segmentation", {"interval": "0"}, "interval"),
    ("/segmentation", {"interval": "week"}, "interval"),
    ("/segmentation/sum", {"on": ""}, "on"),
    ("/segmentation/average", {"unit": "month"}, "unit"),
    ("/segmentation/numeric", {"on": ""}, "on"),
])
def test_bad_parameters_are_400(ny: Loaded, client: httpx.Client, path: str, params: dict[str, str],
                                fragment: str) -> None:
    base = {"project_id": ny.creds.project_id, "event": "Tricky", "from_date": "2025-03-01",
            "to_date": "2025-03-02", "on": 'properties["amount"]'}
    response = client.get(f"/api/query{path}", params={**base, **params}, auth=(ny.creds.sa_username,
                                                                                 ny.creds.sa_secret))
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"request", "error"}
    assert body["request"].startswith(f"/api/query{path}?project_id=")
    assert fragment in body["error"]


@pytest.mark.parametrize("param", ["where", "on"])
def test_bad_expression_is_400_with_position(ny: Loaded, client: httpx.Client, param: str) -> None:
    params = {"project_id": ny.creds.project_id, "event": "Tricky", "from_date": "2025-03-01",
              "to_date": "2025-03-02", param: 'properties["a"] == == 1'}
    response = client.get("/api/2.0/segmentation", params=params, auth=(ny.creds.sa_username, ny.creds.sa_secret))
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body["position"], int) and body["error"] and body["request"].startswith("/api/2.0/segmentation")


@pytest.mark.parametrize("path", ["/segmentation", "/segmentation/sum", "/segmentation/average",
                                  "/segmentation/numeric"])
def test_auth_required(ny: Loaded, utc: Loaded, client: httpx.Client, path: str) -> None:
    creds = ny.creds
    params = {"project_id": creds.project_id, "event": "Tricky", "from_date": "2025-03-01", "to_date": "2025-03-02",
              "on": 'properties["amount"]'}
    for auth in (None, (creds.sa_username, "wrong-secret"), ("wrong-api-secret", "")):
        response = client.get(f"/api/query{path}", params=params, auth=auth)
        assert response.status_code == 401, response.text
        assert response.json()["request"].startswith(f"/api/query{path}?")
    cross = client.get(f"/api/query{path}", params=params, auth=(utc.creds.sa_username, utc.creds.sa_secret))
    assert cross.status_code in (401, 403)
