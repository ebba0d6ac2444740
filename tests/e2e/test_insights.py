"""``/insights`` through the server: bookmark params (as the client library's typed queries send them) checked
against the brute-force reference on generated data, saved reports by ``bookmark_id``, and refusals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.insights_http import close as _close
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all, import_demo
from tests.support.server import ServerProcess

TZ = "Europe/Berlin"
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=20)).date(), (END - timedelta(days=1)).date()


def _metric(event: str, math_: str = "total", prop: str | None = None, filters: list[dict[str, Any]] | None = None,
            hidden: bool = False, per_user: str | None = None, percentile: float | None = None) -> dict[str, Any]:
    measurement: dict[str, Any] = {"math": math_, "perUserAggregation": per_user}
    if percentile is not None:
        measurement["percentile"] = percentile
    if prop is not None:
        measurement["property"] = {"name": prop, "resourceType": "events", "type": "number"}
    behavior = {"type": "event", "name": event, "resourceType": "events", "filters": filters or [],
                "filtersDeterminer": "all"}
    metric = {"type": "metric", "behavior": behavior, "measurement": measurement}
    return {**metric, "isHidden": True} if hidden else metric


def _params(show: list[dict[str, Any]], *, unit: str = "day", chart: str = "line", groups: tuple[str, ...] = (),
            filters: list[dict[str, Any]] | None = None, analysis: str = "linear",
            rolling: int | None = None) -> dict[str, Any]:
    display: dict[str, Any] = {"chartType": chart, "analysis": analysis}
    if rolling is not None:
        display["rollingWindowSize"] = rolling
    return {
        "displayOptions": display,
        "sections": {
            "show": show,
            "time": [{"dateRangeType": "between", "unit": unit, "value": [FROM.isoformat(), TO.isoformat()]}],
            "filter": filters or [],
            "group": [{"value": g, "resourceType": "events", "propertyType": "string"} for g in groups],
        },
    }


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=9, events=4000, end=END, days=21))
    return creds, events_ref.load(sent)


def _frequency(event: str, operator: str, value: Any, filters: list[dict[str, Any]] | None = None,
               last_days: int | None = None) -> dict[str, Any]:
    """A frequency filter as the client library's ``build_frequency_filter_entry`` writes it."""
    window = None if last_days is None else {"type": "in the last", "unit": "day",
                                             "window": {"unit": "day", "value": last_days}}
    return {"dataset": "$mixpanel", "resourceType": "people", "profileType": None, "search": "", "dataGroupId": None,
            "behavior": {"aggregationOperator": "total", "behaviorType": "$frequency", "dateRange": window,
                         "event": {"label": event, "value": event}, "filters": filters or [],
                         "filtersOperator": "and"},
            "filterType": "number", "defaultType": "number", "filterOperator": operator, "filterValue": value,
            "propertyObjectKey": None, "value": f"{event} Frequency"}


