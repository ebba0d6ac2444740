"""``/insights`` maths of decision 0030 (``unique_values``, ``most_frequent``, ``first_value``, ``histogram``,
``numeric_summary``, per-user ``unique_values``) and frequency breakdowns: hand-made events with answers worked out
by hand, generated data against the brute-force reference, the client library's ``.df``, and refusals."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from mixhouse.demo.generator import DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.client_env import use_service_account
from tests.support.insights_http import close as _close
from tests.support.insights_http import post_insights as _post
from tests.support.reference_insights_values import FrequencyGroup
from tests.support.sending import import_all, import_demo
from tests.support.server import ServerProcess

TODAY = datetime.now(UTC).date()
D1, D2 = TODAY - timedelta(days=10), TODAY - timedelta(days=9)


def _metric(event: str, math_: str = "total", prop: str | None = None, per_user: str | None = None,
            hidden: bool = False, attribution: dict[str, Any] | None = None) -> dict[str, Any]:
    measurement: dict[str, Any] = {"math": math_}
    if attribution is not None:
        measurement["multiAttribution"] = attribution
    if per_user is not None:
        measurement["perUserAggregation"] = per_user
    if prop is not None:
        measurement["property"] = {"name": prop, "resourceType": "events"}
    behavior = {"type": "event", "name": event, "resourceType": "events", "filters": [], "filtersDeterminer": "all"}
    return {"type": "metric", "behavior": behavior, "measurement": measurement, "isHidden": hidden}


def _by_frequency(event: str, bucket: dict[str, Any] | None = None, label: str | None = None,
                  last_days: int | None = None) -> dict[str, Any]:
    """A frequency breakdown as the client library's ``FrequencyBreakdown`` writes it (wire vectors)."""
    window = None if last_days is None else {"type": "in the last", "unit": "day",
                                             "window": {"unit": "day", "value": last_days}}
    entry: dict[str, Any] = {
        "behavior": {"aggregationOperator": "total", "behaviorType": "$frequency", "dateRange": window,
                     "event": {"label": event, "value": event}, "filters": [], "filtersOperator": "and"},
        "dataGroupId": None, "dataset": "$mixpanel", "propertyType": "number", "resourceType": "people",
        "value": label or f"{event} Frequency"}
    if bucket is not None:
        entry["customBucket"] = bucket
    return entry


def _params(show: list[dict[str, Any]], from_date: date, to_date: date, *, chart: str = "line",
            groups: list[Any] | None = None, unit: str = "day", analysis: str = "linear") -> dict[str, Any]:
    return {"displayOptions": {"chartType": chart, "analysis": analysis},
            "sections": {"show": show, "filter": [],
                         "time": [{"dateRangeType": "between", "unit": unit,
                                   "value": [from_date.isoformat(), to_date.isoformat()]}],
                         "group": [g if isinstance(g, dict) else {"value": g, "resourceType": "events",
                                                                  "propertyType": "string"} for g in groups or []]}}


def _at(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp() * 1000)


HAND_LOG: list[tuple[str, str, int, dict[str, Any]]] = [
    ("u1", "Play", _at(D1, 10), {"song": "a", "secs": 10}),
    ("u1", "Play", _at(D1, 11), {"song": "b", "secs": 20}),
    ("u1", "Play", _at(D1, 12), {"song": "a", "secs": 30}),
    ("u2", "Play", _at(D1, 9), {"song": "b", "secs": 5}),
    ("u2", "Play", _at(D1, 13), {"song": ["c", "b"], "secs": "x"}),  # a list: two values; no number
    ("u1", "Buy", _at(D1, 10, 30), {}), ("u1", "Buy", _at(D1, 10, 40), {}), ("u3", "Buy", _at(D1, 8), {}),
    ("u2", "Play", _at(D2, 8), {"song": "c", "secs": 7}),
    ("u3", "Play", _at(D2, 9), {"song": "a", "secs": 1}),
    ("u2", "Buy", _at(D2, 9, 30), {}),
]


