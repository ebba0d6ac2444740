"""Saved custom properties over the App API: checking a definition, the JSON answered, and the definition Insights
resolves a ``customPropertyId`` to.

A definition (camelCase, as the client library sends it): ``name`` (1–255 characters), ``resourceType``
(``events`` or ``people``), ``displayFormula`` (non-empty, at most 20,000 characters), ``composedProperties``
(at least one input, keyed by one capital letter ``A``..``Z``: ``{"value": property name, "type"?: "string",
"resourceType"?: "event" | "user", "label"?, "propertyDefaultType"?, "typeCast"?}``), and optionally
``description`` (at most 2,000 characters), ``propertyType`` (the result's type; null: the type of the filter or
breakdown it is used in), ``isLocked``, ``isVisible`` and ``exampleValue`` (a string, number, boolean or null).
A ``people`` property reads user properties only (every input ``resourceType: "user"``), as Mixpanel's property
builder offers; the formula checks are ``custom_property_formula.formula_errors``.

Refused (400 naming the field), because Mixhouse cannot evaluate them: behavior-based properties and inputs
(``behavior``), lookup-table inputs (``joinPropertyType``) and group properties (a non-null ``dataGroupId``).
Unknown fields are refused too (a snake_case name is pointed to its camelCase spelling); ``customPropertyId``,
``created`` and ``modified`` are read-only and ignored, so a fetched property can be sent back as it is.

An update (``PUT``) changes the fields it gives and keeps the others; the definition as it would then be is checked
whole. ``validate`` checks a create body and answers every problem at once: ``{"valid", "errors": [message]}``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from mixhouse.errors import ValidationError
from mixhouse.meta.custom_properties import CustomProperties, SavedCustomProperty
from mixhouse.meta.store import MetaStore, validate_name
from mixhouse.services.custom_property_formula import MAX_FORMULA_LENGTH, formula_errors

#: As ``services.reports``, which this module does not import: Insights will import it to resolve
#: ``customPropertyId``, and ``reports`` imports Insights.
DESCRIPTION_MAX: Final = 2000
RESOURCE_TYPES: Final = ("events", "people")
#: The singular spellings the client library's examples use (``resource_type="event"``), stored as the plural.
RESOURCE_ALIASES: Final = {"event": "events", "user": "people"}
INPUT_RESOURCE_TYPES: Final = ("event", "user")
PROPERTY_TYPES: Final = ("string", "number", "boolean", "datetime", "list", "object")

#: body key → column
_FIELDS: Final = {"name": "name", "description": "description", "resourceType": "resource_type",
                  "propertyType": "property_type", "displayFormula": "display_formula",
                  "composedProperties": "composed_properties", "isLocked": "is_locked", "isVisible": "is_visible",
                  "exampleValue": "example_value"}
_REQUIRED: Final = ("name", "resourceType", "displayFormula", "composedProperties")
_READ_ONLY: Final = frozenset({"customPropertyId", "created", "modified"})
_REFUSED: Final = {
    "behavior": "behavior-based custom properties are not supported by this server",
    "dataGroupId": "custom properties of group profiles are not supported by this server",
}
_INPUT_KEYS: Final = frozenset({"value", "type", "resourceType", "label", "propertyDefaultType", "typeCast"})
_INPUT_REFUSED: Final = {
    "behavior": "behavior-based inputs are not supported by this server",
    "joinPropertyType": "lookup-table inputs are not supported by this server",
}
_LETTER: Final = re.compile(r"[A-Z]")
_DEFAULTS: Final[dict[str, Any]] = {"description": "", "property_type": None, "is_locked": False,
                                    "is_visible": True, "example_value": None}


def _stamp(moment: datetime) -> str:
    """Mixpanel's entity timestamps (``reports.stamp``): UTC, seconds, no offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _one_of(value: Any, allowed: tuple[str, ...], where: str, errors: list[str]) -> None:
    if value not in allowed:
        errors.append(f"{where} must be one of {', '.join(allowed)}, not {value!r}")


