"""Numeric property breakdowns in ``customBucket`` ranges (decision 0039) through the server: Insights event
metrics and flow segments on hand-made events with answers worked out by hand, generated data against the
brute-force reference for every kind of math, the client library's ``GroupBy`` buckets end to end, and refusals
of bad buckets, on event, funnel and retention metrics (funnel and retention buckets:
``test_funnel_retention_buckets.py``)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import mixhouse as mp
from mixhouse.demo.generator import DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as flows_ref
from tests.support import reference_insights as ref
from tests.support.bucket_log import D1, D2, TODAY, pay_events
from tests.support.client_env import use_service_account
from tests.support.insights_http import close as _close
from tests.support.insights_http import post_insights as _post
from tests.support.reference_buckets import Buckets
from tests.support.sending import import_all, import_demo
from tests.support.server import ServerProcess


def _metric(event: str, math_: str = "total", prop: str | None = None, per_user: str | None = None) -> dict[str, Any]:
    measurement: dict[str, Any] = {"math": math_}
    if prop is not None:
        measurement["property"] = {"name": prop, "resourceType": "events"}
    if per_user is not None:
        measurement["perUserAggregation"] = per_user
    return {"type": "metric", "behavior": {"type": "event", "name": event, "resourceType": "events", "filters": []},
            "measurement": measurement}


def _group(name: str, bucket: dict[str, Any] | None = None, resource: str = "events") -> dict[str, Any]:
    """A breakdown as the client library's ``GroupBy(name, property_type="number", bucket_size=...)`` writes it."""
    entry: dict[str, Any] = {"value": name, "propertyName": name, "resourceType": resource, "propertyType": "number",
                             "propertyDefaultType": "number"}
    if bucket is not None:
        entry["customBucket"] = bucket
    return entry


def _params(show: list[dict[str, Any]], from_date: date, to_date: date, groups: list[dict[str, Any]], *,
            chart: str = "bar", unit: str = "day") -> dict[str, Any]:
    return {"displayOptions": {"chartType": chart, "analysis": "linear"},
            "sections": {"show": show, "filter": [], "group": groups,
                         "time": [{"dateRangeType": "between", "unit": unit,
                                   "value": [from_date.isoformat(), to_date.isoformat()]}]}}


#: Each user's ``age`` on their profile (u3 has none).
AGES = {"u1": 34, "u2": 40}


@pytest.fixture(scope="module")
def hand(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "breakdown-buckets-hand")
    sent = pay_events("b")
    import_all(client, creds, sent)
    updates = [{"$token": creds.token, "$distinct_id": user, "$set": {"age": age}} for user, age in AGES.items()]
    assert client.post("/engage", data={"data": base64.b64encode(orjson.dumps(updates)).decode()}).text == "1"
    return creds, events_ref.load(sent)


def test_hand_made_buckets_with_min_and_max(hand: Any, client: httpx.Client) -> None:
    """Size 5 from -5 to 20: edges start their bucket, -5 is in, 20 is out; a list counts once per bucket;
    text, booleans and missing values keep their segments; a numeric string is a number, as in the raw breakdown."""
    creds, events = hand
    bucket = {"bucketSize": 5, "min": -5, "max": 20}
    got = _post(client, creds, _params([_metric("Pay"), _metric("Pay", "unique")], D1, D2,
                                       [_group("amount", bucket)]))
    assert got["headers"] == ["$metric", "amount"]
    totals = {segment: node["all"] for segment, node in got["series"]["Pay [total]"].items()}
    assert totals == {"$overall": 16, "< -5": 1, "-5 - 0": 2, "0 - 5": 3, "5 - 10": 2, "10 - 15": 2, "15 - 20": 2,
                      "20+": 2, "abc": 1, "true": 1, "undefined": 1}
    users = {segment: node["all"] for segment, node in got["series"]["Pay [unique]"].items()}
    assert users == {"$overall": 3, "< -5": 1, "-5 - 0": 2, "0 - 5": 2, "5 - 10": 1, "10 - 15": 2, "15 - 20": 2,
                     "20+": 1, "abc": 1, "true": 1, "undefined": 1}
    expected = ref.insights(events, [ref.Metric("Pay"), ref.Metric("Pay", "unique")], D1, D2, total=True,
                            groups=["amount"], group_buckets={"amount": Buckets(5, -5, 20)})
    assert got["series"] == expected["series"]