CASES = [
    pytest.param([_metric("View Item"), _metric("View Item", "unique")], {}, [ref.Metric("View Item"),
                 ref.Metric("View Item", "unique")], {}, id="total-and-unique-same-event"),
    pytest.param([_metric("View Item", "sum", "price"), _metric("View Item", "average", "price"),
                  _metric("View Item", "median", "price"), _metric("View Item", "p90", "price"),
                  _metric("View Item", "max", "price"), _metric("View Item", "min", "price")],
                 {"unit": "week"},
                 [ref.Metric("View Item", m, "price") for m in ("sum", "average", "median", "p90", "max", "min")],
                 {"unit": "week"}, id="property-maths-weekly"),
    pytest.param([_metric("Purchase", "unique")], {"groups": ["$browser"]}, [ref.Metric("Purchase", "unique")],
                 {"groups": ["$browser"]}, id="unique-by-browser"),
    pytest.param([_metric("View Item")], {"groups": ["mp_country_code", "tags"], "chart": "bar"},
                 [ref.Metric("View Item")], {"groups": ["mp_country_code", "tags"], "total": True},
                 id="two-breakdowns-list-fan-out-total"),
    pytest.param([_metric("Add To Cart", hidden=True), _metric("View Item", hidden=True),
                  {"type": "formula", "definition": "A / B * 100", "name": "cart rate"}],
                 {"groups": ["$os"]}, [ref.Metric("Add To Cart", hidden=True), ref.Metric("View Item", hidden=True)],
                 {"groups": ["$os"], "formulas": [("cart rate", "A / B * 100")]}, id="formula-by-os"),
    pytest.param([_metric("View Item", filters=[{"value": "price", "resourceType": "events",
                                                 "filterOperator": "is greater than", "filterType": "number",
                                                 "filterValue": 50}])],
                 {"filters": [{"value": "$os", "resourceType": "events", "filterOperator": "equals",
                               "filterType": "string", "filterValue": ["Windows", "Mac OS X"]}]},
                 [ref.Metric("View Item", where='properties["price"] > 50')],
                 {"where": 'properties["$os"] in ["Windows", "Mac OS X"]'}, id="metric-and-global-filters"),
    pytest.param([_metric("View Item", "median", "price"), _metric("View Item", "p25", "price")],
                 {"groups": ["$city"]},  # small cells: interpolation between neighbours matters
                 [ref.Metric("View Item", m, "price") for m in ("median", "p25")], {"groups": ["$city"]},
                 id="quantiles-by-city"),
    pytest.param([_metric("View Item", m) for m in ("dau", "wau", "mau", "cumulative_unique")], {"groups": ["$os"]},
                 [ref.Metric("View Item", m) for m in ("dau", "wau", "mau", "cumulative_unique")],
                 {"groups": ["$os"]}, id="active-users-and-cumulative-uniques"),
    pytest.param([_metric("View Item"), _metric("Purchase", "unique")], {"analysis": "cumulative"},
                 [ref.Metric("View Item"), ref.Metric("Purchase", "unique")], {"analysis": "cumulative"},
                 id="cumulative-analysis"),
    pytest.param([_metric("View Item", hidden=True), _metric("Purchase", hidden=True),
                  {"type": "formula", "definition": "B / A", "name": "buy rate"}],
                 {"analysis": "rolling", "rolling": 3, "unit": "day"},
                 [ref.Metric("View Item", hidden=True), ref.Metric("Purchase", hidden=True)],
                 {"analysis": "rolling", "rolling": 3, "formulas": [("buy rate", "B / A")]},
                 id="rolling-formula"),
    pytest.param([_metric("View Item", "average", "price", per_user="total"),
                  _metric("View Item", "median", None, per_user="total"),
                  _metric("View Item", "max", "price", per_user="average"),
                  _metric("View Item", "custom_percentile", "price", percentile=95)],
                 {"groups": ["$os"], "unit": "week"},
                 [ref.Metric("View Item", "average", "price", per_user="total"),
                  ref.Metric("View Item", "median", None, per_user="total"),
                  ref.Metric("View Item", "max", "price", per_user="average"),
                  ref.Metric("View Item", "custom_percentile", "price", percentile=95)],
                 {"groups": ["$os"], "unit": "week"}, id="per-user-and-custom-percentile"),
    pytest.param([_metric("Sign Up", "unique")], {"unit": "hour"}, [ref.Metric("Sign Up", "unique")],
                 {"unit": "hour"}, id="hourly"),
    pytest.param([_metric("View Item", "sessions"), _metric("View Item", "unique")], {"groups": ["$os"]},
                 [ref.Metric("View Item", "sessions"), ref.Metric("View Item", "unique")], {"groups": ["$os"]},
                 id="sessions-by-os"),
    pytest.param([_metric("Purchase", "sessions")], {"chart": "bar"}, [ref.Metric("Purchase", "sessions")],
                 {"total": True}, id="sessions-total"),
    pytest.param([_metric("View Item"), _metric("View Item", "unique")],
                 {"groups": ["$os"], "filters": [_frequency("Purchase", "is at least", 2)]},
                 [ref.Metric("View Item"), ref.Metric("View Item", "unique")],
                 {"groups": ["$os"], "frequency": [ref.Frequency("Purchase", lambda n: n >= 2)]},
                 id="frequency-at-least"),
    pytest.param([_metric("Sign Up", "unique")],
                 {"chart": "bar", "filters": [_frequency(
                     "Add To Cart", "is at most", 1, last_days=400,
                     filters=[{"value": "price", "resourceType": "events", "filterOperator": "is greater than",
                               "filterType": "number", "filterValue": 20}])]},
                 [ref.Metric("Sign Up", "unique")],
                 {"total": True, "frequency": [ref.Frequency(
                     "Add To Cart", lambda n: n <= 1, where='properties["price"] > 20',
                     dates=(END.date() - timedelta(days=399), END.date()))]},
                 id="frequency-at-most-with-filters-and-window"),
    pytest.param([_metric("View Item", "unique")],
                 {"filters": [_frequency("View Item", "is between", [3, 6]),
                              {"value": "$os", "resourceType": "events", "filterOperator": "equals",
                               "filterType": "string", "filterValue": ["Windows", "Mac OS X"]}]},
                 [ref.Metric("View Item", "unique")],
                 {"where": 'properties["$os"] in ["Windows", "Mac OS X"]',
                  "frequency": [ref.Frequency("View Item", lambda n: 3 <= n <= 6)]},
                 id="frequency-between-and-a-property-filter"),
]


