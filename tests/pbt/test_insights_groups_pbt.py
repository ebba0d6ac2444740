"""Insights event metrics counting a data group (decision 0043) on random event logs: the SQL path equals the
brute-force reference.

Each example writes a small random log straight into the in-process storage under a fresh project id: a few users
(the empty id too, identity merges), a group key ``company`` that is a group id, a number, a list (with a repeat and
an empty string), missing or empty; group profiles with a ``plan`` (a string, a list, missing, or no profile). It
then runs the service the endpoint runs with random maths, breakdowns and filters over events and group profiles.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.meta.records import Project
from mixhouse.services.insights import run_insights
from mixhouse.services.insights_params import parse_insights
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.insights_http import close
from tests.support.stored_log import fresh_project_id, write_log

START = int(datetime(2025, 3, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
FROM, TO = date(2025, 3, 1), date(2025, 3, 9)
GROUP_KEY = "company"

events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", ""]), st.sampled_from(["A", "B"]), st.integers(-30, 24 * 10),
              st.integers(0, 2), st.sampled_from(["g1", "g2", "g3", 7, None, "", ["g1", "g2"], ["g2", "g2", ""]]),
              st.sampled_from(["x", "y", None, ["y", "x"]]), st.sampled_from([1, 2, 2.5, None, "s"])),
    min_size=1, max_size=40,
)
merges = st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["c", "d"]), max_size=2)
plans = st.dictionaries(st.sampled_from(["g1", "g2", "g3", "7"]),
                        st.sampled_from([{"plan": "pro"}, {"plan": "free"}, {"plan": ["pro", "team"]}, {}]),
                        max_size=4)
#: (math, property, per-group aggregation)
MATHS = [("total", None, None), ("unique", None, None), ("dau", None, None), ("wau", None, None),
         ("cumulative_unique", None, None), ("sum", "n", None), ("average", "n", None), ("median", "n", None),
         ("unique_values", "k", None), ("most_frequent", "k", None), ("histogram", "n", None),
         ("average", None, "total"), ("max", "n", "total"), ("numeric_summary", "n", "max"),
         ("histogram", None, "total")]
options = st.fixed_dictionaries({
    "maths": st.lists(st.sampled_from(MATHS), min_size=1, max_size=3, unique=True),
    "unit": st.sampled_from(["day", "week"]),
    "total": st.booleans(),
    "groups": st.sampled_from(["none", "k", "plan", "k+plan"]),
    "filter": st.sampled_from(["none", "k", "plan", "not-plan"]),
})


def _plan(operator: str) -> dict[str, Any]:
    return {"value": "plan", "resourceType": "people", "dataGroupId": GROUP_KEY, "filterOperator": operator,
            "filterType": "string", "filterValue": ["pro"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log=events, merged=merges, profiles=plans, chosen=options)
def test_sql_equals_reference(backend: Any, log: list[tuple[str, str, int, int, Any, Any, Any]],
                              merged: dict[str, str], profiles: dict[str, dict[str, Any]],
                              chosen: dict[str, Any]) -> None:
    pid = fresh_project_id()
    stored_log = []
    for n, (user, name, hour, minute, company, k, number) in enumerate(log + log[:3]):  # the first three again
        props = {key: value for key, value in ((GROUP_KEY, company), ("k", k), ("n", number)) if value is not None}
        stored_log.append((user, name, START + hour * HOUR + minute * 60_000, f"i{n % len(log)}", props))
    sent = write_log(backend, pid, stored_log, merged)

    maths = [m for m in chosen["maths"] if not (m[0] in ref.ACTIVE_DAYS and (chosen["total"]
                                                                             or chosen["unit"] != "day"))]
    maths = maths or [("total", None, None)]
    groups: list[dict[str, Any]] = {
        "none": [], "k": [{"value": "k", "resourceType": "events"}],
        "plan": [{"value": "plan", "resourceType": "people", "dataGroupId": GROUP_KEY}],
        "k+plan": [{"value": "k", "resourceType": "events"},
                   {"value": "plan", "resourceType": "people", "dataGroupId": GROUP_KEY}]}[chosen["groups"]]
    filters = {"none": [], "plan": [_plan("equals")], "not-plan": [_plan("does not equal")],
               "k": [{"value": "k", "resourceType": "events", "filterOperator": "equals", "filterValue": ["x"]}]}
    show = [{"type": "metric", "behavior": {"type": "event", "name": "A", "filters": []},
             "measurement": {"math": m, **({"property": {"name": p}} if p else {}),
                             **({"perUserAggregation": u} if u else {})}}
            for m, p, u in maths]
    params = {"displayOptions": {"chartType": "bar" if chosen["total"] else "line"},
              "sections": {"show": show, "group": groups, "filter": filters[chosen["filter"]],
                           "globalDataGroupId": GROUP_KEY,
                           "time": [{"dateRangeType": "between", "unit": chosen["unit"],
                                     "value": [FROM.isoformat(), TO.isoformat()]}]}}
    project = Project(pid, 1, "pbt", "UTC", "t", "simplified", datetime.now(UTC))
    got = run_insights(backend, project, parse_insights(params, "UTC"),
                       group_profiles=lambda key: list(profiles.items()) if key == GROUP_KEY else [])

    stored = [events_ref.Event(e.name, e.stored_id, merged.get(e.stored_id, e.stored_id), e.time_ms, e.insert_id,
                               e.properties) for e in events_ref.load(sent)]
    where = {"none": None, "k": 'properties["k"] == "x"', "plan": None, "not-plan": None}[chosen["filter"]]
    people_where = {"plan": 'properties["plan"] == "pro"', "not-plan": 'not (properties["plan"] == "pro")'}.get(
        chosen["filter"])
    names = [g["value"] for g in groups]
    expected = ref.insights(stored, [ref.Metric("A", m, p, per_user=u) for m, p, u in maths], FROM, TO,
                            unit=chosen["unit"], total=chosen["total"], groups=names, where=where,
                            people_where=people_where, people_groups=["plan"] if "plan" in names else [],
                            group_key=GROUP_KEY, group_profiles=profiles)
    assert got["headers"] == expected["headers"]
    assert close(got["series"], expected["series"]), (got["series"], expected["series"])
