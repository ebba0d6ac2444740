"""Bound parameters reach chDB intact, whatever characters they hold (no value is ever spliced into SQL)."""

from __future__ import annotations

from typing import Any

import pytest

NASTY = ["plain", "back\\slash", "new\nline", "tab\there", "quote'd", 'double"q', "nul\0byte", "\\'", "é😀",
         "'); DROP TABLE events; --", "{p:String}", ""]


@pytest.mark.parametrize("value", NASTY)
def test_string_parameter_round_trips(backend: Any, value: str) -> None:
    assert backend.query_rows("SELECT {v:String} AS v", {"v": value}) == [{"v": value}]


def test_array_parameter_round_trips(backend: Any) -> None:
    assert backend.query_rows("SELECT {v:Array(String)} AS v", {"v": NASTY}) == [{"v": NASTY}]