@pytest.mark.parametrize(("show", "options", "metrics", "expected_options"), CASES)
def test_matches_reference(shop: Any, client: httpx.Client, show: list[dict[str, Any]], options: dict[str, Any],
                           metrics: list[ref.Metric], expected_options: dict[str, Any]) -> None:
    creds, events = shop
    got = _post(client, creds, _params(show, **options))
    expected = ref.insights(events, metrics, FROM, TO, timezone=TZ, **expected_options)
    assert got["headers"] == expected["headers"]
    assert _close(got["series"], expected["series"]), (got["series"], expected["series"])
    assert got["date_range"]["from_date"].startswith(FROM.isoformat() + "T00:00:00+")
    assert got["date_range"]["to_date"].startswith(TO.isoformat() + "T23:59:59.999")
    assert {"sampling_factor", "is_cached", "computation_time"} <= set(got["meta"])
    assert any(value for node in got["series"].values() for value in _leaves(node))  # not all zeros


def test_sessions_end_after_30_idle_minutes_and_at_midnight(server: ServerProcess, client: httpx.Client) -> None:
    """Timeout-based sessions in the project's timezone: any event extends a session, 30 idle minutes or midnight
    end it."""
    creds = make_project(server.data_dir, "sessions", timezone=TZ)
    day = FROM + timedelta(days=2)
    zone = ZoneInfo(TZ)

    def at(days: int, hour: int, minute: int) -> int:
        local = datetime.combine(day + timedelta(days=days), datetime.min.time(), zone)
        return int((local + timedelta(hours=hour, minutes=minute)).timestamp() * 1000)

    log = [
        ("u1", "Play", at(0, 10, 0)), ("u1", "Other", at(0, 10, 25)), ("u1", "Play", at(0, 10, 50)),  # one session
        ("u1", "Play", at(0, 11, 30)),  # 40 idle minutes: a second
        ("u2", "Play", at(0, 23, 50)), ("u2", "Play", at(1, 0, 10)),  # 20 minutes apart, across midnight: two
        ("u3", "Other", at(1, 9, 0)), ("u3", "Play", at(1, 9, 20)),  # one, started by another event
    ]
    import_all(client, creds, [{"event": name, "properties": {"distinct_id": user, "time": ms,
                                                               "$insert_id": f"s{n}"}}
                               for n, (user, name, ms) in enumerate(log)])
    bookmark = _params([_metric("Play", "sessions"), _metric("Play", "unique")])
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [day.isoformat(), (day + timedelta(days=1)).isoformat()]}]
    got = _post(client, creds, bookmark)["series"]
    assert list(got["Play [sessions]"].values()) == [3, 2]
    assert list(got["Play [unique]"].values()) == [2, 2]
    bookmark["displayOptions"]["chartType"] = "bar"  # the whole range: u2's two sessions count twice
    got = _post(client, creds, bookmark)["series"]
    assert (got["Play [sessions]"], got["Play [unique]"]) == ({"all": 5}, {"all": 3})


