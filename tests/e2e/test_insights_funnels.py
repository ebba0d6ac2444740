"""Funnel metrics through ``/insights`` (what ``query_funnel`` sends) with cohorts and user profiles: cohort
breakdowns (``$cohorts`` segments, "Not In …", overlapping cohorts) and cohort filters, checked against the
brute-force funnel reference run over each segment's users (cohort members from the brute-force cohort reference) on
generated data; profile-property filters and breakdowns (profiles set through ``/engage``) against the reference's
profile options, and on a small documented log with an identity merge; refusals; and once through the client
library with a saved cohort."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

import mixhouse as mp
from mixhouse.demo.generator import DemoConfig
from mixhouse.services.funnel_definition import funnel_params
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_cohorts as cohorts_ref
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as funnels_ref
from tests.support.client_env import use_service_account
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all, import_demo, set_plan_profiles, set_profiles
from tests.support.server import ServerProcess

TZ = "Europe/Berlin"
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=15)).date(), (END - timedelta(days=2)).date()
STEPS = ["View Item", "Add To Cart", "Purchase"]
NAME = "View Item through Purchase"
WINDOW_MS = 3 * 86_400_000
METRICS = ("count", "step_conv_ratio", "overall_conv_ratio", "avg_time", "avg_time_from_start")


def _did(event: str, at_least: int) -> dict[str, Any]:
    """An inline cohort: users who did ``event`` at least ``at_least`` times in the last 30 days."""
    return {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": at_least}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": event}, "type": "absolute"},
                            "window": {"unit": "day", "value": 30}}}}


CARTERS, BUYERS = _did("Add To Cart", 2), _did("Purchase", 1)


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "insights-funnels", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=21, events=3000, end=END, days=20))
    return creds, events_ref.load(sent)


def _members(events: list[events_ref.Event], definition: dict[str, Any]) -> set[str]:
    logged = [cohorts_ref.LoggedEvent(e.name, e.user, e.time_ms // 1000, e.properties) for e in events if e.user]
    today = datetime.now(ZoneInfo(TZ)).date()
    return cohorts_ref.members(logged, {}, definition, today, TZ, lambda _: {})


def _bookmark(*, chart: str = "funnel-steps", unit: str = "day", math_: str = "conversion_rate_unique",
              groups: list[dict[str, Any]] | None = None,
              filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    bookmark = funnel_params(STEPS, window=3)
    bookmark["displayOptions"] = {"chartType": chart}
    bookmark["sections"]["show"][0]["measurement"]["math"] = math_
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": unit,
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    bookmark["sections"]["group"] = groups or []
    bookmark["sections"]["filter"] = filters or []
    return bookmark


def _cohort_group(*entries: tuple[str, dict[str, Any], bool]) -> dict[str, Any]:
    """A cohort breakdown as the client's ``CohortBreakdown`` writes it (inline cohorts)."""
    return {"value": [f"Not In {name}" if negated else name for name, _, negated in entries],
            "resourceType": "events", "propertyType": None,
            "cohorts": [{"name": name, "negated": negated, "raw_cohort": definition}
                        for name, definition, negated in entries]}


def _cohort_filter(operator: str, *entries: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"value": "$cohorts", "resourceType": "events", "filterType": "list", "filterOperator": operator,
            "filterValue": [{"cohort": {"name": name, "negated": False, "raw_cohort": definition}}
                            for name, definition in entries]}


def _as_metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    names = [f"{k + 1}. {step['event']}" for k, step in enumerate(steps)]
    return {metric: {name: {"all": step[metric]} for name, step in zip(names, steps, strict=True)}
            for metric in METRICS}


def _reference(events: list[events_ref.Event], *, trends: bool, totals: bool) -> dict[str, list[dict[str, Any]]]:
    """The reference funnel over ``events``: per bucket key (the whole range as one, or weeks) its steps."""
    options: dict[str, Any] = {"unit": "week"} if trends else {"interval": (TO - FROM).days + 1}
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, totals=totals, **options)
    return {key: entry["steps"] for key, entry in found["data"].items()}


