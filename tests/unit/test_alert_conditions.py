"""Alert conditions: parsing, checking against report params, and reading values off Insights answers."""

from __future__ import annotations

from typing import Any

import pytest

from mixhouse.errors import ValidationError
from mixhouse.services import alert_conditions as conditions


def _params(*events: str, groups: int = 0) -> dict[str, Any]:
    show = [{"type": "metric", "behavior": {"type": "event", "name": e, "resourceType": "events"},
             "measurement": {"math": "total"}} for e in events]
    return {"sections": {"show": show, "group": [{"value": f"p{n}", "resourceType": "events"} for n in range(groups)],
                         "filter": [], "time": [{"dateRangeType": "in the last", "unit": "day", "window":
                                                 {"unit": "day", "value": 7}}]},
            "displayOptions": {"chartType": "line"}}


def _answer(series: dict[str, Any]) -> dict[str, Any]:
    return {"series": series}


@pytest.mark.parametrize(("raw", "fragment"), [
    ([], "JSON object"),
    ({"op": "<"}, "condition.value"),
    ({"op": "=<", "value": 1}, "condition.op"),
    ({"op": "<", "value": True}, "condition.value"),
    ({"type": "anomaly", "op": "<", "value": 1}, "condition.type"),
    ({"op": "<", "value": 1, "keys": [{"header": ""}]}, "each condition key"),
])
def test_bad_conditions(raw: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        conditions.parse(raw)


def test_spelled_out_operators_are_synonyms() -> None:
    assert conditions.parse({"operator": "less_than", "value": 100}).op == "<"
    assert conditions.parse({"operator": "greater_than_or_equal", "value": 1}).holds(1)


def test_checked_against_report_params() -> None:
    keyed = conditions.parse({"keys": [{"header": "Signup", "value": "Signup"}], "op": "<", "value": 1})
    conditions.check_against(keyed, "insights", _params("Signup", "Login"), "UTC")
    with pytest.raises(ValidationError, match="no metric 'Signup'"):
        conditions.check_against(keyed, "insights", _params("Login"), "UTC")
    with pytest.raises(ValidationError, match="Insights reports"):
        conditions.check_against(keyed, "funnels", _params("Signup"), "UTC")
    bare = conditions.parse({"op": "<", "value": 1})
    conditions.check_against(bare, "insights", _params("Signup"), "UTC")
    with pytest.raises(ValidationError, match="name one"):
        conditions.check_against(bare, "insights", _params("Signup", "Login"), "UTC")
    deep = conditions.parse({"keys": [{"value": "Signup"}, {"value": "a"}, {"value": "b"}], "op": "<", "value": 1})
    with pytest.raises(ValidationError, match="2 segments, the report has 1"):
        conditions.check_against(deep, "insights", _params("Signup", groups=1), "UTC")


def test_reads_the_latest_bucket_of_the_named_series_and_segment() -> None:
    answer = _answer({"Signup": {"$overall": {"d1": 5, "d2": 8},
                                 "Chrome": {"d1": 1, "d2": 2}},
                      "Login": {"$overall": {"d1": 50, "d2": 10}}})
    over = conditions.parse({"keys": [{"value": "Signup"}], "op": ">", "value": 7})
    assert conditions.read(over, answer) == conditions.Reading(8.0, 8.0, True, points=(("d1", 5.0), ("d2", 8.0)))
    chrome = conditions.parse({"keys": [{"value": "Signup"}, {"value": "Chrome"}], "op": ">", "value": 7})
    assert conditions.read(chrome, answer) == conditions.Reading(2.0, 2.0, False, points=(("d1", 1.0), ("d2", 2.0)))
    drop = conditions.parse({"keys": [{"value": "Login"}], "type": "relative", "op": "<=", "value": -50})
    assert conditions.read(drop, answer) == conditions.Reading(-80.0, 10.0, True,
                                                                 points=(("d1", 50.0), ("d2", 10.0)))
    missing = conditions.parse({"keys": [{"value": "Signup"}, {"value": "Safari"}], "op": ">", "value": 0})
    assert "no segment 'Safari'" in (conditions.read(missing, answer).error or "")


def test_relative_needs_a_nonzero_previous_bucket() -> None:
    rise = conditions.parse({"type": "relative", "op": ">", "value": 10})
    reading = conditions.read(rise, _answer({"Signup": {"d1": 0, "d2": 4}}))
    assert (reading.fired, reading.value, reading.latest) == (False, None, 4.0) and "from 0" in (reading.error or "")
    assert "two buckets" in (conditions.read(rise, _answer({"Signup": {"all": 3}})).error or "")
    total = conditions.parse({"op": ">=", "value": 3})
    assert conditions.read(total, _answer({"Signup": {"all": 3}})).fired


def test_series_that_are_not_numbers_cannot_be_watched() -> None:
    """A report with a ``most_frequent`` or ``histogram`` metric can carry an alert only on its numeric series."""
    params = _params("Play", "Play")
    params["sections"]["show"][0]["measurement"] = {"math": "most_frequent", "property": {
        "name": "song", "resourceType": "events"}}
    bare = conditions.parse({"op": "<", "value": 1})
    keyed = conditions.parse({"keys": [{"value": "Play [most_frequent]"}], "op": "<", "value": 1})
    with pytest.raises(ValidationError, match="not one number per bucket"):
        conditions.check_against(keyed, "insights", params, "UTC")
    conditions.check_against(conditions.parse({"keys": [{"value": "Play [total]"}], "op": "<", "value": 1}),
                             "insights", params, "UTC")
    single = _params("Play")
    single["sections"]["show"][0]["measurement"] = {"math": "histogram", "perUserAggregation": "total",
                                                    "property": {"name": "secs", "resourceType": "events"}}
    with pytest.raises(ValidationError, match="not one number per bucket"):
        conditions.check_against(bare, "insights", single, "UTC")