def test_hand_made_buckets_without_bounds_and_with_fractions(hand: Any, client: httpx.Client) -> None:
    """No min or max: buckets of 10 anchored at 0, negatives below it; size 0.1: 0.3 starts its own bucket (not
    0.30000000000000004), the last bucket before max ends at max."""
    creds, events = hand
    got = _post(client, creds, _params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": 10})]))
    assert {segment: node["all"] for segment, node in got["series"]["Pay"].items()} == {
        "$overall": 16, "-10 - 0": 3, "0 - 10": 5, "10 - 20": 4, "20 - 30": 2, "abc": 1, "true": 1, "undefined": 1}
    fine = _post(client, creds, _params([_metric("Pay")], D1, D2,
                                        [_group("amount", {"bucketSize": 0.1, "min": 0, "max": 0.35})]))
    assert {segment: node["all"] for segment, node in fine["series"]["Pay"].items()} == {
        "$overall": 16, "< 0": 3, "0 - 0.1": 1, "0.3 - 0.35": 1, "0.35+": 8, "abc": 1, "true": 1, "undefined": 1}
    for spec, buckets in (({"bucketSize": 10}, Buckets(10)), ({"bucketSize": 0.1, "min": 0, "max": 0.35},
                                                            Buckets(0.1, 0, 0.35))):
        line = _post(client, creds, _params([_metric("Pay")], D1, D2, [_group("amount", spec)], chart="line"))
        assert line["series"] == ref.insights(events, [ref.Metric("Pay")], D1, D2, groups=["amount"],
                                              group_buckets={"amount": buckets})["series"]


def test_disabled_buckets_are_the_raw_breakdown(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    raw = _post(client, creds, _params([_metric("Pay")], D1, D2, [_group("amount")]))
    disabled = _post(client, creds, _params([_metric("Pay")], D1, D2, [
        _group("amount", {"bucketSize": 5, "min": 0, "max": 10, "disabled": True})]))
    assert disabled["series"] == raw["series"]
    assert {"9.99", "19.99", "0.3", "15", "abc"} <= set(raw["series"]["Pay"])


def test_profile_property_buckets_and_nested_breakdowns(hand: Any, client: httpx.Client) -> None:
    """A user profile property in buckets (u3 has no profile: undefined), then the events' amount in buckets."""
    creds, events = hand
    groups = [_group("age", {"bucketSize": 5, "min": 30, "max": 40}, "people"), _group("amount", {"bucketSize": 10})]
    got = _post(client, creds, _params([_metric("Pay", "unique")], D1, D2, groups, chart="line"))
    series = got["series"]["Pay"]
    assert {segment: sum(node["$overall"].values()) for segment, node in series.items() if segment != "$overall"} \
        == {"30 - 35": 2, "40+": 2, "undefined": 1}  # users per day: u1 and u2 on both days, u3 on D2
    expected = ref.insights(events, [ref.Metric("Pay", "unique")], D1, D2, groups=["age", "amount"],
                            profiles={user: {"age": age} for user, age in AGES.items()}, people_groups=["age"],
                            group_buckets={"age": Buckets(5, 30, 40), "amount": Buckets(10)})
    assert got["series"] == expected["series"]


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "breakdown-buckets-demo")
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sent = import_demo(client, creds, DemoConfig(seed=5, events=2500, end=end, days=12))
    return creds, events_ref.load(sent)


DEMO_FROM, DEMO_TO = TODAY - timedelta(days=11), TODAY - timedelta(days=1)
#: (math, property, per-user aggregation): every kind of Insights event metric
MATHS = [("total", None, None), ("unique", None, None), ("sum", "price", None), ("average", "price", None),
         ("median", "price", None), ("max", "price", None), ("average", "price", "total"), ("dau", None, None),
         ("cumulative_unique", None, None), ("sessions", None, None), ("unique_values", "item_category", None),
         ("most_frequent", "item_category", None), ("histogram", None, "total"), ("numeric_summary", "price", None)]


@pytest.mark.parametrize(("math_", "prop", "per_user"), MATHS, ids=[f"{m}-{u}" for m, _, u in MATHS])
def test_every_math_matches_reference(shop: Any, client: httpx.Client, math_: str, prop: str | None,
                                      per_user: str | None) -> None:
    creds, events = shop
    bucket, buckets = {"bucketSize": 25, "min": 10, "max": 160}, Buckets(25, 10, 160)
    chart = "line" if math_ in ("dau", "cumulative_unique") else "bar"
    got = _post(client, creds, _params([_metric("View Item", math_, prop, per_user)], DEMO_FROM, DEMO_TO,
                                       [_group("price", bucket)], chart=chart))
    expected = ref.insights(events, [ref.Metric("View Item", math_, prop, per_user=per_user)], DEMO_FROM, DEMO_TO,
                            total=chart == "bar", groups=["price"], group_buckets={"price": buckets})
    assert _close(got["series"], expected["series"]), (got["series"], expected["series"])
    segments = set(got["series"]["View Item"])
    assert {"< 10", "10 - 35", "160+"} <= segments and not any("." in s for s in segments), segments


def test_client_group_by_buckets_end_to_end(server: ServerProcess, shop: Any, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """``GroupBy("price", property_type="number", bucket_size=..., bucket_min=..., bucket_max=...)`` through
    ``Workspace.query`` and ``query_flow`` against the live server: the answers are the reference's."""
    creds, events = shop
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    by_price = mp.GroupBy("price", property_type="number", bucket_size=50, bucket_min=0, bucket_max=200)
    with mp.Workspace() as ws:
        result = ws.query("View Item", math="unique", group_by=by_price, mode="total",
                          from_date=DEMO_FROM.isoformat(), to_date=DEMO_TO.isoformat())
        expected = ref.insights(events, [ref.Metric("View Item", "unique")], DEMO_FROM, DEMO_TO, total=True,
                                groups=["price"], group_buckets={"price": Buckets(50, 0, 200)})
        assert result.series == expected["series"]
        assert set(result.df["key"]) >= {"$overall", "0 - 50", "50 - 100"}
        unbounded = ws.query("View Item", group_by=mp.GroupBy("price", property_type="number", bucket_size=100),
                             mode="total", from_date=DEMO_FROM.isoformat(), to_date=DEMO_TO.isoformat())
        assert set(unbounded.series["View Item"]) == {"$overall", *(f"{k * 100} - {k * 100 + 100}" for k in range(
            int(max(e.properties["price"] for e in events if e.name == "View Item") // 100) + 1))}
        flow = ws.query_flow("View Item", forward=1, segments=by_price, from_date=DEMO_FROM.isoformat(),
                             to_date=DEMO_TO.isoformat())
        labels = {b["segments"]["price"] for b in flow.breakdowns}
        assert {"0 - 50", "50 - 100"} <= labels <= {"0 - 50", "50 - 100", "100 - 150", "150 - 200", "200+"}
        assert sum(b["metadata"]["entries"] for b in flow.breakdowns) == flow.raw["metadata"]["entries"]


def _flow(segments: list[dict[str, Any]], from_date: date, to_date: date) -> dict[str, Any]:
    step = {"event": "Pay", "forward": 1, "reverse": 0, "bool_op": "and", "property_filter_params_list": []}
    return {"steps": [step], "conversion_window": {"unit": "day", "value": 1}, "count_type": "total",
            "cardinality_threshold": 5, "date_range": {"type": "between", "from_date": from_date.isoformat(),
                                                        "to_date": to_date.isoformat()}, "segments": segments}


def test_flow_segments_in_buckets(hand: Any, client: httpx.Client) -> None:
    """Every Pay starts a path (count_type total) and falls in its amount's bucket, as in Insights."""
    creds, events = hand
    params = _flow([_group("amount", {"bucketSize": 5, "min": -5, "max": 20})], D1, D2)
    response = client.post("/api/query/arb_funnels", json={"bookmark": params, "project_id": creds.project_id,
                                                           "query_type": "flows_sankey"},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    entries = {b["segments"]["amount"]: b["metadata"]["entries"] for b in response.json()["breakdowns"]}
    assert entries == {"< -5": 1, "-5 - 0": 2, "0 - 5": 3, "5 - 10": 2, "10 - 15": 2, "15 - 20": 2, "20+": 2,
                       "abc": 1, "true": 1, "undefined": 1}
    outcomes = flows_ref.flow_outcomes(events, [flows_ref.Anchor("Pay", 1)], D1, D2, window=86_400_000, totals=True,
                                       segments=[flows_ref.BucketedSegment("amount", Buckets(5, -5, 20))])
    by_label: dict[str, int] = {}
    for (_, _, keys), count in outcomes.items():
        for label in keys[0]:
            by_label[label] = by_label.get(label, 0) + count
    assert by_label == entries


def _funnel(groups: list[dict[str, Any]]) -> dict[str, Any]:
    behavior = {"type": "funnel", "behaviors": [{"type": "event", "name": "Pay", "filters": []},
                                                {"type": "event", "name": "Next", "filters": []}],
                "conversionWindowDuration": 1, "conversionWindowUnit": "day"}
    return {"displayOptions": {"chartType": "funnel-steps"},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "conversion_rate"}}],
                         "group": groups, "filter": [],
                         "time": [{"dateRangeType": "between", "unit": "day",
                                   "value": [D1.isoformat(), D2.isoformat()]}]}}


def _retention(groups: list[dict[str, Any]]) -> dict[str, Any]:
    behavior = {"type": "retention", "behaviors": [{"type": "event", "name": "Pay", "filters": []},
                                                   {"type": "event", "name": "Next", "filters": []}],
                "retentionUnit": "day"}
    return {**_funnel(groups), "sections": {**_funnel(groups)["sections"], "show": [
        {"type": "metric", "behavior": behavior, "measurement": {"math": "retention_rate"}}]}}


@pytest.mark.parametrize(("bookmark", "fragment"), [
    (_funnel([_group("amount", {"bucketSize": 0})]), "customBucket needs a bucketSize"),
    (_retention([_group("amount", {"bucketSize": 5, "min": 0, "max": -1})]), "customBucket's max must be above"),
    (_funnel([_group("age", {"bucketSize": 1e-12}, "people")]), "at most 9 digits"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": 0})]), "customBucket needs a bucketSize"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"min": 0, "max": 10})]), "customBucket needs a bucketSize"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": 5, "min": 10, "max": 10})]),
     "customBucket's max must be above its min"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": "5"})]), "bucketSize must be a number"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": 1e-12})]), "at most 9 digits"),
    (_params([_metric("Pay")], D1, D2, [_group("amount", {"bucketSize": 1, "disabled": "yes"})]), "disabled"),
])
def test_refusals_name_customBucket(hand: Any, client: httpx.Client, bookmark: dict[str, Any], fragment: str) -> None:
    creds, _ = hand
    assert fragment in _post(client, creds, bookmark, 400)["error"]


def test_funnels_and_retention_without_buckets_still_run(hand: Any, client: httpx.Client) -> None:
    """Raw values and disabled buckets answer as before."""
    creds, _ = hand
    for bookmark in (_funnel([_group("amount")]), _retention([_group("amount", {"bucketSize": 5, "disabled": True})])):
        _post(client, creds, bookmark, 200)