def _expected(events: list[events_ref.Event], segments: dict[str, set[str]], *, trends: bool,
              totals: bool) -> dict[str, Any]:
    """``$overall`` over everyone, each segment over its users' events (segments nobody entered left out), nested
    per bucket for trends as the answer nests them."""
    per_segment = {"$overall": _reference(events, trends=trends, totals=totals)}
    for label, users in segments.items():
        found = _reference([e for e in events if e.user in users], trends=trends, totals=totals)
        if any(steps[0]["count"] for steps in found.values()):
            per_segment[label] = found
    if not trends:
        return {label: _as_metrics(next(iter(found.values()))) for label, found in per_segment.items()}
    keys = list(per_segment["$overall"])
    return {key: {label: _as_metrics(found[key]) for label, found in per_segment.items()} for key in keys}


@pytest.mark.parametrize(("chart", "math_"), [
    ("funnel-steps", "conversion_rate_unique"),
    ("funnel-steps", "conversion_rate_total"),
    ("line", "conversion_rate_unique"),
])
def test_cohort_breakdown_matches_the_reference(shop: Any, client: httpx.Client, chart: str, math_: str) -> None:
    """Each user's attempts count in every cohort segment they belong to (Carters and Buyers overlap), ``Not In``
    segments hold the others, ``$overall`` everyone."""
    creds, events = shop
    carters, buyers = _members(events, CARTERS), _members(events, BUYERS)
    everyone = {e.user for e in events}
    assert carters & buyers and carters - buyers and 0 < len(carters) < len(everyone)
    group = _cohort_group(("Carters", CARTERS, False), ("Carters", CARTERS, True), ("Buyers", BUYERS, False))
    trends = chart == "line"
    got = _post(client, creds, _bookmark(chart=chart, unit="week", math_=math_, groups=[group]))
    assert got["headers"] == ["$metric", "$cohorts"]
    node = got["series"][NAME]
    expected = _expected(events, {"Carters": carters, "Not In Carters": everyone - carters, "Buyers": buyers},
                         trends=trends, totals=math_ == "conversion_rate_total")
    if trends:
        assert [key[:10] for key in node] == list(expected)
        node = {key[:10]: value for key, value in node.items()}
    else:
        assert set(node) == {"$overall", "Carters", "Not In Carters", "Buyers"}
    assert node == expected


@pytest.mark.parametrize("operator", ["contains", "does not contain"])
def test_cohort_filter_matches_the_reference(shop: Any, client: httpx.Client, operator: str) -> None:
    """A ``$cohorts`` filter keeps the users in any of its cohorts (or, ``does not contain``, in none of them)."""
    creds, events = shop
    carters, buyers = _members(events, CARTERS), _members(events, BUYERS)
    either = carters | buyers
    kept = [e for e in events if (e.user in either) == (operator == "contains")]
    got = _post(client, creds, _bookmark(filters=[_cohort_filter(operator, ("Carters", CARTERS),
                                                                 ("Buyers", BUYERS))]))
    expected = _as_metrics(next(iter(_reference(kept, trends=False, totals=False).values())))
    assert got["series"] == {NAME: expected}
    assert expected["count"]["1. View Item"]["all"] > 0
    everyone = _as_metrics(next(iter(_reference(events, trends=False, totals=False).values())))
    assert expected != everyone


def test_cohort_filter_with_an_event_property_breakdown(shop: Any, client: httpx.Client) -> None:
    """Both at once: the filter narrows the users, the breakdown splits their attempts by ``$os``."""
    creds, events = shop
    carters = _members(events, CARTERS)
    kept = [e for e in events if e.user in carters]
    bookmark = _bookmark(filters=[_cohort_filter("contains", ("Carters", CARTERS))])
    bookmark["sections"]["group"] = [{"value": "$os", "resourceType": "events"}]
    got = _post(client, creds, bookmark)
    found = funnels_ref.funnel(kept, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ, window=WINDOW_MS,
                               interval=(TO - FROM).days + 1, on='properties["$os"]', limit=10_000)
    assert got["headers"] == ["$metric", "$os"]
    assert got["series"][NAME] == {segment: _as_metrics(steps)
                                   for segment, steps in found["data"][FROM.isoformat()].items()}
    assert len(got["series"][NAME]) > 2