def _input(letter: str, raw: Any, errors: list[str]) -> dict[str, Any]:
    """One input, normalized (``type`` "string" and ``resourceType`` "event" when not given)."""
    where = f"composedProperties.{letter}"
    if not isinstance(raw, dict):
        errors.append(f"{where} must be an object {{\"value\", \"type\", \"resourceType\"}}")
        return {}
    for key in sorted(raw):
        if key in _INPUT_REFUSED:
            if raw[key] is not None:
                errors.append(f"{where}.{key}: {_INPUT_REFUSED[key]}")
        elif key not in _INPUT_KEYS:
            errors.append(f"{where}: unknown field {key!r}")
    out = {k: v for k, v in raw.items() if k in _INPUT_KEYS and v is not None}
    if not _LETTER.fullmatch(letter) and "value" not in out:  # keyed by the property's name (the seeds' example)
        out["value"] = letter
    if not isinstance(out.get("value"), str) or not out["value"].strip():
        errors.append(f"{where}.value: input {letter} needs a property name")
    out.setdefault("type", "string")
    out.setdefault("resourceType", "event")
    _one_of(out["type"], PROPERTY_TYPES, f"{where}.type", errors)
    _one_of(out["resourceType"], INPUT_RESOURCE_TYPES, f"{where}.resourceType", errors)
    if "typeCast" in out:
        _one_of(out["typeCast"], PROPERTY_TYPES, f"{where}.typeCast", errors)
    for key in ("label", "propertyDefaultType"):
        if key in out and not isinstance(out[key], str):
            errors.append(f"{where}.{key} must be a string")
    return out


