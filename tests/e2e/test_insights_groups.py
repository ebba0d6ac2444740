"""``/insights`` event, funnel and retention metrics counting a data group (group analytics, decision 0043) through
the server: hand cases (an event with a list of groups, events without the group key, one group used by several
users, DAU/WAU of groups, per-group aggregation, group-profile filters and breakdowns), the demo's companies against
the brute-force references, and refusals naming what is not evaluated."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mixhouse.demo.generator import GROUP_KEY, DemoConfig, generate_group_updates
from mixhouse.services.funnel_definition import funnel_params
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as funnel_ref
from tests.support import reference_insights as ref
from tests.support import reference_retention as retention_ref
from tests.support.insights_http import close
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all, import_demo
from tests.support.server import ServerProcess

END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=10)).date(), (END - timedelta(days=1)).date()
DAY = [END - timedelta(days=10 - n) + timedelta(hours=12) for n in range(10)]  # noon of each day of the range
PLANS = {"c1": {"plan": "pro"}, "c2": {"plan": "free"}}  # c3 has no profile


def _metric(math_: str = "total", prop: str | None = None, per_user: str | None = None,
            event: str = "Use") -> dict[str, Any]:
    measurement: dict[str, Any] = {"math": math_, "perUserAggregation": per_user}
    if prop is not None:
        measurement["property"] = {"name": prop, "resourceType": "events"}
    return {"type": "metric", "behavior": {"type": "event", "name": event, "resourceType": "events", "filters": [],
                                           "dataGroupId": None},
            "measurement": measurement}


def _params(show: list[dict[str, Any]], *, group: str | None = "company", chart: str = "line",
            filters: list[dict[str, Any]] | None = None, groups: list[dict[str, Any]] | None = None,
            kind: str = "event") -> dict[str, Any]:
    sections: dict[str, Any] = {
        "show": show, "filter": filters or [], "group": groups or [],
        "time": [{"dateRangeType": "between", "unit": "day", "value": [FROM.isoformat(), TO.isoformat()]}]}
    if group is not None:
        sections["globalDataGroupId"] = group
    return {"displayOptions": {"chartType": chart, "analysis": "linear"}, "sections": sections}


def _plan(operator: str = "equals", group: str | None = "company") -> dict[str, Any]:
    return {"value": "plan", "resourceType": "people", "dataGroupId": group, "filterOperator": operator,
            "filterType": "string", "filterValue": ["pro"]}


PLAN_BREAKDOWN = {"value": "plan", "resourceType": "people", "dataGroupId": "company", "propertyType": "string"}


def _event(user: str, when: datetime, n: int, company: Any = None, insert: str = "",
           name: str = "Use") -> dict[str, Any]:
    props: dict[str, Any] = {"distinct_id": user, "time": int(when.timestamp() * 1000), "$insert_id": insert, "n": n}
    if company is not None:
        props["company"] = company
    return {"event": name, "properties": props}


@pytest.fixture(scope="module")
def hand(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    """Use on day 0: u1, u2 in c1; u3 in both c1 and c2 (a list); u4 without the key and with an empty one. Day 1:
    u1 in c2, u2 in c3. Day 5: u1 in c1. Buy on day 2: u5 (who never used) in c2, u4 without a company."""
    creds = make_project(server.data_dir, "groups-hand", timezone="UTC")
    sent = [_event("u1", DAY[0], 1, "c1", "e1"), _event("u2", DAY[0], 2, "c1", "e2"),
            _event("u3", DAY[0], 4, ["c1", "c2"], "e3"), _event("u4", DAY[0], 8, None, "e4"),
            _event("u4", DAY[0], 16, "", "e5"), _event("u1", DAY[1], 1, "c2", "e6"),
            _event("u2", DAY[1], 2, "c3", "e7"), _event("u1", DAY[5], 1, "c1", "e8"),
            _event("u5", DAY[2], 0, "c2", "b1", "Buy"), _event("u4", DAY[2], 0, None, "b2", "Buy")]
    import_all(client, creds, sent)
    updates = [{"$token": creds.token, "$group_key": "company", "$group_id": gid, "$set": props}
               for gid, props in PLANS.items()]
    assert client.post("/groups", json=updates).text == "1"
    return creds, events_ref.load(sent)


def _days(series: dict[str, Any]) -> list[Any]:
    return list(series.values())


def _total(client: httpx.Client, creds: ProjectCreds, show: list[dict[str, Any]], **options: Any) -> Any:
    return _post(client, creds, _params(show, chart="bar", **options))["series"]


def test_counts_of_groups(hand: Any, client: httpx.Client) -> None:
    creds, events = hand
    got = _post(client, creds, _params([_metric("total"), _metric("unique"), _metric("dau"), _metric("wau")]))
    series = got["series"]
    assert _days(series["Use [total]"])[:6] == [3, 2, 0, 0, 0, 1]  # u3's event once; u4's events in no group
    assert _days(series["Use [unique]"])[:6] == [2, 2, 0, 0, 0, 1]  # c1, c2 (c1 from three users) / c2, c3 / c1
    assert _days(series["Use [dau]"])[:6] == [2, 2, 0, 0, 0, 1]
    assert _days(series["Use [wau]"])[:7] == [2, 3, 3, 3, 3, 3, 3]
    users = _post(client, creds, _params([_metric("unique")], group=None))["series"]["Use"]
    assert _days(users)[:2] == [4, 2]  # the same report by user: u4 counts
    expected = ref.insights(events, [ref.Metric("Use", m) for m in ("total", "unique", "dau", "wau")], FROM, TO,
                            group_key="company")
    assert close(series, expected["series"])

    whole = _total(client, creds, [_metric("total"), _metric("unique"), _metric("sum", "n"),
                                   _metric("cumulative_unique")])
    assert whole == {"Use [total]": {"all": 6}, "Use [unique]": {"all": 3}, "Use [sum]": {"all": 11},
                     "Use [cumulative_unique]": {"all": 3}}


def test_per_group_aggregation(hand: Any, client: httpx.Client) -> None:
    """Each group's value first (an event with two groups counts for both), then the math across groups."""
    creds, events = hand
    got = _total(client, creds, [_metric("average", per_user="total"), _metric("max", "n", per_user="total"),
                                 _metric("min", "n", per_user="average")])
    assert got["Use [average]"] == {"all": pytest.approx(7 / 3)}  # c1: 4 events, c2: 2, c3: 1
    assert got["Use [max]"] == {"all": 8}  # c1: 1 + 2 + 4 + 1
    assert got["Use [min]"] == {"all": 2}  # c3's average 2 (c2's is 2.5)
    metrics = [ref.Metric("Use", "average", per_user="total"), ref.Metric("Use", "max", "n", per_user="total"),
               ref.Metric("Use", "min", "n", per_user="average")]
    assert close(got, ref.insights(events, metrics, FROM, TO, total=True, group_key="company")["series"])


