"""Retention metrics through ``/insights`` (what ``query_retention`` sends): custom brackets, the unbounded modes,
cumulative counting, every retention math, report filters, breakdowns (event properties, cohorts, user profile
properties set through ``/engage``) and time comparisons, checked against the brute-force reference on generated
data and on small documented logs (one with an identity merge), and through the client library."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from mixhouse.demo.generator import DemoConfig
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_retention as ref
from tests.support.client_env import use_service_account
from tests.support.insights_http import close as _close
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all, import_demo, set_plan_profiles, set_profiles
from tests.support.server import ServerProcess

TZ = "Europe/Berlin"
END = datetime(2025, 4, 2, tzinfo=UTC)
FROM, TO = date(2025, 3, 10), date(2025, 3, 23)  # two weeks, across the change to summer time on 2025-03-30
NAME = "Sign Up and then View Item"


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-retention", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=13, events=6000, end=END, days=30))
    return creds, events_ref.load(sent)


def _bookmark(*, unit: str = "day", mode: str | None = None, sizes: list[int] | None = None, math_: str =
              "retention_rate", prop: str | None = None, cumulative: bool = False, alignment: str = "birth",
              birth: str = "Sign Up", back: str = "View Item", groups: tuple[str, ...] = (),
              filters: list[dict[str, Any]] | None = None, chart: str = "retention-curve",
              dates: tuple[date, date] = (FROM, TO)) -> dict[str, Any]:
    """Bookmark params shaped as the client's ``build_retention_params`` makes them."""
    behavior: dict[str, Any] = {
        "type": "retention", "resourceType": "events", "retentionUnit": unit, "retentionAlignmentType": alignment,
        "retentionCustomBucketSizes": sizes or [], "filter": [],
        "behaviors": [{"type": "event", "id": None, "name": birth, "filters": [], "filtersDeterminer": "all"},
                      {"type": "event", "id": None, "name": back, "filters": [], "filtersDeterminer": "all"}]}
    if mode is not None:
        behavior["retentionUnboundedMode"] = mode
    measurement: dict[str, Any] = {"math": math_}
    if prop is not None:
        measurement["property"] = {"name": prop, "resourceType": "events", "type": "number"}
    if cumulative:
        measurement["retentionCumulative"] = True
    return {"displayOptions": {"chartType": chart},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": measurement}],
                         "time": [{"dateRangeType": "between", "unit": "day",
                                   "value": [dates[0].isoformat(), dates[1].isoformat()]}],
                         "filter": filters or [], "formula": [],
                         "group": [{"value": g, "resourceType": "events", "propertyType": "string"} for g in groups]}}


def _expected_node(expected: dict[str, Any], math_: str) -> dict[str, Any]:
    """The Insights cohorts (keyed by day) and ``$average`` the reference's ``/retention`` answer implies."""
    def entry(first: int, values: list[Any]) -> dict[str, Any]:
        rates = [round(v / first, 4) if first else 0 for v in values]
        if math_ == "average":
            return {"first": first, "counts": [v / first if first else 0.0 for v in values], "rates": rates}
        return {"first": first, "counts": values, "rates": rates}

    node = {day: entry(c["first"], c["counts"]) for day, c in expected.items()}
    firsts = sum(c["first"] for c in expected.values())
    totals = [sum(values) for values in zip(*(c["counts"] for c in expected.values()), strict=True)]
    node["$average"] = entry(firsts, totals)
    return node


def _by_day(node: dict[str, Any]) -> dict[str, Any]:
    return {(key if key == "$average" else key[:10]): value for key, value in node.items()}


def _units(unit: str, start: date = FROM, end: date = TO) -> int:
    span = (end - start).days + 1
    return {"day": span, "week": math.ceil(span / 7)}[unit]


CASES: list[dict[str, Any]] = [
    {"sizes": [1, 3, 7]},  # brackets: day 1, days 2-4, days 5-11
    {"sizes": [2, 2], "unit": "week"},
    {"sizes": [1, 2, 4], "mode": "carry_back"},
    {"sizes": [3, 5], "alignment": "interval_start"},
    {"mode": "consecutive_forward"},
    {"mode": "consecutive_forward", "alignment": "interval_start", "back": "Page View"},
    {"mode": "consecutive_forward", "sizes": [1, 2, 3]},
    {"cumulative": True},
    {"cumulative": True, "mode": "carry_forward", "unit": "week"},
    {"cumulative": True, "mode": "carry_back"},
    {"cumulative": True, "mode": "consecutive_forward", "back": "Page View"},
    {"math_": "unique", "sizes": [1, 6]},
    {"math_": "total"},
    {"math_": "total", "prop": "price", "back": "Purchase", "unit": "week"},
    {"math_": "average", "prop": "price", "back": "Purchase", "cumulative": True},
    {"math_": "average", "sizes": [2, 5], "chart": "line"},
    {"math_": "total", "prop": "price", "back": "Add To Cart", "cumulative": True, "sizes": [1, 3], "chart": "table"},
]


