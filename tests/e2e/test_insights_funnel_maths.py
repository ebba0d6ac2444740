"""Funnel property maths through ``/insights`` (what ``query_funnel(math=..., math_property=...)`` sends;
decision 0037): documented hand cases (prices on the steps, values that are not numbers, the 2-second grace, a
user's later attempts, optimized re-entry), generated data against the brute-force funnel reference (breakdowns,
trends, any order), the client library, and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from mixhouse.demo.generator import DemoConfig
from mixhouse.services.funnel_definition import funnel_params
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as funnels_ref
from tests.support.client_env import use_service_account
from tests.support.insights_http import close
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all, import_demo
from tests.support.server import ServerProcess

METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")
DAY = date(2025, 3, 3)
STEPS = ["View Item", "Purchase"]
NAME = "View Item through Purchase"


def _bookmark(steps: list[str], math: str, first: date, last: date, *, prop: Any = "price", window: int = 1,
              chart: str = "funnel-steps", unit: str = "day", groups: tuple[str, ...] = ()) -> dict[str, Any]:
    """What ``build_funnel_params(steps, math=math, math_property=prop)`` sends, over ``first``..``last``."""
    bookmark = funnel_params(steps, window=window)
    bookmark["sections"]["show"][0]["measurement"] = {
        "math": math, "stepIndex": None,
        "property": {"name": prop, "type": "number", "resourceType": "events"} if isinstance(prop, str) else prop}
    bookmark["displayOptions"] = {"chartType": chart}
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": unit,
                                     "value": [first.isoformat(), last.isoformat()]}]
    bookmark["sections"]["group"] = [{"value": g, "resourceType": "events"} for g in groups]
    return bookmark


def _as_metrics(steps: list[dict[str, Any]], math: str) -> dict[str, Any]:
    names = [f"{k + 1}. {step['event']}" for k, step in enumerate(steps)]
    fields = {**{metric: metric for metric in METRICS}, f"property_{math}": "value"}
    return {metric: {name: {"all": step[field]} for name, step in zip(names, steps, strict=True)}
            for metric, field in fields.items()}


# --- hand cases ----------------------------------------------------------------------------------------------------


def _at(days: int, hour: int, minute: int = 0, second: int = 0) -> int:
    return int(datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=UTC).timestamp()) + days * 86_400


#: Day 0 (View Item → Purchase, 1-day window, uniques):
#: - u1 views at 20, buys at 30, then buys again at 99: uniques count the first attempt, so 30;
#: - u2 views without a price and buys at "12" (a string): no number at either step;
#: - u3 views at 5 and buys at 50 one second *before* viewing: within the 2-second grace, so it counts;
#: - u4 views at 7 and never buys;
#: - u5 buys at 1000, then views at 8 an hour later: the earlier purchase completes nothing;
#: - u6 views at ``true`` (a boolean, not a number) and buys at 10.
#: Step 1 numbers: 20, 5, 7, 8; step 2: 30, 50, 10.
#: Day 2 (optimized re-entry): u7 views at 1, views again at 2, buys at 40: uniques enter at the first view (1),
#: optimized re-entry keeps the attempt that entered last (2).
PLAN: dict[str, list[tuple[str, int, int, int, int, Any]]] = {
    "u1": [("View Item", 0, 9, 0, 0, 20), ("Purchase", 0, 10, 0, 0, 30), ("Purchase", 0, 11, 0, 0, 99)],
    "u2": [("View Item", 0, 9, 0, 0, None), ("Purchase", 0, 10, 0, 0, "12")],
    "u3": [("View Item", 0, 9, 0, 0, 5), ("Purchase", 0, 8, 59, 59, 50)],
    "u4": [("View Item", 0, 9, 0, 0, 7)],
    "u5": [("Purchase", 0, 8, 0, 0, 1000), ("View Item", 0, 9, 0, 0, 8)],
    "u6": [("View Item", 0, 9, 0, 0, True), ("Purchase", 0, 9, 30, 0, 10)],
    "u7": [("View Item", 2, 9, 0, 0, 1), ("View Item", 2, 9, 10, 0, 2), ("Purchase", 2, 9, 20, 0, 40)],
}
HAND = {
    "average": {"1. View Item": 10.0, "2. Purchase": 30.0},
    "median": {"1. View Item": 7.5, "2. Purchase": 30.0},
    "min": {"1. View Item": 5.0, "2. Purchase": 10.0},
    "max": {"1. View Item": 20.0, "2. Purchase": 50.0},
    "p25": {"1. View Item": 6.5, "2. Purchase": 20.0},
    "p75": {"1. View Item": 11.0, "2. Purchase": 40.0},
    "p90": {"1. View Item": 16.4, "2. Purchase": 46.0},
    "p99": {"1. View Item": 19.64, "2. Purchase": 49.6},
    "histogram": {"1. View Item": {"5": 1, "7": 1, "8": 1, "20": 1}, "2. Purchase": {"10": 1, "30": 1, "50": 1}},
}


@pytest.fixture(scope="module")
def hand(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-funnel-maths", timezone="UTC")
    sent = [{"event": name, "properties": {"time": _at(days, hour, minute, second), "distinct_id": user,
                                           "$insert_id": f"{user}-{n}", **({} if price is None else {"price": price})}}
            for user, done in PLAN.items() for n, (name, days, hour, minute, second, price) in enumerate(done)]
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


def _hand_reference(events: list[events_ref.Event], math: str, *, optimized: bool = False,
                    days: tuple[int, int] = (0, 1)) -> dict[str, Any]:
    first, last = DAY + timedelta(days=days[0]), DAY + timedelta(days=days[1])
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in STEPS], first, last, window=86_400_000,
                               interval=days[1] - days[0] + 1, optimized=optimized, value_math=math,
                               value_prop="price")
    return _as_metrics(found["data"][first.isoformat()]["steps"], math)


@pytest.mark.parametrize("math", list(HAND))
def test_hand_cases(hand: Any, client: httpx.Client, math: str) -> None:
    creds, events = hand
    got = _post(client, creds, _bookmark(STEPS, math, DAY, DAY + timedelta(days=1)))["series"][NAME]
    assert close(got, _hand_reference(events, math))
    assert got["count"] == {"1. View Item": {"all": 6}, "2. Purchase": {"all": 4}}
    assert close(got[f"property_{math}"], {step: {"all": value} for step, value in HAND[math].items()})
    if math == "histogram":  # bins in numeric order
        assert list(got["property_histogram"]["1. View Item"]["all"]) == ["5", "7", "8", "20"]


def test_optimized_re_entry_takes_the_kept_attempts_numbers(hand: Any, client: httpx.Client) -> None:
    creds, events = hand
    day = DAY + timedelta(days=2)
    bookmark = _bookmark(STEPS, "min", day, day)
    assert _post(client, creds, bookmark)["series"][NAME]["property_min"] == {
        "1. View Item": {"all": 1.0}, "2. Purchase": {"all": 40.0}}
    bookmark["sections"]["show"][0]["behavior"]["funnelReentryMode"] = "optimized"
    got = _post(client, creds, bookmark)["series"][NAME]
    assert got["property_min"] == {"1. View Item": {"all": 2.0}, "2. Purchase": {"all": 40.0}}
    assert got == _hand_reference(events, "min", optimized=True, days=(2, 2))


def test_nobody_with_a_number_is_null_and_an_empty_histogram(hand: Any, client: httpx.Client) -> None:
    """A property no event has: counts as usual, ``null`` (histogram ``{}``) at every step."""
    creds, _ = hand
    got = _post(client, creds, _bookmark(STEPS, "average", DAY, DAY, prop="weight"))["series"][NAME]
    assert got["count"]["2. Purchase"]["all"] == 4
    assert got["property_average"] == {"1. View Item": {"all": None}, "2. Purchase": {"all": None}}
    empty = _post(client, creds, _bookmark(STEPS, "histogram", DAY, DAY, prop="weight"))["series"][NAME]
    assert empty["property_histogram"] == {"1. View Item": {"all": {}}, "2. Purchase": {"all": {}}}


@pytest.mark.parametrize(("change", "status", "named"), [
    ({"prop": None}, 400, "measurement.property"),
    ({"prop": {"name": "price", "resourceType": "people"}}, 400, "event property"),
    ({"math": "sum"}, 400, "'sum'"),
])
def test_refusals(hand: Any, client: httpx.Client, change: dict[str, Any], status: int, named: str) -> None:
    creds, _ = hand
    options: dict[str, Any] = {"math": "average", "prop": "price", **change}
    bookmark = _bookmark(STEPS, options.pop("math"), DAY, DAY, prop=options.pop("prop"))
    assert named in _post(client, creds, bookmark, status)["error"]


def test_a_histogram_has_no_time_comparison(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    bookmark = _bookmark(STEPS, "histogram", DAY, DAY)
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "week"}
    assert "histogram" in _post(client, creds, bookmark, 400)["error"]
    bookmark = _bookmark(STEPS, "average", DAY, DAY)
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "day"}
    got = _post(client, creds, bookmark)
    earlier = got["time_comparison"]["series"][NAME]["property_average"]  # the day before: nobody entered
    assert earlier == {"1. View Item": {"all": None}, "2. Purchase": {"all": None}}
    assert got["lift_comparison"]["series"][NAME]["property_average"]["2. Purchase"]["all"] is None


def test_saved_funnels_refuse_property_maths(hand: Any, server: ServerProcess, client: httpx.Client) -> None:
    """``/funnels`` has no place for a per-step aggregate: it names the endpoint that answers it."""
    from mixhouse.meta.store import MetaStore

    creds, _ = hand
    with MetaStore.for_data_dir(server.data_dir) as store:
        saved = store.create_report(creds.project_id, "funnels", "prices", _bookmark(STEPS, "median", DAY, DAY))
    response = client.get("/api/query/funnels", params={"project_id": creds.project_id, "funnel_id": saved.id,
                                                        "from_date": DAY.isoformat(), "to_date": DAY.isoformat()},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 400 and "/api/query/insights" in response.json()["error"]


# --- generated data -------------------------------------------------------------------------------------------------

END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=15)).date(), (END - timedelta(days=2)).date()
SHOP_STEPS = ["View Item", "Add To Cart", "Purchase"]


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-funnel-maths-shop", timezone="Europe/Berlin")
    sent = import_demo(client, creds, DemoConfig(seed=37, events=3000, end=END, days=20))
    return creds, events_ref.load(sent)


@pytest.mark.parametrize(("math", "chart", "groups", "order"), [
    ("average", "funnel-steps", (), "loose"),
    ("p90", "funnel-steps", ("$os",), "loose"),
    ("median", "line", (), "loose"),
    ("histogram", "funnel-steps", (), "any"),
    ("max", "line", ("$os",), "loose"),
])
def test_generated_data_matches_the_reference(shop: Any, client: httpx.Client, math: str, chart: str,
                                              groups: tuple[str, ...], order: str) -> None:
    creds, events = shop
    trends = chart == "line"
    bookmark = _bookmark(SHOP_STEPS, math, FROM, TO, window=3, chart=chart, unit="week" if trends else "day",
                         groups=groups)
    if order == "any":
        behavior = bookmark["sections"]["show"][0]["behavior"]
        behavior["funnelOrder"] = "any"
        for step in behavior["behaviors"]:
            step["funnelOrder"] = "any"
    got = _post(client, creds, bookmark)
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in SHOP_STEPS], FROM, TO, timezone="Europe/Berlin",
                               window=3 * 86_400_000, value_math=math, value_prop="price",
                               free=frozenset(range(3)) if order == "any" else frozenset(),
                               on='properties["$os"]' if groups else None, limit=10_000,
                               **({"unit": "week"} if trends else {"interval": (TO - FROM).days + 1}))

    def node(entry: Any) -> dict[str, Any]:
        if groups:
            return {segment: _as_metrics(steps, math) for segment, steps in entry.items()}
        return _as_metrics(entry["steps"], math)

    if trends:
        expected: Any = {key: node(entry) for key, entry in found["data"].items()}
        assert [key[:10] for key in got["series"]["View Item through Purchase"]] == list(expected)
        assert close(list(got["series"]["View Item through Purchase"].values()), list(expected.values()))
    else:
        expected = node(found["data"][FROM.isoformat()])
        assert close(got["series"]["View Item through Purchase"], expected)
    overall = expected if not trends else next(iter(expected.values()))
    values = (overall["$overall"] if groups else overall)[f"property_{math}"]
    assert values["3. Purchase"]["all"] not in (None, {})  # the data has purchases with prices


# --- through the client library ------------------------------------------------------------------------------------


@pytest.fixture
def ws(server: ServerProcess, hand: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[mp.Workspace]:
    creds, _ = hand
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


def test_through_the_client(ws: mp.Workspace, hand: Any, client: httpx.Client) -> None:
    """``query_funnel(math="median", math_property="price")``: the answer the endpoint gives, readable by
    ``FunnelQueryResult``."""
    creds, _ = hand
    options = {"math": "median", "math_property": "price", "from_date": DAY.isoformat(),
               "to_date": (DAY + timedelta(days=1)).isoformat(), "conversion_window": 1}
    result = ws.query_funnel(STEPS, **options)
    assert result.series == _post(client, creds, ws.build_funnel_params(STEPS, **options))["series"]
    assert result.series[NAME]["property_median"] == {"1. View Item": {"all": 7.5}, "2. Purchase": {"all": 30.0}}
    assert len(result.df) > 0