def test_group_profile_filters_and_breakdowns(hand: Any, client: httpx.Client) -> None:
    creds, events = hand
    show = [_metric("total"), _metric("unique")]
    got = _total(client, creds, show, groups=[PLAN_BREAKDOWN])
    assert got["Use [unique]"] == {"$overall": {"all": 3}, "free": {"all": 1}, "pro": {"all": 1},
                                   "undefined": {"all": 1}}
    # an event is in the segment of each of its groups, once in the rollup
    assert got["Use [total]"] == {"$overall": {"all": 6}, "free": {"all": 2}, "pro": {"all": 4},
                                  "undefined": {"all": 1}}
    assert _total(client, creds, show, filters=[_plan()]) == {"Use [total]": {"all": 4}, "Use [unique]": {"all": 1}}
    # a filter an empty profile passes keeps c3; u3's event counts through c2
    assert _total(client, creds, show, filters=[_plan("does not equal")]) == {"Use [total]": {"all": 3},
                                                                             "Use [unique]": {"all": 2}}
    events_by_n = {"value": "n", "resourceType": "events"}
    got = _total(client, creds, show, groups=[events_by_n, PLAN_BREAKDOWN], filters=[_plan("does not equal")])
    metrics = [ref.Metric("Use", "total"), ref.Metric("Use", "unique")]
    expected = ref.insights(events, metrics, FROM, TO, total=True, groups=["n", "plan"], people_groups=["plan"],
                            people_where='not (properties["plan"] == "pro")', group_key="company",
                            group_profiles=PLANS)
    assert close(got, expected["series"])


def _funnel(group: str | None) -> dict[str, Any]:
    bookmark = funnel_params(["Use", "Buy"])
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    if group is not None:
        bookmark["sections"]["globalDataGroupId"] = group
    return bookmark


def test_funnel_of_groups(hand: Any, client: httpx.Client) -> None:
    """A group converts when any of its users does the next step: c2 used (u3, u1) and bought (u5, who never used);
    by user only u4 converts, whose events name no company."""
    creds, events = hand
    groups = _post(client, creds, _funnel("company"))["series"]["Use through Buy"]["count"]
    assert groups == {"1. Use": {"all": 3}, "2. Buy": {"all": 1}}
    users = _post(client, creds, _funnel(None))["series"]["Use through Buy"]["count"]
    assert users == {"1. Use": {"all": 4}, "2. Buy": {"all": 1}}
    as_groups = [replace(e, user=g) for e in events for g in ref.group_ids(e, "company")]
    found = funnel_ref.funnel(as_groups, [funnel_ref.Step("Use"), funnel_ref.Step("Buy")], FROM, TO,
                              interval=(TO - FROM).days + 1, limit=10_000)
    assert [step["count"] for step in next(iter(found["data"].values()))["steps"]] == [3, 1]