def test_profile_property_filters_and_breakdowns(shop: Any, client: httpx.Client) -> None:
    """``Filter``/``GroupBy`` on user profile properties (``resourceType: people``): the users' current profiles,
    set through ``/engage``, filter and split the events."""
    import base64

    import orjson

    creds, events = shop
    users = sorted({e.user for e in events if e.user})[:90]
    profiles: dict[str, dict[str, Any]] = {}
    for n, user in enumerate(users):
        props: dict[str, Any] = {"age": 20 + n % 30}
        if n % 3:
            props["plan"] = "pro" if n % 3 == 1 else "free"
        profiles[user] = props
    updates = [{"$token": creds.token, "$distinct_id": user, "$set": props} for user, props in profiles.items()]
    response = client.post("/engage", data={"data": base64.b64encode(orjson.dumps(updates)).decode()})
    assert response.text == "1"

    people = [{"value": "plan", "resourceType": "people", "filterOperator": "equals", "filterType": "string",
               "filterValue": ["pro"]}]
    bookmark = _params([_metric("View Item"), _metric("View Item", "unique")], filters=people)
    bookmark["sections"]["group"] = [{"value": "plan", "resourceType": "people", "propertyType": "string"},
                                     {"value": "$os", "resourceType": "events", "propertyType": "string"}]
    got = _post(client, creds, bookmark)
    metrics = [ref.Metric("View Item"), ref.Metric("View Item", "unique")]
    expected = ref.insights(events, metrics, FROM, TO, timezone=TZ, groups=["plan", "$os"], profiles=profiles,
                            people_where='properties["plan"] == "pro"', people_groups=["plan"])
    assert got["series"] == expected["series"]
    assert set(got["series"]["View Item [total]"]) == {"$overall", "pro"}
    assert sum(got["series"]["View Item [total]"]["$overall"].values()) > 0

    # a filter an empty profile passes keeps the users without one; a numeric breakdown of everyone
    not_pro = [{**people[0], "filterOperator": "does not equal"}]
    bookmark = _params([_metric("View Item", "unique")], chart="bar", groups=(), filters=not_pro)
    bookmark["sections"]["group"] = [{"value": "age", "resourceType": "people", "propertyType": "number"}]
    got = _post(client, creds, bookmark)
    expected = ref.insights(events, [ref.Metric("View Item", "unique")], FROM, TO, timezone=TZ, total=True,
                            groups=["age"], profiles=profiles, people_where='not (properties["plan"] == "pro")',
                            people_groups=["age"])
    assert got["series"] == expected["series"]
    assert "undefined" in got["series"]["View Item"] and len(got["series"]["View Item"]) > 10


def _lift(now: Any, before: Any) -> Any:
    """(now - before) / before per leaf, 4 places; None where before is 0 or absent (series keyed alike)."""
    if isinstance(now, dict):
        return {key: _lift(value, (before or {}).get(key)) for key, value in now.items()}
    return round((now - before) / before, 4) if before else None


