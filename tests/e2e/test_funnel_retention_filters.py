"""Datetime bookmark filters (``query/datetime_filters.py``) and inline custom properties in the filters of funnel
and retention metrics and of a saved funnel run by ``/api/query/funnels``: report filters on every event and step
filters on one step, days read in the project's timezone. Each answer is checked against the brute-force reference
run over the events the filter keeps, filtered here in plain Python (``zoneinfo`` days, the formula's meaning)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest

from mixhouse.demo.generator import DemoConfig
from mixhouse.services.funnel_definition import funnel_params
from tests.conftest import ProjectCreds, make_project
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as funnels_ref
from tests.support import reference_retention as retention_ref
from tests.support.insights_http import close
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_demo
from tests.support.server import ServerProcess

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
END = datetime(2025, 11, 8, tzinfo=UTC)  # the range spans the end of summer time on 2025-11-02
FROM, TO = date(2025, 10, 20), date(2025, 11, 5)
STEPS = ["View Item", "Add To Cart", "Purchase"]
WINDOW_MS = 3 * 86_400_000


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[events_ref.Event]]:
    creds = make_project(server.data_dir, "datetime-filter-funnels", timezone=TZ)
    sent = import_demo(client, creds, DemoConfig(seed=31, events=5000, end=END, days=25))
    return creds, events_ref.load(sent)


def _midnight_ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=ZONE).timestamp() * 1000)


def _time_filter(op: str, value: Any) -> dict[str, Any]:
    return {"value": "$time", "resourceType": "events", "filterType": "datetime", "filterOperator": op,
            "filterValue": value}


def _kept_by(op: str, value: Any) -> Callable[[events_ref.Event], bool]:
    """The brute-force reading of a day operator on the event's time (days start at the project's midnight)."""
    if op == "since":
        return lambda e: e.time_ms >= _midnight_ms(date.fromisoformat(value))
    if op == "before":
        return lambda e: e.time_ms < _midnight_ms(date.fromisoformat(value))
    start, end = ((date.fromisoformat(value[0]), date.fromisoformat(value[1])) if op.endswith("between")
                  else (date.fromisoformat(value),) * 2)

    def inside(e: events_ref.Event) -> bool:
        return _midnight_ms(start) <= e.time_ms < _midnight_ms(end + timedelta(days=1))

    return inside if op in ("on", "between") else (lambda e: not inside(e))


def _keep(events: list[events_ref.Event], test: Callable[[events_ref.Event], bool],
          only: str | None = None) -> list[events_ref.Event]:
    """The events a filter keeps; with ``only``, the filter applies to that event's rows (a step filter)."""
    return [e for e in events if (only is not None and e.name != only) or test(e)]


def _filtered(events: list[events_ref.Event], report_op: Any, report_value: Any, step: Any, step_event: str
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[events_ref.Event]]:
    """The report filter (``report_op`` on ``$time``, or none), the step filter (``(op, value)`` on ``$time`` for
    ``step_event``'s rows, or none), and the events both keep."""
    kept, report, steps = events, [], []
    if report_op is not None:
        report.append(_time_filter(report_op, report_value))
        kept = _keep(kept, _kept_by(report_op, report_value))
    if step is not None:
        steps.append(_time_filter(*step))
        kept = _keep(kept, _kept_by(*step), only=step_event)
    return report, steps, kept


def _funnel_bookmark(report: list[dict[str, Any]], purchase: list[dict[str, Any]]) -> dict[str, Any]:
    bookmark = funnel_params(STEPS, window=3)
    bookmark["sections"]["show"][0]["behavior"]["behaviors"][2]["filters"] = purchase
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    bookmark["sections"]["filter"] = report
    return bookmark