def _inputs(raw: Any, errors: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or not raw:
        errors.append("composedProperties must be an object with at least one input (letter → property)")
        return {}
    return {letter: _input(letter, item, errors) for letter, item in raw.items()}


def _field(key: str, value: Any, errors: list[str]) -> Any:
    """The column value of body field ``key`` (``value`` not null), checked."""
    if key == "name":
        try:
            return validate_name(value, "name")
        except ValidationError as exc:
            errors.append(exc.message)
    elif key == "description":
        if not isinstance(value, str) or len(value) > DESCRIPTION_MAX:
            errors.append(f"description must be text of at most {DESCRIPTION_MAX} characters")
    elif key == "resourceType":
        value = RESOURCE_ALIASES.get(value, value) if isinstance(value, str) else value
        _one_of(value, RESOURCE_TYPES, "resourceType", errors)
    elif key == "propertyType":
        _one_of(value, PROPERTY_TYPES, "propertyType", errors)
    elif key == "displayFormula":
        if not isinstance(value, str) or not value.strip():
            errors.append("displayFormula must be a non-empty formula")
        elif len(value) > MAX_FORMULA_LENGTH:
            errors.append(f"displayFormula has at most {MAX_FORMULA_LENGTH} characters, not {len(value)}")
    elif key == "composedProperties":
        return _inputs(value, errors)
    elif key in ("isLocked", "isVisible"):
        if not isinstance(value, bool):
            errors.append(f"{key} must be true or false")
    elif key == "exampleValue" and not isinstance(value, str | int | float | bool):
        errors.append("exampleValue must be a string, a number or a boolean")
    return value


def check_definition(body: dict[str, Any], current: SavedCustomProperty | None = None) -> tuple[dict[str, Any],
                                                                                                 list[str]]:
    """The definition's columns as ``body`` leaves them (a create when ``current`` is None, else an update of it),
    and every problem found (empty: it may be stored)."""
    errors: list[str] = []
    fields: dict[str, Any] = dict(_DEFAULTS) if current is None else current.fields()
    for key, value in body.items():
        if key in _READ_ONLY:
            continue
        if key in _REFUSED:
            if value is not None:
                errors.append(f"{key}: {_REFUSED[key]}")
            continue
        if key not in _FIELDS:
            hint = f" (did you mean {_camel(key)!r}?)" if _camel(key) in _FIELDS else ""
            errors.append(f"unknown field {key!r}{hint}")
            continue
        if value is None:
            if key in _REQUIRED or key in ("isLocked", "isVisible"):
                errors.append(f"{key} cannot be null")
            else:
                fields[_FIELDS[key]] = "" if key == "description" else None
            continue
        fields[_FIELDS[key]] = _field(key, value, errors)
    if current is None:
        errors += [f"{key} is required" for key in _REQUIRED if key not in body]
    if not errors:
        errors += _cross_checks(fields)
    return fields, errors


def _cross_checks(fields: dict[str, Any]) -> list[str]:
    """Checks across fields, on a definition whose fields are each valid."""
    inputs: dict[str, dict[str, Any]] = fields["composed_properties"]
    errors = formula_errors(fields["display_formula"], inputs)
    if fields["resource_type"] == "people":
        events = sorted(letter for letter, item in inputs.items() if item["resourceType"] != "user")
        if events:
            errors.append(f"a people custom property reads user properties only: input {', '.join(events)} has "
                          "resourceType \"event\"")
    return errors


def definition_fields(body: dict[str, Any], current: SavedCustomProperty | None = None) -> dict[str, Any]:
    """``check_definition``'s columns, or a 400 listing every problem."""
    fields, errors = check_definition(body, current)
    if errors:
        raise ValidationError("; ".join(errors))
    return fields


def validation_json(body: dict[str, Any]) -> dict[str, Any]:
    """The answer of ``POST custom_properties/validate``: ``{"valid", "errors"}`` for a create of ``body``."""
    _, errors = check_definition(body)
    return {"valid": not errors, "errors": errors}


def custom_property_json(saved: SavedCustomProperty) -> dict[str, Any]:
    """A saved custom property as the App API answers it (the client library's ``CustomProperty`` fields)."""
    return {
        "customPropertyId": saved.id,
        "name": saved.name,
        "description": saved.description,
        "resourceType": saved.resource_type,
        "propertyType": saved.property_type,
        "displayFormula": saved.display_formula,
        "composedProperties": saved.composed_properties,
        "isLocked": saved.is_locked,
        "isVisible": saved.is_visible,
        "exampleValue": saved.example_value,
        "dataGroupId": None,
        "created": _stamp(saved.created_at),
        "modified": _stamp(saved.modified_at),
    }


def definition_json(saved: SavedCustomProperty) -> dict[str, Any]:
    """The definition in the shape of a bookmark's inline ``customProperty`` object, so saved and inline custom
    properties evaluate alike: ``{"name", "description", "displayFormula", "composedProperties", "propertyType",
    "resourceType"}``."""
    return {"name": saved.name, "description": saved.description, "displayFormula": saved.display_formula,
            "composedProperties": saved.composed_properties, "propertyType": saved.property_type,
            "resourceType": saved.resource_type}


def get_custom_property_definition(store: MetaStore, project_id: int, property_id: int) -> dict[str, Any] | None:
    """What a ``customPropertyId`` of ``project_id`` stands for (``definition_json``); None when the project has
    no such custom property."""
    saved = CustomProperties(store, project_id).get(property_id)
    return None if saved is None else definition_json(saved)


def with_saved_definitions(store: MetaStore, project_id: int, params: Any) -> Any:
    """``params`` (bookmark params) with every ``customPropertyId`` replaced by the saved definition it names, as an
    inline ``customProperty``: Insights then evaluates saved and inline custom properties alike. An id the project
    has no custom property for is a 400 naming it. ``params`` itself is left as it is (a changed copy is returned)."""
    if isinstance(params, list):
        return [with_saved_definitions(store, project_id, item) for item in params]
    if not isinstance(params, dict):
        return params
    out = {key: with_saved_definitions(store, project_id, value) for key, value in params.items()}
    saved = out.get("customPropertyId")
    if saved is not None:
        number = int(saved) if isinstance(saved, int | str) and str(saved).isdigit() else None
        definition = None if number is None else get_custom_property_definition(store, project_id, number)
        if definition is None:
            raise ValidationError(f"no custom property with id {saved!r} in this project")
        out.pop("customPropertyId")
        out["customProperty"] = definition
    return out
