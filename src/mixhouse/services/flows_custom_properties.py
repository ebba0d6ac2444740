"""Custom properties in flow params (decision 0040): where flows evaluate them, and the client library's way of
naming a saved one in a step filter.

Flows evaluate a custom property over event properties as a segment (a ``sections.group``-shaped entry, inline
``customProperty`` or saved ``customPropertyId``) and in a step's segfilters, where the client library writes a
saved one as the property's name, ``{"property": {"name": {"id": N}, ...}}`` (it has no segfilter form for an
inline one). ``with_custom_property_ids`` rewrites that name as ``customPropertyId: N`` so the saved definition is
resolved as everywhere else (``services/custom_properties.with_saved_definitions``); ``evaluated_nodes`` lists the
objects whose custom property flows read, for ``refuse_unevaluated``. ``filter_by_event`` children take property
names only (the client refuses custom properties there), so a custom property there stays refused.
"""

from __future__ import annotations

from typing import Any


def _ref_as_id(entry: Any) -> Any:
    prop = entry.get("property") if isinstance(entry, dict) else None
    name = prop.get("name") if isinstance(prop, dict) else None
    if not isinstance(name, dict) or set(name) != {"id"}:
        return entry
    assert isinstance(prop, dict)
    return {**entry, "property": {**{k: v for k, v in prop.items() if k != "name"}, "customPropertyId": name["id"]}}


def _step_filters(step: Any) -> list[Any]:
    filters = step.get("property_filter_params_list") if isinstance(step, dict) else None
    return filters if isinstance(filters, list) else []


def with_custom_property_ids(params: Any) -> Any:
    """Flow params with each step filter's saved custom property (``{"name": {"id": N}}``) as ``customPropertyId``;
    anything else as it is (a changed copy when there is something to change)."""
    if not isinstance(params, dict) or not isinstance(params.get("steps"), list):
        return params
    steps = [{**step, "property_filter_params_list": [_ref_as_id(entry) for entry in _step_filters(step)]}
             if _step_filters(step) else step for step in params["steps"]]
    return {**params, "steps": steps}


def evaluated_nodes(params: dict[str, Any]) -> frozenset[int]:
    """The ``id()`` of the objects of flow params whose custom property flows evaluate: event-property segments and
    the properties of step filters."""
    segments = params.get("segments")
    found: list[Any] = [spec for spec in (segments if isinstance(segments, list) else [segments])
                        if isinstance(spec, dict) and spec.get("resourceType", "events") in ("events", "event")]
    for step in params.get("steps") or []:
        found.extend(entry.get("property") for entry in _step_filters(step) if isinstance(entry, dict))
    return frozenset(id(node) for node in found if isinstance(node, dict))