@pytest.mark.parametrize("options", CASES, ids=[str(n) for n in range(len(CASES))])
def test_matches_the_reference(shop: Any, client: httpx.Client, options: dict[str, Any]) -> None:
    creds, events = shop
    got = _post(client, creds, _bookmark(**options))
    unit, mode = options.get("unit", "day"), options.get("mode", "none")
    sizes, math_ = options.get("sizes") or [], options.get("math_", "retention_rate")
    measure = "events" if math_ in ("total", "average") else "users"
    expected = ref.retention(events, FROM, TO, timezone=TZ, born_event="Sign Up", event=options.get("back",
                             "View Item"), unit=unit, interval_count=_units(unit),
                             unbounded_retention=mode == "carry_back", on_or_before=mode == "carry_forward",
                             consecutive=mode == "consecutive_forward", cumulative=options.get("cumulative", False),
                             bracket_sizes=sizes, measure=measure, value_property=options.get("prop"),
                             alignment="calendar" if options.get("alignment") == "interval_start" else "rolling")
    name = f"Sign Up and then {options.get('back', 'View Item')}"
    assert got["headers"] == ["$metric"]
    node = _by_day(got["series"][name])
    assert _close(node, _expected_node(expected, math_))
    assert node["$average"]["first"] > 0 and any(node["$average"]["counts"])  # the case has data
    for cohort in node.values():
        counts = cohort["counts"]
        assert len(counts) == (len(sizes) if sizes else _units(unit)) + 1
        if measure == "users":
            assert all(0 <= n <= cohort["first"] for n in counts)  # never more than the cohort
        if options.get("cumulative"):
            assert counts == sorted(counts)  # cumulative curves never decrease


def test_breakdown_and_report_filters(shop: Any, client: httpx.Client) -> None:
    """One breakdown by the birth event's property, and report filters applied to both events."""
    creds, events = shop
    chrome = [{"value": "$browser", "resourceType": "events", "filterType": "string", "defaultType": "string",
               "filterOperator": "equals", "filterValue": ["Chrome"]}]
    got = _post(client, creds, _bookmark(mode="consecutive_forward", sizes=[1, 2], groups=("$os",), filters=chrome))
    assert got["headers"] == ["$metric", "$os"]
    options = {"timezone": TZ, "born_event": "Sign Up", "event": "View Item", "consecutive": True,
               "bracket_sizes": [1, 2], "born_where": 'properties["$browser"] == "Chrome"',
               "where": 'properties["$browser"] == "Chrome"'}
    overall = ref.retention(events, FROM, TO, **options)
    split = ref.retention(events, FROM, TO, on='properties["$os"]', limit=10_000, **options)
    node = got["series"][NAME]
    assert _by_day(node["$overall"]) == _expected_node(overall, "retention_rate")
    assert {segment: _by_day(found) for segment, found in node.items() if segment != "$overall"} == {
        segment: _expected_node(found, "retention_rate") for segment, found in split.items()}
    unfiltered = _by_day(_post(client, creds, _bookmark(mode="consecutive_forward", sizes=[1, 2]))["series"][NAME])
    assert 0 < node["$overall"]["$average"]["first"] < unfiltered["$average"]["first"]


def test_time_comparison(shop: Any, client: httpx.Client) -> None:
    """``query_retention(time_comparison=TimeComparison.relative("week"))``: the same metric a week earlier."""
    creds, events = shop
    bookmark = _bookmark(sizes=[1, 3], cumulative=True)
    bookmark["displayOptions"]["timeComparison"] = {"type": "relative", "value": "week"}
    got = _post(client, creds, bookmark)
    week = timedelta(days=7)
    before = ref.retention(events, FROM - week, TO - week, timezone=TZ, born_event="Sign Up", event="View Item",
                           bracket_sizes=[1, 3], cumulative=True)
    assert _by_day(got["time_comparison"]["series"][NAME]) == _expected_node(before, "retention_rate")
    now, earlier = got["series"][NAME]["$average"], got["time_comparison"]["series"][NAME]["$average"]
    lift = got["lift_comparison"]["series"][NAME]["$average"]
    assert lift["first"] == round((now["first"] - earlier["first"]) / earlier["first"], 4)
    assert got["meta"]["liftComparison"] == {"type": "timeComparison"}


