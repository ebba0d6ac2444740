"""``/api/query/engage/stats``: profile aggregates over HTTP against the brute-force reference over the profiles the
test sent through ``/engage`` — every action, ``selector``, ``filter_by_cohort`` (with and without
``include_all_users``, as of an earlier day), ``segment_by_cohorts``, group profiles; the tricky values (numeric
strings, booleans, nulls, floats, negatives, missing) and the 400s for what is not supported."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support import reference_cohorts as cohorts_ref
from tests.support import reference_engage_stats as ref
from tests.support.app_api import call, sa
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TODAY = datetime.now(UTC).date()
TIERS = ("gold", "silver", "basic")
#: Purchase within the last 7 days (a behavior cohort: some members have no profile).
BUYERS = {"selector": {"operator": "and", "children": [
    {"property": "behaviors", "value": "bhvr_0", "operator": ">=", "operand": 1}]},
    "behaviors": {"bhvr_0": {"count": {"event_selector": {"event": "Purchase"}, "type": "absolute"},
                             "window": {"unit": "day", "value": 7}}}}
GOLD = {"selector": {"operator": "and", "children": [
    {"property": "user", "value": "tier", "operator": "==", "operand": "gold", "type": "string"}]}, "behaviors": {}}


def _ltv(rnd: random.Random) -> Any:
    """Mostly numbers (ints, floats, negatives), sometimes values that are not numbers or no value at all."""
    return rnd.choice([rnd.randrange(0, 500), rnd.randrange(0, 500), round(rnd.uniform(-50, 50), 3), -7,
                       "42", True, None, "missing"])


def _profiles(seed: int) -> dict[str, dict[str, Any]]:
    rnd = random.Random(seed)
    out: dict[str, dict[str, Any]] = {}
    for n in range(40):
        props: dict[str, Any] = {"age": rnd.randrange(18, 80)}
        if rnd.random() < 0.9:
            props["tier"] = rnd.choice(TIERS)
        ltv = _ltv(rnd)
        if ltv != "missing":
            props["ltv"] = ltv
        out[f"u{n:02d}"] = props
    return out


class World:
    def __init__(self, creds: ProjectCreds, profiles: dict[str, dict[str, Any]],
                 logged: list[cohorts_ref.LoggedEvent], cohorts: dict[str, int]) -> None:
        self.creds, self.profiles, self.logged, self.cohorts = creds, profiles, logged, cohorts

    def members(self, definition: dict[str, Any], as_of: Any = TODAY) -> set[str]:
        return cohorts_ref.members(self.logged, self.profiles, definition, as_of, "UTC", lambda _: {})


@pytest.fixture(scope="module")
def world(server: ServerProcess, client: httpx.Client) -> World:
    creds = make_project(server.data_dir, "engage-stats")
    profiles = _profiles(3)
    updates = [{"$token": creds.token, "$distinct_id": uid, "$set": props} for uid, props in profiles.items()]
    assert client.post("/engage", json=updates).text == "1"
    now = int(datetime.now(UTC).timestamp())
    buyers = [f"u{n:02d}" for n in range(0, 40, 3)] + ["ghost1", "ghost2"]  # the ghosts have no profile
    events = [{"event": "Purchase", "properties": {"distinct_id": uid, "time": now - 3600 * (n + 1),
                                                   "$insert_id": f"p{n}"}} for n, uid in enumerate(buyers)]
    events.append({"event": "Purchase", "properties": {"distinct_id": "u01", "time": now - 40 * 86400,
                                                       "$insert_id": "old"}})
    import_all(client, creds, events)
    logged = [cohorts_ref.LoggedEvent("Purchase", e["properties"]["distinct_id"], e["properties"]["time"], {})
              for e in events]
    base = f"/api/app/projects/{creds.project_id}/cohorts"
    saved = {name: call(client, "POST", base, sa(creds), body={"name": name, **definition})["results"]["id"]
             for name, definition in (("buyers", BUYERS), ("gold", GOLD))}
    return World(creds, profiles, logged, saved)


def _stats(client: httpx.Client, creds: ProjectCreds, status: int = 200, **body: Any) -> dict[str, Any]:
    """POST the JSON body the headless client sends (``project_id`` in the query string and the body)."""
    response = client.post("/api/query/engage/stats", params={"project_id": creds.project_id},
                           json={"project_id": creds.project_id, **body}, auth=sa(creds))
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


WHERES: list[tuple[str | None, Any]] = [
    (None, lambda p: True),
    ('properties["tier"] == "gold"', lambda p: p.get("tier") == "gold"),
    ('properties["age"] >= 40 and defined(properties["tier"])', lambda p: p["age"] >= 40 and "tier" in p),
    ('not defined(properties["ltv"])', lambda p: "ltv" not in p),
]
ACTIONS: list[tuple[str, str, str, float]] = [
    ("count()", "count", "", 0),
    ('sum(properties["ltv"])', "sum", "ltv", 0),
    ("sum(properties['ltv'])", "sum", "ltv", 0),  # single quotes, as the raw API client's default sends
    ('min(properties["ltv"])', "min", "ltv", 0),
    ('max(user["ltv"])', "max", "ltv", 0),
    ('extremes(properties["ltv"])', "extremes", "ltv", 0),
    ('percentile(properties["ltv"], 50)', "percentile", "ltv", 50),
    ('percentile(properties["ltv"], 90.5)', "percentile", "ltv", 90.5),
    ('percentile(properties["age"], 0)', "percentile", "age", 0),
    ('percentile(properties["age"], 100)', "percentile", "age", 100),
    ('numeric_summary(properties["ltv"])', "numeric_summary", "ltv", 0),
    ('numeric_summary(properties["tier"])', "numeric_summary", "tier", 0),  # no numbers at all
]


@pytest.mark.parametrize(("selector", "keep"), WHERES, ids=[str(w) for w, _ in WHERES])
def test_actions_match_the_reference(world: World, client: httpx.Client, selector: str | None, keep: Any) -> None:
    selected = ref.select(world.profiles, keep)
    assert 0 < len(selected) < 40 or selector is None
    for action, function, prop, level in ACTIONS:
        body = _stats(client, world.creds, action=action, **({"selector": selector} if selector else {}))
        want = ref.aggregate(function, selected, prop, level)
        assert ref.close(body["results"], want), (action, body["results"], want)
        assert body["total"] == len(selected) and body["status"] == "ok"
        assert datetime.fromisoformat(body["computed_at"]).tzinfo is not None


def test_tricky_values_are_skipped_not_coerced(world: World, client: httpx.Client) -> None:
    """"42", true and null are not numbers: the summary counts only the profiles whose ltv is a number."""
    kinds = [type(p["ltv"]).__name__ for p in world.profiles.values() if "ltv" in p]
    assert {"int", "float", "str", "bool", "NoneType"} <= set(kinds), kinds
    summary = _stats(client, world.creds, action='numeric_summary(properties["ltv"])')["results"]
    numeric = [p["ltv"] for p in world.profiles.values()
               if isinstance(p.get("ltv"), int | float) and not isinstance(p.get("ltv"), bool)]
    assert summary["count"] == len(numeric) < 40
    assert _stats(client, world.creds, action='sum(properties["nope"])')["results"] == 0
    assert _stats(client, world.creds, action='extremes(properties["nope"])')["results"] == {"max": None,
                                                                                          "min": None}
    assert _stats(client, world.creds, action='percentile(properties["nope"], 50)')["results"] is None


def test_the_default_action_is_count_and_form_bodies_work(world: World, client: httpx.Client) -> None:
    assert _stats(client, world.creds)["results"] == len(world.profiles)
    form = client.post("/api/query/engage/stats", auth=sa(world.creds), data={
        "project_id": world.creds.project_id, "action": 'sum(properties["age"])',
        "where": 'properties["tier"] == "silver"'})
    assert form.status_code == 200, form.text
    silver = ref.select(world.profiles, lambda p: p.get("tier") == "silver")
    assert ref.close(form.json()["results"], ref.aggregate("sum", silver, "age"))
    alias = client.post("/api/2.0/engage/stats/", auth=sa(world.creds), data={"project_id": world.creds.project_id})
    assert alias.json()["results"] == len(world.profiles)


@pytest.mark.parametrize("include_all_users", [True, False])
def test_filter_by_cohort(world: World, client: httpx.Client, include_all_users: bool) -> None:
    members = world.members(BUYERS)
    assert {"ghost1", "ghost2"} <= members and "u01" not in members
    selected = ref.select(world.profiles, members=members, include_all_users=include_all_users)
    cohort = orjson.dumps({"id": world.cohorts["buyers"]}).decode()
    for action, function, prop, level in ACTIONS[:7]:
        body = _stats(client, world.creds, action=action, filter_by_cohort=cohort,
                      include_all_users=include_all_users)
        assert ref.close(body["results"], ref.aggregate(function, selected, prop, level)), action
    inline = orjson.dumps({"raw_cohort": BUYERS}).decode()
    assert _stats(client, world.creds, filter_by_cohort=inline, include_all_users=include_all_users,
                  selector='properties["tier"] == "gold"')["results"] == \
        len(ref.select(world.profiles, lambda p: p.get("tier") == "gold", members, include_all_users))


def test_membership_as_of_an_earlier_day(world: World, client: httpx.Client) -> None:
    """40 days ago only u01 had bought in the week before."""
    earlier = TODAY - timedelta(days=40)
    members = world.members(BUYERS, earlier)
    assert members == {"u01"}
    moment = int(datetime.combine(earlier, datetime.min.time(), UTC).timestamp()) + 43200
    body = _stats(client, world.creds, action='sum(properties["age"])', as_of_timestamp=moment,
                  filter_by_cohort=orjson.dumps({"id": world.cohorts["buyers"]}).decode())
    assert ref.close(body["results"], ref.aggregate("sum", ref.select(world.profiles, members=members), "age"))


def test_segment_by_cohorts(world: World, client: httpx.Client) -> None:
    buyers, gold = world.cohorts["buyers"], world.cohorts["gold"]
    segments = orjson.dumps({str(buyers): True, str(gold): True}).decode()
    members = {buyers: world.members(BUYERS), gold: world.members(GOLD)}
    keep_old = ('properties["age"] < 60', lambda p: p["age"] < 60)
    for action, function, prop, level in ACTIONS:
        body = _stats(client, world.creds, action=action, segment_by_cohorts=segments, selector=keep_old[0])
        selected = ref.select(world.profiles, keep_old[1])
        assert body["total"] == len(selected)
        assert list(body["results"]) == [str(buyers), str(gold)]
        for cohort_id, cohort_members in members.items():
            want = ref.aggregate(function, {u: p for u, p in selected.items() if u in cohort_members}, prop, level)
            assert ref.close(body["results"][str(cohort_id)], want), (action, cohort_id)
    # false leaves a cohort out; a JSON object works as well as its text
    only = _stats(client, world.creds, segment_by_cohorts={str(buyers): False, str(gold): True})
    assert only["results"] == {str(gold): len(world.members(GOLD))}
    # segments within a filter_by_cohort with include_all_users: the ghosts are buyers without a profile
    both = _stats(client, world.creds, segment_by_cohorts={str(buyers): True, str(gold): True},
                  filter_by_cohort=orjson.dumps({"id": buyers}).decode(), include_all_users=True)
    assert both["results"] == {str(buyers): len(members[buyers]),
                               str(gold): len(members[buyers] & members[gold])}


def test_group_profiles(server: ServerProcess, client: httpx.Client) -> None:
    creds = make_project(server.data_dir, "engage-stats-groups")
    companies = {f"c{n}": {"seats": n * 5, "plan": ("team", "enterprise")[n % 2]} for n in range(7)}
    updates = [{"$token": creds.token, "$group_key": "company", "$group_id": gid, "$set": props}
               for gid, props in companies.items()]
    assert client.post("/groups", json=updates).text == "1"
    users = [{"$token": creds.token, "$distinct_id": "someone", "$set": {"seats": 1000}}]
    assert client.post("/engage", json=users).text == "1"
    body = _stats(client, creds, action='numeric_summary(properties["seats"])', data_group_id="company",
                  selector='properties["plan"] == "enterprise"')
    selected = ref.select(companies, lambda p: p["plan"] == "enterprise")
    assert ref.close(body["results"], ref.aggregate("numeric_summary", selected, "seats"))
    assert _stats(client, creds, action='max(properties["seats"])')["results"] == 1000


@pytest.mark.parametrize(("action", "fragment"), [
    ("avg(properties[\"ltv\"])", "avg"),
    ("count(properties[\"ltv\"])", "count() takes no argument"),
    ("sum()", "needs a value expression"),
    ("percentile(properties[\"ltv\"])", "needs a number N"),
    ("percentile(properties[\"ltv\"], 150)", "0 <= N <= 100"),
    ("numeric_summary", "numeric_summary"),
    ("DROP TABLE", "DROP TABLE"),
])
def test_unsupported_actions_are_400(world: World, client: httpx.Client, action: str, fragment: str) -> None:
    response = client.post("/api/query/engage/stats", auth=sa(world.creds),
                           json={"project_id": world.creds.project_id, "action": action})
    assert response.status_code == 400, response.text
    body = response.json()
    assert fragment in body["error"] and body["request"].startswith("/api/query/engage/stats")


def test_bad_parameters_auth_and_isolation(world: World, server: ServerProcess, client: httpx.Client) -> None:
    bad_expression = _stats(client, world.creds, 400, action='sum(properties["ltv" +)')
    assert "position" in bad_expression
    assert "segment_by_cohorts" in _stats(client, world.creds, 400, segment_by_cohorts="[1, 2]")["error"]
    assert "segment_by_cohorts" in _stats(client, world.creds, 404, segment_by_cohorts={"cohort_1": True})["error"]
    _stats(client, world.creds, 404, segment_by_cohorts={"987654": True})
    assert "filter_by_cohort" in _stats(client, world.creds, 400, filter_by_cohort="cohort_99")["error"]
    assert "behaviors" in _stats(client, world.creds, 400, behaviors='[{"window": 1}]')["error"]
    assert "action" in _stats(client, world.creds, 400, action=7)["error"]
    unauthenticated = client.post("/api/query/engage/stats", json={"project_id": world.creds.project_id})
    assert unauthenticated.status_code == 401
    other = make_project(server.data_dir, "engage-stats-other")
    crossed = client.post("/api/query/engage/stats", json={"project_id": world.creds.project_id}, auth=sa(other))
    assert crossed.status_code == 403
    assert _stats(client, other)["results"] == 0
