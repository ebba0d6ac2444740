"""Datetime bookmark filters in Insights (``query/datetime_filters.py``): on, not on, before, since, between, not
between, in the last, not in the last, in the next and before the last, on a datetime property (ISO text or epoch
seconds), on ``$time`` and on a custom property, in the project's timezone; every answer is counted by brute force
over the events sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.insights_http import post_insights as _post
from tests.support.sending import import_all
from tests.support.server import ServerProcess

TZ = "America/New_York"
ZONE = ZoneInfo(TZ)
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.astimezone(ZONE).date()
#: ``renewal`` of each Purchase, as hours from now (None: no renewal; a string: not a date).
RENEWALS: list[Any] = [-24 * 40, -24 * 9, -24 * 3 - 2, -30, -5, -1, 2, 20, 24 * 3, 24 * 10, 24 * 45, None, "soon"]


def _renewal(n: int) -> Any:
    hours = RENEWALS[n]
    if not isinstance(hours, int):
        return hours
    moment = NOW + timedelta(hours=hours)
    return int(moment.timestamp()) if n % 3 == 0 else moment.strftime("%Y-%m-%dT%H:%M:%S")  # epoch s or ISO (UTC)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


@pytest.fixture(scope="module")
def shop(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[dict[str, Any]]]:
    creds = make_project(server.data_dir, "datetime-filters", timezone=TZ)
    events = []
    for n in range(len(RENEWALS)):
        sent = NOW - timedelta(hours=7 * n + 1)  # one purchase every 7 hours, back from an hour ago
        props: dict[str, Any] = {"distinct_id": f"u{n % 4}", "time": int(sent.timestamp()), "$insert_id": f"d{n}"}
        if RENEWALS[n] is not None:
            props["renewal"] = _renewal(n)
        events.append({"event": "Purchase", "properties": props})
    import_all(client, creds, events)
    return creds, events


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZONE)


def _kept(moment: datetime | None, op: str, value: Any, unit: str = "day") -> bool:
    """The brute-force reading of each operator (days in the project's timezone)."""
    if op in ("in the last", "not in the last", "in the next", "before the last"):
        span = {"hour": timedelta(hours=value), "day": timedelta(days=value), "week": timedelta(weeks=value)}[unit]
        now = datetime.now(UTC)
        inside = moment is not None and (
            now - span <= moment <= now + timedelta(seconds=5) if op != "in the next" else
            now - timedelta(seconds=5) <= moment <= now + span)
        if op == "before the last":
            return moment is not None and moment < now - span
        return inside if op != "not in the last" else not inside
    if op in ("between", "not between"):
        start, end = _local_day_start(date.fromisoformat(value[0])), _local_day_start(
            date.fromisoformat(value[1]) + timedelta(days=1))
    else:
        start = _local_day_start(date.fromisoformat(value))
        end = _local_day_start(date.fromisoformat(value) + timedelta(days=1))
    if op == "before":
        return moment is not None and moment < start
    if op == "since":
        return moment is not None and moment >= start
    inside = moment is not None and start <= moment < end
    return inside if op in ("on", "between") else not inside


def _bookmark(spec: dict[str, Any]) -> dict[str, Any]:
    metric = {"type": "metric", "measurement": {"math": "total"},
              "behavior": {"type": "event", "name": "Purchase", "resourceType": "events", "filters": [],
                           "filtersDeterminer": "all"}}
    first = (TODAY - timedelta(days=5)).isoformat()
    return {"displayOptions": {"chartType": "bar", "analysis": "linear"},
            "sections": {"show": [metric], "filter": [spec], "group": [],
                         "time": [{"dateRangeType": "between", "unit": "day", "value": [first, TODAY.isoformat()]}]}}


def _days(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


CASES = [("on", _days(-3)), ("on", _days(0)), ("not on", _days(0)), ("before", _days(-2)), ("since", _days(1)),
         ("between", [_days(-9), _days(-1)]), ("not between", [_days(-3), _days(3)]), ("in the last", 2),
         ("not in the last", 2), ("in the next", 3), ("before the last", 5)]


@pytest.mark.parametrize(("op", "value"), CASES)
def test_datetime_property_filters(shop: Any, client: httpx.Client, op: str, value: Any) -> None:
    creds, events = shop
    spec = {"value": "renewal", "resourceType": "events", "filterType": "datetime", "filterOperator": op,
            "filterValue": value, **({"filterDateUnit": "day"} if isinstance(value, int) else {})}
    window_start = _local_day_start(TODAY - timedelta(days=5))
    expected = sum(1 for e in events
                   if datetime.fromtimestamp(e["properties"]["time"], UTC) >= window_start
                   and _kept(_moment(e["properties"].get("renewal")), op, value))
    got = _post(client, creds, _bookmark(spec))
    assert got["series"] == {"Purchase": {"all": expected}}


@pytest.mark.parametrize(("op", "value", "unit"), [("on", _days(-1), "day"), ("in the last", 20, "hour"),
                                                   ("before", _days(-1), "day")])
def test_filters_on_the_event_time(shop: Any, client: httpx.Client, op: str, value: Any, unit: str) -> None:
    creds, events = shop
    spec = {"value": "$time", "resourceType": "events", "filterType": "datetime", "filterOperator": op,
            "filterValue": value, "filterDateUnit": unit}
    window_start = _local_day_start(TODAY - timedelta(days=5))
    moments = [datetime.fromtimestamp(e["properties"]["time"], UTC) for e in events]
    expected = sum(1 for m in moments if m >= window_start and _kept(m, op, value, unit))
    assert expected > 0
    assert _post(client, creds, _bookmark(spec))["series"] == {"Purchase": {"all": expected}}


def test_a_custom_property_filtered_as_a_datetime(shop: Any, client: httpx.Client) -> None:
    """A custom property whose value is a date text filters like a datetime property."""
    creds, events = shop
    custom = {"composedProperties": {"A": {"resourceType": "event", "type": "string", "value": "renewal"}},
              "description": "", "displayFormula": "A", "name": "", "propertyType": "datetime",
              "resourceType": "events"}
    spec = {"customProperty": custom, "dataset": "$mixpanel", "resourceType": "events", "filterType": "datetime",
            "filterOperator": "since", "filterValue": _days(0)}
    window_start = _local_day_start(TODAY - timedelta(days=5))
    expected = sum(1 for e in events if datetime.fromtimestamp(e["properties"]["time"], UTC) >= window_start
                   and _kept(_moment(e["properties"].get("renewal")), "since", _days(0)))
    assert _post(client, creds, _bookmark(spec))["series"] == {"Purchase": {"all": expected}}


@pytest.mark.parametrize(("change", "fragment"), [
    ({"filterOperator": "on", "filterValue": "tomorrow"}, "takes a day"),
    ({"filterOperator": "between", "filterValue": [_days(0)]}, "[from, to]"),
    ({"filterOperator": "in the last", "filterValue": 3, "filterDateUnit": "fortnight"}, "filterDateUnit"),
    ({"filterOperator": "was on", "filterValue": _days(0)}, "'was on'"),
])
def test_bad_datetime_filters_are_400(shop: Any, client: httpx.Client, change: dict[str, Any],
                                      fragment: str) -> None:
    creds, _ = shop
    spec = {"value": "renewal", "resourceType": "events", "filterType": "datetime", **change}
    assert fragment in str(_post(client, creds, _bookmark(spec), status=400))