@pytest.mark.parametrize(("change", "fragment"), [
    ({"mode": "sometimes"}, "retentionUnboundedMode"),
    ({"filters": [{"value": "Buy Frequency", "resourceType": "people", "filterOperator": "is at least",
                   "filterValue": 1, "behavior": {"behaviorType": "$frequency", "event": {"value": "Buy"}}}]},
     "frequency filters"),
    ({"sizes": [2, 0]}, "retentionCustomBucketSizes"),
    ({"sizes": [400]}, "retentionCustomBucketSizes"),
    ({"math_": "median"}, "retention math"),
    ({"math_": "total", "mode": "carry_back"}, "carry_back"),
    ({"math_": "unique", "prop": "price"}, "takes no property"),
    ({"groups": ("$os", "$browser")}, "at most one breakdown"),
    ({"filters": [{"value": "$cohorts", "resourceType": "events", "filterType": "list",
                   "filterOperator": "sometimes", "filterValue": [{"cohort": {"id": 1, "name": "c"}}]}]},
     "cohort filter"),
])
def test_refusals(shop: Any, client: httpx.Client, change: dict[str, Any], fragment: str) -> None:
    creds, _ = shop
    assert fragment in _post(client, creds, _bookmark(**change), 400)["error"]


# --- documented cases on a small log ---------------------------------------------------------------------------

DAY = date(2025, 3, 3)


def _at(days: int, hour: int) -> int:
    return int(datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=UTC).timestamp()) + days * 86_400


