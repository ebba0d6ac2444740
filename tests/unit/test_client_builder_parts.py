"""The pieces of the typed query builders against their recorded vectors: filter entries, group and filter
sections, time sections, flow filters (segfilters, ``filter_by_event``, ``filter_by_cohort``) and the guards of the
spec constructors (``types.GroupBy``, ``types.Metric``...): same output, or a refusal naming the recorded rule.

Vectors using types this client does not have (list-item filters, ``Filter.list_contains``) are skipped with the
reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from mixhouse.client import bookmark_sections, flow_filters
from mixhouse.client import builders as b
from mixhouse.errors import BookmarkValidationError
from tests.support.vectors import VECTORS
from tests.unit.test_client_builders import TYPES, Unsupported, _convert, _Refused

PIECES: dict[str, Callable[..., Any]] = {
    "bookmark_builders.build_filter_entry": lambda f: f.entry(),
    "bookmark_builders.build_filter_section": b.filter_section,
    "bookmark_builders.build_group_section": b.group_section,
    "bookmark_builders.build_time_section": b.time_section,
    "bookmark_builders.build_flow_property_filter": flow_filters.flow_property_filter,
    "bookmark_builders.build_flow_cohort_filter":
        lambda where: flow_filters.flow_cohort_filter(where if isinstance(where, list) else [where]),
    "segfilter.build_segfilter_entry": flow_filters.segfilter_entry,
}
CONSTRUCTORS = {f"types.{name}": cls for name, cls in TYPES.items()}


def _vectors(apis: set[str]) -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for file in sorted(VECTORS.rglob("*.jsonl")):
        for line in file.read_bytes().splitlines():
            vector = orjson.loads(line)
            if (vector.get("call") or {}).get("api") in apis:
                out.append(pytest.param(vector, id=vector["id"][-90:]))
    return out


def _recorded_code(expected: dict[str, Any]) -> str:
    errors = expected.get("errors")
    return str(errors[0]["code"] if errors else expected.get("code"))


@pytest.mark.parametrize("vector", _vectors(set(PIECES)))
def test_builder_piece_vector(vector: dict[str, Any]) -> None:
    call = vector["call"]
    try:
        inputs = {k: _convert(v) for k, v in call["input"].items()}
    except Unsupported as exc:
        pytest.skip(str(exc))
    expected_error = vector["expect"].get("error")
    refused = next((v for v in inputs.values() if isinstance(v, _Refused)), None)
    if refused is not None:
        assert expected_error, f"refused {refused.exc!r}, the vector expects a result"
        assert refused.exc.rule == _recorded_code(expected_error)
        return
    piece = PIECES[call["api"]]
    if expected_error:
        with pytest.raises(BookmarkValidationError) as info:
            piece(**inputs)
        assert info.value.rule == _recorded_code(expected_error), info.value.message
        return
    got = piece(**inputs)
    expected = vector["expect"]["output"]
    if call["api"] == "bookmark_builders.build_time_section" and call["input"].get("to_date") is None:
        for entries in (got, expected):
            for entry in entries:
                if entry.get("dateRangeType") == "between":
                    entry["value"] = entry["value"][:1]  # a from-only range ends today: recorded another day
    assert got == expected


@pytest.mark.parametrize("vector", _vectors(set(CONSTRUCTORS)))
def test_spec_constructor_vector(vector: dict[str, Any]) -> None:
    call = vector["call"]
    value = {"$type": call["api"].removeprefix("types."), **call["input"]}
    try:
        built = _convert(value)
    except Unsupported as exc:
        pytest.skip(str(exc))
    expected_error = vector["expect"].get("error")
    if expected_error:
        assert isinstance(built, _Refused), f"built {built!r}, the vector expects {expected_error}"
        assert built.exc.rule == _recorded_code(expected_error), built.exc.message
    else:
        assert not isinstance(built, _Refused), built.exc.message if isinstance(built, _Refused) else ""


def test_custom_property_rules_name_their_argument() -> None:
    bad = b.CustomPropertyRef(0)
    with pytest.raises(BookmarkValidationError) as info:
        b.build_params(b.Metric("Buy", math="sum", property=bad))
    assert (info.value.rule, info.value.details["path"]) == ("CP1_INVALID_ID", "events[0]")
    with pytest.raises(BookmarkValidationError) as info:
        b.build_funnel_params([b.FunnelStep("A", filters=[b.Filter.is_set(bad)]), "B"])
    assert (info.value.rule, info.value.details["path"]) == ("CP1_INVALID_ID", "steps[0].filters[0]")
    inline = b.InlineCustomProperty("A", {"a": b.PropertyInput("price", "number")})
    with pytest.raises(BookmarkValidationError) as info:
        bookmark_sections.group_section(b.GroupBy(inline))
    assert info.value.rule == "CP4_INVALID_INPUT_KEY"


def test_user_params_collect_every_broken_rule() -> None:
    with pytest.raises(BookmarkValidationError) as info:
        b.build_user_params(mode="aggregate", sort_by="", search="x", workers=9, percentile=50)
    codes = [e["code"] for e in info.value.details["errors"]]
    assert codes == ["U5", "U19", "U20", "U23", "U27"] and info.value.rule == "U5"


def test_did_event_where_is_an_event_selector() -> None:
    criteria = b.CohortCriteria.did_event("Purchase", at_least=3, within_days=30,
                                          where=[b.Filter.greater_than("amount", 100), b.Filter.equals("plan", "pro")])
    definition = b.CohortDefinition(criteria).to_dict()
    selector = definition["behaviors"]["bhvr_0"]["count"]["event_selector"]["selector"]
    assert selector["operator"] == "and"
    assert [c["value"] for c in selector["children"]] == ["amount", "plan"]
    assert selector["children"][0] == b.Filter.greater_than("amount", 100).entry()
