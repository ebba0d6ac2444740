"""Which breakdowns are grouped by their inputs, and what the grouped keys read."""

from __future__ import annotations

import pytest

from mixhouse.expr import parse
from mixhouse.query.grouped_keys import grouped_keys
from mixhouse.query.where import EVENT_CONTEXT
from mixhouse.storage.schema import HOT_COLUMNS


def test_hot_and_cold_properties_become_inputs() -> None:
    on = grouped_keys(parse('properties["$browser"] + properties["plan"] + properties["$browser"]'), EVENT_CONTEXT)
    assert on is not None
    assert [sql for _, sql in on.inputs] == [HOT_COLUMNS["$browser"], "JSONExtractRaw(properties, {gk_in1_key:String})"]
    assert on.keys.params["gk_in1_key"] == "plan"
    assert "properties" not in on.keys.sql  # the keys read only the grouped inputs
    assert all(alias in on.keys.sql for alias, _ in on.inputs)


def test_event_name_is_an_input() -> None:
    on = grouped_keys(parse('event["name"] + "/" + properties["x"]'), EVENT_CONTEXT)
    assert on is not None and ("event", "event") in on.inputs


@pytest.mark.parametrize("text", [
    'event["time"] > datetime("2024-01-01")',
    'event["distinct_id"]',
    'user["$email"]',
    '"constant"',
])
def test_inputs_with_too_many_values_are_not_grouped(text: str) -> None:
    assert grouped_keys(parse(text), EVENT_CONTEXT) is None
