"""Custom properties in the typed queries: ``CustomPropertyRef`` (a saved custom property, by id) and
``InlineCustomProperty`` (a formula over ``PropertyInput``s, defined in the query itself).

Either may stand wherever a property name goes: ``Metric.property`` (the measured property), ``GroupBy.property``
(a breakdown), ``Filter``'s property (``where``, metric, funnel-step, retention-event and flow-step filters). The
bookmark then carries ``customPropertyId: ID`` or ``customProperty: {displayFormula, composedProperties, ...}`` in
place of the property name, as the web app writes it.

Checks (made when a builder uses the property, and naming the argument it sits in): ``CP1_INVALID_ID`` (an id is a
positive whole number), ``CP2_EMPTY_FORMULA``, ``CP3_EMPTY_INPUTS``, ``CP4_INVALID_INPUT_KEY`` (inputs are keyed
by one capital letter, ``A``..``Z``), ``CP5_FORMULA_TOO_LONG`` (at most 20,000 characters) and
``CP6_EMPTY_INPUT_NAME``.

Running a query that uses one needs a server that evaluates custom properties; the builders only make the params.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from mixhouse.client.spec_validation import _fail

MAX_FORMULA_LENGTH = 20_000
INPUT_KEYS = frozenset(string.ascii_uppercase)


@dataclass(frozen=True)
class PropertyInput:
    """One raw property a custom property's formula reads, under its letter (``name``, its ``type`` and whether it
    is an ``event`` or ``user`` property)."""

    name: str
    type: str = "string"
    resource_type: str = "event"


@dataclass(frozen=True)
class CustomPropertyRef:
    """A custom property saved in the project, by id."""

    id: int


@dataclass(frozen=True)
class InlineCustomProperty:
    """A custom property defined in the query: ``formula`` over ``inputs`` (letter → ``PropertyInput``);
    ``property_type`` ``None`` takes the type of the filter or breakdown it is used in."""

    formula: str
    inputs: dict[str, PropertyInput] = field(default_factory=dict)
    property_type: str | None = None
    resource_type: str = "events"


CustomProperty = CustomPropertyRef | InlineCustomProperty
#: what a property argument of the typed queries takes
PropertySpec = str | CustomPropertyRef | InlineCustomProperty


def check_custom_property(prop: Any, path: str) -> None:
    """Refuse a custom property that breaks a CP rule (``path``: the argument it sits in)."""
    if isinstance(prop, CustomPropertyRef):
        if isinstance(prop.id, bool) or not isinstance(prop.id, int) or prop.id <= 0:
            _fail("CP1_INVALID_ID", f"a custom property id is a positive whole number, not {prop.id!r}", path)
    elif isinstance(prop, InlineCustomProperty):
        if not isinstance(prop.formula, str) or not prop.formula.strip():
            _fail("CP2_EMPTY_FORMULA", "an inline custom property needs a formula", path)
        if not prop.inputs:
            _fail("CP3_EMPTY_INPUTS", "an inline custom property needs at least one input", path)
        bad = sorted(k for k in prop.inputs if k not in INPUT_KEYS)
        if bad:
            _fail("CP4_INVALID_INPUT_KEY", f"inputs are keyed by one capital letter A-Z, not {bad[0]!r}", path)
        if len(prop.formula) > MAX_FORMULA_LENGTH:
            _fail("CP5_FORMULA_TOO_LONG", f"a formula has at most {MAX_FORMULA_LENGTH} characters, not "
                  f"{len(prop.formula)}", path)
        for key, item in prop.inputs.items():
            if not item.name or not item.name.strip():
                _fail("CP6_EMPTY_INPUT_NAME", f"input {key} needs a property name", path)


def inline_definition(prop: InlineCustomProperty, fallback_type: str) -> dict[str, Any]:
    """The ``customProperty`` object of an inline custom property."""
    return {"composedProperties": {k: {"resourceType": i.resource_type, "type": i.type, "value": i.name}
                                   for k, i in prop.inputs.items()},
            "description": "", "displayFormula": prop.formula, "name": "",
            "propertyType": prop.property_type or fallback_type, "resourceType": prop.resource_type}


def custom_property_keys(prop: CustomProperty, fallback_type: str) -> dict[str, Any]:
    """``{"customPropertyId": ID}`` or ``{"customProperty": {...}}``: what stands for the property name."""
    if isinstance(prop, CustomPropertyRef):
        return {"customPropertyId": prop.id}
    return {"customProperty": inline_definition(prop, fallback_type)}
