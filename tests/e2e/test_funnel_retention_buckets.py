"""Numeric property breakdowns in ``customBucket`` ranges (decision 0039) on Insights funnel and retention metrics,
through the server: hand-made events with the segments worked out by hand (edges, below ``min``, at and above
``max``, text, booleans, lists and missing values), and the whole answer against the brute-force funnel and
retention references, which bucket with ``reference_buckets``; the client library's ``GroupBy`` buckets on
``query_funnel`` and ``query_retention`` end to end."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import mixhouse as mp
from tests.conftest import ProjectCreds, make_project
from tests.support import insights_funnel_layout as layout
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as funnels_ref
from tests.support import reference_retention as retention_ref
from tests.support.bucket_log import D1, D2, at, pay_events
from tests.support.client_env import use_service_account
from tests.support.insights_http import post_insights as _post
from tests.support.reference_buckets import Buckets
from tests.support.sending import import_all
from tests.support.server import ServerProcess

DAY_MS = 86_400_000


#: (user, amount) of each user's one Join, at midnight of D1 (before any Pay or Next).
JOINS: list[tuple[str, Any]] = [("u1", 15), ("u2", "abc"), ("u3", -7), ("u4", 30), ("u5", None), ("u6", 29.99),
                                ("u7", "25")]
#: Each user's ``age`` on their profile (the others have none).
AGES = {"u1": 34, "u2": 40, "u4": 35}


@pytest.fixture(scope="module")
def hand(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "funnel-retention-buckets")
    sent = pay_events("p")
    sent += [{"event": "Join", "properties": {"distinct_id": user, "time": at(D1, 0), "$insert_id": f"j{n}",
                                             **({} if amount is None else {"amount": amount})}}
             for n, (user, amount) in enumerate(JOINS)]
    import_all(client, creds, sent)
    updates = [{"$token": creds.token, "$distinct_id": user, "$set": {"age": age}} for user, age in AGES.items()]
    assert client.post("/engage", data={"data": base64.b64encode(orjson.dumps(updates)).decode()}).text == "1"
    return creds, events_ref.load(sent)


def _group(name: str, bucket: dict[str, Any] | None, resource: str = "events") -> dict[str, Any]:
    """A breakdown as the client library's ``GroupBy(name, property_type="number", bucket_size=...)`` writes it."""
    entry: dict[str, Any] = {"value": name, "propertyName": name, "resourceType": resource, "propertyType": "number"}
    if bucket is not None:
        entry["customBucket"] = bucket
    return entry


def _time() -> list[dict[str, Any]]:
    return [{"dateRangeType": "between", "unit": "day", "value": [D1.isoformat(), D2.isoformat()]}]


def _funnel(groups: list[dict[str, Any]], math_: str = "conversion_rate_total", chart: str = "funnel-steps",
            attribution: str | None = None) -> dict[str, Any]:
    behavior: dict[str, Any] = {"type": "funnel", "behaviors": [{"type": "event", "name": "Pay", "filters": []},
                                                                {"type": "event", "name": "Next", "filters": []}],
                                "conversionWindowDuration": 1, "conversionWindowUnit": "day"}
    if attribution is not None:
        behavior["propertyAttribution"] = attribution
    return {"displayOptions": {"chartType": chart},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": math_}}],
                         "group": groups, "filter": [], "time": _time()}}


def _retention(groups: list[dict[str, Any]]) -> dict[str, Any]:
    behavior = {"type": "retention", "behaviors": [{"type": "event", "name": "Join", "filters": []},
                                                   {"type": "event", "name": "Next", "filters": []}],
                "retentionUnit": "day"}
    return {"displayOptions": {"chartType": "retention-curve"},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "retention_rate"}}],
                         "group": groups, "filter": [], "time": _time()}}