@pytest.fixture(scope="module")
def demo(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event], dict[str, Any]]:
    creds = make_project(server.data_dir, "groups-demo", timezone="Europe/Berlin")
    config = DemoConfig(seed=4, events=3000, end=END, days=11)
    sent = import_demo(client, creds, config)
    updates = [{**update, "$token": creds.token} for update in generate_group_updates(config)]
    assert client.post("/groups", json=updates).text == "1"
    profiles = {u["$group_id"]: u["$set"] for u in updates}
    return creds, events_ref.load(sent), profiles


@pytest.mark.parametrize("maths, chart, breakdowns", [
    pytest.param([("total", None, None), ("unique", None, None), ("dau", None, None)], "line", [], id="counts"),
    pytest.param([("unique", None, None), ("sum", "price", None)], "bar", ["industry", "$browser"],
                 id="by-industry-and-browser"),
    pytest.param([("average", None, "total"), ("median", "price", "total")], "bar", ["industry"],
                 id="per-company"),
])
def test_demo_companies_against_the_reference(demo: Any, client: httpx.Client, maths: list[Any], chart: str,
                                              breakdowns: list[str]) -> None:
    creds, events, profiles = demo
    groups = [{"value": name, "resourceType": "people", "dataGroupId": GROUP_KEY} if name == "industry"
              else {"value": name, "resourceType": "events"} for name in breakdowns]
    show = [_metric(m, p, u, event="View Item") for m, p, u in maths]
    got = _post(client, creds, _params(show, group=GROUP_KEY, chart=chart, groups=groups))
    expected = ref.insights(events, [ref.Metric("View Item", m, p, per_user=u) for m, p, u in maths], FROM, TO,
                            timezone="Europe/Berlin", total=chart == "bar", groups=breakdowns,
                            people_groups=["industry"], group_key=GROUP_KEY, group_profiles=profiles)
    assert close(got["series"], expected["series"])
    first = next(iter(got["series"].values()))
    assert any(value for value in (first["$overall"] if breakdowns else first).values())


@pytest.mark.parametrize("change, named", [
    (lambda p: p["sections"]["filter"].append(_plan(group=None)), "user profile property 'plan'"),
    (lambda p: p["sections"]["filter"].append(_plan(group="team")), "dataGroupId 'team' differs"),
    (lambda p: p["sections"]["show"].append({**_metric(), "measurement": {"math": "total", "dataGroupId": "team"}}),
     "must count the same data group"),
    (lambda p: p["sections"]["show"][0]["measurement"].update(math="sessions"), "math 'sessions'"),
    (lambda p: p["sections"]["filter"].append({"value": "$cohorts", "resourceType": "cohorts",
                                               "filterOperator": "contains", "filterValue": [{"id": 1}]}),
     "cohorts"),
])
def test_refusals(hand: Any, client: httpx.Client, change: Any, named: str) -> None:
    creds, _ = hand
    params = _params([_metric()])
    change(params)
    answer = _post(client, creds, params, status=400)
    assert named in str(answer), answer


COHORT_FILTER = {"value": "$cohorts", "resourceType": "cohorts", "filterOperator": "contains",
                 "filterValue": [{"id": 1}]}