def test_time_comparison_against_the_reference(shop: Any, client: httpx.Client) -> None:
    """A week-earlier comparison (as ``TimeComparison.relative("week")`` sends it): the earlier range's series,
    the lift, and the meta marker, as in Mixpanel's recorded answers."""
    creds, events = shop
    bookmark = _params([_metric("View Item"), _metric("Purchase", "unique")], chart="bar", groups=("$os",))
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "week"}
    got = _post(client, creds, bookmark)
    metrics = [ref.Metric("View Item"), ref.Metric("Purchase", "unique")]
    now = ref.insights(events, metrics, FROM, TO, timezone=TZ, total=True, groups=["$os"])
    week = timedelta(days=7)
    before = ref.insights(events, metrics, FROM - week, TO - week, timezone=TZ, total=True, groups=["$os"])
    assert got["series"] == now["series"]
    assert got["time_comparison"]["series"] == before["series"]
    assert got["time_comparison"]["date_range"]["from_date"].startswith((FROM - week).isoformat() + "T00:00:00+")
    assert got["time_comparison"]["date_range"]["to_date"].startswith((TO - week).isoformat() + "T23:59:59.999")
    assert got["lift_comparison"]["series"] == _lift(now["series"], before["series"])
    assert any(value not in (None, 0) for node in got["lift_comparison"]["series"].values()
               for value in _leaves(node))
    assert got["meta"]["liftComparison"] == {"type": "timeComparison"}

    # a line chart: the earlier range's days pair with the report's by position; the web app's saved form
    bookmark = _params([_metric("View Item")])
    bookmark["displayOptions"]["timeComparison"] = {"offset": {"unit": "day", "value": 3}}
    got = _post(client, creds, bookmark)
    shift = timedelta(days=3)
    before = ref.insights(events, [ref.Metric("View Item")], FROM - shift, TO - shift, timezone=TZ)["series"]
    assert got["time_comparison"]["series"] == before
    now_values = list(got["series"]["View Item"].values())
    before_values = list(before["View Item"].values())
    assert list(got["lift_comparison"]["series"]["View Item"].values()) == [
        round((a - b) / b, 4) if b else None for a, b in zip(now_values, before_values, strict=True)]
    assert list(got["lift_comparison"]["series"]["View Item"]) == list(got["series"]["View Item"])


@pytest.mark.parametrize("comparison", [{"type": "sideways", "value": "week"}, {"type": "relative", "value": "hour"},
                                        {"type": "absolute-start", "value": "2024-13-01"},
                                        {"offset": {"unit": "week", "value": 0}}])
def test_bad_time_comparisons_are_400(shop: Any, client: httpx.Client, comparison: dict[str, Any]) -> None:
    creds, _ = shop
    bookmark = _params([_metric("View Item")])
    bookmark["displayOptions"]["timeComparison"] = comparison
    assert "error" in _post(client, creds, bookmark, 400)


