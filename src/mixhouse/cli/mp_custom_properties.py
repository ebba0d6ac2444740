"""``mp custom-properties``: list, get, create, update, delete and validate saved custom properties.

Inputs are given one per ``--input LETTER=PROPERTY[:TYPE[:RESOURCE]]`` (``A=price:number``, ``B=email:string:user``;
TYPE defaults to ``string`` and RESOURCE to ``event``) or all at once as ``--inputs JSON|@file`` (the
``composedProperties`` object). ``validate`` prints ``{"valid", "errors"}`` and exits 3 when the definition is not
valid.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mixhouse.cli.mp_common import JSON, Exit, Format, _json_arg, _ws, handled
from mixhouse.cli.mp_output import emit

custom_properties_app = typer.Typer(help="Saved custom properties.", no_args_is_help=True)

Name = Annotated[str | None, typer.Option("--name", help="The property's name.")]
Formula = Annotated[str | None, typer.Option("--formula", help='The formula over the inputs, e.g. "A * B".')]
Input = Annotated[list[str] | None, typer.Option("--input", help="LETTER=PROPERTY[:TYPE[:RESOURCE]], repeatable.")]
Inputs = Annotated[str | None, typer.Option("--inputs", help="composedProperties as JSON (or @file).")]
Description = Annotated[str | None, typer.Option("--description")]
Locked = Annotated[bool | None, typer.Option("--locked/--unlocked", help="Only its creator, owners, admins edit.")]
Visible = Annotated[bool | None, typer.Option("--visible/--hidden")]
ResourceType = Annotated[str, typer.Option("--resource-type", help="events or people.")]
PropertyType = Annotated[str | None, typer.Option("--property-type", help="The result's type (default: as used).")]


def _inputs(items: list[str] | None, as_json: str | None) -> dict[str, Any] | None:
    """The ``composedProperties`` the options give (None: neither option)."""
    if items and as_json is not None:
        raise ValueError("give the inputs with --input or with --inputs, not both")
    if as_json is not None:
        value = _json_arg(as_json, "--inputs")
        if not isinstance(value, dict):
            raise ValueError("--inputs must be a JSON object: {\"A\": {\"value\": \"price\", \"type\": \"number\"}}")
        return value
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        letter, sep, spec = item.partition("=")
        parts = spec.split(":")
        if not sep or not parts[0] or len(parts) > 3:
            raise ValueError(f"--input must be LETTER=PROPERTY[:TYPE[:RESOURCE]], not {item!r}")
        out[letter.strip()] = {"value": parts[0], "type": parts[1] if len(parts) > 1 else "string",
                               "resourceType": parts[2] if len(parts) > 2 else "event"}
    return out


def _definition(name: str | None, formula: str | None, inputs: dict[str, Any] | None, description: str | None,
                locked: bool | None, visible: bool | None, **more: Any) -> dict[str, Any]:
    """The wire body (camelCase), without the options not given."""
    body = {"name": name, "displayFormula": formula, "composedProperties": inputs, "description": description,
            "isLocked": locked, "isVisible": visible, **more}
    return {key: value for key, value in body.items() if value is not None}


@custom_properties_app.command("list")
@handled
def custom_properties_list(ctx: typer.Context, fmt: Format = JSON) -> None:
    """List saved custom properties."""
    with _ws(ctx) as ws:
        emit(ws.list_custom_properties(), fmt)


@custom_properties_app.command("get")
@handled
def custom_properties_get(ctx: typer.Context, property_id: Annotated[str, typer.Argument()],
                          fmt: Format = JSON) -> None:
    """Show a saved custom property."""
    with _ws(ctx) as ws:
        emit(ws.get_custom_property(property_id), fmt)


@custom_properties_app.command("create")
@handled
def custom_properties_create(ctx: typer.Context, name: Name = None, formula: Formula = None,
                             input_: Input = None, inputs: Inputs = None, resource_type: ResourceType = "events",
                             property_type: PropertyType = None, description: Description = None,
                             locked: Locked = None, visible: Visible = None, fmt: Format = JSON) -> None:
    """Save a custom property."""
    body = _definition(name, formula, _inputs(input_, inputs), description, locked, visible,
                       resourceType=resource_type, propertyType=property_type)
    with _ws(ctx) as ws:
        emit(ws.create_custom_property(body), fmt)


@custom_properties_app.command("update")
@handled
def custom_properties_update(ctx: typer.Context, property_id: Annotated[str, typer.Argument()], name: Name = None,
                             formula: Formula = None, input_: Input = None, inputs: Inputs = None,
                             description: Description = None, locked: Locked = None, visible: Visible = None,
                             fmt: Format = JSON) -> None:
    """Change a saved custom property (the options not given are kept)."""
    body = _definition(name, formula, _inputs(input_, inputs), description, locked, visible)
    with _ws(ctx) as ws:
        emit(ws.update_custom_property(property_id, body), fmt)


@custom_properties_app.command("delete")
@handled
def custom_properties_delete(ctx: typer.Context, property_id: Annotated[str, typer.Argument()]) -> None:
    """Delete a saved custom property."""
    with _ws(ctx) as ws:
        ws.delete_custom_property(property_id)
    typer.echo(f"Deleted custom property {property_id}", err=True)


@custom_properties_app.command("validate")
@handled
def custom_properties_validate(ctx: typer.Context, name: Name = None, formula: Formula = None,
                               input_: Input = None, inputs: Inputs = None, resource_type: ResourceType = "events",
                               property_type: PropertyType = None, description: Description = None,
                               fmt: Format = JSON) -> None:
    """Check a custom property without saving it (exit code 3 when it is not valid)."""
    body = _definition(name, formula, _inputs(input_, inputs), description, None, None,
                       resourceType=resource_type, propertyType=property_type)
    with _ws(ctx) as ws:
        answer = ws.validate_custom_property(body)
    emit(answer, fmt)
    if not answer.get("valid"):
        raise typer.Exit(Exit.INVALID)