def _funnel_reference(events: list[events_ref.Event], depth: int, trends: bool, **options: Any) -> dict[str, Any]:
    found = funnels_ref.funnel(events, [funnels_ref.Step("Pay"), funnels_ref.Step("Next")], D1, D2, window=DAY_MS,
                               **({} if trends else {"interval": 2}), limit=10_000,
                               profiles={user: {"age": age} for user, age in AGES.items()}, **options)
    per_key = {key: layout.nested(entry, depth) for key, entry in found["data"].items()}
    return {f"{key}T00:00:00+00:00": node for key, node in per_key.items()} if trends else \
        next(iter(per_key.values()))


def test_funnel_by_bucketed_amount_by_hand(hand: Any, client: httpx.Client) -> None:
    """Totals: every Pay enters and converts, in the bucket of its own amount (step 1 gives it): size 5 from -5 to
    20, edges start their bucket, -5 is in, 20 is out; a list attempt counts once per bucket; text, booleans and
    a missing amount (Next has none either: ``undefined``) keep their segments; ``"15"`` is a number."""
    creds, events = hand
    got = _post(client, creds, _funnel([_group("amount", {"bucketSize": 5, "min": -5, "max": 20})]))
    assert got["headers"] == ["$metric", "amount"]
    node = got["series"]["Pay through Next"]
    entered = {segment: metrics["count"]["1. Pay"]["all"] for segment, metrics in node.items()}
    assert entered == {"$overall": 16, "< -5": 1, "-5 - 0": 2, "0 - 5": 3, "5 - 10": 2, "10 - 15": 2, "15 - 20": 2,
                       "20+": 2, "abc": 1, "true": 1, "undefined": 1}
    assert all(metrics["count"]["2. Next"]["all"] == entered[segment] for segment, metrics in node.items())
    assert node == _funnel_reference(events, 1, False, totals=True, breakdowns=['properties["amount"]'],
                                     breakdown_buckets=[Buckets(5, -5, 20)])


def test_funnel_uniques_nested_profile_and_amount_buckets(hand: Any, client: httpx.Client) -> None:
    """Uniques by day, by the profile's age in buckets (u3 has no profile: ``undefined``; 40 is at max), then the
    attributed amount in buckets of 0.1 below 0.35 (0.3 starts its own bucket) — for each attribution."""
    creds, events = hand
    groups = [_group("age", {"bucketSize": 5, "min": 30, "max": 40}, "people"),
              _group("amount", {"bucketSize": 0.1, "min": 0, "max": 0.35})]
    for attribution, attributed in ((None, "first_defined"), ("last_defined", "last_defined"), (2, 1)):
        got = _post(client, creds, _funnel(groups, "conversion_rate_unique", "line", attribution))
        assert got["headers"] == ["$metric", "age", "amount"]
        node = got["series"]["Pay through Next"]
        assert node == _funnel_reference(events, 2, True, attribution=attributed,
                                         breakdowns=[funnels_ref.Profile("age"), 'properties["amount"]'],
                                         breakdown_buckets=[Buckets(5, 30, 40), Buckets(0.1, 0, 0.35)])
        ages = {segment for day in node.values() for segment in day if segment != "$overall"}
        assert ages == {"30 - 35", "40+", "undefined"}


def test_funnel_three_breakdowns_with_buckets_between_raw_ones(hand: Any, client: httpx.Client) -> None:
    """Raw amount, bucketed amount, raw age: only the middle level is bucketed."""
    creds, events = hand
    groups = [_group("amount", None), _group("amount", {"bucketSize": 10}), _group("age", None, "people")]
    got = _post(client, creds, _funnel(groups))
    node = got["series"]["Pay through Next"]
    assert node == _funnel_reference(events, 3, False, totals=True,
                                     breakdowns=['properties["amount"]', 'properties["amount"]',
                                                 funnels_ref.Profile("age")],
                                     breakdown_buckets=[None, Buckets(10), None])
    assert set(node["9.99"]) == {"$overall", "0 - 10"} and set(node["-10"]) == {"$overall", "-10 - 0"}


def _by_day(node: dict[str, Any]) -> dict[str, Any]:
    return {(key if key == "$average" else key[:10]): value for key, value in node.items()}