@pytest.fixture(scope="module")
def hand(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-maths-hand")
    sent = [{"event": name, "properties": {"distinct_id": user, "time": ms, "$insert_id": f"h{n}", **props}}
            for n, (user, name, ms, props) in enumerate(HAND_LOG)]
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


def _day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+00:00"


def test_value_maths_on_hand_made_events(hand: Any, client: httpx.Client) -> None:
    creds, events = hand
    show = [_metric("Play", "unique_values", "song"), _metric("Play", "most_frequent", "song"),
            _metric("Play", "first_value", "song"), _metric("Play", "histogram", "secs"),
            _metric("Play", "numeric_summary", "secs")]
    got = _post(client, creds, _params(show, D1, D2))["series"]
    assert got["Play [unique_values]"] == {_day(D1): 3, _day(D2): 2}
    assert got["Play [most_frequent]"] == {_day(D1): "b", _day(D2): "a"}  # b: 3 events; a tie goes to the smaller
    assert got["Play [first_value]"] == {_day(D1): "b", _day(D2): "c"}
    assert got["Play [histogram]"] == {_day(D1): {"5": 1, "10": 1, "20": 1, "30": 1}, _day(D2): {"1": 1, "7": 1}}
    summary = got["Play [numeric_summary]"][_day(D1)]
    assert {k: summary[k] for k in ("count", "sum", "sum_squares", "avg")} == {
        "count": 4, "sum": 65, "sum_squares": 1425, "avg": 16.25}
    assert math.isclose(summary["stddev"], math.sqrt(1425 / 4 - 16.25**2))
    expected = ref.insights(events, [ref.Metric("Play", m["measurement"]["math"], m["measurement"]["property"]["name"])
                                     for m in show], D1, D2)
    assert _close(got, expected["series"])


def test_per_user_maths_on_hand_made_events(hand: Any, client: httpx.Client) -> None:
    creds, events = hand
    show = [_metric("Play", "histogram", per_user="total"), _metric("Play", "average", "song", "unique_values"),
            _metric("Play", "numeric_summary", "secs", "total")]
    got = _post(client, creds, _params(show, D1, D2, chart="bar"))["series"]
    assert got["Play [histogram]"] == {"all": {"1": 1, "3": 2}}
    assert got["Play [average]"] == {"all": (2 + 2 + 1) / 3}  # u1 {a, b}, u2 {b, c}, u3 {a}
    assert got["Play [numeric_summary]"]["all"]["sum"] == 73 and got["Play [numeric_summary]"]["all"]["count"] == 3
    metrics = [ref.Metric("Play", "histogram", per_user="total"), ref.Metric("Play", "average", "song",
                                                                              per_user="unique_values"),
               ref.Metric("Play", "numeric_summary", "secs", per_user="total")]
    assert _close(got, ref.insights(events, metrics, D1, D2, total=True)["series"])


def test_frequency_breakdowns_on_hand_made_events(hand: Any, client: httpx.Client) -> None:
    """Per interval on a line chart (a user's Buys that day), over the whole range on a total chart."""
    creds, events = hand
    line = _post(client, creds, _params([_metric("Play")], D1, D2, groups=[_by_frequency("Buy")]))
    assert line["headers"] == ["$metric", "Buy Frequency"]
    assert line["series"]["Play"] == {"$overall": {_day(D1): 5, _day(D2): 2}, "0": {_day(D1): 2, _day(D2): 1},
                                      "1": {_day(D1): 0, _day(D2): 1}, "2": {_day(D1): 3, _day(D2): 0}}
    total = _post(client, creds, _params([_metric("Play"), _metric("Play", "unique")], D1, D2, chart="bar",
                                         groups=[_by_frequency("Buy", label="Buys")]))
    assert total["headers"] == ["$metric", "Buys"]
    assert total["series"]["Play [total]"] == {"$overall": {"all": 7}, "1": {"all": 4}, "2": {"all": 3}}
    assert total["series"]["Play [unique]"] == {"$overall": {"all": 3}, "1": {"all": 2}, "2": {"all": 1}}
    bucketed = _post(client, creds, _params([_metric("Play")], D1, D2, groups=[
        _by_frequency("Buy", {"bucketSize": 1, "min": 1, "max": 2, "disabled": False})]))
    assert bucketed["series"]["Play"] == {"$overall": {_day(D1): 5, _day(D2): 2}, "1": {_day(D1): 0, _day(D2): 1},
                                          "2+": {_day(D1): 3, _day(D2): 0}, "< 1": {_day(D1): 2, _day(D2): 1}}
    groups = {"Buy Frequency": FrequencyGroup("Buy", size=1, low=1, high=2)}
    assert _close(bucketed["series"], ref.insights(events, [ref.Metric("Play")], D1, D2, groups=["Buy Frequency"],
                                                   frequency_groups=groups)["series"])


JOURNEYS: list[tuple[str, str, int, dict[str, Any]]] = [
    ("u1", "Visit", _at(D1 - timedelta(days=5), 10), {"utm": "facebook"}),
    ("u1", "Visit", _at(D1 - timedelta(days=1), 10), {"utm": "google"}),
    ("u1", "Order", _at(D1, 12), {}),
    ("u2", "Visit", _at(D1, 14), {"utm": "google"}),
    ("u2", "Order", _at(D1, 15), {"utm": "twitter"}),  # the conversion's own value is its last touchpoint
    ("u3", "Order", _at(D2, 9), {}),  # no touchpoint: direct
]


@pytest.fixture(scope="module")
def journeys(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-attribution")
    sent = [{"event": name, "properties": {"distinct_id": user, "time": ms, "$insert_id": f"j{n}", **props}}
            for n, (user, name, ms, props) in enumerate(JOURNEYS)]
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


@pytest.mark.parametrize(("model", "window", "want"), [
    (None, None, {"google": 1, "twitter": 1, "$direct": 1}),  # last touch, 30 days by default
    ("first_touch", None, {"facebook": 1, "google": 1, "$direct": 1}),
    ("first_touch", {"unit": "day", "value": 3}, {"google": 2, "$direct": 1}),  # facebook is 5 days back
    ("u_shaped", None, {"facebook": 0.5, "google": 1.0, "twitter": 0.5, "$direct": 1}),
    ("j_shaped", {"unit": "week", "value": 1}, {"facebook": 0.25, "google": 1.0, "twitter": 0.75, "$direct": 1}),
    ("participation", None, {"facebook": 1, "google": 2, "twitter": 1, "$direct": 1}),
    ("linear", None, {"facebook": 0.5, "google": 1.0, "twitter": 0.5, "$direct": 1}),
])
def test_attribution_models_on_hand_made_journeys(journeys: Any, client: httpx.Client, model: str | None,
                                                  window: dict[str, Any] | None, want: dict[str, float]) -> None:
    creds, events = journeys
    spec = {key: value for key, value in (("model", model), ("lookbackWindow", window)) if value is not None}
    got = _post(client, creds, _params([_metric("Order", "multi_attribution", "utm", attribution=spec)], D1, D2,
                                       chart="bar"))["series"]
    assert _close(got, {"Order": {"all": want}})
    days = (window or {"value": 30})["value"] * (7 if (window or {}).get("unit") == "week" else 1)
    metric = ref.Metric("Order", "multi_attribution", "utm", attribution=(model or "last_touch", days * 86_400_000))
    assert _close(got, ref.insights(events, [metric], D1, D2, total=True)["series"])


def test_time_decay_attribution_by_day(journeys: Any, client: httpx.Client) -> None:
    creds, _ = journeys
    got = _post(client, creds, _params([_metric("Order", "multi_attribution", "utm", attribution={
        "model": "time_decay"})], D1, D2))["series"]["Order"]
    old, recent = 0.5 ** ((5 * 24 + 2) / (7 * 24)), 0.5 ** ((24 + 2) / (7 * 24))  # u1's touchpoints, 5 and 1 days back
    u2_google, u2_twitter = 0.5 ** (1 / (7 * 24)), 1.0
    assert _close(got, {_day(D1): {"facebook": old / (old + recent),
                                   "google": recent / (old + recent) + u2_google / (u2_google + u2_twitter),
                                   "twitter": u2_twitter / (u2_google + u2_twitter)},
                        _day(D2): {"$direct": 1}})


# ------------------------------------------------------------------------------------------ generated data

END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
TZ = "Europe/Berlin"
FROM, TO = (END - timedelta(days=12)).date(), (END - timedelta(days=1)).date()


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-maths", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=30, events=2500, end=END, days=13))
    return creds, events_ref.load(sent)


CASES = [
    pytest.param([("View Item", "unique_values", "$city", None), ("View Item", "most_frequent", "tags", None),
                  ("View Item", "first_value", "$browser", None)], {"groups": ["$os"]}, id="values-by-os"),
    pytest.param([("View Item", "histogram", "price", None), ("Purchase", "numeric_summary", "price", None)],
                 {"unit": "week"}, id="distributions-weekly"),
    pytest.param([("View Item", "histogram", None, "total"), ("View Item", "histogram", "tags", "unique_values"),
                  ("View Item", "histogram", "price", "max"), ("View Item", "numeric_summary", "price", "total"),
                  ("View Item", "median", "item_id", "unique_values")],
                 {"chart": "bar", "groups": ["$browser"]}, id="per-user-distributions-total"),
    pytest.param([("View Item", "total", None, None), ("Purchase", "unique", None, None)],
                 {"groups": [_by_frequency("Add To Cart")]}, id="frequency-per-day"),
    pytest.param([("View Item", "most_frequent", "item_category", None)],
                 {"chart": "bar", "groups": ["$os", _by_frequency("Purchase", {"bucketSize": 2, "min": 1, "max": 5})]},
                 id="frequency-buckets-total-second-level"),
    pytest.param([("View Item", "unique", None, None)],
                 {"unit": "week", "groups": [_by_frequency("Purchase", last_days=400)]}, id="frequency-own-window"),
    pytest.param([("Purchase", "multi_attribution", "utm_source", None)], {"chart": "bar", "groups": ["$os"]},
                 id="attribution-last-touch-by-os"),
    pytest.param([("Purchase", "multi_attribution", "utm_source", None)], {"unit": "week",
                                                                           "attribution": ("u_shaped", 10)},
                 id="attribution-u-shaped-weekly"),
    pytest.param([("View Item", "wau", None, None), ("View Item", "dau", None, None)],
                 {"groups": [_by_frequency("View Item", {"bucketSize": 3, "min": 0})]}, id="frequency-active-users"),
]


def _expected_groups(groups: list[Any]) -> tuple[list[str], dict[str, FrequencyGroup]]:
    names: list[str] = []
    frequency: dict[str, FrequencyGroup] = {}
    for g in groups:
        if isinstance(g, str):
            names.append(g)
            continue
        names.append(g["value"])
        bucket = g.get("customBucket")
        window = g["behavior"]["dateRange"]
        dates = None if window is None else (END.date() - timedelta(days=window["window"]["value"] - 1), END.date())
        frequency[g["value"]] = FrequencyGroup(g["behavior"]["event"]["value"], dates=dates,
                                               size=bucket["bucketSize"] if bucket else None,
                                               low=bucket["min"] if bucket else 0,
                                               high=bucket.get("max") if bucket else None)
    return names, frequency


@pytest.mark.parametrize(("metrics", "options"), CASES)
def test_matches_reference(shop: Any, client: httpx.Client, metrics: list[tuple[Any, ...]],
                           options: dict[str, Any]) -> None:
    creds, events = shop
    options = dict(options)
    model, days = options.pop("attribution", ("last_touch", 30))
    spec = {"model": model, "lookbackWindow": {"unit": "day", "value": days}}
    show = [_metric(event, math_, prop, per_user, attribution=spec if math_ == "multi_attribution" else None)
            for event, math_, prop, per_user in metrics]
    got = _post(client, creds, _params(show, FROM, TO, **options))
    names, frequency = _expected_groups(options.get("groups", []))
    model_of = (model, days * 86_400_000)
    expected = ref.insights(events, [ref.Metric(event, math_, prop, per_user=per_user,
                                                attribution=model_of if math_ == "multi_attribution" else None)
                                     for event, math_, prop, per_user in metrics], FROM, TO, timezone=TZ,
                            unit=options.get("unit", "day"), total=options.get("chart") == "bar", groups=names,
                            frequency_groups=frequency)
    assert got["headers"] == expected["headers"]
    assert _close(got["series"], expected["series"]), (got["series"], expected["series"])
    assert any(value not in (None, 0, {}) for node in got["series"].values() for value in _leaves(node))


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict) and node and all(isinstance(v, dict) for v in node.values()):
        return [leaf for child in node.values() for leaf in _leaves(child)]
    return list(node.values()) if isinstance(node, dict) else [node]


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("bookmark", "fragment"), [
    (_params([_metric("Play", "multi_attribution", "utm_source", attribution={"model": "custom"})], D1, D2),
     "attribution model 'custom'"),
    (_params([_metric("Play", "multi_attribution", "utm_source", attribution={
        "lookbackWindow": {"unit": "month", "value": 1}})], D1, D2), "day or week"),
    (_params([_metric("Play", "multi_attribution")], D1, D2), "needs measurement.property"),
    (_params([_metric("Play", "most_frequent")], D1, D2), "needs measurement.property"),
    (_params([_metric("Play", "first_value", "song", "total")], D1, D2), "cannot follow a per-user"),
    (_params([_metric("Play", "total", per_user="session_replay_id_value")], D1, D2), "not supported yet"),
    (_params([_metric("Play", "histogram", "secs")], D1, D2, analysis="cumulative"), "one number per bucket"),
    ({**_params([_metric("Play", "most_frequent", "song", hidden=True), _metric("Play", hidden=True),
                 {"type": "formula", "definition": "A / B", "name": "x"}], D1, D2)}, "uses metric A"),
    (_params([_metric("Play")], D1, D2, groups=[_by_frequency("Buy", {"bucketSize": 0})]), "bucketSize"),
    (_params([_metric("Play")], D1, D2, groups=[_by_frequency("Buy", {"bucketSize": 1, "min": 4, "max": 2})]),
     "above its min"),
])
def test_refusals_name_the_option(hand: Any, client: httpx.Client, bookmark: dict[str, Any], fragment: str) -> None:
    creds, _ = hand
    assert fragment in _post(client, creds, bookmark, 400)["error"]


