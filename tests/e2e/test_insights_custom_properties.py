"""Inline custom properties in Insights event metrics (decision 0040) through the server: hand-made events with
answers worked out by hand (price × quantity, a channel classifier with ``ifs``, the domain of an email with
``split`` and ``regex_extract``, undefined inputs), the same through the client library's ``InlineCustomProperty``
in ``Workspace.query``, every position (filter, breakdown with and without ``customBucket``, measured property)
against the brute-force reference, and the refusals (saved custom properties, funnels, parse errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from mixhouse.client import InlineCustomProperty, PropertyInput
from mixhouse.expr.ast import Property
from mixhouse.expr.formula_parser import parse_formula
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.bucket_log import D1, D2, at
from tests.support.client_env import use_service_account
from tests.support.insights_http import close as _close
from tests.support.insights_http import post_insights as _post
from tests.support.reference_buckets import Buckets
from tests.support.reference_formula import with_custom_property
from tests.support.sending import import_all
from tests.support.server import ServerProcess

#: (user, day, hour, properties) of each Purchase.
PURCHASES: list[tuple[str, Any, int, dict[str, Any]]] = [
    ("u1", D1, 1, {"price": 10, "quantity": 2, "email": "Ann@Example.com", "utm_source": "Google",
                   "utm_medium": "CPC"}),
    ("u1", D1, 2, {"price": 2.5, "quantity": 4, "email": "ann@example.com", "utm_source": "google"}),
    ("u2", D1, 3, {"price": 100, "quantity": 1, "email": "bob@shop.io", "utm_source": "facebook"}),
    ("u2", D2, 4, {"price": 7, "email": "bob@shop.io", "$referring_domain": "news.site", "utm_medium": "email"}),
    ("u3", D2, 5, {"price": "12", "quantity": 3, "email": "no-at-sign"}),
    ("u3", D2, 6, {"quantity": 5, "$referring_domain": "partner.org"}),
    ("u4", D2, 7, {"price": 40, "quantity": 0.5, "utm_source": "Bing", "utm_medium": "organic"}),
]

CHANNELS = """// the web app's classifier, shortened
LET(search, ["google", "bing", "yahoo"],
LET(social, ["facebook", "twitter"],
IFS(
  _A IN search AND _C IN ["cpc", "ppc"], "Paid search",
  _A IN search, "Organic search",
  _A IN social, "Social",
  _C = "email", "Email",
  NOT _B = "" AND DEFINED(_B), "Referral",
  TRUE, "Direct"
)))"""


def _inputs(**names: str) -> dict[str, Any]:
    return {letter: {"resourceType": "event", "type": "string", "value": name} for letter, name in names.items()}


def _custom(formula: str, inputs: dict[str, Any], kind: str = "string") -> dict[str, Any]:
    """The ``customProperty`` object the client library writes."""
    return {"composedProperties": inputs, "description": "", "displayFormula": formula, "name": "",
            "propertyType": kind, "resourceType": "events"}


def _metric(event: str = "Purchase", math_: str = "total", prop: dict[str, Any] | None = None,
            filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    measurement: dict[str, Any] = {"math": math_}
    if prop is not None:
        measurement["property"] = {"customProperty": prop, "dataGroupId": None, "dataset": "$mixpanel", "name": "",
                                   "resourceType": "events"}
    return {"type": "metric", "behavior": {"type": "event", "name": event, "resourceType": "events",
                                           "filtersDeterminer": "all", "filters": filters or []},
            "measurement": measurement}


def _group(prop: dict[str, Any], bucket: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"customProperty": prop, "dataGroupId": None, "dataset": "$mixpanel", "isHidden": False,
                             "propertyType": prop["propertyType"], "resourceType": "events", "value": None}
    if bucket is not None:
        entry["customBucket"] = bucket
    return entry


def _filter(prop: dict[str, Any], operator: str, value: Any, kind: str = "number") -> dict[str, Any]:
    return {"customProperty": prop, "dataset": "$mixpanel", "resourceType": "events", "filterType": kind,
            "defaultType": kind, "filterOperator": operator, "filterValue": value}


def _params(show: list[dict[str, Any]], groups: list[dict[str, Any]] | None = None,
            filters: list[dict[str, Any]] | None = None, chart: str = "bar") -> dict[str, Any]:
    return {"displayOptions": {"chartType": chart, "analysis": "linear"},
            "sections": {"show": show, "filter": filters or [], "group": groups or [],
                         "time": [{"dateRangeType": "between", "unit": "day",
                                   "value": [D1.isoformat(), D2.isoformat()]}]}}


TOTAL = _custom("A * B", {"A": {"resourceType": "event", "type": "number", "value": "price"},
                          "B": {"resourceType": "event", "type": "number", "value": "quantity"}}, "number")


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "custom-properties")
    sent = [{"event": "Purchase", "properties": {"distinct_id": user, "time": at(day, hour), "$insert_id": f"p{n}",
                                                 **props}} for n, (user, day, hour, props) in enumerate(PURCHASES)]
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


def _reference(events: list[events_ref.Event], stored: dict[str, dict[str, Any]], **options: Any) -> Any:
    """The brute-force answer with each custom property of ``stored`` (name → ``customProperty``) kept on the
    events under its name."""
    for name, prop in stored.items():
        inputs = {k: Property(v["value"]) for k, v in prop["composedProperties"].items()}
        events = with_custom_property(events, parse_formula(prop["displayFormula"], inputs), name)
    return ref.insights(events, from_date=D1, to_date=D2, total=True, **options)


def test_price_times_quantity_is_summed_by_hand(shop: Any, client: httpx.Client) -> None:
    """20 + 10 + 100 + 20 (u4: 40 × 0.5); a missing input or a string price makes the product undefined."""
    creds, _ = shop
    got = _post(client, creds, _params([_metric(math_="sum", prop=TOTAL)]))
    assert got["series"] == {"Purchase": {"all": 150}}
    by_user = _post(client, creds, _params([_metric(math_="max", prop=TOTAL)], [_group(TOTAL)]))
    assert by_user["headers"] == ["$metric", "A * B"]
    assert by_user["series"]["Purchase"] == {"$overall": {"all": 100}, "10": {"all": 10}, "100": {"all": 100},
                                             "20": {"all": 20}, "undefined": {"all": 0}}


def test_channel_classifier_with_ifs(shop: Any, client: httpx.Client) -> None:
    """Comments, LET, IFS, case-insensitive IN and = (Google/CPC is paid search), DEFINED and NOT."""
    creds, _ = shop
    channels = _custom(CHANNELS, _inputs(_A="utm_source", _B="$referring_domain", _C="utm_medium"))
    got = _post(client, creds, _params([_metric(), _metric(math_="unique")], [_group(channels)]))
    assert got["series"]["Purchase [total]"] == {
        "$overall": {"all": 7}, "Direct": {"all": 1}, "Email": {"all": 1}, "Organic search": {"all": 2},
        "Paid search": {"all": 1}, "Referral": {"all": 1}, "Social": {"all": 1}}
    assert got["series"]["Purchase [unique]"]["Organic search"] == {"all": 2}
    assert got["headers"] == ["$metric", CHANNELS]


def test_domain_from_email(shop: Any, client: httpx.Client) -> None:
    """``split`` by "@" (the whole text when there is no "@"), ``regex_extract`` of a group and ``lower``; events
    without an email have no value and count under "undefined"."""
    creds, _ = shop
    by_split = _custom('lower(split(A, "@", 2))', _inputs(A="email"))
    got = _post(client, creds, _params([_metric()], [_group(by_split)]))
    assert got["series"]["Purchase"] == {"$overall": {"all": 7}, "example.com": {"all": 2}, "no-at-sign": {"all": 1},
                                         "shop.io": {"all": 2}, "undefined": {"all": 2}}
    by_regex = _custom('regex_extract(A, "@([a-z]+)[.]", 1)', _inputs(A="email"))
    got = _post(client, creds, _params([_metric(math_="unique")], [_group(by_regex)]))
    assert got["series"]["Purchase"] == {"$overall": {"all": 4}, "Example": {"all": 1}, "example": {"all": 1},
                                         "shop": {"all": 1}, "undefined": {"all": 2}}


def test_filters_on_a_custom_property(shop: Any, client: httpx.Client) -> None:
    """A global filter (number) and a metric filter (string equals, is set) over custom properties."""
    creds, _ = shop
    domain = _custom('split(A, "@", 2)', _inputs(A="email"))
    got = _post(client, creds, _params([_metric(filters=[_filter(domain, "equals", ["shop.io"], "string")]),
                                        _metric(math_="unique", filters=[_filter(TOTAL, "is set", None)])],
                                       filters=[_filter(TOTAL, "is greater than", 15)]))
    assert got["series"] == {"Purchase [total]": {"all": 1}, "Purchase [unique]": {"all": 3}}


@pytest.mark.parametrize("math_", ["total", "unique", "sum", "average", "median", "p90", "max"])
def test_positions_against_reference(shop: Any, client: httpx.Client, math_: str) -> None:
    """Measured, bucketed breakdown and filtered by custom properties at once, for each kind of math."""
    creds, events = shop
    qty_class = _custom('ifs(B >= 3, "many", B >= 1, "some", true, "few")', {"B": TOTAL["composedProperties"]["B"]})
    params = _params([_metric(math_=math_, prop=TOTAL if math_ not in ("total", "unique") else None)],
                     [_group(TOTAL, {"bucketSize": 25, "min": 0, "max": 100}), _group(qty_class)],
                     [_filter(TOTAL, "is set", None)])
    got = _post(client, creds, params)
    measured = "$total" if math_ not in ("total", "unique") else None
    expected = _reference(events, {"$total": TOTAL, "$class": qty_class},
                          metrics=[ref.Metric("Purchase", math_, measured)], where='defined(properties["$total"])',
                          groups=["$total", "$class"], group_buckets={"$total": Buckets(25, 0, 100)})
    assert got["headers"] == ["$metric", "A * B", qty_class["displayFormula"]]
    assert _close(got["series"], expected["series"]), (got["series"], expected["series"])
    assert set(got["series"]["Purchase"]) == {"$overall", "0 - 25", "100+"}


def test_client_inline_custom_property_end_to_end(server: ServerProcess, shop: Any, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """``InlineCustomProperty`` as ``math_property``, in ``GroupBy`` and in a ``Filter``, via ``Workspace.query``."""
    creds, _ = shop
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    total = InlineCustomProperty("A * B", {"A": PropertyInput("price", "number"),
                                           "B": PropertyInput("quantity", "number")}, property_type="number")
    domain = InlineCustomProperty('split(A, "@", 2)', {"A": PropertyInput("email")})
    with mp.Workspace() as ws:
        result = ws.query("Purchase", math="sum", math_property=total, group_by=mp.GroupBy(domain), mode="total",
                          where=mp.Filter.greater_than(total, 15), from_date=D1.isoformat(), to_date=D2.isoformat())
    assert result.series == {"Purchase": {"$overall": {"all": 140}, "Example.com": {"all": 20},
                                          "shop.io": {"all": 100}, "undefined": {"all": 20}}}


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: p["sections"]["show"][0]["measurement"].update(property={"customPropertyId": 7654321, "name": ""}),
     "no custom property with id 7654321"),
    (lambda p: p["sections"]["group"].append(_group(_custom("A +", _inputs(A="price"))),),
     "at position 3"),
    (lambda p: p["sections"]["group"].append(_group(_custom("map(X, A, X)", _inputs(A="price")))),
     "function 'map' is not supported"),
    (lambda p: p["sections"]["group"].append(_group(_custom("frobnicate(A)", _inputs(A="price")))),
     "unknown function 'frobnicate'"),
    (lambda p: p["sections"]["group"].append(_group(_custom("A", {"A": {"value": "plan", "resourceType": "user"}}))),
     "only event properties"),
    (lambda p: p["sections"]["group"].append(_group(_custom("B", _inputs(A="price")))), "unknown name 'B'"),
    (lambda p: p["sections"]["group"].append(_group(_custom('datedif(A, A, "MD")', _inputs(A="price")))),
     "datedif unit 'MD'"),
])
def test_refusals(shop: Any, client: httpx.Client, change: Any, message: str) -> None:
    creds, _ = shop
    params = _params([_metric(math_="sum", prop=TOTAL)])
    change(params)
    answer = _post(client, creds, params, status=400)
    assert message in str(answer), answer


def test_saved_custom_property_by_id(server: ServerProcess, shop: Any, client: httpx.Client) -> None:
    """A ``customPropertyId`` saved through the App API answers exactly what the same property inline answers, in
    every position; another project's id is unknown here."""
    creds, _ = shop
    body = {"name": "Total", "resourceType": "events", "displayFormula": TOTAL["displayFormula"],
            "composedProperties": TOTAL["composedProperties"]}
    created = client.post(f"/api/app/projects/{creds.project_id}/custom_properties/", json=body,
                          auth=(creds.sa_username, creds.sa_secret))
    assert created.status_code == 200, created.text
    saved = {"customPropertyId": created.json()["results"]["customPropertyId"]}
    by_id = _params([_metric(math_="sum", prop=TOTAL)], [_group(TOTAL)])
    by_id["sections"]["show"][0]["measurement"]["property"] = {**saved, "dataset": "$mixpanel", "name": "",
                                                               "resourceType": "events"}
    by_id["sections"]["group"][0] = {**saved, "dataset": "$mixpanel", "propertyType": "number",
                                     "resourceType": "events", "value": None}
    got = _post(client, creds, by_id)
    inline = _post(client, creds, _params([_metric(math_="sum", prop=TOTAL)], [_group(TOTAL)]))
    assert got["series"] == inline["series"]
    assert got["headers"] == ["$metric", "Total"]  # a saved property is named by its name
    other = make_project(server.data_dir, "custom-properties-other")
    assert "no custom property with id" in str(_post(client, other, by_id, status=400))
    # saved as a report through the App API (the params keep the id) and run by bookmark_id
    auth = (creds.sa_username, creds.sa_secret)
    report = client.post(f"/api/app/projects/{creds.project_id}/bookmarks", auth=auth,
                         json={"name": "Totals", "type": "insights", "params": by_id})
    assert report.status_code == 200, report.text
    assert report.json()["results"]["params"] == by_id
    ran = client.get("/api/query/insights", params={"project_id": creds.project_id,
                                                    "bookmark_id": report.json()["results"]["id"]}, auth=auth)
    assert ran.status_code == 200, ran.text
    assert ran.json()["series"] == inline["series"]
    refused = client.post(f"/api/app/projects/{other.project_id}/bookmarks", auth=(other.sa_username, other.sa_secret),
                          json={"name": "Totals", "type": "insights", "params": by_id})
    assert refused.status_code == 400 and "no custom property with id" in refused.text
