"""``customBucket`` breakdowns (decision 0039) on random data: the SQL path equals the brute-force reference.

* Labels: random segment keys (integers, fractions, values on bucket edges, numeric and other strings) and random
  buckets, relabelled by one SQL query, against ``reference_buckets`` (exact rational arithmetic).
* Insights: a small random log (a few users, the empty id, identity merges, resends, numbers, lists, text,
  booleans, missing values) broken down by an event property and a profile property in buckets, several maths.
* Flows: the same logs, entries split by the entry event's property in buckets.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from mixhouse.core.dates import DateRange
from mixhouse.expr import format_number
from mixhouse.meta.records import Project
from mixhouse.query.number_buckets import bucketed_keys_sql, number_buckets
from mixhouse.services import flows as flow_service
from mixhouse.services.insights import run_insights
from mixhouse.services.insights_params import parse_insights
from tests.support import reference_event_queries as events_ref
from tests.support import reference_flows as flows_ref
from tests.support import reference_insights as ref
from tests.support.insights_http import close
from tests.support.reference_buckets import Buckets, bucketed
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
FROM, TO = date(2025, 3, 1), date(2025, 3, 6)

SIZES = [1, 2, 2.5, 0.1, 0.25, 0.3, 5, 10]
LOWS = [None, 0, -1, 0.5, 2, -2.5, -10]
HIGHS = [None, 3, 5, 10, 2.5, 0.7, 20]
buckets = st.tuples(st.sampled_from(SIZES), st.sampled_from(LOWS), st.sampled_from(HIGHS)).filter(
    lambda b: b[1] is None or b[2] is None or b[2] > b[1])
#: Numbers near and on bucket edges, plain random ones, and what is not a number.
numbers = st.one_of(
    st.integers(-30, 30),
    st.sampled_from([0.1, 0.2, 0.3, 0.7, 2.5, -2.5, 0.35, 7.5, 0.30000000000000004, 1e-9, -0.0]),
    st.floats(-60, 60, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)
values = st.one_of(numbers, numbers, st.sampled_from(["5", "2.50", "-1e1", "abc", "", True, False, None,
                                                      [1, 12.5, "x"], [0.3, 0.31]]))


def _spec(chosen: tuple[float, float | None, float | None]) -> dict[str, Any]:
    size, low, high = chosen
    return {"bucketSize": size, **({"min": low} if low is not None else {}),
            **({"max": high} if high is not None else {})}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(keys=["0.3", "0.7", "-0.3", "0.6"], chosen=(0.1, None, None))  # 0.3 / 0.1 rounds down to 2.999…
@example(keys=["0.9", "0.6", "2.5"], chosen=(0.3, 0, 2.5))
@given(keys=st.lists(st.one_of(numbers.map(lambda v: format_number(float(v))),
                               st.sampled_from(["abc", "true", "null", "+3", ".5", "1.", "1e2", " 4", "-0"])),
                     max_size=6),
       chosen=buckets)
def test_sql_labels_equal_reference(backend: Any, keys: list[str], chosen: tuple[float, Any, Any]) -> None:
    fragment = bucketed_keys_sql("{keys:Array(String)}", number_buckets(*chosen), "t")
    rows = backend.query_rows(f"SELECT {fragment.sql} AS labels", {**fragment.params, "keys": keys})
    assert sorted(rows[0]["labels"]) == sorted(bucketed(keys, Buckets(*chosen)))


events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", ""]), st.sampled_from(["A", "B"]), st.integers(0, 24 * 6 - 1),
              st.integers(0, 59), values),
    min_size=1, max_size=30,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
#: (math, property, per-user aggregation)
MATHS = [("total", None, None), ("unique", None, None), ("sum", "n", None), ("average", "n", None),
         ("median", "n", None), ("sessions", None, None), ("unique_values", "n", None), ("histogram", "n", None),
         ("average", None, "total")]
#: Users' profiles (canonical ids): a number, a numeric string, a negative number; "b" has none.
PROFILES = {"a": {"age": 3.5}, "c": {"age": "12"}, "d": {"age": -1}}
options = st.fixed_dictionaries({
    "maths": st.lists(st.sampled_from(MATHS), min_size=1, max_size=2, unique=True),
    "unit": st.sampled_from(["day", "week"]),
    "total": st.booleans(),
    "groups": st.sampled_from(["n", "age", "n+age", "age+n"]),
    "n_buckets": buckets,
    "age_buckets": st.one_of(st.none(), buckets),
})


def _stored(backend: Any, log: list[tuple[str, str, int, int, Any]], merged: dict[str, str]
            ) -> tuple[int, list[events_ref.Event]]:
    """Write the log (its first three events again: resends) under a fresh project; the events as stored."""
    pid = fresh_project_id()
    stored_log = [(user, name, START + hour * HOUR + minute * 60_000 + n, f"i{n % len(log)}",
                   {} if value is None else {"n": value})
                  for n, (user, name, hour, minute, value) in enumerate(log + log[:3])]
    sent = write_log(backend, pid, stored_log, merged)
    return pid, [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                                  e.properties) for e in events_ref.load(sent)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_insights_buckets_equal_reference(backend: Any, log: list[tuple[str, str, int, int, Any]],
                                          merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid, stored = _stored(backend, log, merged)
    specs = {"n": chosen["n_buckets"], "age": chosen["age_buckets"]}
    names = chosen["groups"].split("+")
    groups = [{"value": name, "resourceType": "people" if name == "age" else "events",
               **({"customBucket": _spec(specs[name])} if specs[name] else {})} for name in names]
    show = [{"type": "metric", "behavior": {"type": "event", "name": "A", "filters": []},
             "measurement": {"math": m, **({"property": {"name": p}} if p else {}),
                             **({"perUserAggregation": u} if u else {})}} for m, p, u in chosen["maths"]]
    params = {"displayOptions": {"chartType": "bar" if chosen["total"] else "line"},
              "sections": {"show": show, "group": groups, "filter": [],
                           "time": [{"dateRangeType": "between", "unit": chosen["unit"],
                                     "value": [FROM.isoformat(), TO.isoformat()]}]}}
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = run_insights(backend, project, parse_insights(params, "UTC"), profiles=lambda: list(PROFILES.items()))

    expected = ref.insights(stored, [ref.Metric("A", m, p, per_user=u) for m, p, u in chosen["maths"]], FROM, TO,
                            unit=chosen["unit"], total=chosen["total"], groups=names, profiles=PROFILES,
                            people_groups=["age"], group_buckets={name: Buckets(*spec) for name, spec in specs.items()
                                                                  if spec is not None})
    assert got["headers"] == expected["headers"]
    assert close(got["series"], expected["series"]), (got["series"], expected["series"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=buckets, totals=st.booleans(), forward=st.integers(0, 2))
def test_flow_segments_equal_reference(backend: Any, log: list[tuple[str, str, int, int, Any]],
                                       merged: dict[str, str], chosen: tuple[float, Any, Any], totals: bool,
                                       forward: int) -> None:
    pid, stored = _stored(backend, log, merged)
    assume(any(e.name == "A" for e in stored))
    query = flow_service.FlowQuery(
        anchors=(flow_service.FlowAnchor("A", forward),), dates=DateRange(FROM, TO), window_ms=86_400_000,
        totals=totals, collapse=False, hidden=(), excluded=(), cardinality=3,
        segments=(flow_service.FlowSegment(label="n", property="n", buckets=number_buckets(*chosen)),))
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = Counter({(reverse, after, keys): users
                   for reverse, after, keys, users in flow_service.flow_rows(backend, project, query)})
    expected = flows_ref.flow_outcomes(stored, [flows_ref.Anchor("A", forward)], FROM, TO, window=86_400_000,
                                       totals=totals,
                                       segments=[flows_ref.BucketedSegment("n", Buckets(*chosen))])
    assert got == expected
