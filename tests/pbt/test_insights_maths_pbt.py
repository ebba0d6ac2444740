"""Insights maths of decision 0030 and frequency breakdowns on random event logs: the SQL path equals the
brute-force reference.

Each example writes a small random log (a few users, the empty id, two event names, list and non-numeric values,
duplicates, identity merges) straight into the in-process storage under a fresh project id, then runs the service
the endpoint runs.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services.insights import run_insights
from mixhouse.services.insights_params import parse_insights
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.reference_insights_values import FrequencyGroup
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
FROM, TO = date(2025, 3, 1), date(2025, 3, 9)

events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", ""]), st.sampled_from(["A", "B"]), st.integers(-30, 24 * 10),
              st.integers(0, 2), st.sampled_from(["x", "y", None, ["y", "x"], 3]),
              st.sampled_from([1, 2, 2.5, -4, None, "s"])),
    min_size=1, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
#: (math, property, per-user aggregation)
MATHS = [("unique_values", "k", None), ("most_frequent", "k", None), ("first_value", "k", None),
         ("histogram", "n", None), ("numeric_summary", "n", None), ("average", "k", "unique_values"),
         ("histogram", None, "total"), ("histogram", "k", "unique_values"), ("numeric_summary", "n", "max"),
         ("median", "n", "total"), ("multi_attribution", "k", None), ("sessions", None, None),
         ("cumulative_unique", None, None)]
MODELS = ["first_touch", "last_touch", "linear", "participation", "time_decay", "u_shaped", "j_shaped",
          "inverse_j_shaped"]
BUCKETS = [None, {"bucketSize": 1, "min": 1, "max": 3}, {"bucketSize": 2, "min": 0}]
options = st.fixed_dictionaries({
    "maths": st.lists(st.sampled_from(MATHS), min_size=1, max_size=3, unique=True),
    "unit": st.sampled_from(["day", "week"]),
    "total": st.booleans(),
    "groups": st.sampled_from(["none", "k", "frequency", "k+frequency"]),
    "bucket": st.sampled_from(range(len(BUCKETS))),
    "own_window": st.booleans(),
    "model": st.sampled_from(MODELS),
    "lookback_days": st.integers(1, 4),
})


def _close(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(_close(got[k], want[k]) for k in want)
    if isinstance(want, float) or isinstance(got, float):
        return isinstance(got, int | float) and math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_sql_equals_reference(backend: Any, log: list[tuple[str, str, int, int, Any, Any]],
                              merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    stored_log = []
    for n, (user, name, hour, minute, k, number) in enumerate(log + log[:3]):  # the first three again: resends
        props = {key: value for key, value in (("k", k), ("n", number)) if value is not None}
        stored_log.append((user, name, START + hour * HOUR + minute * 60_000, f"i{n % len(log)}", props))
    sent = write_log(backend, pid, stored_log, merged)

    bucket = BUCKETS[chosen["bucket"]]
    window = {"type": "in the last", "window": {"unit": "day", "value": 3000}} if chosen["own_window"] else None
    frequency = {"behavior": {"behaviorType": "$frequency", "event": {"value": "B"}, "dateRange": window,
                              "filters": []}, "resourceType": "people", "value": "B Frequency",
                 **({"customBucket": bucket} if bucket else {})}
    groups: list[dict[str, Any]] = {
        "none": [], "k": [{"value": "k", "resourceType": "events"}], "frequency": [frequency],
        "k+frequency": [{"value": "k", "resourceType": "events"}, frequency]}[chosen["groups"]]
    attribution = {"model": chosen["model"], "lookbackWindow": {"unit": "day", "value": chosen["lookback_days"]}}
    show = [{"type": "metric", "behavior": {"type": "event", "name": "A", "filters": []},
             "measurement": {"math": m, **({"property": {"name": p}} if p else {}),
                             **({"perUserAggregation": u} if u else {}),
                             **({"multiAttribution": attribution} if m == "multi_attribution" else {})}}
            for m, p, u in chosen["maths"]]
    params = {"displayOptions": {"chartType": "bar" if chosen["total"] else "line"},
              "sections": {"show": show, "group": groups, "filter": [],
                           "time": [{"dateRangeType": "between", "unit": chosen["unit"],
                                     "value": [FROM.isoformat(), TO.isoformat()]}]}}
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = run_insights(backend, project, parse_insights(params, "UTC"))

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    today = datetime.now(UTC).date()
    names = [g["value"] for g in groups]
    frequency_groups = {"B Frequency": FrequencyGroup(
        "B", dates=(date.fromordinal(today.toordinal() - 2999), today) if window else None,
        size=bucket["bucketSize"] if bucket else None, low=bucket.get("min", 0) if bucket else 0,
        high=bucket.get("max") if bucket else None)} if "B Frequency" in names else {}
    model = (chosen["model"], chosen["lookback_days"] * 86_400_000)
    expected = ref.insights(stored, [ref.Metric("A", m, p, per_user=u,
                                                attribution=model if m == "multi_attribution" else None)
                                     for m, p, u in chosen["maths"]], FROM, TO,
                            unit=chosen["unit"], total=chosen["total"], groups=names,
                            frequency_groups=frequency_groups)
    assert got["headers"] == expected["headers"]
    assert _close(got["series"], expected["series"]), (got["series"], expected["series"])