def test_funnel_refusals(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    bookmark = _funnel("company")
    bookmark["sections"]["filter"] = [COHORT_FILTER]
    assert "cohort filters and breakdowns are not supported on a funnel metric that counts data group 'company'" \
        in str(_post(client, creds, bookmark, status=400))
    bookmark = _funnel("company")
    bookmark["sections"]["show"][0]["measurement"]["math"] = "conversion_rate_session"
    assert "session" in str(_post(client, creds, bookmark, status=400))


def test_funnel_of_groups_with_group_profiles(hand: Any, client: httpx.Client) -> None:
    """Group-profile filters keep the groups whose profile passes (c3 has none: an empty one), and a breakdown puts
    each group in its plan's segment (c3 in ``undefined``): c1 (pro) and c3 use, c2 (free) uses and buys."""
    creds, _ = hand
    counts = []
    for operator in ("equals", "does not equal"):
        bookmark = _funnel("company")
        bookmark["sections"]["filter"] = [_plan(operator)]
        found = _post(client, creds, bookmark)["series"]["Use through Buy"]["count"]
        counts.append([found["1. Use"]["all"], found["2. Buy"]["all"]])
    assert counts == [[1, 0], [2, 1]]
    bookmark = _funnel("company")
    bookmark["sections"]["group"] = [PLAN_BREAKDOWN]
    got = _post(client, creds, bookmark)
    assert got["headers"] == ["$metric", "plan"]
    node = got["series"]["Use through Buy"]
    assert {segment: [m["count"]["1. Use"]["all"], m["count"]["2. Buy"]["all"]] for segment, m in node.items()} \
        == {"$overall": [3, 1], "pro": [1, 0], "free": [1, 1], "undefined": [1, 0]}


def test_group_profile_property_needs_a_group_report(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    answer = _post(client, creds, _params([_metric()], group=None, filters=[_plan()]), status=400)
    assert "needs a report that counts that data group" in str(answer)


def _retention(group: str | None, born: str = "Use", back: str = "Use", math_: str = "unique",
               filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    steps = [{"type": "event", "name": name, "filters": [], "filtersDeterminer": "all"} for name in (born, back)]
    behavior = {"type": "retention", "resourceType": "events", "retentionUnit": "day",
                "retentionAlignmentType": "birth", "retentionCustomBucketSizes": [], "filter": [], "behaviors": steps}
    params = _params([{"type": "metric", "behavior": behavior, "measurement": {"math": math_}}], group=group,
                     chart="retention-curve", filters=filters)
    return params


def _cohorts(series: dict[str, Any]) -> dict[str, Any]:
    node = next(iter(series.values()))
    return {key[:10]: (entry["first"], entry["counts"]) for key, entry in node.items() if key != "$average"}


def _reference_cohorts(events: list[events_ref.Event], born: str, back: str, measure: str = "users",
                       timezone: str = "UTC") -> dict[str, Any]:
    found = retention_ref.retention(events, FROM, TO, timezone=timezone, born_event=born, event=back,
                                    interval_count=(TO - FROM).days + 1, measure=measure)
    return {day: (entry["first"], entry["counts"]) for day, entry in found.items()}


def test_retention_of_groups(hand: Any, client: httpx.Client) -> None:
    """c1 and c2 are born on day 0 (c2 through u3's list), c3 on day 1; c2 comes back on day 1 (u1, another user
    than the one it was born with), c1 on day 5; u4's events name no company. By user, four users are born on day 0."""
    creds, events = hand
    as_groups = [replace(e, user=g) for e in events for g in ref.group_ids(e, "company")]
    got = _cohorts(_post(client, creds, _retention("company"))["series"])
    assert got == _reference_cohorts(as_groups, "Use", "Use")
    day0, day1 = FROM.isoformat(), (FROM + timedelta(days=1)).isoformat()
    assert got[day0][0] == 2 and got[day1][0] == 1
    assert got[day0][1][1] == 1 and got[day0][1][5] == 1  # c2 back a day later, c1 five days later
    users = _cohorts(_post(client, creds, _retention(None))["series"])
    assert users == _reference_cohorts(events, "Use", "Use") and users[day0][0] == 4


def test_demo_companies_retention_against_the_reference(demo: Any, client: httpx.Client) -> None:
    creds, events, _ = demo
    as_groups = [replace(e, user=g) for e in events for g in ref.group_ids(e, GROUP_KEY)]
    for math_, measure in (("retention_rate", "users"), ("total", "events")):
        got = _cohorts(_post(client, creds, _retention(GROUP_KEY, "View Item", "Add To Cart", math_))["series"])
        expected = _reference_cohorts(as_groups, "View Item", "Add To Cart", measure, "Europe/Berlin")
        assert got == expected
        assert sum(first for first, _ in expected.values()) > 0 and any(any(c) for _, c in expected.values())
        by_user = _reference_cohorts(events, "View Item", "Add To Cart", measure, "Europe/Berlin")
        assert expected != by_user


def test_group_retention_refusals(hand: Any, client: httpx.Client) -> None:
    creds, _ = hand
    answer = _post(client, creds, _retention("company", filters=[COHORT_FILTER]), status=400)
    assert "cohort filters and breakdowns are not supported on a retention metric that counts data group " \
        "'company'" in str(answer)


def test_retention_of_groups_with_group_profiles(hand: Any, client: httpx.Client) -> None:
    """Only c1 (pro) is born when the filter keeps pro groups; by plan, c1 is ``pro``, c2 ``free`` and c3, without
    a profile, ``undefined``."""
    creds, events = hand
    pro = [replace(e, user=g) for e in events for g in ref.group_ids(e, "company") if g == "c1"]
    got = _cohorts(_post(client, creds, _retention("company", filters=[_plan()]))["series"])
    assert got == _reference_cohorts(pro, "Use", "Use") and got[FROM.isoformat()][0] == 1
    params = _retention("company")
    params["sections"]["group"] = [PLAN_BREAKDOWN]
    answer = _post(client, creds, params)
    assert answer["headers"] == ["$metric", "plan"]
    node = answer["series"]["Use and then Use"]
    firsts = {segment: sum(entry["first"] for key, entry in cohorts.items() if key != "$average")
              for segment, cohorts in node.items()}
    assert firsts == {"$overall": 3, "pro": 1, "free": 1, "undefined": 1}
