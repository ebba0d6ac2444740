"""Saved custom properties over the App API, over HTTP and as ``ws.list_custom_properties()`` /
``create_custom_property`` / ... call them: the lifecycle in both path styles, partial ``PUT``, the definition
rules (create, update and ``validate``), roles and locked properties, project isolation and 404s, and the
definition Insights will resolve a ``customPropertyId`` to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import mixhouse as mp
from mixhouse.client.custom_properties import inline_definition
from tests.conftest import ProjectCreds
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.client_env import use_service_account
from tests.support.server import ServerProcess

PRICE_TIMES_QTY: dict[str, Any] = {
    "name": "Total price", "resourceType": "events", "displayFormula": "A * B",
    "composedProperties": {"A": {"value": "price", "type": "number", "resourceType": "event"},
                           "B": {"value": "quantity", "type": "number", "resourceType": "event"}}}
ANSWER_KEYS = {"customPropertyId", "name", "description", "resourceType", "propertyType", "displayFormula",
               "composedProperties", "isLocked", "isVisible", "exampleValue", "dataGroupId", "created", "modified"}

Projects = tuple[ProjectCreds, ProjectCreds, tuple[str, str]]


@pytest.fixture(scope="module")
def projects(server: ServerProcess) -> Projects:
    return projects_with_consumer(server, "custom-props")


def _base(creds: ProjectCreds) -> str:
    return f"/api/app/projects/{creds.project_id}/custom_properties/"


def _create(client: httpx.Client, creds: ProjectCreds, auth: tuple[str, str] | None = None,
            **changes: Any) -> dict[str, Any]:
    return dict(call(client, "POST", _base(creds), auth or sa(creds), body={**PRICE_TIMES_QTY, **changes})["results"])


def test_lifecycle(projects: Projects, client: httpx.Client) -> None:
    a, _, _ = projects
    base = _base(a)
    created = call(client, "POST", base, sa(a), body={**PRICE_TIMES_QTY, "description": "price x quantity"})
    assert created["status"] == "ok"
    prop = created["results"]
    assert set(prop) == ANSWER_KEYS
    assert {k: prop[k] for k in ("name", "description", "resourceType", "displayFormula", "composedProperties",
                                 "isLocked", "isVisible", "propertyType")} == {
        "name": "Total price", "description": "price x quantity", "resourceType": "events",
        "displayFormula": "A * B", "composedProperties": PRICE_TIMES_QTY["composedProperties"],
        "isLocked": False, "isVisible": True, "propertyType": None}
    other = _create(client, a, name="Email domain", resourceType="people", propertyType="string",
                    displayFormula='split(A, "@", 2)',
                    composedProperties={"A": {"value": "$email", "resourceType": "user"}})
    assert other["composedProperties"] == {"A": {"value": "$email", "type": "string", "resourceType": "user"}}

    pid = prop["customPropertyId"]
    assert call(client, "GET", f"{base}{pid}/", sa(a))["results"] == prop
    assert call(client, "GET", f"{base}{pid}", sa(a))["results"] == prop  # no trailing slash
    listed = call(client, "GET", base, sa(a))["results"]
    assert [p["customPropertyId"] for p in listed] == [pid, other["customPropertyId"]]

    # PUT changes the fields it gives and keeps the others; the definition it leaves is checked whole
    renamed = call(client, "PUT", f"{base}{pid}/", sa(a), body={"name": "Order total"})["results"]
    assert renamed == {**prop, "name": "Order total", "modified": renamed["modified"]}
    third = call(client, "PUT", f"{base}{pid}/", sa(a), body={
        "displayFormula": "A * B - C", "composedProperties": {
            **PRICE_TIMES_QTY["composedProperties"], "C": {"value": "discount", "type": "number"}}})["results"]
    assert third["displayFormula"] == "A * B - C" and third["name"] == "Order total"
    assert third["composedProperties"]["C"] == {"value": "discount", "type": "number", "resourceType": "event"}
    error = call(client, "PUT", f"{base}{pid}/", sa(a), 400, body={"displayFormula": "A * D"})
    assert error == {"error": "displayFormula uses D, which is not in composedProperties (its inputs: A, B, C)",
                     "status": "error"}
    # a fetched property sent back as it is changes nothing (its read-only keys are ignored)
    assert call(client, "PUT", f"{base}{pid}/", sa(a), body=third)["results"]["displayFormula"] == "A * B - C"

    # the pinned-workspace path style reaches the same properties
    (workspace,) = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"]
    scoped = f"/api/app/workspaces/{workspace['id']}/custom_properties/"
    assert [p["customPropertyId"] for p in call(client, "GET", scoped, sa(a))["results"]] == [
        pid, other["customPropertyId"]]
    assert call(client, "GET", f"{scoped}{pid}/", sa(a))["results"]["name"] == "Order total"

    call(client, "DELETE", f"{base}{other['customPropertyId']}/", sa(a), 204)
    for method in ("GET", "PUT", "DELETE"):
        missing = call(client, method, f"{base}{other['customPropertyId']}/", sa(a), 404,
                       body={"name": "x"} if method == "PUT" else None)
        assert missing["error"] == f"no custom property {other['customPropertyId']} in project {a.project_id}"
    assert call(client, "GET", f"{base}cp-42/", sa(a), 404)["error"].startswith("no custom property 'cp-42'")
    assert [p["customPropertyId"] for p in call(client, "GET", base, sa(a))["results"]] == [pid]


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"name": ""}, "name must be a non-empty string"),
    ({"name": None}, "name cannot be null"),
    ({"resourceType": "groups"}, "resourceType must be one of events, people, not 'groups'"),
    ({"displayFormula": "  "}, "displayFormula must be a non-empty formula"),
    ({"displayFormula": "A + " + "1" * 20_000}, "displayFormula has at most 20000 characters, not 20004"),
    ({"composedProperties": {}}, "composedProperties must be an object with at least one input"),
    ({"displayFormula": "A +"}, "displayFormula: "),
    ({"displayFormula": "nosuch(A)"}, "displayFormula: "),
    ({"composedProperties": {"A": {"value": "price"}, "B": {"value": " "}}}, "input B needs a property name"),
    ({"composedProperties": {"A": {"value": "price"}, "B": {"value": "q", "type": "decimal"}}},
     "composedProperties.B.type must be one of string, number"),
    ({"composedProperties": {"A": {"value": "price"}, "B": {"value": "q", "resourceType": "people"}}},
     "composedProperties.B.resourceType must be one of event, user"),
    ({"displayFormula": "A * B * Z"}, "displayFormula uses Z, which is not in composedProperties (its inputs: A, B)"),
    ({"displayFormula": 'if(A == "x, B)'}, "the string literal opened at character 9 is not closed"),
    ({"resourceType": "people"}, 'a people custom property reads user properties only: input A, B has resourceType'),
    ({"propertyType": "money"}, "propertyType must be one of"),
    ({"isLocked": "yes"}, "isLocked must be true or false"),
    ({"behavior": {"type": "event"}}, "behavior: behavior-based custom properties are not supported"),
    ({"dataGroupId": "3"}, "dataGroupId: custom properties of group profiles are not supported"),
    ({"composedProperties": {"A": {"value": "price", "joinPropertyType": "lookup"}, "B": {"value": "q"}}},
     "composedProperties.A.joinPropertyType: lookup-table inputs are not supported"),
    ({"display_formula": "A"}, "unknown field 'display_formula' (did you mean 'displayFormula'?)"),
])
def test_bad_definitions_are_400_and_not_valid(projects: Projects, client: httpx.Client, changes: dict[str, Any],
                                               fragment: str) -> None:
    a, _, _ = projects
    body = {**PRICE_TIMES_QTY, **changes}
    before = call(client, "GET", _base(a), sa(a))["results"]
    error = call(client, "POST", _base(a), sa(a), 400, body=body)
    assert fragment in error["error"] and error["status"] == "error"
    verdict = call(client, "POST", _base(a) + "validate/", sa(a), body=body)["results"]
    assert verdict["valid"] is False and any(fragment in message for message in verdict["errors"])
    assert call(client, "GET", _base(a), sa(a))["results"] == before  # nothing was saved


def test_validate_lists_every_problem_and_saves_nothing(projects: Projects, client: httpx.Client) -> None:
    a, _, _ = projects
    path = _base(a) + "validate"
    before = call(client, "GET", _base(a), sa(a))["results"]
    assert call(client, "POST", path, sa(a), body=PRICE_TIMES_QTY)["results"] == {"valid": True, "errors": []}
    # letters inside string literals, function names and let-bound names are not inputs
    fine = {**PRICE_TIMES_QTY, "displayFormula": 'let(X, A * B, IF(X > 100, "Big B", "Small"))'}
    assert call(client, "POST", path, sa(a), body=fine)["results"] == {"valid": True, "errors": []}
    verdict = call(client, "POST", path, sa(a), body={"name": "x", "composedProperties": {"a": {"value": ""}}})
    assert verdict["results"]["valid"] is False
    assert verdict["results"]["errors"] == [
        "composedProperties.a.value: input a needs a property name",
        "resourceType is required", "displayFormula is required"]
    empty = call(client, "POST", path, sa(a))["results"]  # no body: every required field is missing
    assert empty["valid"] is False and len(empty["errors"]) == 4
    assert call(client, "GET", _base(a), sa(a))["results"] == before


def test_roles_and_locked_properties(projects: Projects, client: httpx.Client, server: ServerProcess) -> None:
    from mixhouse.meta.store import MetaStore

    a, _, consumer = projects
    with MetaStore.for_data_dir(server.data_dir) as store:
        analyst = store.add_service_account(a.project_id, "analyst", "custom-props-analyst")
    base = _base(a)
    kept = _create(client, a, name="Kept")
    assert any(p["customPropertyId"] == kept["customPropertyId"] for p in call(client, "GET", base, consumer)[
        "results"])
    assert call(client, "POST", base + "validate/", consumer, body=PRICE_TIMES_QTY)["results"]["valid"] is True
    for method, path, body in (("POST", base, PRICE_TIMES_QTY),
                               ("PUT", f"{base}{kept['customPropertyId']}/", {"name": "no"}),
                               ("DELETE", f"{base}{kept['customPropertyId']}/", None)):
        error = call(client, method, path, consumer, 403, body=body)
        assert error == {"error": f"the consumer role cannot change project {a.project_id}", "status": "error"}

    # a locked property: only its creator, owners and admins change it
    locked = _create(client, a, analyst, name="Locked one", isLocked=True)
    assert locked["isLocked"] is True
    mine = _create(client, a, analyst, name="Analyst's")
    assert call(client, "PUT", f"{base}{mine['customPropertyId']}/", analyst, body={"name": "Renamed"})[
        "results"]["name"] == "Renamed"
    owners_locked = _create(client, a, name="Owner's locked", isLocked=True)
    for method, body in (("PUT", {"name": "no"}), ("DELETE", None)):
        error = call(client, method, f"{base}{owners_locked['customPropertyId']}/", analyst, 403, body=body)
        assert error["error"] == (f"custom property {owners_locked['customPropertyId']} is locked: only its "
                                  "creator, owners and admins change it")
    assert call(client, "PUT", f"{base}{locked['customPropertyId']}/", analyst, body={"isLocked": False})[
        "results"]["isLocked"] is False
    assert call(client, "PUT", f"{base}{owners_locked['customPropertyId']}/", sa(a), body={"name": "Still mine"})[
        "results"]["name"] == "Still mine"
    call(client, "DELETE", f"{base}{owners_locked['customPropertyId']}/", sa(a), 204)
    assert call(client, "GET", f"{base}{kept['customPropertyId']}/", sa(a))["results"]["name"] == "Kept"


def test_projects_are_isolated(projects: Projects, client: httpx.Client) -> None:
    a, b, _ = projects
    prop = _create(client, a, name="A only")
    pid = prop["customPropertyId"]
    (workspace,) = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"]
    for method, path in (("GET", _base(a)), ("GET", f"{_base(a)}{pid}/"), ("DELETE", f"{_base(a)}{pid}/"),
                         ("POST", _base(a) + "validate/"),
                         ("GET", f"/api/app/workspaces/{workspace['id']}/custom_properties/")):
        error = call(client, method, path, sa(b), 403, body=PRICE_TIMES_QTY if method == "POST" else None)
        assert "no access" in error["error"]
    # through its own project, b cannot reach a's id either
    assert pid not in [p["customPropertyId"] for p in call(client, "GET", _base(b), sa(b))["results"]]
    for method in ("GET", "PUT", "DELETE"):
        call(client, method, f"{_base(b)}{pid}/", sa(b), 404, body={"name": "x"} if method == "PUT" else None)
    assert call(client, "GET", f"{_base(a)}{pid}/", sa(a))["results"]["name"] == "A only"
    unauthenticated = client.get(_base(a))
    assert unauthenticated.status_code == 401 and unauthenticated.json()["status"] == "error"


def test_saved_definition_is_what_the_builders_inline(projects: Projects, client: httpx.Client,
                                                      server: ServerProcess) -> None:
    """``get_custom_property_definition`` answers the bookmark ``customProperty`` object the client library writes
    for the same formula and inputs, so Insights can evaluate saved and inline custom properties alike."""
    from mixhouse.meta.store import MetaStore
    from mixhouse.services.custom_properties import get_custom_property_definition

    a, b, _ = projects
    prop = _create(client, a, name="Total", description="", propertyType="number")
    inline = mp.InlineCustomProperty("A * B", {"A": mp.PropertyInput("price", "number"),
                                               "B": mp.PropertyInput("quantity", "number")}, "number")
    with MetaStore.for_data_dir(server.data_dir) as store:
        found = get_custom_property_definition(store, a.project_id, prop["customPropertyId"])
        assert found == {**inline_definition(inline, "string"), "name": "Total"}
        assert get_custom_property_definition(store, b.project_id, prop["customPropertyId"]) is None


# ------------------------------------------------------------------------------------------------ Workspace client
@pytest.fixture
def ws(server: ServerProcess, projects: Projects, monkeypatch: pytest.MonkeyPatch,
       tmp_path: Path) -> Iterator[mp.Workspace]:
    use_service_account(monkeypatch, server.url, projects[1], tmp_path)
    with mp.Workspace() as workspace:
        yield workspace


def test_workspace_methods_round_trip(ws: mp.Workspace) -> None:
    inputs = {"A": mp.ComposedPropertyValue(value="price", type="number", resource_type="event"),
              "B": mp.ComposedPropertyValue(value="quantity", type="number", resource_type="event")}
    params = mp.CreateCustomPropertyParams(name="Line total", resource_type="events", display_formula="A * B",
                                           composed_properties=inputs, property_type="number")
    assert ws.validate_custom_property(params) == {"valid": True, "errors": []}
    created = ws.create_custom_property(params)
    assert isinstance(created, mp.CustomProperty)
    assert (created.name, created.resource_type, created.display_formula, created.property_type) == (
        "Line total", "events", "A * B", "number")
    assert created.composed_properties == {"A": {"value": "price", "type": "number", "resourceType": "event"},
                                           "B": {"value": "quantity", "type": "number", "resourceType": "event"}}
    pid = created.custom_property_id
    assert [p.custom_property_id for p in ws.list_custom_properties()] == [pid]
    assert ws.get_custom_property(str(pid)).to_dict() == created.to_dict()

    updated = ws.update_custom_property(pid, mp.UpdateCustomPropertyParams(name="Renamed", is_visible=False))
    assert (updated.name, updated.is_visible, updated.display_formula) == ("Renamed", False, "A * B")
    with pytest.raises(mp.QueryError, match="displayFormula uses C") as bad:
        ws.update_custom_property(pid, {"displayFormula": "A + C"})
    assert bad.value.details["status_code"] == 400
    assert ws.get_custom_property(pid).display_formula == "A * B"

    # the seeds' example keys its inputs by property name and says resource_type="event": accepted as written
    seeds_example = mp.CreateCustomPropertyParams(
        name="New Prop", resource_type="event", display_formula='number(properties["amount"])',
        composed_properties={"amount": mp.ComposedPropertyValue(resource_type="event")})
    assert ws.validate_custom_property(seeds_example) == {"valid": True, "errors": []}
    named = ws.create_custom_property(seeds_example)
    assert named.resource_type == "events"
    assert named.composed_properties["amount"]["value"] == "amount"
    ws.delete_custom_property(named.custom_property_id)

    ws.delete_custom_property(pid)
    with pytest.raises(mp.QueryError) as missing:
        ws.get_custom_property(pid)
    assert missing.value.details["status_code"] == 404
    with pytest.raises(mp.QueryError) as again:
        ws.delete_custom_property(pid)
    assert again.value.details["status_code"] == 404
    assert ws.list_custom_properties() == []
