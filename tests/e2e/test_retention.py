"""``/retention`` against a brute-force reference on generated data with merges, resends and a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_retention as ref
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "America/New_York"
END = datetime(2025, 3, 20, tzinfo=UTC)  # the generated weeks span the US DST change of 2025-03-09


@pytest.fixture(scope="module")
def loaded(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "retention", timezone=TZ)
    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(DemoConfig(seed=5, events=12000, end=END, days=40), batch_size=1000):
        import_all(client, creds, batch)
        sent += batch
    events = events_ref.load(sent)
    assert any(e.user != e.stored_id for e in events)
    return creds, events


def _get(client: httpx.Client, creds: ProjectCreds, **params: Any) -> Any:
    response = client.get("/api/query/retention", params={"project_id": creds.project_id, **params},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    return response.json()


CASES: list[dict[str, Any]] = [
    {"born_event": "Sign Up"},
    {"born_event": "Sign Up", "event": "Purchase", "interval_count": 7},
    {"born_event": "Page View", "unit": "week", "interval_count": 4},
    {"born_event": "Page View", "event": "View Item", "interval": 3, "interval_count": 5,
     "unbounded_retention": True},
    {"born_event": "Sign Up", "born_where": 'properties["$os"] == "Windows"', "where": 'defined(properties["price"])',
     "interval_count": 10},
    {"born_event": "View Item", "on": 'properties["$browser"]', "interval_count": 3, "limit": 3},
    {"retention_type": "compounded", "event": "Purchase", "interval_count": 6},
    {"retention_type": "compounded", "born_event": "Page View", "event": "Add To Cart", "unit": "week",
     "interval_count": 2},
    {"born_event": "Sign Up", "unit": "month", "interval_count": 1},
    {"born_event": "Sign Up", "interval_count": 7, "alignment": "calendar"},
    {"born_event": "Page View", "unit": "week", "interval_count": 3, "alignment": "calendar",
     "unbounded_retention": True},
    {"born_event": "Sign Up", "unit": "month", "interval_count": 1, "alignment": "calendar"},
]


@pytest.mark.parametrize("options", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_reference(loaded: Any, client: httpx.Client, options: dict[str, Any]) -> None:
    creds, events = loaded
    start, end = date(2025, 2, 20), date(2025, 3, 12)
    wire = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in options.items()}
    got = _get(client, creds, from_date=start.isoformat(), to_date=end.isoformat(), **wire)
    expected = ref.retention(events, start, end, timezone=TZ, **options)
    assert got == expected
    flat = [got] if "on" not in options else list(got.values())
    assert any(entry["first"] for per in flat for entry in per.values())
    assert any(any(entry["counts"]) for per in flat for entry in per.values())
    for per in flat:
        for entry in per.values():
            assert len(entry["counts"]) == options.get("interval_count", 1) + 1
            assert all(count <= entry["first"] for count in entry["counts"])  # never more than the cohort
            if options.get("unbounded_retention"):
                assert entry["counts"] == sorted(entry["counts"], reverse=True)


def test_shape_and_aliases(loaded: Any, client: httpx.Client) -> None:
    creds, _ = loaded
    got = client.post("/api/2.0/retention", data={"project_id": creds.project_id, "from_date": "2025-03-01",
                                                   "to_date": "2025-03-02", "born_event": "Sign Up"},
                      auth=(creds.api_secret, ""))
    assert got.status_code == 200, got.text
    assert list(got.json()) == ["2025-03-01", "2025-03-02"]
    assert set(got.json()["2025-03-01"]) == {"counts", "first"}


@pytest.mark.parametrize(("change", "fragment"), [
    ({"born_event": None}, "born_event"),
    ({"retention_type": "sometimes"}, "retention_type"),
    ({"unit": "hour"}, "unit"),
    ({"interval_count": "0"}, "interval_count"),
    ({"interval": "91"}, "interval"),
    ({"unbounded_retention": "maybe"}, "unbounded_retention"),
    ({"alignment": "birthday"}, "alignment"),
    ({"to_date": "2999-01-01"}, "to_date cannot be later than today"),
    ({"where": 'properties["x" =='}, "position"),
])
def test_bad_parameters_are_400(loaded: Any, client: httpx.Client, change: dict[str, Any], fragment: str) -> None:
    creds, _ = loaded
    params = {"project_id": creds.project_id, "from_date": "2025-03-01", "to_date": "2025-03-02",
              "born_event": "Sign Up", **change}
    response = client.get("/api/query/retention", params={k: v for k, v in params.items() if v is not None},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]