def _leaves(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return [node]
    return [leaf for child in node.values() for leaf in _leaves(child)]


def test_in_the_last_is_a_window_ending_today(shop: Any, client: httpx.Client) -> None:
    creds, _ = shop
    bookmark = _params([_metric("View Item")])
    bookmark["sections"]["time"] = [{"dateRangeType": "in the last", "unit": "day",
                                     "window": {"unit": "day", "value": 7}}]
    got = _post(client, creds, bookmark)
    dates = list(got["series"]["View Item"])
    today = datetime.now(ZoneInfo(TZ)).date()
    assert dates == [f"{today - timedelta(days=6 - n)}T00:00:00{dates[n][-6:]}" for n in range(7)]


@pytest.mark.parametrize(("operator", "text"), [("starts with", "Mac"), ("starts with", "Win"), ("ends with", "OS"),
                                               ("ends with", "s"), ("starts with", "mac")])
def test_starts_and_ends_with_filters(shop: Any, client: httpx.Client, operator: str, text: str) -> None:
    """``starts with`` / ``ends with`` (what ``Filter.starts_with`` / ``ends_with`` send) keep the events whose string
    value has that prefix / suffix, case-sensitively; the expected set is found by brute force over the data."""
    creds, events = shop
    values = {e.properties.get("$os") for e in events}
    kept = sorted(v for v in values if isinstance(v, str)
                  and (v.startswith(text) if operator == "starts with" else v.endswith(text)))
    spec = {"value": "$os", "resourceType": "events", "filterOperator": operator, "filterType": "string",
            "filterValue": text}
    got = _post(client, creds, _params([_metric("View Item")], groups=("$os",), filters=[spec]))
    where = "properties[\"$os\"] in [" + ", ".join(f'"{v}"' for v in kept) + "]" if kept else "false"
    expected = ref.insights(events, [ref.Metric("View Item")], FROM, TO, timezone=TZ, groups=["$os"], where=where)
    assert got["series"] == expected["series"]
    assert set(got["series"]["View Item"]) - {"$overall"} == set(kept)


@pytest.mark.parametrize(("time", "days_back", "days"), [
    ({"dateRangeType": "on", "unit": "day", "value": "DAY"}, 3, 1),
    ({"dateRangeType": "on", "unit": "day", "value": ["DAY"]}, 3, 1),
    ({"dateRangeType": "relative_after", "unit": "day", "window": {"unit": "day", "value": 4}}, 4, 5),
    ({"dateRangeType": "relative_after", "unit": "day", "window": {"unit": "week", "value": 1}}, 7, 8),
    ({"dateRangeType": "in the last", "unit": "day", "value": 5}, 4, 5),
])
def test_other_range_types_answer_as_their_between(
    shop: Any, client: httpx.Client, time: dict[str, Any], days_back: int, days: int
) -> None:
    """``on`` (one day), ``relative_after`` (a window before today, to today) and ``in the last`` with a bare
    ``value`` answer exactly what the equivalent ``between`` range answers."""
    creds, _ = shop
    today = datetime.now(ZoneInfo(TZ)).date()
    first = today - timedelta(days=days_back)
    time = {**time, "value": [first.isoformat()] if time.get("value") == ["DAY"] else
            first.isoformat() if time.get("value") == "DAY" else time.get("value")}
    if time["value"] is None:
        del time["value"]
    bookmark = _params([_metric("View Item"), _metric("View Item", "unique")])
    bookmark["sections"]["time"] = [time]
    got = _post(client, creds, bookmark)
    last = first + timedelta(days=days - 1)
    between = _params([_metric("View Item"), _metric("View Item", "unique")])
    between["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                    "value": [first.isoformat(), last.isoformat()]}]
    expected = _post(client, creds, between)
    assert len(next(iter(got["series"].values()))) == days
    assert got["series"] == expected["series"]
    assert got["date_range"] == expected["date_range"]


def test_saved_report_by_bookmark_id(shop: Any, server: ServerProcess, client: httpx.Client) -> None:
    from mixhouse.meta.store import MetaStore

    creds, events = shop
    bookmark = _params([_metric("Purchase")], unit="week")
    with MetaStore.for_data_dir(server.data_dir) as store:
        saved = store.create_report(creds.project_id, "insights", "Weekly purchases", bookmark)
        funnel = store.create_report(creds.project_id, "funnels", "not insights", {"sections": {}})
    response = client.get("/api/query/insights", params={"project_id": creds.project_id, "bookmark_id": saved.id},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    expected = ref.insights(events, [ref.Metric("Purchase")], FROM, TO, timezone=TZ, unit="week")
    assert response.json()["series"] == expected["series"]
    wrong = client.get("/api/query/insights", params={"project_id": creds.project_id, "bookmark_id": funnel.id},
                       auth=(creds.sa_username, creds.sa_secret))
    assert wrong.status_code == 400 and "funnels report" in wrong.json()["error"]
    other = make_project(server.data_dir, "insights-other")
    missing = client.get("/api/query/insights", params={"project_id": other.project_id, "bookmark_id": saved.id},
                         auth=(other.sa_username, other.sa_secret))
    assert missing.status_code == 404


@pytest.mark.parametrize(("change", "fragment"), [
    ({"measurement": {"math": "last_value", "property": "utm_source"}}, "not supported yet"),
    ({"measurement": {"math": "dau"}, "chart": "bar"}, "daily series"),
    ({"measurement": {"math": "sum"}}, "needs measurement.property"),
    ({"behavior": {"type": "cohort", "name": "x"}}, "not supported yet"),
])
def test_unsupported_or_bad_metrics_are_400(shop: Any, client: httpx.Client, change: dict[str, Any],
                                            fragment: str) -> None:
    creds, _ = shop
    chart = change.pop("chart", "line")
    answer = _post(client, creds, _params([{**_metric("View Item"), **change}], chart=chart), 400)
    assert fragment in answer["error"]


def test_bad_formula_and_future_dates_are_400(shop: Any, client: httpx.Client) -> None:
    creds, _ = shop
    bad = _params([_metric("View Item"), {"type": "formula", "definition": "A + Z", "name": "x"}])
    assert "Z" in _post(client, creds, bad, 400)["error"]
    future = _params([_metric("View Item")])
    future["sections"]["time"][0]["value"] = [FROM.isoformat(), "2999-01-01"]
    assert "to_date" in _post(client, creds, future, 400)["error"]


# --- funnels and retention through /insights (query_funnel, query_retention) -------------------------------------


def _funnel_bookmark(steps: list[str], *, chart: str = "funnel-steps", unit: str = "day",
                     groups: tuple[str, ...] = ()) -> dict[str, Any]:
    from mixhouse.services.funnel_definition import funnel_params

    bookmark = funnel_params(steps, window=3)
    bookmark["displayOptions"] = {"chartType": chart}
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": unit,
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    bookmark["sections"]["group"] = [{"value": g, "resourceType": "events"} for g in groups]
    return bookmark


def _as_metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    names = [f"{k + 1}. {step['event']}" for k, step in enumerate(steps)]
    return {metric: {name: {"all": step[metric]} for name, step in zip(names, steps, strict=True)}
            for metric in ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")}


def test_funnel_metric_matches_the_funnel_reference(shop: Any, client: httpx.Client) -> None:
    from tests.support import reference_funnels as funnels_ref

    creds, events = shop
    steps = ["View Item", "Add To Cart", "Purchase"]
    got = _post(client, creds, _funnel_bookmark(steps))
    whole = (TO - FROM).days + 1
    expected = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in steps], FROM, TO, timezone=TZ,
                                  window=3 * 86_400_000, interval=whole)
    assert got["series"] == {"View Item through Purchase": _as_metrics(expected["data"][FROM.isoformat()]["steps"])}
    assert got["series"]["View Item through Purchase"]["count"]["1. View Item"]["all"] > 0

    trend = _post(client, creds, _funnel_bookmark(steps, chart="line", unit="week"))
    weekly = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in steps], FROM, TO, timezone=TZ,
                                window=3 * 86_400_000, unit="week")
    node = trend["series"]["View Item through Purchase"]
    assert [key[:10] for key in node] == list(weekly["data"])
    assert [m["count"] for m in node.values()] == [_as_metrics(d["steps"])["count"] for d in weekly["data"].values()]

    split = _post(client, creds, _funnel_bookmark(steps, groups=("$os",)))
    by_os = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in steps], FROM, TO, timezone=TZ,
                               window=3 * 86_400_000, interval=whole, on='properties["$os"]', limit=10_000)
    assert split["headers"] == ["$metric", "$os"]
    assert split["series"]["View Item through Purchase"] == {
        segment: _as_metrics(listed) for segment, listed in by_os["data"][FROM.isoformat()].items()}


