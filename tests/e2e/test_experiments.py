"""Experiments over the App API (``S(experiments/...)``): the lifecycle draft → active → concluded → success/fail with
its linked feature flag (seen through the flags routes and ``/flags/definitions``), every illegal move a 400,
archive/restore/duplicate, consumers read-only, projects isolated, and response shapes against the recorded wire
vectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.server import ServerProcess
from tests.support.vectors import interactions, require_vectors

ON_OFF = {"variants": [{"key": "On", "value": True, "is_control": False, "split": 0.5},
                       {"key": "Off", "value": False, "is_control": True, "split": 0.5}],
          "rollout": [{"rollout_percentage": 1.0}]}
VARIANTS = [{"key": "control", "split": 0.5}, {"key": "simplified", "split": 0.5}]


def workspace_of(client: httpx.Client, creds: ProjectCreds) -> int:
    spaces = call(client, "GET", f"/api/app/projects/{creds.project_id}/workspaces/public", sa(creds))["results"]
    return int(spaces[0]["id"])


def flags_path(client: httpx.Client, creds: ProjectCreds) -> str:
    return f"/api/app/projects/{creds.project_id}/workspaces/{workspace_of(client, creds)}/feature-flags/"


def base(creds: ProjectCreds) -> str:
    return f"/api/app/projects/{creds.project_id}/experiments/"


def new_flag(client: httpx.Client, creds: ProjectCreds, key: str) -> dict[str, Any]:
    body = {"name": key.title(), "key": key, "ruleset": ON_OFF}
    flag: dict[str, Any] = call(client, "POST", flags_path(client, creds), sa(creds), body=body)["results"]
    return flag


def get_flag(client: httpx.Client, creds: ProjectCreds, flag_id: str) -> dict[str, Any]:
    flag: dict[str, Any] = call(client, "GET", f"{flags_path(client, creds)}{flag_id}/", sa(creds))["results"]
    return flag


def new_experiment(client: httpx.Client, creds: ProjectCreds, name: str, **fields: Any) -> dict[str, Any]:
    experiment: dict[str, Any] = call(client, "POST", base(creds), sa(creds), body={"name": name, **fields})["results"]
    return experiment


def error(client: httpx.Client, method: str, path: str, creds: ProjectCreds, body: dict[str, Any] | None = None,
          status: int = 400) -> str:
    answer = call(client, method, path, sa(creds), status, body=body)
    assert answer["status"] == "error"
    return str(answer["error"])


def served_to_sdks(client: httpx.Client, creds: ProjectCreds, key: str) -> tuple[str, bool]:
    """The (experiment_id, is_experiment_active) the SDKs get for flag ``key`` — in its definition and in a remote
    evaluation (they put them on the ``$experiment_started`` exposure event); both must agree."""
    definitions = client.get("/flags/definitions", params={"token": creds.token}).json()["flags"]
    definition = next(f for f in definitions if f["key"] == key)
    context = '{"distinct_id": "user-1"}'
    chosen = client.get("/flags", params={"token": creds.token, "context": context, "flag_key": key}).json()
    variant = chosen["flags"][key]
    assert (variant["experiment_id"], variant["is_experiment_active"]) == (
        definition["experiment_id"], definition["is_experiment_active"])
    return definition["experiment_id"], definition["is_experiment_active"]


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    return projects_with_consumer(server, "experiments")


def test_full_lifecycle_with_a_linked_flag(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    flag = new_flag(client, a, "pricing_page")
    assert flag["status"] == "disabled" and flag["experiment_id"] is None
    created = new_experiment(client, a, "Pricing Page Test", hypothesis="Simpler converts", description="Q4",
                             variants=VARIANTS, metrics=[{"event": "Purchase"}], tags=["growth"],
                             feature_flag_id=flag["id"])
    assert len(created["id"]) == 36 and created["status"] == "draft" and created["is_archived"] is False
    assert (created["start_date"], created["end_date"], created["decision"]) == (None, None, None)
    assert created["feature_flag"]["id"] == flag["id"] and created["feature_flag"]["key"] == "pricing_page"
    assert created["can_edit"] is True and created["creator"]["id"] is not None
    assert get_flag(client, a, flag["id"])["experiment_id"] == created["id"]
    one = f"{base(a)}{created['id']}"
    assert call(client, "GET", one, sa(a))["results"] == created
    assert call(client, "GET", one + "/", sa(a))["results"] == created
    assert created["id"] in [e["id"] for e in call(client, "GET", base(a), sa(a))["results"]]

    patched = call(client, "PATCH", one, sa(a), body={"name": "Pricing v2", "metrics": []})["results"]
    assert (patched["name"], patched["metrics"], patched["hypothesis"], patched["variants"]) == (
        "Pricing v2", [], "Simpler converts", VARIANTS)  # PATCH: what the body leaves out stays

    launched = call(client, "PUT", one + "/launch", sa(a))["results"]
    assert launched["status"] == "active" and launched["start_date"] is not None
    started = datetime.fromisoformat(launched["start_date"].replace("Z", "+00:00"))
    assert abs(started - datetime.now(UTC)) < timedelta(minutes=5)
    served = get_flag(client, a, flag["id"])
    assert served["status"] == "enabled" and served["enabled_at"] and served["experiment_id"] == created["id"]
    history = call(client, "GET", f"{flags_path(client, a)}{flag['id']}/history/", sa(a))["results"]
    assert [e[1] for e in history["events"]] == ["created", "enabled"]
    assert served_to_sdks(client, a, "pricing_page") == (created["id"], True)

    end = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    concluded = call(client, "PUT", one + "/force_conclude", sa(a), body={"end_date": end})["results"]
    assert concluded["status"] == "concluded" and concluded["end_date"] == f"{end}T00:00:00Z"
    assert get_flag(client, a, flag["id"])["status"] == "enabled"  # concluding leaves the flag serving
    assert served_to_sdks(client, a, "pricing_page") == (created["id"], False)  # ... outside the experiment

    decided = call(client, "PATCH", one + "/decide", sa(a),
                   body={"success": True, "variant": "SIMPLIFIED", "message": "15% lift"})["results"]
    assert decided["status"] == "success"
    assert {k: decided["decision"][k] for k in ("success", "variant", "message")} == {
        "success": True, "variant": "simplified", "message": "15% lift"}
    assert get_flag(client, a, flag["id"])["status"] == "enabled"  # the decision does not touch the flag
    erf = {e["id"]: e for e in call(client, "GET", base(a) + "erf/", sa(a))["results"]}
    assert erf[created["id"]]["feature_flag_key"] == "pricing_page" and erf[created["id"]]["status"] == "success"

    failed = new_experiment(client, a, "Fails")
    path = f"{base(a)}{failed['id']}"
    call(client, "PUT", path + "/launch", sa(a))
    assert call(client, "PUT", path + "/force_conclude", sa(a), body={})["results"]["end_date"]
    assert call(client, "PATCH", path + "/decide", sa(a), body={"success": False})["results"]["status"] == "fail"


def test_every_illegal_transition_is_a_400(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    flag, other_flag = new_flag(client, a, "illegal_flag"), new_flag(client, a, "illegal_other")
    exp = new_experiment(client, a, "Illegal", variants=VARIANTS, feature_flag_id=flag["id"])
    one = f"{base(a)}{exp['id']}"
    # draft
    assert error(client, "PUT", one + "/force_conclude", a, {}) == (
        "Experiment must be active to conclude; this one is draft")
    assert error(client, "PATCH", one + "/decide", a, {"success": True}) == (
        "Experiment must be concluded to decide; this one is draft")
    assert error(client, "PATCH", one, a, {"status": "active"}) == (
        "Experiment is draft: its status changes only through its lifecycle actions, not by an update to 'active'; "
        "use launch")
    assert "status must be one of" in error(client, "PATCH", one, a, {"status": "paused"})
    assert "a new experiment is a draft" in error(client, "POST", base(a), a, {"name": "X", "status": "active"})
    call(client, "PATCH", one, sa(a), body={"status": "draft", "name": "Still draft"})  # its own status: fine
    # active
    call(client, "PUT", one + "/launch", sa(a))
    assert error(client, "PUT", one + "/launch", a) == "Experiment must be in draft state to launch; this one is active"
    assert error(client, "PATCH", one + "/decide", a, {"success": True}) == (
        "Experiment must be concluded to decide; this one is active")
    assert "Experiment is active: its variants cannot change" in error(client, "PATCH", one, a, {"variants": []})
    assert "Experiment is active: its feature flag cannot change" in error(
        client, "PATCH", one, a, {"feature_flag_id": other_flag["id"]})
    assert error(client, "POST", one + "/archive", a) == "Experiment is active: conclude it before you archive it"
    assert error(client, "PATCH", one, a, {"status": "concluded"}).endswith("use force_conclude")
    assert "never goes back to draft" in error(client, "PATCH", one, a, {"status": "draft"})
    same = {"variants": VARIANTS, "feature_flag_id": flag["id"], "status": "active", "name": "Renamed"}
    assert call(client, "PATCH", one, sa(a), body=same)["results"]["name"] == "Renamed"  # unchanged design: fine
    assert "ISO 8601" in error(client, "PUT", one + "/force_conclude", a, {"end_date": "soon"})
    assert "is before start_date" in error(client, "PUT", one + "/force_conclude", a, {"end_date": "2020-01-01"})
    assert call(client, "GET", one, sa(a))["results"]["status"] == "active"  # refused moves wrote nothing
    # concluded
    call(client, "PUT", one + "/force_conclude", sa(a), body={})
    assert error(client, "PUT", one + "/launch", a) == (
        "Experiment must be in draft state to launch; this one is concluded")
    assert error(client, "PUT", one + "/force_conclude", a, {}) == (
        "Experiment must be active to conclude; this one is concluded")
    assert "success is required" in error(client, "PATCH", one + "/decide", a, {"variant": "control"})
    assert "success is required" in error(client, "PATCH", one + "/decide", a, {"success": "yes"})
    assert "not one of this experiment's variants" in error(
        client, "PATCH", one + "/decide", a, {"success": True, "variant": "nope"})
    # decided
    call(client, "PATCH", one + "/decide", sa(a), body={"success": False, "variant": "Off"})
    for method, action, body in (("PUT", "launch", None), ("PUT", "force_conclude", {}),
                                 ("PATCH", "decide", {"success": True})):
        assert "this one is fail" in error(client, method, f"{one}/{action}", a, body)
    # archived
    draft = new_experiment(client, a, "Archived draft")
    call(client, "POST", f"{base(a)}{draft['id']}/archive", sa(a), 204)
    assert error(client, "PUT", f"{base(a)}{draft['id']}/launch", a) == (
        "Experiment is archived (draft): restore it before you launch it")
    # bad bodies
    assert error(client, "POST", base(a), a, {}) == "missing required field: name"
    assert "tags must be a list" in error(client, "POST", base(a), a, {"name": "T", "tags": "x"})
    assert "settings must be an object" in error(client, "PATCH", one, a, {"settings": [1]})
    assert "end_date" in error(client, "POST", base(a), a, {"name": "D", "start_date": "2026-05-02",
                                                           "end_date": "2026-05-01"})


def test_flag_links(projects: Any, client: httpx.Client) -> None:
    a, b, _ = projects
    flag = new_flag(client, a, "linked_once")
    first = new_experiment(client, a, "First", feature_flag={"id": flag["id"]})
    assert first["feature_flag_id"] == flag["id"]
    assert "already backs experiment" in error(client, "POST", base(a), a, {"name": "Second",
                                                                             "feature_flag_id": flag["id"]})
    b_flag = new_flag(client, b, "elsewhere")
    assert "no feature flag" in error(client, "POST", base(a), a, {"name": "Third", "feature_flag_id": b_flag["id"]})
    assert "no feature flag" in error(client, "POST", base(a), a, {"name": "Fourth", "feature_flag_id": "nope"})
    one = f"{base(a)}{first['id']}"
    unlinked = call(client, "PATCH", one, sa(a), body={"feature_flag_id": None})["results"]
    assert unlinked["feature_flag"] is None and get_flag(client, a, flag["id"])["experiment_id"] is None
    relinked = call(client, "PATCH", one, sa(a), body={"feature_flag_id": flag["id"]})["results"]
    assert relinked["feature_flag"]["id"] == flag["id"]
    # deleting the flag through the flags routes unlinks it; launching then touches no flag
    call(client, "DELETE", f"{flags_path(client, a)}{flag['id']}/", sa(a), 204)
    assert call(client, "GET", one, sa(a))["results"]["feature_flag"] is None
    assert call(client, "PUT", one + "/launch", sa(a))["results"]["status"] == "active"
    # an archived flag cannot be linked
    archived = new_flag(client, a, "archived_flag")
    call(client, "POST", f"{flags_path(client, a)}{archived['id']}/archive/", sa(a), 204)
    assert "is archived" in error(client, "POST", base(a), a, {"name": "Fifth", "feature_flag_id": archived["id"]})
    # nor can a draft launch when its flag was archived after linking (launch would bring it back past the limit)
    later = new_flag(client, a, "archived_later")
    draft = new_experiment(client, a, "Sixth", feature_flag_id=later["id"])
    call(client, "POST", f"{flags_path(client, a)}{later['id']}/archive/", sa(a), 204)
    assert "feature flag 'archived_later' is archived" in error(client, "PUT", f"{base(a)}{draft['id']}/launch", a)
    assert get_flag(client, a, later["id"])["status"] == "archived"


def test_archive_restore_duplicate_delete(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    flag = new_flag(client, a, "dup_flag")
    exp = new_experiment(client, a, "Original", hypothesis="H", variants=VARIANTS, metrics=[{"event": "Buy"}],
                         settings={"confidence": 0.95}, tags=["t"], feature_flag_id=flag["id"])
    one = f"{base(a)}{exp['id']}"
    call(client, "PUT", one + "/launch", sa(a))
    call(client, "PUT", one + "/force_conclude", sa(a), body={})

    copy = call(client, "POST", one + "/duplicate", sa(a), body={"name": "Original v2"})["results"]
    assert copy["id"] != exp["id"] and copy["name"] == "Original v2" and copy["status"] == "draft"
    assert {k: copy[k] for k in ("hypothesis", "variants", "metrics", "settings", "tags")} == {
        "hypothesis": "H", "variants": VARIANTS, "metrics": [{"event": "Buy"}], "settings": {"confidence": 0.95},
        "tags": ["t"]}
    assert (copy["start_date"], copy["end_date"], copy["feature_flag"], copy["decision"]) == (None, None, None, None)
    assert get_flag(client, a, flag["id"])["experiment_id"] == exp["id"]  # the flag still backs the original
    assert error(client, "POST", one + "/duplicate", a, {}) == "missing required field: name (the duplicate's name)"

    call(client, "POST", one + "/archive", sa(a), 204)
    listed = [e["id"] for e in call(client, "GET", base(a), sa(a))["results"]]
    assert exp["id"] not in listed and copy["id"] in listed
    assert exp["id"] not in [e["id"] for e in call(client, "GET", base(a) + "erf/", sa(a))["results"]]
    with_archived = {e["id"]: e for e in call(client, "GET", base(a), sa(a), include_archived="true")["results"]}
    assert with_archived[exp["id"]]["is_archived"] is True and with_archived[exp["id"]]["status"] == "concluded"
    restored = call(client, "DELETE", one + "/archive", sa(a))["results"]
    assert restored["is_archived"] is False and restored["status"] == "concluded"
    assert call(client, "PATCH", one + "/decide", sa(a), body={"success": True})["results"]["status"] == "success"

    call(client, "DELETE", one, sa(a), 204)
    call(client, "GET", one, sa(a), 404)
    assert error(client, "DELETE", one, a, status=404).startswith("Not found")
    call(client, "PUT", one + "/launch", sa(a), 404)
    call(client, "POST", one + "/duplicate", sa(a), 404, body={"name": "x"})
    kept = get_flag(client, a, flag["id"])
    assert kept["experiment_id"] is None and kept["status"] == "enabled"  # the flag outlives its experiment


def test_pinned_workspace_path(projects: Any, client: httpx.Client) -> None:
    a, b, _ = projects
    pinned = f"/api/app/workspaces/{workspace_of(client, a)}/experiments/"
    exp = call(client, "POST", pinned, sa(a), body={"name": "Pinned"})["results"]
    assert exp["workspace_id"] == workspace_of(client, a)
    assert call(client, "GET", f"{base(a)}{exp['id']}", sa(a))["results"]["name"] == "Pinned"
    assert call(client, "PUT", f"{pinned}{exp['id']}/launch", sa(a))["results"]["status"] == "active"
    call(client, "GET", f"/api/app/workspaces/{workspace_of(client, b)}/experiments/", sa(a), 403)


def test_consumers_read_only_and_projects_isolated(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    exp = new_experiment(client, a, "Guarded")
    one = f"{base(a)}{exp['id']}"
    seen = call(client, "GET", one, consumer)["results"]
    assert seen["name"] == "Guarded" and seen["can_edit"] is False
    assert exp["id"] in [e["id"] for e in call(client, "GET", base(a), consumer)["results"]]
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", base(a), {"name": "n"}), ("PATCH", one, {"name": "n"}), ("DELETE", one, None),
        ("PUT", one + "/launch", None), ("PUT", one + "/force_conclude", {}),
        ("PATCH", one + "/decide", {"success": True}), ("POST", one + "/archive", None),
        ("DELETE", one + "/archive", None), ("POST", one + "/duplicate", {"name": "n"})]
    for method, path, body in writes:
        assert "consumer role cannot change" in call(client, method, path, consumer, 403, body=body)["error"]
    # b's account: no access to a's project; through its own project a's experiment does not exist
    for method, path, body in [("GET", base(a), None), ("GET", one, None), ("GET", base(a) + "erf/", None),
                               *writes]:
        assert "no access" in call(client, method, path, sa(b), 403, body=body)["error"]
    b_one = f"{base(b)}{exp['id']}"
    for method, path, body in (("GET", b_one, None), ("PATCH", b_one, {"name": "n"}), ("DELETE", b_one, None),
                               ("PUT", b_one + "/launch", None), ("POST", b_one + "/archive", None),
                               ("POST", b_one + "/duplicate", {"name": "n"})):
        call(client, method, path, sa(b), 404, body=body)
    assert exp["id"] not in [e["id"] for e in call(client, "GET", base(b), sa(b))["results"]]
    after = call(client, "GET", one, sa(a))["results"]
    assert (after["name"], after["status"], after["is_archived"]) == ("Guarded", "draft", False)


def _recorded() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    root = "/api/app/projects/12345/experiments"
    return list(interactions(lambda path: path.startswith(root)))


def test_shapes_match_the_recorded_vectors(projects: Any, client: httpx.Client) -> None:
    require_vectors()
    a, _, _ = projects
    recorded = _recorded()
    assert recorded
    experiment_keys: set[str] = set()
    erf_keys: set[str] = set()
    outcomes: set[tuple[str, str, int]] = set()
    messages: set[str] = set()
    for _, request, response in recorded:
        action = request["path"].rstrip("/").rsplit("/", 1)[-1]
        kind = action if action in ("archive", "erf", "launch", "force_conclude", "decide", "duplicate") else (
            "list" if action == "experiments" else "one")
        outcomes.add((kind, request["method"], response["status"]))
        body = response.get("body") or {}
        if response["status"] >= 400:
            assert set(body) == {"status", "error"}
            messages.add(body["error"])
            continue
        results = body.get("results")
        for item in results if isinstance(results, list) else [results]:
            if isinstance(item, dict):
                (erf_keys if kind == "erf" else experiment_keys).update(item)
    exp = new_experiment(client, a, "Shaped")
    assert experiment_keys and experiment_keys <= set(exp)
    erf = call(client, "GET", base(a) + "erf/", sa(a))["results"]
    assert erf_keys and all(erf_keys <= set(e) for e in erf) and erf
    # the same methods and statuses as recorded, on the same (slash-less) paths the client uses
    one = f"{base(a)}{exp['id']}"
    ours = {("one", "GET", 200): ("GET", one, None), ("one", "PATCH", 200): ("PATCH", one, {"name": "S"}),
            ("launch", "PUT", 200): ("PUT", one + "/launch", None),
            ("force_conclude", "PUT", 200): ("PUT", one + "/force_conclude", {}),
            ("decide", "PATCH", 200): ("PATCH", one + "/decide", {"success": True}),
            ("duplicate", "POST", 200): ("POST", one + "/duplicate", {"name": "Copy"}),
            ("archive", "POST", 204): ("POST", one + "/archive", None),
            ("archive", "DELETE", 200): ("DELETE", one + "/archive", None),
            ("list", "GET", 200): ("GET", base(a), None), ("list", "POST", 200): ("POST", base(a), {"name": "N"}),
            ("erf", "GET", 200): ("GET", base(a) + "erf/", None)}
    assert {o for o in outcomes if o[2] < 400 and o != ("one", "DELETE", 204)} <= set(ours)
    for outcome, (method, path, body) in ours.items():  # in lifecycle order
        if outcome in outcomes:
            call(client, method, path, sa(a), outcome[2], body=body)
    call(client, "DELETE", one, sa(a), 204)
    assert ("one", "DELETE", 204) in outcomes
    # our refusals start with the recorded messages (and then name the status)
    fresh = new_experiment(client, a, "Errors")
    path = f"{base(a)}{fresh['id']}"
    ours_errors = [error(client, "PUT", path + "/force_conclude", a, {}),
                   error(client, "PATCH", path + "/decide", a, {"success": True}),
                   error(client, "GET", f"{base(a)}nonexistent-id", a, status=404)]
    call(client, "PUT", path + "/launch", sa(a))
    ours_errors.append(error(client, "PUT", path + "/launch", a))
    assert messages and all(any(o.startswith(m) for o in ours_errors) for m in messages)
