"""Time comparison ranges and lift, checked against Mixpanel's recorded Insights answer with a comparison."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest

from mixhouse.core.dates import DateRange
from mixhouse.errors import ValidationError
from mixhouse.services.time_comparison import (
    TimeComparison,
    comparison_range,
    lift,
    parse_time_comparison,
    shifted_params,
)
from tests.support.vectors import require_vectors

MAY = DateRange(date(2023, 5, 2), date(2023, 5, 31))


@pytest.mark.parametrize(("comparison", "expected"), [
    (TimeComparison("relative", "month"), DateRange(date(2023, 4, 2), date(2023, 5, 1))),
    (TimeComparison("relative", "day"), DateRange(date(2023, 5, 1), date(2023, 5, 30))),
    (TimeComparison("relative", "week", 2), DateRange(date(2023, 4, 18), date(2023, 5, 17))),
    (TimeComparison("relative", "quarter"), DateRange(date(2023, 2, 2), date(2023, 3, 3))),
    (TimeComparison("relative", "year"), DateRange(date(2022, 5, 2), date(2022, 5, 31))),
    (TimeComparison("absolute-start", day=date(2023, 1, 1)), DateRange(date(2023, 1, 1), date(2023, 1, 30))),
    (TimeComparison("absolute-end", day=date(2023, 1, 30)), DateRange(date(2023, 1, 1), date(2023, 1, 30))),
])
def test_comparison_ranges_keep_the_length(comparison: TimeComparison, expected: DateRange) -> None:
    assert comparison_range(MAY, comparison) == expected


def test_month_ends_clamp() -> None:
    march = DateRange(date(2024, 3, 31), date(2024, 4, 2))
    assert comparison_range(march, TimeComparison("relative", "month")) == DateRange(date(2024, 2, 29),
                                                                                      date(2024, 3, 2))


def test_parsing_both_forms() -> None:
    assert parse_time_comparison({"displayOptions": {"timeComparison": {"type": "relative", "value": "week"}}}) == \
        TimeComparison("relative", "week")
    assert parse_time_comparison({"displayOptions": {"timeComparison": {"offset": {"unit": "month", "value": 2}}}}) \
        == TimeComparison("relative", "month", 2)
    assert parse_time_comparison({"displayOptions": {}}) is None
    with pytest.raises(ValidationError, match="absolute-end"):
        parse_time_comparison({"displayOptions": {"timeComparison": {"type": "before"}}})


def test_shifted_params_replace_the_range_and_drop_the_comparison() -> None:
    params: dict[str, Any] = {
        "displayOptions": {"chartType": "line", "timeComparison": {"type": "relative", "value": "day"}},
        "sections": {"show": [], "time": [{"dateRangeType": "in the last", "unit": "week",
                                           "window": {"unit": "day", "value": 30}}]},
    }
    shifted = shifted_params(params, MAY)
    assert shifted["sections"]["time"] == [{"dateRangeType": "between", "unit": "week",
                                            "value": ["2023-05-02", "2023-05-31"]}]
    assert shifted["displayOptions"] == {"chartType": "line"}
    assert "timeComparison" in params["displayOptions"]  # the caller's params are not changed


def test_lift_pairs_time_buckets_by_position_and_leaves_zero_divisions_empty() -> None:
    now = {"m": {"2023-05-02T00:00:00-07:00": 12, "2023-05-03T00:00:00-07:00": 5}}
    before = {"m": {"2023-04-02T00:00:00-07:00": 10, "2023-04-03T00:00:00-07:00": 0}}
    assert lift(now, before) == {"m": {"2023-05-02T00:00:00-07:00": 0.2, "2023-05-03T00:00:00-07:00": None}}
    assert lift({"a": {"all": 3}, "b": {"all": 1}}, {"a": {"all": 4}}) == {"a": {"all": -0.25}, "b": {"all": None}}


def test_lift_equals_mixpanels_recorded_lift() -> None:
    recorded = None
    for line in (require_vectors() / "authored" / "parse" / "storybook" / "insights.jsonl").read_bytes().splitlines():
        vector = orjson.loads(line)
        for item in vector.get("expect", {}).get("interactions", []):
            body = (item.get("response") or {}).get("body")
            if isinstance(body, dict) and "time_comparison" in body and "lift_comparison" in body:
                recorded = body
    assert recorded is not None, "no recorded Insights answer with a time comparison"
    assert lift(recorded["series"], recorded["time_comparison"]["series"]) == recorded["lift_comparison"]["series"]
    assert recorded["meta"]["liftComparison"] == {"type": "timeComparison"}
    # its ranges: May 2–31 against the month before, as many days long
    assert recorded["date_range"]["from_date"].startswith("2023-05-02")
    assert recorded["time_comparison"]["date_range"]["from_date"].startswith("2023-04-02")
    assert recorded["time_comparison"]["date_range"]["to_date"].startswith("2023-05-01")
    assert comparison_range(MAY, TimeComparison("relative", "month")) == DateRange(date(2023, 4, 2), date(2023, 5, 1))