def test_any_order_and_optimized_funnel_metrics_match_the_reference(shop: Any, client: httpx.Client) -> None:
    """What ``query_funnel(order="any")`` and ``reentry_mode="optimized"`` send, on generated data."""
    from tests.support import reference_funnels as funnels_ref

    creds, events = shop
    steps = ["Purchase", "Add To Cart", "View Item"]
    whole = (TO - FROM).days + 1
    bookmark = _funnel_bookmark(steps)
    behavior = bookmark["sections"]["show"][0]["behavior"]
    behavior["funnelOrder"] = "any"
    for step in behavior["behaviors"]:
        step["funnelOrder"] = "any"
    expected = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in steps], FROM, TO, timezone=TZ,
                                  window=3 * 86_400_000, interval=whole, free=frozenset(range(3)))
    got = _post(client, creds, bookmark)["series"]["Purchase through View Item"]
    assert got == _as_metrics(expected["data"][FROM.isoformat()]["steps"])
    assert got["count"]["3. View Item"]["all"] > 0

    bookmark = _funnel_bookmark(["View Item", "Purchase"])
    bookmark["sections"]["show"][0]["behavior"]["funnelReentryMode"] = "optimized"
    expected = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in ["View Item", "Purchase"]], FROM, TO,
                                  timezone=TZ, window=3 * 86_400_000, interval=whole, optimized=True)
    got = _post(client, creds, bookmark)["series"]["View Item through Purchase"]
    assert got == _as_metrics(expected["data"][FROM.isoformat()]["steps"])