def _retention_node(found: dict[str, Any]) -> dict[str, Any]:
    """The Insights cohorts and ``$average`` the reference's ``/retention`` answer implies (past cohorts)."""
    def entry(first: int, values: list[int]) -> dict[str, Any]:
        return {"first": first, "counts": values, "rates": [round(v / first, 4) if first else 0 for v in values]}

    node = {day: entry(c["first"], c["counts"]) for day, c in found.items()}
    totals = [sum(values) for values in zip(*(c["counts"] for c in found.values()), strict=True)]
    node["$average"] = entry(sum(c["first"] for c in found.values()), totals)
    return node


RETENTION_CASES = [
    # the Join's amount: 15 on an edge, "25" a number, 29.99 in the bucket capped at max, 30 at max, -7 below min
    (_group("amount", {"bucketSize": 10, "min": -5, "max": 30}), {"on": 'properties["amount"]'}, Buckets(10, -5, 30),
     {"15 - 25": 1, "25 - 30": 2, "30+": 1, "< -5": 1, "abc": 1, "undefined": 1}),
    # the profile's age: 35 on min, 40 past max, 34 below min, users without a profile undefined
    (_group("age", {"bucketSize": 2.5, "min": 35, "max": 37.5}, "people"), {"people_on": "age"}, Buckets(2.5, 35, 37.5),
     {"< 35": 1, "35 - 37.5": 1, "37.5+": 1, "undefined": 4}),
]


@pytest.mark.parametrize(("group", "on", "buckets", "born"), RETENTION_CASES, ids=["event", "profile"])
def test_retention_by_bucketed_property(hand: Any, client: httpx.Client, group: dict[str, Any], on: dict[str, Any],
                                        buckets: Buckets, born: dict[str, int]) -> None:
    """Users in the bucket of their birth event's amount, or of their profile's age."""
    creds, events = hand
    got = _post(client, creds, _retention([group]))
    assert got["headers"] == ["$metric", group["value"]]
    node = got["series"]["Join and then Next"]
    assert {segment: found["$average"]["first"] for segment, found in node.items() if segment != "$overall"} == born
    options: dict[str, Any] = {"born_event": "Join", "event": "Next", "interval_count": 2,
                               "profiles": {user: {"age": age} for user, age in AGES.items()}}
    split = retention_ref.retention(events, D1, D2, limit=10_000, on_buckets=buckets, **on, **options)
    assert {segment: _by_day(found) for segment, found in node.items() if segment != "$overall"} == {
        segment: _retention_node(found) for segment, found in split.items()}
    assert _by_day(node["$overall"]) == _retention_node(retention_ref.retention(events, D1, D2, **options))


def test_client_group_by_buckets_on_funnels_and_retention(server: ServerProcess, hand: Any,
                                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``GroupBy("amount", property_type="number", bucket_size=..., bucket_min=..., bucket_max=...)`` through
    ``query_funnel`` and ``query_retention`` against the live server: the answers are the references'."""
    creds, events = hand
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    by_amount = mp.GroupBy("amount", property_type="number", bucket_size=5, bucket_min=-5, bucket_max=20)
    dates = {"from_date": D1.isoformat(), "to_date": D2.isoformat()}
    with mp.Workspace() as ws:
        funnel = ws.query_funnel(["Pay", "Next"], conversion_window=1, math="conversion_rate_total",
                                 group_by=by_amount, **dates)
        assert funnel.series["Pay through Next"] == _funnel_reference(
            events, 1, False, totals=True, breakdowns=['properties["amount"]'], breakdown_buckets=[Buckets(5, -5, 20)])
        retention = ws.query_retention("Join", "Next", retention_unit="day", group_by=by_amount, **dates)
    node = retention.series["Join and then Next"]
    split = retention_ref.retention(events, D1, D2, born_event="Join", event="Next", interval_count=2,
                                    on='properties["amount"]', on_buckets=Buckets(5, -5, 20), limit=10_000)
    assert {segment: _by_day(found) for segment, found in node.items() if segment != "$overall"} == {
        segment: _retention_node(found) for segment, found in split.items()}
    assert set(node) == {"$overall", "15 - 20", "20+", "< -5", "abc", "undefined"}
