"""Insights funnel metrics counting a data group (decision 0043) on random event logs: the engine equals the
brute-force funnel run over the events as groups see them (each event once per group its key names, the group
standing as the user; events without a group left out), for every counting mode, attribution and chart, with and
without an event-property breakdown.

Each example writes a small random log (a few users, close timestamps, resends, identity merges, a group key that
is one group, a list with a repeat, a number, empty or missing) straight into the in-process storage under a fresh
project id and runs the service the endpoint runs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services.funnel_definition import funnel_params
from mixhouse.services.insights_funnel import run_funnel_metric
from tests.support import insights_funnel_layout as layout
from tests.support import reference_event_queries as events_ref
from tests.support import reference_funnels as ref
from tests.support.reference_insights import group_ids
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
FROM, TO = date(2025, 3, 1), date(2025, 3, 3)
GROUP_KEY = "org"

events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["A", "B", "C", "A", "B"]),
              st.sampled_from([-1, 1, 2, 3, 40, 900, 30_000]),
              st.sampled_from(["o1", "o2", 3, ["o1", "o2", "o1"], "", None]), st.sampled_from(["x", "y", None])),
    min_size=6, max_size=36,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c"]), max_size=1)
options = st.fixed_dictionaries({
    "steps": st.sampled_from([["A", "B"], ["A", "B", "C"], ["B", "A"]]),
    "math": st.sampled_from(["conversion_rate_unique", "conversion_rate_total"]),
    "optimized": st.booleans(),
    "attribution": st.sampled_from([None, "last_defined", 2]),
    "chart": st.sampled_from(["funnel-steps", "line"]),
    "breakdown": st.booleans(),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, chosen=options)
def test_group_funnels_equal_the_reference_over_groups(backend: Any, log: list[tuple[str, str, int, Any, Any]],
                                                       merged: dict[str, str], chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    clock: dict[str, int] = {}
    stored_log = []
    for n, (user, name, gap, org, k) in enumerate(log):
        clock[user] = clock.get(user, 0) + gap * 1000
        props = {key: value for key, value in ((GROUP_KEY, org), ("k", k)) if value is not None}
        stored_log.append((user, name, START + 60_000 + clock[user] + n, f"i{n}", props))
    sent = write_log(backend, pid, stored_log + stored_log[:2], merged)
    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]

    names = chosen["steps"]
    bookmark = funnel_params(names, window=1, unit="hour")
    behavior = bookmark["sections"]["show"][0]["behavior"]
    bookmark["sections"]["show"][0]["measurement"]["math"] = chosen["math"]
    optimized = bool(chosen["optimized"]) and chosen["math"] == "conversion_rate_unique"
    if optimized:
        behavior["funnelReentryMode"] = "optimized"
    if chosen["attribution"] is not None:
        behavior["propertyAttribution"] = chosen["attribution"]
    bookmark["displayOptions"] = {"chartType": chosen["chart"]}
    bookmark["sections"]["time"] = [{"dateRangeType": "between", "unit": "day",
                                     "value": [FROM.isoformat(), TO.isoformat()]}]
    bookmark["sections"]["globalDataGroupId"] = GROUP_KEY
    if chosen["breakdown"]:
        bookmark["sections"]["group"] = [{"value": "k", "resourceType": "events", "dataGroupId": GROUP_KEY}]
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    series, headers = run_funnel_metric(backend, project, bookmark)

    as_groups = [replace(e, user=group) for e in stored for group in group_ids(e, GROUP_KEY)]
    trends = chosen["chart"] == "line"
    attribution = chosen["attribution"]
    breakdowns = ['properties["k"]'] if chosen["breakdown"] else []
    found = ref.funnel(as_groups, [ref.Step(name) for name in names], FROM, TO, window=3_600_000,
                       **({} if trends else {"interval": 3}), totals=chosen["math"] == "conversion_rate_total",
                       optimized=optimized,
                       attribution=attribution - 1 if isinstance(attribution, int) else attribution or "first_defined",
                       limit=10_000, breakdowns=breakdowns)
    per_key = {key: layout.nested(per_segment, 1) if breakdowns else layout.metrics(per_segment["steps"])
               for key, per_segment in found["data"].items()}
    expected = {f"{key}T00:00:00+00:00": node for key, node in per_key.items()} if trends else \
        next(iter(per_key.values()))
    assert headers == ["$metric", *(["k"] if breakdowns else [])]
    assert series == {f"{names[0]} through {names[-1]}": expected}