def _funnel_counts(events: list[events_ref.Event]) -> list[int]:
    found = funnels_ref.funnel(events, [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, interval=(TO - FROM).days + 1)
    steps = next(iter(found["data"].values()))["steps"]
    return [step["count"] for step in steps]


FUNNEL_CASES = [
    ("since", "2025-10-27", None),  # report filter only
    (None, None, ("before", "2025-11-01")),  # Purchase step filter only
    ("between", ["2025-10-22", "2025-11-03"], ("not on", "2025-10-30")),
    ("not between", ["2025-10-25", "2025-10-28"], ("on", "2025-11-02")),  # the day summer time ends (25 hours)
]


@pytest.mark.parametrize(("report_op", "report_value", "purchase"), FUNNEL_CASES,
                         ids=[str(n) for n in range(len(FUNNEL_CASES))])
def test_funnel_metric_datetime_filters_match_the_reference(shop: Any, client: httpx.Client, report_op: Any,
                                                            report_value: Any, purchase: Any) -> None:
    creds, events = shop
    report, step, kept = _filtered(events, report_op, report_value, purchase, "Purchase")
    assert len(kept) < len(events)  # the filter removes something
    got = _post(client, creds, _funnel_bookmark(report, step))
    counts = [entry["all"] for entry in got["series"]["View Item through Purchase"]["count"].values()]
    assert counts == _funnel_counts(kept)
    assert counts[0] > 0 and counts[-1] > 0
    assert counts != _funnel_counts(events)  # and it changes the answer


def test_saved_funnel_with_datetime_filters(shop: Any, server: ServerProcess, client: httpx.Client) -> None:
    """A saved funnel whose steps carry datetime filters runs through ``/api/query/funnels``."""
    creds, events = shop
    params = _funnel_bookmark([_time_filter("since", "2025-10-25")], [_time_filter("before", "2025-11-03")])
    done = subprocess.run([sys.executable, "-m", "mixhouse", "reports", "create", "--project-id",
                           str(creds.project_id), "--name", "dated", "--type", "funnels", "--params",
                           orjson.dumps(params).decode(), "--data-dir", str(server.data_dir)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    funnel_id = orjson.loads(done.stdout)["id"]
    response = client.get("/api/query/funnels", params={
        "project_id": creds.project_id, "funnel_id": funnel_id, "from_date": FROM.isoformat(),
        "to_date": TO.isoformat(), "interval": (TO - FROM).days + 1}, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    kept = _keep(_keep(events, _kept_by("since", "2025-10-25")), _kept_by("before", "2025-11-03"), only="Purchase")
    steps = next(iter(response.json()["data"].values()))["steps"]
    assert [step["count"] for step in steps] == _funnel_counts(kept)


def _retention_bookmark(report: list[dict[str, Any]], back: list[dict[str, Any]]) -> dict[str, Any]:
    behavior = {
        "type": "retention", "resourceType": "events", "retentionUnit": "day", "retentionAlignmentType": "birth",
        "retentionCustomBucketSizes": [1, 3, 7], "filter": [],
        "behaviors": [{"type": "event", "name": "Sign Up", "filters": [], "filtersDeterminer": "all"},
                      {"type": "event", "name": "View Item", "filters": back, "filtersDeterminer": "all"}]}
    return {"displayOptions": {"chartType": "retention-curve"},
            "sections": {"show": [{"type": "metric", "behavior": behavior, "measurement": {"math": "unique"}}],
                         "time": [{"dateRangeType": "between", "unit": "day",
                                   "value": [FROM.isoformat(), TO.isoformat()]}],
                         "filter": report, "formula": [], "group": []}}


RETENTION_CASES = [
    ("since", "2025-10-24", None),
    (None, None, ("not between", ["2025-10-28", "2025-11-01"])),
    ("before", "2025-11-03", ("not on", "2025-11-02")),
]


@pytest.mark.parametrize(("report_op", "report_value", "back"), RETENTION_CASES,
                         ids=[str(n) for n in range(len(RETENTION_CASES))])
def test_retention_metric_datetime_filters_match_the_reference(shop: Any, client: httpx.Client, report_op: Any,
                                                               report_value: Any, back: Any) -> None:
    creds, events = shop
    report, step, kept = _filtered(events, report_op, report_value, back, "View Item")
    got = _post(client, creds, _retention_bookmark(report, step))
    node = {key[:10] if key != "$average" else key: value
            for key, value in got["series"]["Sign Up and then View Item"].items()}
    expected = retention_ref.retention(kept, FROM, TO, timezone=TZ, born_event="Sign Up", event="View Item",
                                       bracket_sizes=[1, 3, 7], interval_count=(TO - FROM).days + 1)
    assert {day: (entry["first"], entry["counts"]) for day, entry in node.items() if day != "$average"} == {
        day: (entry["first"], entry["counts"]) for day, entry in expected.items()}
    assert sum(entry["first"] for entry in expected.values()) > 0
    unfiltered = retention_ref.retention(events, FROM, TO, timezone=TZ, born_event="Sign Up", event="View Item",
                                         bracket_sizes=[1, 3, 7], interval_count=(TO - FROM).days + 1)
    assert expected != unfiltered  # the filter changes the answer


def _custom(formula: str, prop: str, kind: str) -> dict[str, Any]:
    """An inline custom property over one event property, as the client's ``InlineCustomProperty`` sends it."""
    return {"displayFormula": formula, "composedProperties": {"A": {"value": prop, "type": kind,
                                                                     "resourceType": "event"}},
            "name": "", "description": "", "propertyType": kind, "resourceType": "events"}


#: ``left($browser, 3) == "Chr"`` and ``price * 2 > 60`` as custom-property filters, and their brute-force meaning.
CHROMIUM = {"customProperty": _custom("left(A, 3)", "$browser", "string"), "resourceType": "events",
            "filterType": "string", "filterOperator": "equals", "filterValue": ["Chr"]}
PRICEY = {"customProperty": _custom("A * 2", "price", "number"), "resourceType": "events", "filterType": "number",
          "filterOperator": "is greater than", "filterValue": 60}


def _chromium(e: events_ref.Event) -> bool:
    return isinstance(e.properties.get("$browser"), str) and e.properties["$browser"][:3] == "Chr"


def _pricey(e: events_ref.Event) -> bool:
    price = e.properties.get("price")
    return isinstance(price, int | float) and not isinstance(price, bool) and price * 2 > 60


def test_funnel_metric_custom_property_filters_match_the_reference(shop: Any, client: httpx.Client) -> None:
    """A custom property in the report filter (every step) and in the first step's filters."""
    creds, events = shop
    bookmark = _funnel_bookmark([CHROMIUM], [])
    bookmark["sections"]["show"][0]["behavior"]["behaviors"][0]["filters"] = [PRICEY]
    kept = _keep(_keep(events, _chromium), _pricey, only="View Item")
    got = _post(client, creds, bookmark)
    counts = [entry["all"] for entry in got["series"]["View Item through Purchase"]["count"].values()]
    assert counts == _funnel_counts(kept)
    assert counts[-1] > 0 and counts != _funnel_counts(events)


def test_retention_metric_custom_property_filters_match_the_reference(shop: Any, client: httpx.Client) -> None:
    """A custom property in the report filter (birth and return events) and in the return event's filters."""
    creds, events = shop
    got = _post(client, creds, _retention_bookmark([CHROMIUM], [PRICEY]))
    kept = _keep(_keep(events, _chromium), _pricey, only="View Item")
    node = {key[:10]: value for key, value in got["series"]["Sign Up and then View Item"].items()
            if key != "$average"}
    options: dict[str, Any] = {"timezone": TZ, "born_event": "Sign Up", "event": "View Item",
                               "bracket_sizes": [1, 3, 7], "interval_count": (TO - FROM).days + 1}
    expected = retention_ref.retention(kept, FROM, TO, **options)
    assert {day: (entry["first"], entry["counts"]) for day, entry in node.items()} == {
        day: (entry["first"], entry["counts"]) for day, entry in expected.items()}
    assert any(sum(entry["counts"]) for entry in expected.values())
    assert expected != retention_ref.retention(events, FROM, TO, **options)


#: A breakdown by ``left($browser, 3)``, named; the reference reads the same value from a derived property.
PREFIX = {"customProperty": {**_custom("left(A, 3)", "$browser", "string"), "name": "Browser prefix"},
          "resourceType": "events", "propertyType": "string"}


def _with_prefix(events: list[events_ref.Event]) -> list[events_ref.Event]:
    def prefixed(e: events_ref.Event) -> events_ref.Event:
        browser = e.properties.get("$browser")
        return replace(e, properties={**e.properties, "prefix": browser[:3]}) if isinstance(browser, str) else e

    return [prefixed(e) for e in events]


def test_funnel_metric_custom_property_breakdown_matches_the_reference(shop: Any, client: httpx.Client) -> None:
    creds, events = shop
    bookmark = _funnel_bookmark([], [])
    bookmark["sections"]["group"] = [PREFIX]
    got = _post(client, creds, bookmark)
    assert got["headers"] == ["$metric", "Browser prefix"]
    found = funnels_ref.funnel(_with_prefix(events), [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, interval=(TO - FROM).days + 1, on='properties["prefix"]',
                               limit=10_000)
    expected = {segment: [step["count"] for step in steps]
                for segment, steps in next(iter(found["data"].values())).items()}
    node = got["series"]["View Item through Purchase"]
    assert {segment: [entry["all"] for entry in metrics["count"].values()] for segment, metrics in node.items()} \
        == expected
    assert len(expected) > 2 and "Chr" in expected


def test_retention_metric_custom_property_breakdown_matches_the_reference(shop: Any, client: httpx.Client) -> None:
    creds, events = shop
    bookmark = _retention_bookmark([], [])
    bookmark["sections"]["group"] = [PREFIX]
    got = _post(client, creds, bookmark)
    assert got["headers"] == ["$metric", "Browser prefix"]
    options: dict[str, Any] = {"timezone": TZ, "born_event": "Sign Up", "event": "View Item",
                               "bracket_sizes": [1, 3, 7], "interval_count": (TO - FROM).days + 1}
    split = retention_ref.retention(_with_prefix(events), FROM, TO, on='properties["prefix"]', limit=10_000,
                                    **options)
    node = got["series"]["Sign Up and then View Item"]
    assert {segment: {day[:10]: (c["first"], c["counts"]) for day, c in cohorts.items() if day != "$average"}
            for segment, cohorts in node.items() if segment != "$overall"} == {
        segment: {day: (c["first"], c["counts"]) for day, c in cohorts.items()} for segment, cohorts in split.items()}
    assert len(split) > 2


DOUBLED = {"customProperty": _custom("A * 2", "price", "number"), "resourceType": "events", "name": ""}


def _with_doubled(events: list[events_ref.Event]) -> list[events_ref.Event]:
    """Each event with ``doubled``: twice its numeric ``price`` (the custom property's value), else unset."""
    def doubled(e: events_ref.Event) -> events_ref.Event:
        price = e.properties.get("price")
        if isinstance(price, bool) or not isinstance(price, int | float):
            return e
        return replace(e, properties={**e.properties, "doubled": price * 2})

    return [doubled(e) for e in events]


@pytest.mark.parametrize("math", ["average", "p90"])
def test_funnel_metric_custom_measured_property_matches_the_reference(shop: Any, client: httpx.Client,
                                                                     math: str) -> None:
    creds, events = shop
    bookmark = _funnel_bookmark([], [])
    bookmark["sections"]["show"][0]["measurement"] = {"math": math, "property": DOUBLED}
    got = _post(client, creds, bookmark)["series"]["View Item through Purchase"][f"property_{math}"]
    found = funnels_ref.funnel(_with_doubled(events), [funnels_ref.Step(s) for s in STEPS], FROM, TO, timezone=TZ,
                               window=WINDOW_MS, interval=(TO - FROM).days + 1, value_math=math,
                               value_prop="doubled")
    steps = next(iter(found["data"].values()))["steps"]
    expected = {f"{k + 1}. {step['event']}": {"all": step["value"]} for k, step in enumerate(steps)}
    assert close(got, expected)
    assert all(isinstance(step["value"], float) for step in steps)


def test_retention_metric_custom_measured_property_matches_the_reference(shop: Any, client: httpx.Client) -> None:
    creds, events = shop
    bookmark = _retention_bookmark([], [])
    bookmark["sections"]["show"][0]["measurement"] = {"math": "total", "property": DOUBLED}
    got = _post(client, creds, bookmark)
    node = {key[:10]: [entry["first"], entry["counts"]]
            for key, entry in got["series"]["Sign Up and then View Item"].items() if key != "$average"}
    found = retention_ref.retention(_with_doubled(events), FROM, TO, timezone=TZ, born_event="Sign Up",
                                    event="View Item", bracket_sizes=[1, 3, 7], interval_count=(TO - FROM).days + 1,
                                    measure="events", value_property="doubled")
    expected = {day: [entry["first"], entry["counts"]] for day, entry in found.items()}
    assert close(node, expected)
    assert any(any(counts) for _, counts in expected.values())
