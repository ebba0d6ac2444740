"""Feature flags over the App API (``/api/app/projects/{pid}/workspaces/{wid}/feature-flags/...``): the lifecycle with
PUT's full-replace semantics, archive/restore/duplicate, test users, history, limits, ruleset checks, consumers
read-only, projects isolated, and response shapes against the recorded wire vectors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.server import ServerProcess
from tests.support.vectors import interactions, require_vectors

ON_OFF = {"variants": [{"key": "On", "value": True, "is_control": False, "split": 1.0},
                       {"key": "Off", "value": False, "is_control": True, "split": 0.0}],
          "rollout": [{"rollout_percentage": 0.5}]}


def workspace_of(client: httpx.Client, creds: ProjectCreds) -> int:
    spaces = call(client, "GET", f"/api/app/projects/{creds.project_id}/workspaces/public", sa(creds))["results"]
    return int(spaces[0]["id"])


def flags_path(client: httpx.Client, creds: ProjectCreds) -> str:
    return f"/api/app/projects/{creds.project_id}/workspaces/{workspace_of(client, creds)}/feature-flags/"


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    return projects_with_consumer(server, "flags")


def test_lifecycle_with_put_replacing_everything(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = flags_path(client, a)
    created = call(client, "POST", base, sa(a), body={"name": "Dark mode", "key": "dark_mode", "tags": ["ui"],
                                                      "description": "Dark theme", "ruleset": ON_OFF})["results"]
    assert len(created["id"]) == 36 and created["project_id"] == a.project_id
    assert {k: created[k] for k in ("name", "key", "status", "context", "serving_method", "tags", "description")} == {
        "name": "Dark mode", "key": "dark_mode", "status": "disabled", "context": "distinct_id",
        "serving_method": "client", "tags": ["ui"], "description": "Dark theme"}
    assert created["ruleset"]["variants"][0] == {"key": "On", "value": True, "is_control": False, "split": 1.0}
    assert created["hash_salt"] and created["workspace_id"] == workspace_of(client, a) and created["can_edit"]
    one = f"{base}{created['id']}/"
    assert call(client, "GET", one, sa(a))["results"] == created
    assert [f["key"] for f in call(client, "GET", base, sa(a))["results"]] == ["dark_mode"]

    replaced = call(client, "PUT", one, sa(a), body={"name": "Dark", "key": "dark_mode", "status": "enabled",
                                                     "ruleset": ON_OFF})["results"]
    assert (replaced["name"], replaced["status"], replaced["description"], replaced["tags"]) == (
        "Dark", "enabled", None, [])  # full replace: what the body leaves out goes back to its default
    assert replaced["enabled_at"] and replaced["hash_salt"] == created["hash_salt"]
    for missing in ("name", "key", "status", "ruleset"):
        body = {"name": "n", "key": "dark_mode", "status": "enabled", "ruleset": ON_OFF}
        del body[missing]
        assert call(client, "PUT", one, sa(a), 400, body=body)["error"] == f"missing required field: {missing}"
    dupe = call(client, "POST", base, sa(a), 400, body={"name": "Again", "key": "dark_mode"})
    assert "already exists" in dupe["error"]

    call(client, "DELETE", one, sa(a), 204)
    call(client, "GET", one, sa(a), 404)
    call(client, "DELETE", one, sa(a), 404)
    call(client, "PUT", one, sa(a), 404, body={"name": "n", "key": "k", "status": "enabled", "ruleset": {}})


def test_archive_restore_duplicate_test_users_and_history(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = flags_path(client, a)
    flag = call(client, "POST", base, sa(a), body={"name": "Checkout", "key": "checkout", "status": "enabled",
                                                   "ruleset": ON_OFF})["results"]
    one = f"{base}{flag['id']}/"
    call(client, "POST", one + "archive/", sa(a), 204)
    assert "checkout" not in [f["key"] for f in call(client, "GET", base, sa(a))["results"]]
    archived = [f for f in call(client, "GET", base, sa(a), include_archived="true")["results"]
                if f["key"] == "checkout"]
    assert [f["status"] for f in archived] == ["archived"]
    restored = call(client, "DELETE", one + "archive/", sa(a))["results"]
    assert (restored["id"], restored["status"]) == (flag["id"], "disabled")

    copy = call(client, "POST", one + "duplicate/", sa(a))["results"]
    again = call(client, "POST", one + "duplicate/", sa(a))["results"]
    assert (copy["name"], copy["key"], copy["status"]) == ("Copy of Checkout", "checkout_copy", "disabled")
    assert again["key"] == "checkout_copy_2" and len({flag["id"], copy["id"], again["id"]}) == 3
    assert copy["ruleset"] == flag["ruleset"]

    call(client, "PUT", one + "test-users/", sa(a), 204, body={"users": {"on": "qa-1", "Off": ["qa-2", "qa-3"]}})
    tested = call(client, "GET", one, sa(a))["results"]["ruleset"]
    assert tested["test"] == {"users": {"qa-1": "On", "qa-2": "Off", "qa-3": "Off"}}
    assert "names no variant" in call(client, "PUT", one + "test-users/", sa(a), 400,
                                      body={"users": {"Maybe": "qa-1"}})["error"]
    call(client, "PUT", one + "test-users/", sa(a), 204, body={"users": {}})
    assert "test" not in call(client, "GET", one, sa(a))["results"]["ruleset"]
    call(client, "PUT", one, sa(a), body={"name": "Checkout", "key": "checkout", "status": "enabled",
                                          "ruleset": ON_OFF})

    history = call(client, "GET", one + "history/", sa(a))["results"]
    actions = [event[1] for event in history["events"]]
    assert actions == ["created", "archived", "restored", "test_users", "test_users", "enabled"]
    assert history["count"] == 6 and history["events"][0][4] == created_by(client, a)
    page = call(client, "GET", one + "history/", sa(a), page=2, page_size=4)["results"]
    assert ([e[1] for e in page["events"]], page["count"]) == (["test_users", "enabled"], 6)
    assert "page" in call(client, "GET", one + "history/", sa(a), 400, page="cursor-abc")["error"]


def created_by(client: httpx.Client, creds: ProjectCreds) -> str:
    return str(call(client, "GET", "/api/app/me", sa(creds))["results"]["user_name"])


@pytest.mark.parametrize(("ruleset", "fragment"), [
    ({"variants": [{"key": "a", "split": 0.5}, {"key": "b", "split": 0.4}]}, "splits must sum to 1"),
    ({"variants": [{"key": "a", "split": 1}, {"key": "A", "split": 0}]}, "used twice"),
    ({"variants": [{"key": "a", "split": 1}], "rollout": [{"rollout_percentage": 50}]}, "from 0 to 1"),
    ({"variants": [], "rollout": [{"rollout_percentage": 0.5}]}, "needs at least one variant"),
    ({"variants": [{"key": "a", "split": 1}],
      "rollout": [{"rollout_percentage": 1, "variant_override": {"key": "z"}}]}, "names no variant"),
    ({"variants": [{"key": "a", "split": 0.5}, {"key": "b", "split": 0.5}],
      "rollout": [{"rollout_percentage": 1, "variant_splits": {"a": 0.9, "b": 0.2}}]}, "variant_splits must sum"),
    ({"variants": [{"key": "a", "split": 1}],
      "rollout": [{"rollout_percentage": 1, "runtime_evaluation_rule": {"semver_compare": [1, ">", 2]}}]},
     "not supported"),
    ({"variants": "a"}, "variants must be a list"),
    ([], "ruleset must be an object"),
])
def test_bad_rulesets_are_400(projects: Any, client: httpx.Client, ruleset: Any, fragment: str) -> None:
    a, _, _ = projects
    body = {"name": "x", "key": "bad", "ruleset": ruleset}
    error = call(client, "POST", flags_path(client, a), sa(a), 400, body=body)
    assert fragment in error["error"]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"key": "k"}, "missing required field: name"),
    ({"name": "n", "key": "has space"}, "must not contain spaces"),
    ({"name": "n", "key": "k", "status": "archived"}, "status must be one of enabled, disabled"),
    ({"name": "n", "key": "k", "serving_method": "pigeon"}, "serving_method must be one of"),
    ({"name": "n", "key": "k", "tags": "ui"}, "tags must be a list"),
])
def test_bad_flags_are_400(projects: Any, client: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    a, _, _ = projects
    assert fragment in call(client, "POST", flags_path(client, a), sa(a), 400, body=body)["error"]


def test_percent_splits_are_stored_as_fractions(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    ruleset = {"variants": [{"key": "a", "value": 1, "is_control": True, "split": 25},
                            {"key": "b", "value": 2, "split": 75}],
               "rollout": [{"rollout_percentage": 1, "variant_splits": {"a": 50, "b": 50}}]}
    flag = call(client, "POST", flags_path(client, a), sa(a), body={"name": "Pct", "key": "pct",
                                                                    "ruleset": ruleset})["results"]
    assert [v["split"] for v in flag["ruleset"]["variants"]] == [0.25, 0.75]
    assert flag["ruleset"]["rollout"] == [{"rollout_percentage": 1.0, "variant_splits": {"a": 0.5, "b": 0.5}}]


def test_limits_are_reported_and_enforced(server: ServerProcess, client: httpx.Client) -> None:
    creds = make_project(server.data_dir, "flag-limits")
    base = flags_path(client, creds)
    limits_path = f"/api/app/projects/{creds.project_id}/feature-flags/limits/"
    limits = call(client, "GET", limits_path, sa(creds))["results"]
    assert limits == {"limit": limits["limit"], "is_trial": False, "current_usage": 0, "contract_status": "active"}
    ids = [call(client, "POST", base, sa(creds), body={"name": f"F{i}", "key": f"f{i}"})["results"]["id"]
           for i in range(limits["limit"])]
    assert call(client, "GET", limits_path, sa(creds))["results"]["current_usage"] == limits["limit"]
    refused = call(client, "POST", base, sa(creds), 400, body={"name": "One more", "key": "more"})
    assert f"already has {limits['limit']} feature flags, the limit" in refused["error"]
    call(client, "POST", f"{base}{ids[0]}/duplicate/", sa(creds), 400)
    call(client, "POST", f"{base}{ids[0]}/archive/", sa(creds), 204)  # archived flags do not count
    assert call(client, "GET", limits_path, sa(creds))["results"]["current_usage"] == limits["limit"] - 1
    call(client, "POST", base, sa(creds), body={"name": "One more", "key": "more"})
    assert "the limit" in call(client, "DELETE", f"{base}{ids[0]}/archive/", sa(creds), 400)["error"]
    back = {"name": "F0", "key": "f0", "status": "disabled", "ruleset": {}}
    assert "the limit" in call(client, "PUT", f"{base}{ids[0]}/", sa(creds), 400, body=back)["error"]


def test_consumers_read_only_and_projects_isolated(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    base = flags_path(client, a)
    flag = call(client, "POST", base, sa(a), body={"name": "Kept", "key": "kept"})["results"]
    one = f"{base}{flag['id']}/"
    seen = call(client, "GET", one, consumer)["results"]
    assert seen["key"] == "kept" and seen["can_edit"] is False
    replace = {"name": "n", "key": "kept", "status": "enabled", "ruleset": {}}
    for method, path, body in (("POST", base, {"name": "n", "key": "n"}), ("PUT", one, replace),
                               ("DELETE", one, None), ("POST", one + "archive/", None),
                               ("DELETE", one + "archive/", None), ("POST", one + "duplicate/", None),
                               ("PUT", one + "test-users/", {"users": {}})):
        assert call(client, method, path, consumer, 403, body=body)["status"] == "error"
    # b's account: no access to a's project; through its own project the flag does not exist
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]
    call(client, "GET", f"/api/app/projects/{a.project_id}/feature-flags/limits/", sa(b), 403)
    b_base = flags_path(client, b)
    for method, body in (("GET", None), ("PUT", replace), ("DELETE", None)):
        call(client, method, f"{b_base}{flag['id']}/", sa(b), 404, body=body)
    call(client, "POST", f"{b_base}{flag['id']}/archive/", sa(b), 404)
    call(client, "GET", f"{b_base}{flag['id']}/history/", sa(b), 404)
    # a workspace of another project under this project's path
    b_workspace = workspace_of(client, b)
    call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/{b_workspace}/feature-flags/", sa(a), 404)
    assert call(client, "GET", one, sa(a))["results"]["name"] == "Kept"


#: Keys some recorded answers carry beyond Mixpanel's flag model (a test of the client keeping extras).
EXTRA_KEYS = {"custom_metadata"}


def _recorded(kind: str) -> list[tuple[int, str, Any]]:
    root = "/api/app/projects/12345/workspaces/100/feature-flags/"
    paths = {"list": root, "one": root + "abc-123/", "history": root + "abc-123/history/",
             "archive": root + "abc-123/archive/", "duplicate": root + "abc-123/duplicate/",
             "test-users": root + "abc-123/test-users/", "limits": "/api/app/projects/12345/feature-flags/limits/"}
    return [(response["status"], request["method"], response.get("body"))
            for _, request, response in interactions({paths[kind]})]


def test_shapes_match_the_recorded_vectors(projects: Any, client: httpx.Client) -> None:
    require_vectors()
    a, _, _ = projects
    base = flags_path(client, a)
    flag = call(client, "POST", base, sa(a), body={"name": "Shaped", "key": "shaped", "ruleset": ON_OFF})["results"]
    one = f"{base}{flag['id']}/"
    recorded_flag_keys = set()
    for kind in ("list", "one", "duplicate", "archive"):
        for _, _, body in _recorded(kind):
            results = (body or {}).get("results")
            for item in results if isinstance(results, list) else [results]:
                if isinstance(item, dict) and item:
                    recorded_flag_keys |= set(item) - EXTRA_KEYS
    assert recorded_flag_keys and recorded_flag_keys <= set(flag)
    history = call(client, "GET", one + "history/", sa(a))["results"]
    for _, _, body in _recorded("history"):
        assert set(body["results"]) == set(history)
        assert all(isinstance(e, list) and isinstance(e[0], int) for e in body["results"]["events"] + history["events"])
    limits = call(client, "GET", f"/api/app/projects/{a.project_id}/feature-flags/limits/", sa(a))["results"]
    assert {frozenset(body["results"]) for _, _, body in _recorded("limits")} == {frozenset(limits)}
    statuses = {(kind, method, status) for kind in ("archive", "test-users") for status, method, _ in _recorded(kind)}
    assert statuses == {("archive", "POST", 204), ("archive", "DELETE", 200), ("test-users", "PUT", 204)}
    call(client, "PUT", one + "test-users/", sa(a), 204, body={"users": {"On": "u1", "Off": "u2"}})
    call(client, "POST", one + "archive/", sa(a), 204)
    call(client, "DELETE", one + "archive/", sa(a), 200)