@pytest.mark.parametrize(("change", "fragment"), [
    ({"group": [{"value": p, "resourceType": "events"} for p in ("$os", "$browser", "$city", "$region")]},
     "at most 3 breakdowns"),
    ({"group": [{"value": "$os", "resourceType": "events"}, {"value": "plan", "resourceType": "groups"}]},
     "event or user profile properties or by cohorts"),
    ({"group": [{"value": "Buy Frequency", "resourceType": "people",
                 "behavior": {"behaviorType": "$frequency", "event": {"value": "Buy"}}}]}, "frequency breakdowns"),
    ({"group": [{"value": [], "resourceType": "events", "cohorts": []}]}, "lists its cohorts"),
    ({"filter": [{"value": "$cohorts", "resourceType": "events", "filterOperator": "sometimes",
                  "filterValue": [{"cohort": {"id": 1, "name": "c"}}]}]}, "cohort filter"),
    ({"filter": [{"value": "Buy Frequency", "resourceType": "people", "filterOperator": "is at least",
                  "filterValue": 1, "behavior": {"behaviorType": "$frequency", "event": {"value": "Buy"}}}]},
     "frequency filters"),
])
def test_unsupported_user_options_are_400(shop: Any, client: httpx.Client, change: dict[str, Any],
                                            fragment: str) -> None:
    creds, _ = shop
    bookmark = _bookmark()
    bookmark["sections"].update(change)
    assert fragment in _post(client, creds, bookmark, 400)["error"]


# --- through the client library, with a saved cohort ------------------------------------------------------------

DAY = date(2025, 3, 3)


def _at(days: int, hour: int) -> int:
    return int(datetime(DAY.year, DAY.month, DAY.day, hour, tzinfo=UTC).timestamp()) + days * 86_400


