"""Custom properties in bookmark params (decision 0040): what stands in place of a property name, read as an
expression over the event's properties.

The client library and the web app write ``customProperty: {displayFormula, composedProperties: {A: {value, type,
resourceType}}, propertyType, resourceType, name}`` (an inline definition) or ``customPropertyId: ID`` (a saved one)
where a filter, a breakdown or a measured property would name a property. An inline definition's formula
(``expr.formula_parser``) reads each input letter as the event property it names; the expression then goes
wherever ``Property(name)`` would, so every operator, breakdown and math treats the custom property exactly like an
event property whose value is the formula's result (undefined: as if the property were not set).

A saved one is replaced by its definition before the params get here (``services.custom_properties.
with_saved_definitions``, when Insights runs them); a ``customPropertyId`` still here (bookmark params checked
without the project's store, e.g. a report being saved) is refused. Refused by name (400) too: custom user-profile
properties and inputs that are user-profile properties.
"""

from __future__ import annotations

from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.expr.ast import Expr, Property
from mixhouse.expr.formula_parser import parse_formula

CUSTOM_PROPERTY_KEYS = ("customPropertyId", "customProperty")
_EVENT_RESOURCES = ("events", "event")


def has_custom_property(node: Any) -> bool:
    """Whether a filter, breakdown or measured-property object names a custom property."""
    return isinstance(node, dict) and any(node.get(key) is not None for key in CUSTOM_PROPERTY_KEYS)


def custom_property_definition(node: dict[str, Any]) -> dict[str, Any]:
    """The ``{displayFormula, composedProperties, resourceType, name, …}`` definition ``node`` uses: its inline
    ``customProperty``. A saved one (``customPropertyId``) left unresolved is refused."""
    saved = node.get("customPropertyId")
    if saved is not None:
        raise ValidationError(f"saved custom properties (customPropertyId {saved!r}) are read when Insights runs the "
                              "params, not here; define the property inline (customProperty)")
    definition = node.get("customProperty")
    if not isinstance(definition, dict):
        raise ValidationError("customProperty must be an object with displayFormula and composedProperties")
    return definition


def _input(letter: str, spec: Any) -> Expr:
    if not isinstance(spec, dict):
        raise ValidationError(f"custom property input {letter} must be an object with value and resourceType")
    name = spec.get("value")
    if not isinstance(name, str) or not name:
        raise ValidationError(f"custom property input {letter} needs the property name in value")
    if spec.get("resourceType", "event") not in _EVENT_RESOURCES:
        raise ValidationError(f"custom property input {letter} reads a {spec.get('resourceType')} property; only "
                              "event properties can be custom property inputs yet")
    return Property(name)


def custom_property_expr(node: dict[str, Any]) -> Expr:
    """The custom property ``node`` names, as an expression over the event's properties (``ValidationError`` or
    ``ExpressionError`` with the position in the formula when it cannot be evaluated)."""
    definition = custom_property_definition(node)
    if definition.get("resourceType", "events") not in _EVENT_RESOURCES:
        raise ValidationError(f"custom {definition.get('resourceType')} properties are not supported yet; only custom "
                              "event properties")
    inputs = definition.get("composedProperties") or {}
    if not isinstance(inputs, dict):
        raise ValidationError("composedProperties must map input letters to properties")
    formula = definition.get("displayFormula")
    if not isinstance(formula, str):
        raise ValidationError("a custom property needs its formula in displayFormula")
    return parse_formula(formula, {str(letter): _input(str(letter), spec) for letter, spec in inputs.items()})


def custom_property_label(node: dict[str, Any]) -> str:
    """How answers name a custom property: its ``name``, else its formula."""
    definition = custom_property_definition(node)
    name = definition.get("name")
    return name if isinstance(name, str) and name else str(definition.get("displayFormula", ""))
