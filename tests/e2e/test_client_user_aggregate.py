"""``Workspace.query_user(mode="aggregate")`` against a live server: each aggregate, ``where``, ``cohort`` with
``include_all_users``, ``segment_by``, ``group_id`` and ``as_of``, checked against the brute-force reference over
the profiles sent through ``/engage``; the ``UserQueryResult`` fields and ``.df`` shapes of decision 0032."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_cohorts as cohorts_ref
from tests.support import reference_engage_stats as ref
from tests.support.app_api import call, sa
from tests.support.client_env import use_service_account
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TODAY = datetime.now(UTC).date()
#: Purchase within the last 3 days.
BUYERS = {"selector": {"operator": "and", "children": [
    {"property": "behaviors", "value": "bhvr_0", "operator": ">=", "operand": 1}]},
    "behaviors": {"bhvr_0": {"count": {"event_selector": {"event": "Purchase"}, "type": "absolute"},
                             "window": {"unit": "day", "value": 3}}}}
TEAMS = {"selector": {"operator": "and", "children": [
    {"property": "user", "value": "plan", "operator": "==", "operand": "team", "type": "string"}]}, "behaviors": {}}


class World:
    def __init__(self, creds: ProjectCreds, profiles: dict[str, dict[str, Any]], logged: list[Any],
                 buyers: int, teams: int) -> None:
        self.creds, self.profiles, self.logged, self.buyers, self.teams = creds, profiles, logged, buyers, teams

    def members(self, definition: dict[str, Any], as_of: Any = TODAY) -> set[str]:
        return cohorts_ref.members(self.logged, self.profiles, definition, as_of, "UTC", lambda _: {})


@pytest.fixture(scope="module")
def world(server: ServerProcess, client: httpx.Client) -> World:
    creds = make_project(server.data_dir, "client-user-aggregate")
    profiles: dict[str, dict[str, Any]] = {}
    for n in range(24):
        props: dict[str, Any] = {"plan": ("free", "pro", "team")[n % 3], "seats": (n * 7) % 11}
        if n % 5:
            props["ltv"] = n * 12.5 - 40 if n % 4 else str(n)  # some ltv values are strings
        profiles[f"c{n}"] = props
    updates = [{"$token": creds.token, "$distinct_id": uid, "$set": props} for uid, props in profiles.items()]
    assert client.post("/engage", json=updates).text == "1"
    now = int(datetime.now(UTC).timestamp())
    buyers = [f"c{n}" for n in range(0, 24, 2)] + ["walk-in"]
    events = [{"event": "Purchase", "properties": {"distinct_id": uid, "time": now - 600 * (n + 1),
                                                   "$insert_id": f"b{n}"}} for n, uid in enumerate(buyers)]
    events.append({"event": "Purchase", "properties": {"distinct_id": "c3", "time": now - 20 * 86400,
                                                       "$insert_id": "early"}})
    import_all(client, creds, events)
    logged = [cohorts_ref.LoggedEvent("Purchase", e["properties"]["distinct_id"], e["properties"]["time"], {})
              for e in events]
    base = f"/api/app/projects/{creds.project_id}/cohorts"
    ids = [call(client, "POST", base, sa(creds), body={"name": name, **definition})["results"]["id"]
           for name, definition in (("Buyers", BUYERS), ("Teams", TEAMS))]
    return World(creds, profiles, logged, ids[0], ids[1])


@pytest.fixture
def ws(server: ServerProcess, world: World, monkeypatch: pytest.MonkeyPatch,
       tmp_path: Path) -> Iterator[mp.Workspace]:
    use_service_account(monkeypatch, server.url, world.creds, tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


AGGREGATES: list[tuple[dict[str, Any], str, float]] = [
    ({}, "count", 0),
    ({"aggregate": "extremes", "aggregate_property": "ltv"}, "extremes", 0),
    ({"aggregate": "percentile", "aggregate_property": "ltv", "percentile": 75}, "percentile", 75),
    ({"aggregate": "percentile", "aggregate_property": "seats", "percentile": 12.5}, "percentile", 12.5),
    ({"aggregate": "numeric_summary", "aggregate_property": "ltv"}, "numeric_summary", 0),
]


@pytest.mark.parametrize(("where", "keep"), [
    (None, lambda p: True),
    (mp.Filter.equals("plan", ["pro", "team"]), lambda p: p["plan"] in ("pro", "team")),
    ('properties["seats"] > 4', lambda p: p["seats"] > 4),
])
def test_aggregates_match_the_reference(ws: mp.Workspace, world: World, where: Any, keep: Any) -> None:
    selected = ref.select(world.profiles, keep)
    for options, function, level in AGGREGATES:
        result = ws.query_user(where=where, **options)
        want = ref.aggregate(function, selected, options.get("aggregate_property", ""), level)
        assert result.mode == "aggregate" and ref.close(result.aggregate_data, want), (options, result.aggregate_data)
        assert result.total == (len(selected) if function == "count" else 0)
        assert result.meta == {"action": result.params["action"], "segmented": False}
        assert result.raw["total"] == len(selected) and result.computed_at
        assert result.profiles == [] and result.distinct_ids == []


def test_result_shapes_and_frames(ws: mp.Workspace, world: World) -> None:
    count = ws.query_user(mode="aggregate")
    assert count.value == len(world.profiles)
    assert count.df.to_dict("records") == [{"metric": "count()", "value": len(world.profiles)}]
    median = ws.query_user(aggregate="percentile", aggregate_property="seats", percentile=50)
    assert median.value == ref.percentile([float(p["seats"]) for p in world.profiles.values()], 50)
    assert list(median.df.columns) == ["metric", "value"]
    summary = ws.query_user(aggregate="numeric_summary", aggregate_property="seats")
    assert summary.value is None
    assert list(summary.df.columns) == ["metric", "count", "sum", "sum_of_squares", "mean", "var"]
    assert summary.df.iloc[0]["metric"] == 'numeric_summary(properties["seats"])'
    assert summary.df.iloc[0]["count"] == len(world.profiles)
    extremes = ws.query_user(aggregate="extremes", aggregate_property="seats")
    assert extremes.df.to_dict("records") == [{"metric": 'extremes(properties["seats"])', "max": 10, "min": 0}]
    assert ws.query_user(aggregate="extremes", aggregate_property="none at all").aggregate_data == {
        "max": None, "min": None}
    segmented = ws.query_user(segment_by=[world.buyers, world.teams])
    assert list(segmented.df.columns) == ["segment", "value"]
    assert list(segmented.df["segment"]) == [str(world.buyers), str(world.teams)]
    split = ws.query_user(segment_by=[world.teams], aggregate="extremes", aggregate_property="seats")
    assert list(split.df.columns) == ["segment", "max", "min"]


@pytest.mark.parametrize("include_all_users", [False, True])
def test_cohort_and_segments(ws: mp.Workspace, world: World, include_all_users: bool) -> None:
    buyers, teams = world.members(BUYERS), world.members(TEAMS)
    assert "walk-in" in buyers and "c3" not in buyers
    selected = ref.select(world.profiles, members=buyers, include_all_users=include_all_users)
    for options, function, level in AGGREGATES:
        result = ws.query_user(cohort=world.buyers, include_all_users=include_all_users, **options)
        want = ref.aggregate(function, selected, options.get("aggregate_property", ""), level)
        assert ref.close(result.aggregate_data, want), options
    by_cohort = ws.query_user(cohort=world.buyers, include_all_users=include_all_users,
                              segment_by=[world.teams, world.buyers], aggregate="numeric_summary",
                              aggregate_property="seats")
    assert by_cohort.meta["segmented"] and by_cohort.total == 0 and by_cohort.value is None
    assert list(by_cohort.aggregate_data) == [str(world.teams), str(world.buyers)]
    for cohort_id, members in ((world.teams, teams), (world.buyers, buyers)):
        want = ref.aggregate("numeric_summary", {u: p for u, p in selected.items() if u in members}, "seats")
        assert ref.close(by_cohort.aggregate_data[str(cohort_id)], want)
    inline = ws.query_user(cohort=mp.CohortDefinition(mp.CohortCriteria.has_property("plan", "team")))
    assert inline.value == len(teams)


def test_as_of_and_group_profiles(ws: mp.Workspace, world: World, client: httpx.Client) -> None:
    earlier = TODAY - timedelta(days=19)
    then = world.members(BUYERS, earlier)
    assert then == {"c3"}
    with pytest.raises(mp.BookmarkValidationError) as refused:  # the seeds' rule: as_of is for profiles mode
        ws.query_user(cohort=world.buyers, as_of=earlier.isoformat())
    assert refused.value.rule == "U30"
    params = ws.build_user_params(cohort=world.buyers, aggregate="extremes", aggregate_property="seats")
    moment = int(datetime.combine(earlier, datetime.min.time(), UTC).timestamp()) + 43200
    past = ws.run_user_params({**params, "as_of_timestamp": moment})  # the raw param still reaches engage/stats
    assert past.aggregate_data == {"max": world.profiles["c3"]["seats"], "min": world.profiles["c3"]["seats"]}
    groups = [{"$token": world.creds.token, "$group_key": "company", "$group_id": f"g{n}", "$set": {"seats": n}}
              for n in range(5)]
    assert client.post("/groups", json=groups).text == "1"
    total = ws.query_user(group_id="company", aggregate="numeric_summary", aggregate_property="seats")
    assert total.aggregate_data["count"] == 5 and total.aggregate_data["sum"] == 10


def test_errors(ws: mp.Workspace, world: World) -> None:
    with pytest.raises(mp.BookmarkValidationError) as refused:
        ws.query_user(mode="profiles", segment_by=[world.teams])
    assert refused.value.rule == "U16"
    with pytest.raises(mp.BookmarkValidationError):
        ws.build_user_params(segment_by=["not-an-id"])  # type: ignore[list-item]
    with pytest.raises(mp.QueryError, match="no cohort 987654"):
        ws.query_user(segment_by=[987654])
    with pytest.raises(mp.QueryError, match="action"):
        ws.run_user_params({"action": 'median(properties["seats"])'})