@pytest.fixture(scope="module")
def small(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    """u1 and u3 play at least 3 times (the saved cohort); u1 and u2 convert Sign Up → Play → Buy, u3 stops at
    Play, u4 only signs up."""
    creds = make_project(server.data_dir, "insights-funnels-client", timezone="UTC")
    plan = {"u1": [("Sign Up", 0, 9), ("Play", 0, 10), ("Play", 1, 10), ("Play", 2, 10), ("Buy", 2, 11)],
            "u2": [("Sign Up", 0, 9), ("Play", 0, 12), ("Buy", 1, 9)],
            "u3": [("Sign Up", 1, 9), ("Play", 1, 10), ("Play", 2, 10), ("Play", 3, 10)],
            "u4": [("Sign Up", 2, 9)]}
    sent = [{"event": name, "properties": {"time": _at(days, hour), "distinct_id": user,
                                           "$insert_id": f"{user}-{n}"}}
            for user, done in plan.items() for n, (name, days, hour) in enumerate(done)]
    import_all(client, creds, sent)
    return creds, events_ref.load(sent)


@pytest.fixture
def ws(server: ServerProcess, small: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[mp.Workspace]:
    creds, _ = small
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


def test_cohort_breakdown_and_filter_through_the_client(ws: mp.Workspace, small: Any, client: httpx.Client) -> None:
    """``query_funnel(group_by=CohortBreakdown(...))`` and ``where=Filter.in_cohort(...)`` with a saved cohort."""
    creds, events = small
    players = mp.CohortDefinition(mp.CohortCriteria.did_event("Play", at_least=3, from_date="2025-03-01",
                                                              to_date="2025-03-10"))
    cohort = ws.create_cohort(mp.CreateCohortParams(name="Players", definition=players))
    members = {"u1", "u3"}
    assert members == {user for user in ("u1", "u2", "u3", "u4")
                       if sum(1 for e in events if e.user == user and e.name == "Play") >= 3}
    steps = ["Sign Up", "Play", "Buy"]
    dates = {"from_date": DAY.isoformat(), "to_date": (DAY + timedelta(days=4)).isoformat(),
             "conversion_window": 7}

    def reference(users: set[str]) -> dict[str, Any]:
        found = funnels_ref.funnel([e for e in events if e.user in users], [funnels_ref.Step(s) for s in steps], DAY,
                                   DAY + timedelta(days=4), window=7 * 86_400_000, interval=5)
        return _as_metrics(found["data"][DAY.isoformat()]["steps"])

    options = {"group_by": mp.CohortBreakdown(cohort.id, "Players"), **dates}
    split = ws.query_funnel(steps, **options)
    assert split.headers == ["$metric", "$cohorts"]
    assert split.series == _post(client, creds, ws.build_funnel_params(steps, **options))["series"]
    node = split.series["Sign Up through Buy"]
    everyone = {"u1", "u2", "u3", "u4"}
    assert node == {"$overall": reference(everyone), "Players": reference(members),
                    "Not In Players": reference(everyone - members)}
    assert node["Players"]["count"] == {"1. Sign Up": {"all": 2}, "2. Play": {"all": 2}, "3. Buy": {"all": 1}}
    assert len(split.df) > 0  # the generic Insights frame reads the nested answer

    only = ws.query_funnel(steps, where=mp.Filter.in_cohort(cohort.id, "Players"), **dates)
    assert only.series == {"Sign Up through Buy": reference(members)}
    ws.delete_cohort(cohort.id)


# --- several breakdowns -------------------------------------------------------------------------------------------


def _nest(found: dict[str, list[dict[str, Any]]], depth: int) -> dict[str, Any]:
    """The reference's segment paths nested as Insights nests breakdowns."""
    root: dict[str, Any] = {"$overall": _as_metrics(found["$overall"])}
    for segment in sorted(s for s in found if s != "$overall"):
        *parents, last = segment.split(funnels_ref.PATH_SEPARATOR)
        node = root
        for key in parents:
            node = node[key]
        node[last] = _as_metrics(found[segment]) if len(parents) + 1 == depth else {
            "$overall": _as_metrics(found[segment])}
    return root


@pytest.mark.parametrize(("chart", "attribution"), [("funnel-steps", None), ("line", "last_defined")])
def test_several_breakdowns_nest_as_insights_nests_them(shop: Any, client: httpx.Client, chart: str,
                                                        attribution: str | None) -> None:
    """Cohorts then ``$os`` then ``$browser``: ``{"$overall", cohort: {"$overall", os: {"$overall", browser:
    metrics}}}``, each property valued by the funnel's attribution on its own, each level's ``$overall`` over the
    attempts below it."""
    creds, events = shop
    carters = _members(events, CARTERS)
    group = _cohort_group(("Carters", CARTERS, False), ("Carters", CARTERS, True))
    bookmark = _bookmark(chart=chart, unit="week", groups=[group, {"value": "$os", "resourceType": "events"},
                                                           {"value": "$browser", "resourceType": "events"}])
    if attribution:
        bookmark["sections"]["show"][0]["behavior"]["propertyAttribution"] = attribution
    got = _post(client, creds, bookmark)
    assert got["headers"] == ["$metric", "$cohorts", "$os", "$browser"]

    def cohort_of(user: str) -> list[str]:
        return ["Carters" if user in carters else "Not In Carters"]

    trends = chart == "line"
    options: dict[str, Any] = {"unit": "week"} if trends else {"interval": (TO - FROM).days + 1}
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, limit=10_000, attribution=attribution or "first_defined",
                               breakdowns=[cohort_of, 'properties["$os"]', 'properties["$browser"]'], **options)
    expected = {key: _nest(per_segment, 3) for key, per_segment in found["data"].items()}
    node = got["series"][NAME]
    if trends:
        assert {key[:10]: value for key, value in node.items()} == expected
    else:
        assert node == expected[FROM.isoformat()]
        assert len(node["Carters"]) > 2 and any(len(child) > 2 for child in node["Carters"].values())


def test_a_property_then_cohorts(shop: Any, client: httpx.Client) -> None:
    """``$os`` then cohorts; checked without the reference's breakdown paths: each os's cohort segment is the funnel
    over that cohort's users broken down by ``$os``."""
    creds, events = shop
    carters = _members(events, CARTERS)
    group = _cohort_group(("Carters", CARTERS, False), ("Carters", CARTERS, True))
    got = _post(client, creds, _bookmark(groups=[{"value": "$os", "resourceType": "events"}, group]))
    assert got["headers"] == ["$metric", "$os", "$cohorts"]

    def by_os(users: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        chosen = [e for e in events if users is None or e.user in users]
        found = funnels_ref.funnel(chosen, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                                   window=WINDOW_MS, interval=(TO - FROM).days + 1, on='properties["$os"]',
                                   limit=10_000)
        return dict(found["data"][FROM.isoformat()])

    everyone, inside = by_os(None), by_os(carters)
    outside = by_os({e.user for e in events} - carters)
    expected: dict[str, Any] = {"$overall": _as_metrics(everyone.pop("$overall"))}
    for os_name, steps in everyone.items():
        expected[os_name] = {"$overall": _as_metrics(steps)}
        for label, split in (("Carters", inside), ("Not In Carters", outside)):
            if os_name in split:
                expected[os_name][label] = _as_metrics(split[os_name])
    assert got["series"][NAME] == expected


# --- user profile properties --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def profiles(shop: Any, client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Current profiles of most of the shop's users (set through ``/engage``): a plan (a string, a list, or none)
    and an age; the rest have none."""
    creds, events = shop
    return set_plan_profiles(client, creds, sorted({e.user for e in events if e.user}))


def _people_filter(prop: str, operator: str, value: Any) -> dict[str, Any]:
    return {"value": prop, "resourceType": "people", "filterType": "string", "filterOperator": operator,
            "filterValue": value}


PROFILE_CASES = [
    # a profile breakdown then an event property, only users older than 30
    ({"groups": [{"value": "plan", "resourceType": "people"}, {"value": "$os", "resourceType": "events"}],
      "filters": [_people_filter("age", "is greater than", 30)]},
     {"breakdowns": [funnels_ref.Profile("plan"), 'properties["$os"]'], "people_where": 'properties["age"] > 30'}),
    # an event property then a profile property, weekly trends, counting every attempt
    ({"groups": [{"value": "$browser", "resourceType": "events"}, {"value": "plan", "resourceType": "user"}],
      "chart": "line", "math_": "conversion_rate_total"},
     {"breakdowns": ['properties["$browser"]', funnels_ref.Profile("plan")], "totals": True}),
    # a filter an empty profile passes keeps the users without a plan (or without a profile)
    ({"filters": [_people_filter("plan", "does not equal", ["pro"])]},
     {"people_where": 'not (properties["plan"] == "pro")'}),
]


@pytest.mark.parametrize(("change", "reference"), PROFILE_CASES, ids=["plan-os-age", "browser-plan-line", "not-pro"])
def test_profile_filters_and_breakdowns_match_the_reference(shop: Any, client: httpx.Client,
                                                           profiles: dict[str, dict[str, Any]],
                                                           change: dict[str, Any], reference: dict[str, Any]) -> None:
    """The users' current profiles filter the funnel's users and split their attempts (a list plan in each of its
    items' segments, no plan in ``undefined``), nested with event properties as Insights nests breakdowns."""
    creds, events = shop
    trends = change.get("chart") == "line"
    got = _post(client, creds, _bookmark(unit="week", **change))
    breakdowns = reference.get("breakdowns", [])
    assert got["headers"] == ["$metric", *(g["value"] for g in change.get("groups", []))]
    options: dict[str, Any] = {"unit": "week"} if trends else {"interval": (TO - FROM).days + 1}
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, limit=10_000, profiles=profiles, **options, **reference)
    expected = {key: _nest(per_segment, len(breakdowns)) if breakdowns else _as_metrics(per_segment["steps"])
                for key, per_segment in found["data"].items()}
    node = got["series"][NAME]
    if trends:
        assert {key[:10]: value for key, value in node.items()} == expected
        return
    assert node == expected[FROM.isoformat()]
    unfiltered = _as_metrics(next(iter(_reference(events, trends=False, totals=False).values())))
    if "people_where" in reference:  # the filter keeps some users, not all
        kept = (node["$overall"] if breakdowns else node)["count"]["1. View Item"]["all"]
        assert 0 < kept < unfiltered["count"]["1. View Item"]["all"]
    if breakdowns:
        assert {"pro", "free", "team", "undefined"} <= set(node)


@pytest.fixture(scope="module")
def merged(server: ServerProcess, client: httpx.Client) -> ProjectCreds:
    """u1 signs up on a device (``$device:D1``) and plays and buys after logging in on it (the device merges into
    u1); u2 signs up and plays; u3 only signs up; u4 converts. Profiles: u1 ``pro``, u2 ``free``, u4 ``["pro",
    "team"]``, u3 none."""
    creds = make_project(server.data_dir, "insights-funnels-profiles", timezone="UTC")
    device = {"$device_id": "D1"}
    plan = [("$device:D1", "Sign Up", 9, device), ("u1", "Play", 10, {**device, "$user_id": "u1"}),
            ("u1", "Buy", 11, {"$user_id": "u1"}), ("u2", "Sign Up", 9, {}), ("u2", "Play", 12, {}),
            ("u3", "Sign Up", 9, {}), ("u4", "Sign Up", 13, {}), ("u4", "Play", 14, {}), ("u4", "Buy", 15, {})]
    import_all(client, creds, [{"event": name, "properties": {"time": _at(0, hour), "distinct_id": user,
                                                              "$insert_id": f"m{n}", **more}}
                               for n, (user, name, hour, more) in enumerate(plan)])
    set_profiles(client, creds, {"u1": {"plan": "pro"}, "u2": {"plan": "free"}, "u4": {"plan": ["pro", "team"]}})
    return creds


def _counts(node: dict[str, Any]) -> list[int]:
    return [cell["all"] for cell in node["count"].values()]


def test_profiles_through_an_identity_merge(merged: ProjectCreds, client: httpx.Client) -> None:
    """The device's sign-up counts under u1's profile (``pro``): the merge makes the device u1, and the profile is
    the user's current one. A list plan puts u4 in ``pro`` and ``team``; u3 (no profile) is ``undefined``."""
    bookmark = funnel_params(["Sign Up", "Play", "Buy"], window=1)
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [DAY.isoformat(), DAY.isoformat()]}]
    bookmark["sections"]["group"] = [{"value": "plan", "resourceType": "people", "propertyType": "string"}]
    got = _post(client, merged, bookmark)
    assert got["headers"] == ["$metric", "plan"]
    node = got["series"]["Sign Up through Buy"]
    assert {segment: _counts(found) for segment, found in node.items()} == {
        "$overall": [4, 3, 2], "pro": [2, 2, 2], "team": [1, 1, 1], "free": [1, 1, 0], "undefined": [1, 0, 0]}

    bookmark["sections"]["group"] = []
    bookmark["sections"]["filter"] = [_people_filter("plan", "contains", ["pro"])]  # u1 and u4 (an item of a list)
    assert _counts(_post(client, merged, bookmark)["series"]["Sign Up through Buy"]) == [2, 2, 2]
    bookmark["sections"]["filter"] = [_people_filter("plan", "does not contain", ["pro"])]  # u2, and u3 without one
    assert _counts(_post(client, merged, bookmark)["series"]["Sign Up through Buy"]) == [2, 1, 0]
