"""The typed query builders against the recorded builder vectors (``workspace.build_params`` and friends): the same
inputs give the same bookmark params; refused inputs raise ``BookmarkValidationError``.

Vectors using types or options this client does not have yet are skipped with the reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from mixhouse.client import builders as b
from mixhouse.errors import BookmarkValidationError, NotSupportedError
from tests.support.vectors import VECTORS

BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "workspace.build_params": b.build_params,
    "workspace.build_funnel_params": b.build_funnel_params,
    "workspace.build_retention_params": b.build_retention_params,
    "workspace.build_flow_params": b.build_flow_params,
    "workspace.build_user_params": b.build_user_params,
}
TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    b.Filter, b.Metric, b.GroupBy, b.Formula, b.FunnelStep, b.Exclusion, b.HoldingConstant, b.RetentionEvent,
    b.FlowStep, b.CohortMetric, b.CohortBreakdown, b.TimeComparison, b.FrequencyFilter, b.FrequencyBreakdown,
    b.CustomPropertyRef, b.InlineCustomProperty, b.PropertyInput)}


class Unsupported(Exception):
    pass


class _Refused:
    """A typed argument whose constructor refused it (the vector expects the refusal)."""

    def __init__(self, exc: BookmarkValidationError) -> None:
        self.exc = exc


def _refusal(value: Any) -> BookmarkValidationError | None:
    if isinstance(value, _Refused):
        return value.exc
    if isinstance(value, list):
        return next((r for r in map(_refusal, value) if r is not None), None)
    return None


def _convert(value: Any) -> Any:
    if isinstance(value, dict) and value.get("$type") == "float":
        return float(value["value"])
    if isinstance(value, dict) and value.get("$type") == "CohortDefinition":
        return b.CohortDefinition(*[_convert(c) for c in value["_criteria"]], _operator=value["_operator"])
    if isinstance(value, dict) and value.get("$type") == "CohortCriteria":
        return b.CohortCriteria(value["_selector_node"], value["_behavior_key"], value["_behavior"])
    if isinstance(value, dict) and "$type" in value:
        name = value["$type"]
        cls = TYPES.get(name)
        if cls is None:
            raise Unsupported(f"{name} is not in this client yet")
        fields = {k: _convert(v) for k, v in value.items() if k != "$type"}
        known = set(inspect.signature(cls).parameters)
        extra = {k: v for k, v in fields.items() if k not in known}
        if any(v is not None for v in extra.values()):
            raise Unsupported(f"{name} option {sorted(k for k, v in extra.items() if v is not None)} is not in this "
                              f"client yet (list-item filters and breakdowns)")
        try:
            return cls(**{k: v for k, v in fields.items() if k in known})
        except BookmarkValidationError as exc:
            return _Refused(exc)
    if isinstance(value, list):
        return [_convert(v) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v) for k, v in value.items()}
    return value


def _vectors() -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for file in sorted(VECTORS.rglob("*.jsonl")):
        for line in file.read_bytes().splitlines():
            vector = orjson.loads(line)
            call = vector.get("call")
            if call and call.get("api") in BUILDERS:
                out.append(pytest.param(vector, id=vector["id"][-100:]))
    return out


@pytest.mark.parametrize("vector", _vectors())
def test_builder_vector(vector: dict[str, Any]) -> None:
    call = vector["call"]
    builder = BUILDERS[call["api"]]
    accepted = set(inspect.signature(builder).parameters)
    try:
        kwargs = {k: _convert(v) for k, v in call["input"].items()}
    except Unsupported as exc:
        pytest.skip(str(exc))
    unknown = sorted(k for k, v in kwargs.items() if k not in accepted and v is not None)
    if unknown:
        pytest.skip(f"options {unknown} are not in this client yet")
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    expected_error = vector["expect"].get("error")
    refused = next((r for r in map(_refusal, kwargs.values()) if r is not None), None)
    if refused is not None:
        assert expected_error, f"refused {refused!r}, the vector expects a result"
        _assert_names_rule(refused, expected_error)
        return
    if expected_error:
        with pytest.raises(BookmarkValidationError) as info:
            builder(**kwargs)
        _assert_names_rule(info.value, expected_error)
        return
    try:
        got = builder(**kwargs)
    except NotSupportedError as exc:
        pytest.skip(str(exc))
    expected = vector["expect"]["output"]
    if "value" in str(expected) and "between" in str(expected) and "to_date" not in call["input"]:
        _drop_today(got, expected)
    assert got == expected


def _assert_names_rule(exc: BookmarkValidationError, expected: dict[str, Any]) -> None:
    """The refusal names the first rule the vector records (and its argument, where recorded); when the vector
    records several and the builder collected them, the same codes in the same order."""
    recorded = expected.get("errors") or [{"code": expected.get("code")}]
    assert exc.rule == recorded[0]["code"], f"rule {exc.rule} ({exc.message}), the vector records {recorded}"
    if "path" in recorded[0] and exc.details.get("path") is not None:
        assert exc.details["path"] == recorded[0]["path"]
    collected = exc.details.get("errors") or []
    if len(collected) > 1:
        assert [e["code"] for e in collected] == [e["code"] for e in recorded]


def _drop_today(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """A from-only range ends today: the vectors were recorded on another day."""
    for params in (got, expected):
        for entry in params.get("sections", {}).get("time", []):
            if entry.get("dateRangeType") == "between":
                entry["value"] = entry["value"][:1]


def test_builders_refuse_bad_input() -> None:
    with pytest.raises(BookmarkValidationError) as info:
        b.build_params("Login", math="average")
    assert info.value.rule == "V1_MATH_REQUIRES_PROPERTY" and info.value.code == "bookmark_validation"
    with pytest.raises(BookmarkValidationError, match="two steps"):
        b.build_funnel_params(["Only"])
    with pytest.raises(BookmarkValidationError, match="to_date needs from_date"):
        b.build_params("Login", to_date="2024-01-01")
    with pytest.raises(BookmarkValidationError, match="formula"):
        b.build_params("Login", formula="A * 2")


def _type_vectors(api: str) -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for file in sorted(VECTORS.rglob("*.jsonl")):
        for line in file.read_bytes().splitlines():
            vector = orjson.loads(line)
            if (vector.get("call") or {}).get("api") == api:
                out.append(pytest.param(vector, id=vector["id"][-80:]))
    return out


@pytest.mark.parametrize("vector", _type_vectors("types.TimeComparison"))
def test_time_comparison_vector(vector: dict[str, Any]) -> None:
    inputs = {k: v for k, v in vector["call"]["input"].items() if k in ("type", "unit", "date")}
    error = vector["expect"].get("error")
    if error:
        with pytest.raises(BookmarkValidationError) as info:
            b.TimeComparison(**inputs)
        assert info.value.rule == error["code"]
    else:
        b.TimeComparison(**inputs)


@pytest.mark.parametrize("vector", _type_vectors("bookmark_builders.build_frequency_filter_entry"))
def test_frequency_filter_entry_vector(vector: dict[str, Any]) -> None:
    try:
        ff = _convert(vector["call"]["input"]["ff"])
    except Unsupported as exc:
        pytest.skip(str(exc))
    if isinstance(ff, _Refused):
        assert "error" in vector["expect"]
        return
    assert ff.entry() == vector["expect"]["output"]


@pytest.mark.parametrize("vector", [*_type_vectors("types.CohortCriteria.did_event"),
                                    *_type_vectors("types.CohortCriteria.did_not_do_event"),
                                    *_type_vectors("types.CohortCriteria.has_property"),
                                    *_type_vectors("types.CohortCriteria.in_cohort"),
                                    *_type_vectors("types.CohortCriteria.not_in_cohort"),
                                    *_type_vectors("types.CohortDefinition.to_dict")])
def test_cohort_definition_vector(vector: dict[str, Any]) -> None:
    api = vector["call"]["api"]
    inputs = vector["call"]["input"]
    error = vector["expect"].get("error")
    if api == "types.CohortDefinition.to_dict":
        assert _convert(inputs["self"]).to_dict() == vector["expect"]["output"]
        return
    factory = getattr(b.CohortCriteria, api.rsplit(".", 1)[1])
    inputs = {k: _convert(v) for k, v in inputs.items()}
    if error:
        with pytest.raises(BookmarkValidationError) as info:
            factory(**inputs)
        assert info.value.rule == error["code"]
    else:
        factory(**inputs)