def test_time_comparison_of_a_histogram_is_400(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    bookmark = _params([_metric("Play", "histogram", "secs")], D1, D2)
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "week"}
    assert "time comparison" in _post(client, creds, bookmark, 400)["error"]


# ------------------------------------------------------------------------------------------ the client library


def test_client_reads_the_new_shapes(server: ServerProcess, hand: Any, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    creds, events = hand
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    with mp.Workspace() as ws:
        common = {"from_date": D1.isoformat(), "to_date": D2.isoformat()}
        most = ws.query("Play", math="most_frequent", math_property="song", **common)
        assert list(most.df["value"]) == ["b", "a"]
        # the client wants a property and a per-user aggregation for a histogram, as the recorded client does
        spread = ws.query("Play", math="histogram", math_property="secs", per_user="total", mode="total", **common)
        counts = ref.insights(events, [ref.Metric("Play", "histogram", "secs", per_user="total")], D1, D2,
                              total=True)["series"]["Play"]["all"]
        assert counts and spread.series == {"Play": {"all": counts}}
        assert list(spread.df["value"]) == [counts]
        summary = ws.query("Play", math="numeric_summary", math_property="secs", **common)
        assert [row["count"] for row in summary.df["value"]] == [4, 2]
        distinct = ws.query("Play", math="average", math_property="song", per_user="unique_values", **common)
        assert list(distinct.df["value"]) == [2.0, 1.0]
        credited = ws.query("Play", math="multi_attribution", math_property="song", mode="total", **common)
        # last touch: each play's own song, but u2's list ["c", "b"] ends on "c" (same time, values in order)
        assert list(credited.df["value"]) == [{"a": 3.0, "b": 2.0, "c": 2.0}]
        by_buys = ws.run_params(_params([_metric("Play")], D1, D2, groups=[_by_frequency("Buy")]))
        frame = by_buys.df
        assert set(frame["key"]) == {"$overall", "0", "1", "2"}
        assert by_buys.series["Play"]["2"][_day(D1)] == 3