def test_funnel_metric_with_a_time_comparison(shop: Any, client: httpx.Client) -> None:
    """``query_funnel(time_comparison=TimeComparison.relative("week"))``: the same funnel a week earlier."""
    from tests.support import reference_funnels as funnels_ref

    creds, events = shop
    steps = ["View Item", "Purchase"]
    bookmark = _funnel_bookmark(steps)
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "week"}
    got = _post(client, creds, bookmark)
    week = timedelta(days=7)
    whole = (TO - FROM).days + 1
    before = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in steps], FROM - week, TO - week, timezone=TZ,
                                window=3 * 86_400_000, interval=whole)
    assert got["time_comparison"]["series"] == {
        "View Item through Purchase": _as_metrics(before["data"][(FROM - week).isoformat()]["steps"])}
    counts = got["lift_comparison"]["series"]["View Item through Purchase"]["count"]
    now_count = got["series"]["View Item through Purchase"]["count"]["1. View Item"]["all"]
    before_count = before["data"][(FROM - week).isoformat()]["steps"][0]["count"]
    assert counts["1. View Item"]["all"] == round((now_count - before_count) / before_count, 4)


def _retention_bookmark(unbounded: str = "none", groups: tuple[str, ...] = (),
                        alignment: str = "birth") -> dict[str, Any]:
    behavior = {"type": "retention", "resourceType": "events", "retentionUnit": "week",
                "retentionAlignmentType": alignment, "retentionCustomBucketSizes": [],
                "retentionUnboundedMode": unbounded, "filter": [],
                "behaviors": [{"type": "event", "name": "Sign Up", "filters": []},
                              {"type": "event", "name": "View Item", "filters": []}]}
    return {"displayOptions": {"chartType": "retention-curve"},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "retention_rate"}}],
                         "time": [{"dateRangeType": "between", "unit": "day",
                                   "value": [FROM.isoformat(), TO.isoformat()]}],
                         "filter": [], "group": [{"value": g, "resourceType": "events"} for g in groups]}}


@pytest.mark.parametrize(("unbounded", "alignment"), [("none", "birth"), ("carry_back", "birth"),
                                                      ("carry_forward", "birth"), ("none", "interval_start"),
                                                      ("carry_back", "interval_start")])
def test_retention_metric_matches_the_retention_reference(shop: Any, client: httpx.Client, unbounded: str,
                                                          alignment: str) -> None:
    from tests.support import reference_retention as retention_ref

    creds, events = shop
    got = _post(client, creds, _retention_bookmark(unbounded, alignment=alignment))
    weeks = math.ceil(((TO - FROM).days + 1) / 7)
    expected = retention_ref.retention(events, FROM, TO, timezone=TZ, born_event="Sign Up", event="View Item",
                                       unit="week", interval_count=weeks,
                                       unbounded_retention=unbounded == "carry_back",
                                       on_or_before=unbounded == "carry_forward",
                                       alignment="calendar" if alignment == "interval_start" else "rolling")
    node = got["series"]["Sign Up and then View Item"]
    cohorts = {key[:10]: value for key, value in node.items() if key != "$average"}
    assert {day: (c["first"], c["counts"]) for day, c in cohorts.items()} == {
        day: (c["first"], c["counts"]) for day, c in expected.items()}
    assert node["$average"]["first"] == sum(c["first"] for c in expected.values()) > 0
    for cohort in cohorts.values():
        assert cohort["rates"] == [round(n / cohort["first"], 4) if cohort["first"] else 0 for n in cohort["counts"]]


def test_unsupported_retention_options_are_400(shop: Any, client: httpx.Client) -> None:
    creds, _ = shop
    bookmark = _retention_bookmark("sometimes")
    assert "sometimes" in _post(client, creds, bookmark, 400)["error"]
