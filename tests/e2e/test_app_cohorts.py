"""Cohorts: saved through the App API, their members worked out by the query engine and checked against the
brute-force reference (random definitions over a small log with an identity merge), as of today and an earlier day;
used by engage ``filter_by_cohort`` and ``/api/query/cohorts/list``; lifecycle, bad definitions, references between
cohorts, consumers read-only and projects isolated."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from tests.support import reference_cohorts as ref
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "America/New_York"
TODAY = datetime.now(ZoneInfo(TZ)).date()
EVENTS = ("Purchase", "Login", "Signup")
PLANS = ("free", "pro", "team")


def _log(seed: int) -> tuple[list[dict[str, Any]], list[ref.LoggedEvent], dict[str, dict[str, Any]]]:
    """Events for /import, the same events as the reference sees them (canonical users), and profiles."""
    rnd = random.Random(seed)
    now = int(datetime.now(UTC).timestamp())
    sent: list[dict[str, Any]] = []
    logged: list[ref.LoggedEvent] = []
    for n in range(360):
        user = f"user{rnd.randrange(24)}"
        name = rnd.choice(EVENTS)
        props: dict[str, Any] = {"plan": rnd.choice(PLANS)}
        if name == "Purchase" and rnd.random() < 0.85:
            props["amount"] = rnd.randrange(1, 120)
        at = now - rnd.randrange(0, 75 * 86400)
        sent.append({"event": name, "properties": {"distinct_id": user, "time": at, "$insert_id": f"e{n}", **props}})
        logged.append(ref.LoggedEvent(name, user, at, props))
    # identity merge: anonymous events on a device, then the device identifies as user3
    for n in range(3):
        at = now - (n + 1) * 86400
        sent.append({"event": "Login", "properties": {"distinct_id": "$device:dev-9", "$device_id": "dev-9",
                                                      "time": at, "$insert_id": f"d{n}", "plan": "pro"}})
        logged.append(ref.LoggedEvent("Login", "user3", at, {"plan": "pro"}))
    sent.append({"event": "Signup", "properties": {"distinct_id": "user3", "$user_id": "user3",
                                                   "$device_id": "dev-9", "time": now - 3600, "$insert_id": "m"}})
    logged.append(ref.LoggedEvent("Signup", "user3", now - 3600, {}))
    # two logins either side of a local midnight: 3 local days back at 23:30 and 2 days back at 00:30
    for n, (days, hour, minute) in enumerate(((3, 23, 30), (2, 0, 30))):
        local = datetime.combine(TODAY - timedelta(days=days), datetime.min.time(), ZoneInfo(TZ))
        at = int((local + timedelta(hours=hour, minutes=minute)).timestamp())
        sent.append({"event": "Login", "properties": {"distinct_id": "edge", "time": at, "$insert_id": f"x{n}"}})
        logged.append(ref.LoggedEvent("Login", "edge", at, {}))
    profiles = {}
    for n in range(0, 30, 2):  # every other user has a profile; user24..29 have a profile and no events
        profile: dict[str, Any] = {"plan": rnd.choice(PLANS), "age": rnd.randrange(18, 70),
                                   "name": rnd.choice(["Ada", "Bob", "Cleo", "Dan"])}
        if rnd.random() < 0.5:
            profile["email"] = f"u{n}@example.com"
        profiles[f"user{n}"] = profile
    return sent, logged, profiles


@pytest.fixture(scope="module")
def world(server: ServerProcess, client: httpx.Client) -> Any:
    a, b, consumer = projects_with_consumer(server, "cohorts", timezone=TZ)
    sent, logged, profiles = _log(7)
    import_all(client, a, sent)
    updates = [{"$token": a.token, "$distinct_id": uid, "$set": props} for uid, props in profiles.items()]
    response = client.post("/engage", data={"data": orjson.dumps(updates).decode(), "verbose": "1"})
    assert response.status_code == 200 and response.json()["status"] == 1, response.text
    return a, b, consumer, logged, profiles


def _behavior(rnd: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    event = rnd.choice(EVENTS)
    count: dict[str, Any] = {"event_selector": {"event": event, "selector": None}, "type": "absolute"}
    if rnd.random() < 0.3:
        count["event_selector"]["selector"] = {"operator": "and", "children": [
            {"value": "plan", "resourceType": "events", "filterType": "string", "defaultType": "string",
             "filterOperator": "equals", "filterValue": [rnd.choice(PLANS)]}]}
    operand: float = rnd.randrange(0, 4)
    if event == "Purchase" and rnd.random() < 0.4:
        count["aggregationOperator"] = rnd.choice(["total", "average", "min", "max", "median"])
        count["property"] = "amount"
        operand = rnd.randrange(0, 150)
    behavior: dict[str, Any] = {"count": count}
    if rnd.random() < 0.8:
        behavior["window"] = {"unit": rnd.choice(["day", "week", "month"]), "value": rnd.randrange(1, 5)}
    else:
        first = TODAY - timedelta(days=rnd.randrange(5, 60))
        behavior["from_date"], behavior["to_date"] = first.isoformat(), (first + timedelta(days=10)).isoformat()
    node = {"property": "behaviors", "value": "", "operator": rnd.choice([">=", "<=", "==", ">"]), "operand": operand}
    return node, behavior


def _user(rnd: random.Random) -> dict[str, Any]:
    return rnd.choice([
        {"property": "user", "value": "plan", "operator": "==", "operand": rnd.choice(PLANS), "type": "string"},
        {"property": "user", "value": "plan", "operator": "!=", "operand": "free", "type": "string"},
        {"property": "user", "value": "age", "operator": ">", "operand": rnd.randrange(20, 60), "type": "number"},
        {"property": "user", "value": "email", "operator": "defined", "type": "string"},
        {"property": "user", "value": "email", "operator": "not defined", "type": "string"},
        {"property": "user", "value": "name", "operator": "in", "operand": "a", "type": "string"},
    ])


def _definition(rnd: random.Random, saved: list[int]) -> dict[str, Any]:
    behaviors: dict[str, Any] = {}

    def leaf() -> dict[str, Any]:
        kind = rnd.random()
        if kind < 0.55:
            node, behavior = _behavior(rnd)
            node["value"] = f"bhvr_{len(behaviors)}"
            behaviors[node["value"]] = behavior
            return node
        if kind < 0.85 or not saved:
            return _user(rnd)
        return {"property": "cohort", "value": rnd.choice(saved), "operator": rnd.choice(["in", "not in"])}

    def group(depth: int) -> dict[str, Any]:
        children = [group(depth + 1) if depth < 1 and rnd.random() < 0.3 else leaf()
                    for _ in range(rnd.randrange(1, 4))]
        return {"operator": rnd.choice(["and", "or"]), "children": children}

    return {"selector": group(0), "behaviors": behaviors}


def _engage_members(client: httpx.Client, creds: Any, cohort_id: int, **extra: Any) -> set[str]:
    response = client.post("/api/query/engage", auth=sa(creds), data={
        "project_id": creds.project_id, "filter_by_cohort": orjson.dumps({"id": cohort_id}).decode(), **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["results"]) < 1000
    return {row["$distinct_id"] for row in body["results"]}


def test_random_cohorts_match_the_reference(world: Any, client: httpx.Client) -> None:
    a, _, _, logged, profiles = world
    base = f"/api/app/projects/{a.project_id}/cohorts"
    rnd = random.Random(11)
    saved: dict[int, dict[str, Any]] = {}
    nonempty = 0
    for n in range(24):
        definition = _definition(rnd, list(saved))
        created = call(client, "POST", base, sa(a), body={"name": f"random {n}", **definition})["results"]
        saved[created["id"]] = definition
        want = ref.members(logged, profiles, definition, TODAY, TZ, saved.__getitem__)
        assert created["count"] == len(want), (n, definition)
        assert _engage_members(client, a, created["id"]) == want, (n, definition)
        nonempty += 0 < len(want) < 30
    assert nonempty >= 8, "the random definitions should mostly split the users"


def test_membership_as_of_an_earlier_day(world: Any, client: httpx.Client) -> None:
    a, _, _, logged, profiles = world
    definition = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "bhvr_0", "operator": ">=", "operand": 2}]},
        "behaviors": {"bhvr_0": {"count": {"event_selector": {"event": "Login"}, "type": "absolute"},
                                 "window": {"unit": "week", "value": 2}}}}
    created = call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a),
                   body={"name": "Regulars", "definition": definition})["results"]
    earlier = TODAY - timedelta(days=20)
    got = call(client, "GET", f"/api/app/projects/{a.project_id}/cohorts/{created['id']}", sa(a),
               as_of=earlier.isoformat())["results"]
    want = ref.members(logged, profiles, definition, earlier, TZ, lambda _: {})
    assert got["count"] == len(want) and want != ref.members(logged, profiles, definition, TODAY, TZ, lambda _: {})
    moment = datetime.combine(earlier, datetime.min.time(), ZoneInfo(TZ)) + timedelta(hours=12)
    assert _engage_members(client, a, created["id"], as_of_timestamp=int(moment.timestamp())) == want
    # days are the project's: only one of the edge user's logins is in the last three local days
    three_days = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": "==", "operand": 1},
        {"property": "user", "value": "email", "operator": "not defined"}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Login"}, "type": "absolute"},
                            "window": {"unit": "day", "value": 3}}}}
    inline = client.post("/api/query/engage", auth=sa(a), data={
        "project_id": a.project_id, "filter_by_cohort": orjson.dumps({"raw_cohort": three_days}).decode()})
    assert "edge" in {row["$distinct_id"] for row in inline.json()["results"]}
    # the merged device's logins count for user3
    merged = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
        "behaviors": {"b": {"count": {"event_selector": {"event": "Login", "selector": {"operator": "and", "children": [
            {"value": "plan", "resourceType": "events", "filterOperator": "equals", "filterValue": ["pro"]}]}},
            "type": "absolute"}, "window": {"unit": "day", "value": 4}}}}
    inline = client.post("/api/query/engage", auth=sa(a), data={
        "project_id": a.project_id, "filter_by_cohort": orjson.dumps({"raw_cohort": merged}).decode()})
    assert inline.status_code == 200, inline.text
    ids = {row["$distinct_id"] for row in inline.json()["results"]}
    assert "user3" in ids and not any(i.startswith("$device:") for i in ids)
    assert ids == ref.members(logged, profiles, merged, TODAY, TZ, lambda _: {})


def test_lifecycle_list_and_references(world: Any, client: httpx.Client) -> None:
    a, _, _, _, profiles = world
    base = f"/api/app/projects/{a.project_id}/cohorts"
    pros = call(client, "POST", base, sa(a), body={"name": "Pros", "description": "plan pro", "selector": {
        "operator": "and", "children": [{"property": "user", "value": "plan", "operator": "==", "operand": "pro"}]},
        "behaviors": {}})["results"]
    expected = sum(1 for p in profiles.values() if p["plan"] == "pro")
    assert (pros["count"], pros["description"], pros["is_visible"]) == (expected, "plan pro", True)
    not_pros = call(client, "POST", base, sa(a), body={"name": "Not pros", "selector": {
        "operator": "and", "children": [{"property": "cohort", "value": pros["id"], "operator": "not in"}]}})
    not_pros = not_pros["results"]
    everyone = call(client, "POST", base, sa(a), body={"name": "Everyone"})["results"]
    assert pros["count"] + not_pros["count"] == everyone["count"]
    listed = client.post("/api/query/cohorts/list", auth=sa(a), data={"project_id": a.project_id})
    assert listed.status_code == 200, listed.text
    entry = next(item for item in listed.json() if item["id"] == pros["id"])
    assert entry == {"id": pros["id"], "name": "Pros", "count": expected, "description": "plan pro",
                     "created": entry["created"], "is_visible": 1, "project_id": a.project_id}
    # a cycle, a missing cohort and deleting a cohort still in use are refused
    cycle = {"selector": {"operator": "and", "children": [
        {"property": "cohort", "value": not_pros["id"], "operator": "in"}]}}
    assert "refer to itself" in call(client, "PATCH", f"{base}/{pros['id']}", sa(a), 400, body=cycle)["error"]
    missing = {"selector": {"operator": "and", "children": [{"property": "cohort", "value": 10**9, "operator": "in"}]}}
    call(client, "POST", base, sa(a), 404, body={"name": "x", **missing})
    assert "is used by" in call(client, "DELETE", f"{base}/{pros['id']}", sa(a), 400)["error"]
    renamed = call(client, "PATCH", f"{base}/{not_pros['id']}", sa(a),
                   body={"name": "Others", "is_visible": False})["results"]
    assert (renamed["name"], renamed["is_visible"], renamed["count"]) == ("Others", False, not_pros["count"])
    call(client, "POST", f"{base}/bulk-update", sa(a), 204, body={"cohorts": [{"id": everyone["id"],
                                                                                "description": "all"}]})
    assert call(client, "GET", f"{base}/{everyone['id']}", sa(a))["results"]["description"] == "all"
    call(client, "POST", f"{base}/bulk-delete", sa(a), 204, body={"cohort_ids": [not_pros["id"], pros["id"]]})
    call(client, "GET", f"{base}/{pros['id']}", sa(a), 404)
    assert [c["id"] for c in call(client, "GET", base, sa(a), ids=str(everyone["id"]))["results"]] == [everyone["id"]]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"name": ""}, "name must be"),
    ({"name": "x", "selector": {"operator": "xor", "children": []}}, "selector group"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "nope", "operator": ">=", "operand": 1}]}}, "does not define"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
      "behaviors": {"b": {"count": {"event_selector": {"event": "Login"}}}}}, "window or from_date"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "user", "value": "plan", "operator": "~", "operand": 1}]}}, "not supported"),
    ({"name": "x", "deleted": True}, "DELETE"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
      "behaviors": {"b": {"count": {"event_selector": {"event": "Login"}},
                          "window": {"unit": "day", "value": 1000000000}}}}, "ten years"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
      "behaviors": {"b": {"count": {"event_selector": {"event": "Login"}}, "from_date": "2024-01-01",
                          "to_date": "9999-12-31"}}}, "between 1970 and 2200"),
    ({"name": "x", "selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "b", "operator": ">=", "operand": 1}]},
      "behaviors": {"b": {"count": {"event_selector": {"event": "Login"}}, "from_date": 20240101,
                          "to_date": "2024-02-01"}}}, "YYYY-MM-DD"),
    ({"name": "x", "data_group_id": "g" * 65}, "data_group_id"),
])
def test_bad_cohorts_are_400(world: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, *_ = world
    assert fragment in call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a), 400,
                            body=body)["error"]


def test_consumers_and_other_projects(world: Any, client: httpx.Client) -> None:
    a, b, consumer, _, _ = world
    base = f"/api/app/projects/{a.project_id}/cohorts"
    kept = call(client, "POST", base, sa(a), body={"name": "Kept"})["results"]
    assert call(client, "GET", f"{base}/{kept['id']}", consumer)["results"]["name"] == "Kept"
    for method, path, body in (("POST", base, {"name": "n"}), ("PATCH", f"{base}/{kept['id']}", {"name": "n"}),
                               ("DELETE", f"{base}/{kept['id']}", None),
                               ("POST", f"{base}/bulk-delete", {"cohort_ids": [kept["id"]]})):
        assert call(client, method, path, consumer, 403, body=body)["status"] == "error"
    other = f"/api/app/projects/{b.project_id}/cohorts"
    call(client, "GET", f"{other}/{kept['id']}", sa(b), 404)
    call(client, "PATCH", f"{other}/{kept['id']}", sa(b), 404, body={"name": "stolen"})
    uses = {"selector": {"operator": "and", "children": [{"property": "cohort", "value": kept["id"],
                                                          "operator": "in"}]}}
    call(client, "POST", other, sa(b), 404, body={"name": "theirs", **uses})
    theirs = client.post("/api/query/engage", auth=sa(b), data={
        "project_id": b.project_id, "filter_by_cohort": orjson.dumps({"id": kept["id"]}).decode()})
    assert theirs.status_code == 404
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]


def test_insights_filters_and_breakdowns_by_cohort(world: Any, client: httpx.Client) -> None:
    """``Filter.in_cohort``/``not_in_cohort`` (saved) and ``CohortBreakdown`` (inline, with its "Not In" side) in
    Insights bookmark params: events counted per the cohorts' members."""
    a, _, _, logged, profiles = world
    pros = {"selector": {"operator": "and", "children": [
        {"property": "user", "value": "plan", "operator": "==", "operand": "pro"}]}, "behaviors": {}}
    saved = call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a),
                 body={"name": "Pros", **pros})["results"]
    regulars = {"selector": {"operator": "and", "children": [
        {"property": "behaviors", "value": "bhvr_0", "operator": ">=", "operand": 3}]},
        "behaviors": {"bhvr_0": {"count": {"event_selector": {"event": "Login"}, "type": "absolute"},
                                 "window": {"unit": "day", "value": 30}}}}
    first = TODAY - timedelta(days=29)
    behavior = {"type": "event", "name": "Purchase", "resourceType": "events", "filters": []}

    def bookmark(filters: list[dict[str, Any]], groups: list[dict[str, Any]]) -> dict[str, Any]:
        return {"displayOptions": {"chartType": "bar"}, "sections": {
            "show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "total"}}],
            "time": [{"dateRangeType": "between", "unit": "day", "value": [first.isoformat(), TODAY.isoformat()]}],
            "filter": filters, "group": groups}}

    def counted(users: set[str]) -> int:
        zone = ZoneInfo(TZ)
        return sum(1 for e in logged if e.name == "Purchase" and e.user in users
                   and first <= datetime.fromtimestamp(e.time_s, zone).date() <= TODAY)

    def ask(params: dict[str, Any]) -> Any:
        response = client.post("/api/query/insights", json={"bookmark": params, "project_id": a.project_id},
                               auth=sa(a))
        assert response.status_code == 200, response.text
        return response.json()["series"]["Purchase"]

    in_pros = ref.members(logged, profiles, pros, TODAY, TZ, lambda _: {})
    everyone = ref.members(logged, profiles, {}, TODAY, TZ, lambda _: {})
    for operator, users in (("contains", in_pros), ("does not contain", everyone - in_pros)):
        cohort_filter = {"value": "$cohorts", "resourceType": "events", "filterType": "list",
                         "filterOperator": operator,
                         "filterValue": [{"cohort": {"id": saved["id"], "name": "Pros", "negated": False}}]}
        assert ask(bookmark([cohort_filter], []))["all"] == counted(users) > 0
    group = {"value": ["Regulars", "Not In Regulars"], "resourceType": "events", "propertyType": None,
             "cohorts": [{"name": "Regulars", "negated": False, "raw_cohort": regulars},
                         {"name": "Regulars", "negated": True, "raw_cohort": regulars}]}
    split = ask(bookmark([], [group]))
    inside = ref.members(logged, profiles, regulars, TODAY, TZ, lambda _: {})
    assert split["Regulars"]["all"] == counted(inside) > 0
    assert split["Not In Regulars"]["all"] == counted(everyone - inside) > 0


def test_cohort_keys_match_the_recorded_answers(world: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    recorded: list[dict[str, Any]] = []
    for _, request, response in interactions(lambda path: "/cohorts" in path and "/api/app/" in path):
        results = (response.get("body") or {}).get("results") if isinstance(response.get("body"), dict) else None
        if request["method"] in ("GET", "POST") and response.get("status", 200) == 200:
            recorded += [item for item in (results if isinstance(results, list) else [results])
                         if isinstance(item, dict) and "id" in item]
    assert recorded, "no recorded cohort answers"
    a, *_ = world
    ours = call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a),
                body={"name": "Shape", "description": "d"})["results"]
    for item in recorded:
        assert set(item) <= set(ours), set(item) - set(ours)
    listed = client.post("/api/query/cohorts/list", auth=sa(a), data={"project_id": a.project_id}).json()
    keys = set(listed[0])
    for _, _, response in interactions({"/api/query/cohorts/list"}):
        for item in response.get("body") or []:
            assert set(item) <= keys, set(item) - keys
