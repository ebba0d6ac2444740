"""``/arb_funnels`` (flows) through the server: the params ``query_flow`` sends, checked against the brute-force
paths on generated data; saved flows reports by ``bookmark_id``; refusals."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from mixhouse.demo.generator import DemoConfig
from mixhouse.services import flows as service
from mixhouse.services.flows_answer import breakdown_groups
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as ref
from tests.support.client_env import use_service_account
from tests.support.sending import import_demo
from tests.support.server import ServerProcess

TZ = "Asia/Tokyo"
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (END - timedelta(days=14)).date(), (END - timedelta(days=1)).date()


def _flow(event: str = "View Item", **options: Any) -> dict[str, Any]:
    step = {"event": event, "forward": options.pop("forward", 3), "reverse": options.pop("reverse", 0),
            "bool_op": "and", "property_filter_params_list": [], "step_label": event}
    return {"steps": [step], "conversion_window": {"unit": "day", "value": 1}, "count_type": "unique",
            "cardinality_threshold": 3, "collapse_repeated": False, "hidden_events": [], "exclusions": [],
            "date_range": {"type": "between", "from_date": FROM.isoformat(), "to_date": TO.isoformat()},
            "chartType": "sankey", "anchor_position": 1, "flows_merge_type": "graph", "version": 2, **options}


def _post(client: httpx.Client, creds: ProjectCreds, params: dict[str, Any], query_type: str = "flows_sankey",
          status: int = 200) -> Any:
    response = client.post("/api/query/arb_funnels", json={"bookmark": params, "project_id": creds.project_id,
                                                           "query_type": query_type},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "flows", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=13, events=4000, end=END, days=15))
    return creds, events_ref.load(sent)


def _expected(events: list[events_ref.Event], params: dict[str, Any], query_type: str,
              anchor_where: str | None = None, *, step_wheres: tuple[str | None, ...] = (), where: str | None = None,
              segments: tuple[str | ref.CohortSegment | ref.ProfileSegment, ...] = (),
              profiles: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The answer built from the brute-force outcomes: ``anchor_where``/``step_wheres`` are the steps' filters,
    ``where`` the flow's ``filter_by_event``, ``segments`` its breakdowns, as expressions."""
    query = service.parse_flow(params, TZ)
    wheres = step_wheres or (anchor_where,)
    anchors = [ref.Anchor(a.event, a.forward, a.reverse, wheres[k] if k < len(wheres) else None, a.session_event)
               for k, a in enumerate(query.anchors)]
    counted = ref.flow_outcomes(events, anchors, query.dates.from_date, query.dates.to_date, timezone=TZ,
                                window=query.window_ms, totals=query.totals, collapse=query.collapse,
                                hidden=query.hidden, excluded=query.excluded, per_session=query.per_session,
                                window_sessions=query.window_sessions, where=where, segments=segments,
                                profiles=profiles)
    paths: Counter[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = Counter()
    rows = []
    for (reverse, after, keys), users in counted.items():
        paths[(reverse, after)] += users
        rows.append((reverse, after, keys, users))
    groups = breakdown_groups(rows, lambda keys: list(itertools.product(*keys))) if segments else []
    answer = service.build_answer(query, [(r, a, n) for (r, a), n in paths.items()], query_type, groups)
    answer.pop("computed_at")
    return answer


@pytest.mark.parametrize(("options", "query_type"), [
    ({}, "flows_sankey"),
    ({"reverse": 2, "forward": 2}, "flows_sankey"),
    ({"collapse_repeated": True, "hidden_events": ["Search"], "cardinality_threshold": 5}, "flows_top_paths"),
    ({"exclusions": ["Add To Cart"], "count_type": "total"}, "flows"),
    ({"count_type": "session", "reverse": 1}, "flows_sankey"),
    ({"conversion_window": {"unit": "session", "value": 2}, "reverse": 2, "forward": 3}, "flows_top_paths"),
])
def test_flows_match_reference(shop: Any, client: httpx.Client, options: dict[str, Any], query_type: str) -> None:
    creds, events = shop
    params = _flow(**options)
    got = _post(client, creds, params, query_type)
    assert got.pop("computed_at")
    assert got == _expected(events, params, query_type)
    anchor = got["steps"][options.get("reverse", 0)]["nodes"][0]
    assert anchor["type"] == "ANCHOR" and int(anchor["totalCount"]) > 50


def _segfilter(name: str, kind: str, operator: str | None, operand: Any) -> dict[str, Any]:
    """A step filter as the client library's ``build_segfilter_entry`` writes it."""
    spec: dict[str, Any] = {"operand": operand} if operator is None else {"operator": operator, "operand": operand}
    return {"property": {"name": name, "source": "properties", "type": kind}, "type": kind,
            "selected_property_type": kind, "filter": spec}


@pytest.mark.parametrize(("filters", "bool_op", "where"), [
    ([_segfilter("$os", "string", "==", ["Mac OS X", "iOS"])], "and", 'properties["$os"] in ["Mac OS X", "iOS"]'),
    ([_segfilter("price", "number", ">", 50), _segfilter("$os", "string", "!=", ["Windows"])], "and",
     'properties["price"] > 50 and not (properties["$os"] == "Windows")'),
    ([_segfilter("price", "number", "><", [10, 20]), _segfilter("$browser", "string", "in", ["Fire"])], "or",
     '(properties["price"] >= 10 and properties["price"] <= 20) or "Fire" in properties["$browser"]'),
])
def test_anchor_step_filters(shop: Any, client: httpx.Client, filters: list[dict[str, Any]], bool_op: str,
                             where: str) -> None:
    """``FlowStep("View Item", filters=[...])``: only anchor events that pass the filters start a path."""
    creds, events = shop
    params = _flow("View Item", forward=2, reverse=1)
    params["steps"][0].update(property_filter_params_list=filters, bool_op=bool_op)
    got = _post(client, creds, params)
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey", anchor_where=where)
    unfiltered = _post(client, creds, _flow("View Item", forward=2, reverse=1))
    filtered_count, all_count = (int(answer["steps"][1]["nodes"][0]["totalCount"]) for answer in (got, unfiltered))
    assert 0 < filtered_count < all_count


def test_saved_flows_report(shop: Any, server: ServerProcess, client: httpx.Client) -> None:
    from mixhouse.meta.store import MetaStore

    creds, events = shop
    params = _flow("Sign Up", forward=2)
    with MetaStore.for_data_dir(server.data_dir) as store:
        saved = store.create_report(creds.project_id, "flows", "After sign-up", params)
    response = client.get("/api/query/arb_funnels", params={"project_id": creds.project_id, "bookmark_id": saved.id,
                                                            "query_type": "flows_sankey"},
                          auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    got = response.json()
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey")


@pytest.mark.parametrize(("change", "fragment"), [
    ({"steps": [{"event": "A"}] * 6}, "at most 5 anchor steps"),
    ({"steps": [{"event": "Sign Up", "session_event": "start"}]}, "session_event start goes with"),
    ({"steps": [{"event": "$session_end", "session_event": "end",
                 "property_filter_params_list": [_segfilter("$os", "string", "==", ["iOS"])]}]}, "no property filters"),
    ({"steps": [{"event": "$session_start", "session_event": "start"}], "segments": [{"value": "$os"}]},
     "takes only profile, cohort and frequency segments"),
    ({"date_range": {"type": "relative_after", "window": {"unit": "year", "value": 1}}}, "window.unit"),
    ({"date_range": {"type": "relative_after"}}, "needs window"),
    ({"segments": [{"value": "plan", "resourceType": "groups"}]}, "groups properties"),
    ({"segments": [{"value": "price", "customBucket": {"bucketSize": 0}}]}, "customBucket needs a bucketSize"),
    ({"segments": [{"behavior": {"behaviorType": "$average"}}]}, "behaviors other than $frequency"),
    ({"filter_by_event": {"operator": "and", "children": [{"propertyName": "plan", "resourceType": "groups",
                                                           "filterOperator": "equals", "filterValue": ["a"]}]}},
     "filter_by_event on groups"),
    ({"count_type": "sometimes"}, "count_type must be unique, total or session"),
    ({"steps": [{"event": "A", "property_filter_params_list": [
        {**_segfilter("d", "datetime", ">", 7), "filter": {"operand": 7, "operator": ">", "unit": "days"}}]}]},
     "relative datetime step filters"),
    ({"steps": [{"event": "A", "property_filter_params_list": [_segfilter("d", "datetime", ">=", "01/02/2024")]}]},
     "datetime step filter operator '>='"),
    ({"conversion_window": {"unit": "session", "value": 13}}, "from 1 to 12"),
    ({"conversion_window": {"unit": "hour", "value": 1}}, "conversion_window"),
])
def test_unsupported_flows_are_400(shop: Any, client: httpx.Client, change: dict[str, Any], fragment: str) -> None:
    creds, _ = shop
    assert fragment in _post(client, creds, {**_flow(), **change}, status=400)["error"]


@pytest.mark.parametrize("negated", [False, True])
def test_filter_by_cohort(shop: Any, client: httpx.Client, negated: bool) -> None:
    """``filter_by_cohort`` (``build_flow_cohort_filter``'s ``{"id", "name", "negated"}``): only the paths of the
    cohort's members (or of everyone else), as the flows reference walks them over those users' events."""
    from tests.support import reference_cohorts as cohort_ref
    from tests.support.app_api import call

    creds, events = shop
    definition = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 2}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Add To Cart"}, "type": "absolute"},
                            "window": {"unit": "day", "value": 30}}}}
    cohort = call(client, "POST", f"/api/app/projects/{creds.project_id}/cohorts", (creds.sa_username,
                                                                                     creds.sa_secret),
                  body={"name": "Carters", **definition})["results"]
    logged = [cohort_ref.LoggedEvent(e.name, e.user, e.time_ms // 1000, e.properties) for e in events if e.user]
    today = datetime.now(ZoneInfo(TZ)).date()
    members = cohort_ref.members(logged, {}, definition, today, TZ, lambda _: {})
    assert 0 < len(members) < len({e.user for e in events})
    chosen = [e for e in events if (e.user in members) != negated]
    params = {**_flow(), "filter_by_cohort": {"id": cohort["id"], "name": "Carters", "negated": negated}}
    got = _post(client, creds, params)
    assert got.pop("computed_at")
    assert got == _expected(chosen, _flow(), "flows_sankey")


def _step(event: str, forward: int = 3, reverse: int = 0, filters: list[dict[str, Any]] | None = None
          ) -> dict[str, Any]:
    return {"event": event, "forward": forward, "reverse": reverse, "bool_op": "and",
            "property_filter_params_list": filters or [], "step_label": event}


@pytest.mark.parametrize(("steps", "options", "query_type"), [
    ([_step("View Item", 2, 1), _step("Add To Cart", 1, 1)], {}, "flows_sankey"),
    ([_step("View Item", 1), _step("Add To Cart", 2, 2), _step("Purchase", 1, 1)],
     {"conversion_window": {"unit": "day", "value": 3}}, "flows_top_paths"),
    ([_step("Add To Cart", 2), _step("Purchase", 2, 1)],
     {"exclusions": ["Search"], "count_type": "total", "collapse_repeated": True}, "flows"),
    ([_step("View Item", 1), _step("View Item", 1, 1)], {"count_type": "session"}, "flows_sankey"),
    ([_step("Search", 1, 2), _step("Add To Cart", 0, 1)],
     {"conversion_window": {"unit": "session", "value": 2}, "hidden_events": ["View Item"]}, "flows_sankey"),
])
def test_several_anchor_steps(shop: Any, client: httpx.Client, steps: list[dict[str, Any]],
                              options: dict[str, Any], query_type: str) -> None:
    """The path passes through the anchors in order: between two of them, the first ``forward`` events after the
    one and the last ``reverse`` before the other; a path that misses the next anchor drops off."""
    creds, events = shop
    params = {**_flow(), "steps": steps, **options}
    got = _post(client, creds, params, query_type)
    got.pop("computed_at")
    assert got == _expected(events, params, query_type)
    anchors = [k for k, step in enumerate(got["steps"]) if any(n["type"] == "ANCHOR" for n in step["nodes"])]
    assert len(anchors) == len(steps)
    entries, second = (int(got["steps"][k]["nodes"][0]["totalCount"]) for k in anchors[:2])
    assert 0 < second < entries  # some reach the second anchor, some drop off on the way


def test_several_anchors_with_step_filters(shop: Any, client: httpx.Client) -> None:
    creds, events = shop
    steps = [_step("View Item", 1, 0, [_segfilter("price", "number", ">", 50)]),
             _step("Add To Cart", 1, 1, [_segfilter("$os", "string", "==", ["Windows", "Mac OS X"])])]
    params = {**_flow(), "steps": steps}
    got = _post(client, creds, params)
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey",
                            step_wheres=('properties["price"] > 50', 'properties["$os"] in ["Windows", "Mac OS X"]'))


def _midnight(day: Any) -> str:
    """``datetime("...")`` of the start of ``day`` in the project's timezone (UTC text)."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    return f'datetime("{start:%Y-%m-%dT%H:%M:%S}")'


@pytest.mark.parametrize(("operator", "days", "where"), [
    ("==", [5], 'event["time"] >= {0} and event["time"] < {1}'),
    ("!=", [5], 'not (event["time"] >= {0} and event["time"] < {1})'),
    (">", [5], 'event["time"] < {0}'),  # "was before"
    ("<", [5], 'event["time"] >= {0}'),  # "was since"
    ("><", [9, 4], 'event["time"] >= {0} and event["time"] < {2}'),
])
def test_datetime_step_filters(shop: Any, client: httpx.Client, operator: str, days: list[int], where: str) -> None:
    """Datetime step filters as the client writes them (``MM/DD/YYYY`` days in the project's timezone) on ``$time``:
    on, not on, before, since, between (both days included)."""
    creds, events = shop
    chosen = [(END - timedelta(days=n)).date() for n in days]
    operand: Any = [d.strftime("%m/%d/%Y") for d in chosen] if operator == "><" else chosen[0].strftime("%m/%d/%Y")
    step = _step("View Item", 2, 1, [{"filter": {"operand": operand, "operator": operator},
                                      "property": {"name": "$time", "source": "properties", "type": "datetime"},
                                      "selected_property_type": "datetime", "type": "datetime"}])
    params = {**_flow(), "steps": [step]}
    got = _post(client, creds, params)
    got.pop("computed_at")
    bounds = [_midnight(chosen[0]), _midnight(chosen[0] + timedelta(days=1)), _midnight(chosen[-1] + timedelta(days=1))]
    assert got == _expected(events, params, "flows_sankey", step_wheres=(where.format(*bounds),))
    everyone = _post(client, creds, {**_flow(), "steps": [_step("View Item", 2, 1)]})
    assert 0 < int(got["steps"][1]["nodes"][0]["totalCount"]) < int(everyone["steps"][1]["nodes"][0]["totalCount"])


def test_filter_by_event(shop: Any, client: httpx.Client) -> None:
    """``Filter`` entries on the whole flow (``filter_by_event``): only events that pass are in a flow at all."""
    creds, events = shop
    spec = {"operator": "and", "children": [
        {"propertyName": "$os", "filterOperator": "equals", "filterType": "string", "filterValue": ["iOS", "Android"],
         "resourceType": "events"},
        {"propertyName": "logged_in", "filterOperator": "true", "filterType": "boolean", "resourceType": "events"}]}
    params = {**_flow(forward=2, reverse=1), "filter_by_event": spec}
    got = _post(client, creds, params)
    got.pop("computed_at")
    where = 'properties["$os"] in ["iOS", "Android"] and properties["logged_in"] == true'
    assert got == _expected(events, params, "flows_sankey", where=where)
    everyone = _post(client, creds, _flow(forward=2, reverse=1))
    assert 0 < int(got["steps"][1]["nodes"][0]["totalCount"]) < int(everyone["steps"][1]["nodes"][0]["totalCount"])
    either = {**spec, "operator": "or"}
    got = _post(client, creds, {**params, "filter_by_event": either}, "flows_top_paths")
    got.pop("computed_at")
    where = 'properties["$os"] in ["iOS", "Android"] or properties["logged_in"] == true'
    assert got == _expected(events, {**params, "filter_by_event": either}, "flows_top_paths", where=where)


def _segment(name: str) -> dict[str, Any]:
    """A segment as the client library's ``build_flow_params`` writes a ``GroupBy``."""
    return {"value": name, "propertyName": name, "resourceType": "events", "propertyType": "string",
            "propertyDefaultType": "string"}


@pytest.mark.parametrize(("segments", "query_type"), [
    (["mp_country_code"], "flows_sankey"),
    (["tags"], "flows_top_paths"),  # a list property: an entry in the segment of each item
    (["logged_in", "plan"], "flows"),  # every combination; plan is missing on anonymous events: "undefined"
])
def test_segments(shop: Any, client: httpx.Client, segments: list[str], query_type: str) -> None:
    creds, events = shop
    params = {**_flow(forward=2, reverse=1), "segments": [_segment(name) for name in segments]}
    got = _post(client, creds, params, query_type)
    got.pop("computed_at")
    assert got == _expected(events, params, query_type, segments=tuple(segments))
    whole = _post(client, creds, _flow(forward=2, reverse=1), query_type)
    assert got["steps"] == whole["steps"]  # the top level stays the whole flow
    assert len(got["breakdowns"]) > 1
    assert all(set(b["segments"]) == set(segments) for b in got["breakdowns"])
    if segments == ["mp_country_code"]:  # one key per entry: the breakdowns add up to the whole
        assert sum(b["metadata"]["entries"] for b in got["breakdowns"]) == got["metadata"]["entries"]


def test_cohort_segments(shop: Any, client: httpx.Client) -> None:
    """A ``CohortBreakdown`` entry (cohort and its negation): each entry in the side its user is on."""
    from tests.support import reference_cohorts as cohort_ref
    from tests.support.app_api import call

    creds, events = shop
    definition = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Purchase"}, "type": "absolute"},
                            "window": {"unit": "day", "value": 30}}}}
    cohort = call(client, "POST", f"/api/app/projects/{creds.project_id}/cohorts", (creds.sa_username,
                                                                                     creds.sa_secret),
                  body={"name": "Buyers", **definition})["results"]
    logged = [cohort_ref.LoggedEvent(e.name, e.user, e.time_ms // 1000, e.properties) for e in events if e.user]
    members = frozenset(cohort_ref.members(logged, {}, definition, datetime.now(ZoneInfo(TZ)).date(), TZ,
                                           lambda _: {}))
    base = {"id": cohort["id"], "name": "Buyers", "negated": False}
    segment = {"value": ["Buyers", "Not In Buyers"], "resourceType": "events", "propertyType": None,
               "cohorts": [base, {**base, "negated": True}]}
    params = {**_flow(forward=1), "segments": [segment]}
    got = _post(client, creds, params)
    got.pop("computed_at")
    sides = ref.CohortSegment(((members, False, "Buyers"), (members, True, "Not In Buyers")))
    assert got == _expected(events, params, "flows_sankey", segments=(sides,))
    assert {b["segment"][0] for b in got["breakdowns"]} == {"Buyers", "Not In Buyers"}


@pytest.mark.parametrize(("bucket", "own_window", "buckets"), [
    ({"bucketSize": 2, "disabled": False, "max": 6, "min": 1}, False, (2, 1, 6)),
    (None, True, None),
])
def test_frequency_segments(shop: Any, client: httpx.Client, bucket: dict[str, Any] | None, own_window: bool,
                            buckets: tuple[int, int, int] | None) -> None:
    """A ``FrequencyBreakdown`` entry (as Insights reads it): each entry in the segment of how many times its user
    did the event, over the flow's range or the entry's own ``in the last`` window, labelled as Insights does."""
    creds, events = shop
    behavior = {"aggregationOperator": "total", "behaviorType": "$frequency",
                "dateRange": {"window": {"unit": "day", "value": 5}} if own_window else None,
                "event": {"label": "Add To Cart", "value": "Add To Cart"},
                "filters": [{"value": "$os", "resourceType": "events", "filterOperator": "equals",
                             "filterType": "string", "filterValue": ["Windows", "iOS"]}] if own_window else [],
                "filtersOperator": "and"}
    segment = {"behavior": behavior, "customBucket": bucket, "dataGroupId": None, "dataset": "$mixpanel",
               "propertyType": "number", "resourceType": "people", "value": "Add To Cart Frequency"}
    params = {**_flow(forward=2), "segments": [segment]}
    got = _post(client, creds, params, "flows_top_paths")
    got.pop("computed_at")
    today = datetime.now(ZoneInfo(TZ)).date()
    counted = ref.FrequencySegment("Add To Cart", today - timedelta(days=4) if own_window else FROM,
                                   today if own_window else TO,
                                   'properties["$os"] in ["Windows", "iOS"]' if own_window else None, buckets)
    assert got == _expected(events, params, "flows_top_paths", segments=(counted,))
    labels = {b["segments"]["Add To Cart Frequency"] for b in got["breakdowns"]}
    assert "0" not in labels if bucket else "0" in labels
    assert len(labels) > 2 and sum(b["metadata"]["entries"] for b in got["breakdowns"]) == got["metadata"]["entries"]


@pytest.fixture(scope="module")
def tiers(shop: Any, client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Profiles with a ``tier`` for two users in three (canonical ids); the others have none."""
    creds, events = shop
    users = sorted({e.user for e in events if e.user})
    profiles = {user: {"tier": ("gold", "silver")[n % 2]} for n, user in enumerate(users) if n % 3}
    updates = [{"$token": creds.token, "$distinct_id": user, "$set": props} for user, props in profiles.items()]
    response = client.post("/engage", data={"data": json.dumps(updates), "verbose": "1"})
    assert response.status_code == 200 and response.json()["status"] == 1, response.text
    return profiles


def test_profile_filters_and_segments(shop: Any, client: httpx.Client, tiers: dict[str, dict[str, Any]]) -> None:
    """``resourceType: people`` in ``filter_by_event`` and ``segments``, ``source: user`` in step filters: read on
    the user's profile (a user without one has no value: the filter fails, the segment is ``"undefined"``)."""
    creds, events = shop
    profiles = tiers
    spec = {"operator": "and", "children": [
        {"propertyName": "tier", "filterOperator": "equals", "filterType": "string", "filterValue": ["gold"],
         "resourceType": "people"},
        {"propertyName": "$os", "filterOperator": "does not equal", "filterType": "string",
         "filterValue": ["Windows"], "resourceType": "events"}]}
    params = {**_flow(forward=2, reverse=1), "filter_by_event": spec}
    got = _post(client, creds, params)
    got.pop("computed_at")
    where = 'user["tier"] == "gold" and not (properties["$os"] == "Windows")'
    assert got == _expected(events, params, "flows_sankey", where=where, profiles=profiles)
    assert int(got["steps"][1]["nodes"][0]["totalCount"]) > 0
    segment = {**_segment("tier"), "resourceType": "people"}
    params = {**_flow(forward=2), "segments": [segment, _segment("logged_in")]}
    got = _post(client, creds, params, "flows_top_paths")
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_top_paths", segments=(ref.ProfileSegment("tier"), "logged_in"),
                            profiles=profiles)
    assert {b["segments"]["tier"] for b in got["breakdowns"]} == {"gold", "silver", "undefined"}
    step = _step("Add To Cart", 1, 1, [{**_segfilter("tier", "string", "!=", ["gold"]),
                                        "property": {"name": "tier", "source": "user", "type": "string"}}])
    params = {**_flow(), "steps": [_step("View Item", 1), step]}
    got = _post(client, creds, params)
    got.pop("computed_at")
    assert got == _expected(events, params, "flows_sankey", step_wheres=(None, 'not (user["tier"] == "gold")'),
                            profiles=profiles)


@pytest.mark.parametrize(("steps", "options", "query_type"), [
    ([{**_step("$session_start", 3), "session_event": "start"}], {}, "flows_sankey"),
    ([{**_step("$session_end", 1, 2), "session_event": "end"}], {"count_type": "total"}, "flows_top_paths"),
    ([_step("View Item", 1, 1), {**_step("$session_end", 1, 1), "session_event": "end"}],
     {"hidden_events": ["Search"]}, "flows"),
    ([{**_step("$session_start", 1), "session_event": "start"}, _step("Purchase", 1, 1)],
     {"count_type": "session", "collapse_repeated": True}, "flows_sankey"),
])
def test_session_start_and_end_anchors(shop: Any, client: httpx.Client, steps: list[dict[str, Any]],
                                       options: dict[str, Any], query_type: str) -> None:
    """``FlowStep("$session_start", session_event="start")``: the anchor is a session's start, just before its first
    event (``end``: just after its last); such virtual events are never steps of a path."""
    creds, events = shop
    params = {**_flow(), "steps": steps, **options}
    got = _post(client, creds, params, query_type)
    got.pop("computed_at")
    assert got == _expected(events, params, query_type)
    anchor = next(n for step in got["steps"] for n in step["nodes"] if n["type"] == "ANCHOR")
    assert anchor["event"] == steps[0]["event"] and int(anchor["totalCount"]) > 50
    shown = {n["event"] for step in got["steps"] for n in step["nodes"] if n["type"] != "ANCHOR"}
    assert not shown & {"$session_start", "$session_end"}


def test_session_entry_segments(shop: Any, client: httpx.Client, tiers: dict[str, dict[str, Any]]) -> None:
    """A flow entering at session starts takes segments that read the user: its profile, its event counts."""
    creds, events = shop
    behavior = {"aggregationOperator": "total", "behaviorType": "$frequency", "dateRange": None,
                "event": {"label": "Purchase", "value": "Purchase"}, "filters": [], "filtersOperator": "and"}
    frequency = {"behavior": behavior, "resourceType": "people", "value": "Purchases"}
    params = {**_flow(), "steps": [{**_step("$session_start", 2), "session_event": "start"}],
              "segments": [{**_segment("tier"), "resourceType": "people"}, frequency]}
    got = _post(client, creds, params)
    got.pop("computed_at")
    counted = ref.FrequencySegment("Purchase", FROM, TO)
    assert got == _expected(events, params, "flows_sankey", segments=(ref.ProfileSegment("tier"), counted),
                            profiles=tiers)
    assert len(got["breakdowns"]) > 3


@pytest.mark.parametrize("kind", ["since", "on", "relative_after"])
def test_date_range_types(shop: Any, client: httpx.Client, kind: str) -> None:
    """``since`` runs from ``from_date`` to today, ``on`` is one day, ``relative_after`` a window before today to
    today: the same answers as ``between``."""
    creds, events = shop
    today = datetime.now(ZoneInfo(TZ)).date()
    day = (END - timedelta(days=3)).date().isoformat()
    if kind == "relative_after":
        spec: dict[str, Any] = {"type": kind, "window": {"unit": "day", "value": 6}}
        same = {"type": "between", "from_date": (today - timedelta(days=6)).isoformat(), "to_date": today.isoformat()}
    else:
        spec = {"type": kind, "from_date": FROM.isoformat() if kind == "since" else day}
        same = {"type": "between", "from_date": spec["from_date"],
                "to_date": today.isoformat() if kind == "since" else day}
    got = _post(client, creds, {**_flow(), "date_range": spec})
    got.pop("computed_at")
    assert got == _expected(events, {**_flow(), "date_range": same}, "flows_sankey")
    assert int(got["steps"][0]["nodes"][0]["totalCount"]) > 0


def test_client_query_flow(shop: Any, server: ServerProcess, client: httpx.Client,
                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``Workspace.query_flow`` with several ``FlowStep`` anchors (one a session start, one with a step filter),
    ``where`` property filters and ``segments``: the client builds the params, reads the answers (the reference's)
    and ``.df`` frames them."""
    import mixhouse as mp

    creds, events = shop
    use_service_account(monkeypatch, server.url, creds, tmp_path)
    dates = {"from_date": FROM.isoformat(), "to_date": TO.isoformat(), "conversion_window": 1}
    with mp.Workspace() as ws:
        steps = [mp.FlowStep("$session_start", forward=1, session_event="start"),
                 mp.FlowStep("Purchase", forward=1, reverse=1, filters=[mp.Filter.is_set("payment_method")])]
        flow = ws.query_flow(steps, mode="paths", where=mp.Filter.is_true("logged_in"), **dates)
        got = _post(client, creds, flow.params, "flows_top_paths")
        got.pop("computed_at")
        assert got == _expected(events, flow.params, "flows_top_paths",
                                step_wheres=(None, 'defined(properties["payment_method"])'),
                                where='properties["logged_in"] == true')
        assert flow.steps == got["steps"] and flow.flows == got["flows"] and flow.flows
        assert list(flow.df["step"]) == list(range(1, 6))
        split = ws.query_flow("View Item", forward=1, segments="mp_country_code", **dates)
        got = _post(client, creds, split.params)
        got.pop("computed_at")
        assert got == _expected(events, split.params, "flows_sankey", segments=("mp_country_code",))
        assert split.breakdowns == got["breakdowns"] and len(split.breakdowns) > 1
        assert len(split.df) == 2