@pytest.fixture(scope="module")
def small(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    """u1 comes back on days 1, 2 and 4 (missing day 3), u2 the same day and on day 2, u3 on every day 1-4."""
    creds = make_project(server.data_dir, "retention-documented", timezone="UTC")
    plan = {"u1": (10, [(1, 11), (2, 11), (4, 11)]), "u2": (12, [(0, 13), (2, 13)]),
            "u3": (9, [(1, 10), (2, 10), (3, 10), (4, 10)])}
    sent = []
    for user, (hour, returns) in plan.items():
        sent.append({"event": "Sign Up", "properties": {"time": _at(0, hour), "distinct_id": user,
                                                        "$insert_id": f"{user}-s"}})
        for n, (days, back_hour) in enumerate(returns):
            sent.append({"event": "Play", "properties": {"time": _at(days, back_hour), "distinct_id": user,
                                                         "$insert_id": f"{user}-{n}", "score": days * 10}})
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


def _small(client: httpx.Client, small: Any, **options: Any) -> dict[str, Any]:
    creds, events = small
    dates = (DAY, DAY + timedelta(days=4))
    got = _post(client, creds, _bookmark(back="Play", dates=dates, **options))
    cohort = _by_day(got["series"]["Sign Up and then Play"])[DAY.isoformat()]
    mode = options.get("mode")
    expected = ref.retention(events, *dates, born_event="Sign Up", event="Play", interval_count=5,
                             consecutive=mode == "consecutive_forward", cumulative=options.get("cumulative", False),
                             bracket_sizes=options.get("sizes") or [],
                             measure="events" if options.get("math_") == "total" else "users",
                             value_property=options.get("prop"))
    assert _close(cohort, _expected_node(expected, options.get("math_", "retention_rate"))[DAY.isoformat()])
    return cohort  # type: ignore[no-any-return]


def test_a_bracket_spanning_several_days(small: Any, client: httpx.Client) -> None:
    """Brackets [1, 3]: day 1, then days 2-4 as one interval, counting each user once however often they came."""
    cohort = _small(client, small, sizes=[1, 3])
    assert cohort["first"] == 3
    assert cohort["counts"] == [1, 2, 3]  # u2 the same day; u1 and u3 on day 1; all three within days 2-4
    summed = _small(client, small, sizes=[1, 3], math_="total", prop="score")
    assert summed["counts"] == [0, 20, 20 + 40 + 20 + 20 + 30 + 40]  # every return in days 2-4 adds its score


def test_a_missed_interval_ends_a_streak(small: Any, client: httpx.Client) -> None:
    """consecutive_forward: u1 misses day 3, so counts on days 1-2 but not 3-4; u2 (day 0, then day 2) never starts
    one; u3 keeps it to day 4."""
    cohort = _small(client, small, mode="consecutive_forward")
    assert cohort["counts"] == [1, 2, 2, 1, 1, 0]
    plain = _small(client, small)
    assert plain["counts"] == [1, 2, 3, 1, 2, 0]  # "on": u1 is back in day 4 all the same


def test_cumulative_curves_never_decrease(small: Any, client: httpx.Client) -> None:
    cohort = _small(client, small, cumulative=True)
    assert cohort["counts"] == [1, 3, 3, 3, 3, 3]  # by day 1 everyone had come back
    assert cohort["rates"] == [0.3333, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert _small(client, small, cumulative=True, mode="consecutive_forward")["counts"] == [1, 3, 3, 3, 3, 3]


# --- through the client library -------------------------------------------------------------------------------


@pytest.fixture
def ws(server: ServerProcess, small: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[mp.Workspace]:
    creds, _ = small
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


@pytest.mark.parametrize("options", [
    {"bucket_sizes": [1, 3]},
    {"unbounded_mode": "consecutive_forward", "mode": "table"},
    {"retention_cumulative": True, "mode": "trends"},
    {"math": "unique", "unbounded_mode": "carry_forward"},
    {"math": "total", "bucket_sizes": [2, 2]},
    {"math": "average", "retention_cumulative": True},
], ids=lambda options: "-".join(str(v) for v in options.values()))
def test_query_retention_through_the_client(ws: mp.Workspace, small: Any, client: httpx.Client,
                                            options: dict[str, Any]) -> None:
    creds, _ = small
    dates = {"from_date": DAY.isoformat(), "to_date": (DAY + timedelta(days=4)).isoformat()}
    result = ws.query_retention("Sign Up", "Play", retention_unit="day", **dates, **options)
    assert isinstance(result, mp.RetentionQueryResult)
    raw = _post(client, creds, ws.build_retention_params("Sign Up", "Play", retention_unit="day", **dates,
                                                         **options))
    assert result.series == raw["series"]
    cohort = _by_day(result.series["Sign Up and then Play"])[DAY.isoformat()]
    assert cohort["first"] == 3 and any(cohort["counts"])
    cohorts = {key[:10]: value for key, value in raw["series"]["Sign Up and then Play"].items() if key != "$average"}
    assert result.cohorts == cohorts and result.average == raw["series"]["Sign Up and then Play"]["$average"]
    assert not result.segments
    frame = result.df  # one row per cohort and bucket, as the client library lays it out
    assert list(frame.columns) == ["cohort_date", "bucket", "count", "rate"]
    assert len(frame) == sum(len(cohort["counts"]) for cohort in cohorts.values())
    first = frame[frame["cohort_date"] == DAY.isoformat()]
    assert list(first["count"]) == cohort["counts"] and list(first["bucket"]) == list(range(len(cohort["counts"])))


def test_cohort_filter_and_breakdown_through_the_client(ws: mp.Workspace, small: Any, client: httpx.Client) -> None:
    """A saved cohort (users who played at least 3 times: u1 and u3) as a breakdown and as a filter."""
    creds, events = small
    players = mp.CohortDefinition(mp.CohortCriteria.did_event("Play", at_least=3, from_date="2025-03-01",
                                                              to_date="2025-03-10"))
    cohort = ws.create_cohort(mp.CreateCohortParams(name="Players", definition=players))
    plays = {user: sum(1 for e in events if e.user == user and e.name == "Play") for user in ("u1", "u2", "u3")}
    members = {user for user, n in plays.items() if n >= 3}
    assert members == {"u1", "u3"}
    dates = {"from_date": DAY.isoformat(), "to_date": (DAY + timedelta(days=4)).isoformat()}
    interval_count = 5
    options = {"born_event": "Sign Up", "event": "Play", "interval_count": interval_count, "consecutive": True}

    by_cohort = {"retention_unit": "day", "unbounded_mode": "consecutive_forward",
                 "group_by": mp.CohortBreakdown(cohort.id, "Players"), **dates}
    split = ws.query_retention("Sign Up", "Play", **by_cohort)
    assert split.headers == ["$metric", "$cohorts"]
    assert split.series == _post(client, creds, ws.build_retention_params("Sign Up", "Play", **by_cohort))["series"]
    node = split.series["Sign Up and then Play"]
    expected = ref.retention(events, DAY, DAY + timedelta(days=4), **options,
                             segments_of_user=lambda user: ["Players" if user in members else "Not In Players"])
    assert {segment: _by_day(found) for segment, found in node.items() if segment != "$overall"} == {
        segment: _expected_node(found, "retention_rate") for segment, found in expected.items()}
    assert _by_day(node["$overall"]) == _expected_node(
        ref.retention(events, DAY, DAY + timedelta(days=4), **options), "retention_rate")
    assert node["Players"]["$average"]["first"] == 2 and node["Not In Players"]["$average"]["first"] == 1

    only = ws.query_retention("Sign Up", "Play", retention_unit="day", bucket_sizes=[1, 3],
                              where=mp.Filter.in_cohort(cohort.id, "Players"), **dates)
    expected = ref.retention(events, DAY, DAY + timedelta(days=4), born_event="Sign Up", event="Play",
                             bracket_sizes=[1, 3], keep_user=members.__contains__)
    assert _by_day(only.series["Sign Up and then Play"]) == _expected_node(expected, "retention_rate")
    assert only.series["Sign Up and then Play"]["$average"]["counts"] == [0, 2, 2]  # u2 (day 0) is left out
    assert set(split.segments) == {"Players", "Not In Players"} and split.segment_averages["Players"]["first"] == 2
    assert split.cohorts == {key[:10]: value for key, value in node["$overall"].items() if key != "$average"}
    frame = split.df
    assert list(frame.columns) == ["segment", "cohort_date", "bucket", "count", "rate"]
    assert set(frame["segment"]) == {"Players", "Not In Players"}
    assert list(only.df.columns) == ["cohort_date", "bucket", "count", "rate"]
    ws.delete_cohort(cohort.id)


def test_average_counts_complete_buckets_only(server: ServerProcess, client: httpx.Client) -> None:
    """Mixpanel averages the buckets cohorts have completed: a cohort born yesterday has completed none, so its
    returns stay out of ``$average`` (they still show in its own row) until later buckets nobody completed."""
    creds = make_project(server.data_dir, "retention-recent", timezone="UTC")
    today = datetime.now(UTC).date()
    old, recent = today - timedelta(days=3), today - timedelta(days=1)

    def at(day: date, hour: int) -> int:
        return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)

    plan = [("a1", "Sign Up", old, 10), ("a1", "Play", old + timedelta(days=1), 11),  # bucket 1 of cohort "old"
            ("a2", "Sign Up", old, 10), ("a2", "Play", old, 12),  # bucket 0
            ("b1", "Sign Up", recent, 9), ("b1", "Play", recent, 23)]  # bucket 0 of cohort "recent"
    import_all(client, creds, [{"event": name, "properties": {"time": at(day, hour), "distinct_id": user,
                                                              "$insert_id": f"{user}-{n}"}}
                               for n, (user, name, day, hour) in enumerate(plan)])
    node = _post(client, creds, _bookmark(back="Play", dates=(old, today)))["series"]["Sign Up and then Play"]
    rows = _by_day(node)
    assert rows[old.isoformat()]["counts"][:2] == [1, 1] and rows[recent.isoformat()]["counts"][0] == 1
    average = node["$average"]
    # "old" (born 3 days ago) completed buckets 0 and 1 (by the end of yesterday and of today's midnight); "recent"
    # completed none, nor has anyone bucket 2 and later: those average every cohort's partial numbers
    assert average["first"] == 3
    assert average["counts"][:3] == [1, 1, 0] and average["rates"][:3] == [0.5, 0.5, 0]
    summed = [sum(row["counts"][i] for key, row in rows.items() if key != "$average") for i in range(2)]
    assert summed == [2, 1]  # what adding up every cohort would have said for buckets 0 and 1


# --- user profile properties --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def profiles(shop: Any, client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Current profiles of most of the shop's users (set through ``/engage``): a plan (a string, a list, or none)
    and an age; the rest have none."""
    creds, events = shop
    return set_plan_profiles(client, creds, sorted({e.user for e in events if e.user}))


@pytest.mark.parametrize(("operator", "value", "people_where"), [
    ("is less than", [40], 'properties["age"] < 40'),
    ("is not set", None, 'not defined(properties["plan"])'),  # users without a plan, or without a profile
])
def test_profile_filter_and_breakdown_match_the_reference(shop: Any, client: httpx.Client,
                                                          profiles: dict[str, dict[str, Any]], operator: str,
                                                          value: Any, people_where: str) -> None:
    """A profile filter keeps the users whose current profile passes, for births and returns; a profile breakdown
    puts each born user in their plan's segments (a list plan in each item's, none in ``undefined``)."""
    creds, events = shop
    bookmark = _bookmark(mode="carry_back", sizes=[1, 3])
    bookmark["sections"]["filter"] = [{"value": "age" if "age" in people_where else "plan", "resourceType": "people",
                                       "filterOperator": operator,
                                       **({"filterValue": value} if value is not None else {})}]
    bookmark["sections"]["group"] = [{"value": "plan", "resourceType": "people", "propertyType": "string"}]
    got = _post(client, creds, bookmark)
    assert got["headers"] == ["$metric", "plan"]
    options = {"timezone": TZ, "born_event": "Sign Up", "event": "View Item", "unbounded_retention": True,
               "bracket_sizes": [1, 3], "profiles": profiles, "people_where": people_where}
    overall = ref.retention(events, FROM, TO, **options)
    split = ref.retention(events, FROM, TO, people_on="plan", limit=10_000, **options)
    node = got["series"][NAME]
    assert _by_day(node["$overall"]) == _expected_node(overall, "retention_rate")
    assert {segment: _by_day(found) for segment, found in node.items() if segment != "$overall"} == {
        segment: _expected_node(found, "retention_rate") for segment, found in split.items()}
    everyone = _expected_node(ref.retention(events, FROM, TO, **{**options, "people_where": None}), "retention_rate")
    assert 0 < node["$overall"]["$average"]["first"] < everyone["$average"]["first"]
    if operator == "is less than":
        assert {"pro", "free", "team", "undefined"} <= set(node)
    else:
        assert set(node) == {"$overall", "undefined"}


def test_profiles_through_an_identity_merge(server: ServerProcess, client: httpx.Client) -> None:
    """u1 signs up on a device (``$device:D1``) and comes back on days 1 and 2 after logging in on it (the device
    merges into u1, profile ``pro``); u2 (``free``) comes back on day 2; u3 (no profile) on day 1. The device's
    birth counts under u1's current profile."""
    creds = make_project(server.data_dir, "retention-profiles", timezone="UTC")
    device = {"$device_id": "D1"}
    plan = [("$device:D1", "Sign Up", 0, 10, device), ("u1", "Play", 1, 11, {**device, "$user_id": "u1"}),
            ("u1", "Play", 2, 11, {"$user_id": "u1"}), ("u2", "Sign Up", 0, 12, {}), ("u2", "Play", 2, 13, {}),
            ("u3", "Sign Up", 0, 9, {}), ("u3", "Play", 1, 10, {})]
    import_all(client, creds, [{"event": name, "properties": {"time": _at(days, hour), "distinct_id": user,
                                                              "$insert_id": f"p{n}", **more}}
                               for n, (user, name, days, hour, more) in enumerate(plan)])
    set_profiles(client, creds, {"u1": {"plan": "pro"}, "u2": {"plan": "free"}})
    bookmark = _bookmark(back="Play", dates=(DAY, DAY + timedelta(days=2)))
    bookmark["sections"]["group"] = [{"value": "plan", "resourceType": "people"}]
    node = _post(client, creds, bookmark)["series"]["Sign Up and then Play"]
    day = DAY.isoformat()
    assert {segment: (_by_day(found)[day]["first"], _by_day(found)[day]["counts"])
            for segment, found in node.items()} == {
        "$overall": (3, [0, 2, 2, 0]), "pro": (1, [0, 1, 1, 0]), "free": (1, [0, 0, 1, 0]),
        "undefined": (1, [0, 1, 0, 0])}

    def first_and_counts(operator: str) -> tuple[int, list[int]]:
        bookmark["sections"]["group"] = []
        bookmark["sections"]["filter"] = [{"value": "plan", "resourceType": "people", "filterOperator": operator,
                                           "filterValue": ["pro"]}]
        cohort = _by_day(_post(client, creds, bookmark)["series"]["Sign Up and then Play"])[day]
        return cohort["first"], cohort["counts"]

    assert first_and_counts("equals") == (1, [0, 1, 1, 0])  # u1 only, born on the device
    assert first_and_counts("does not equal") == (2, [0, 1, 1, 0])  # u2, and u3 without a profile
