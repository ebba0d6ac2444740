"""Hypothesis through the server: random events and random custom-property formulas (the grammar of
``test_custom_property_formula_pbt``) used at once as a breakdown, a filter and the measured property of an
Insights event metric; the answer is the brute-force reference's with the formula's value stored on each event."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mixhouse.errors import ExpressionError
from mixhouse.expr.formula_parser import parse_formula
from tests.conftest import ProjectCreds, make_project
from tests.pbt.test_custom_property_formula_pbt import FAMILIES, INPUTS, numbers, texts
from tests.support import reference_event_queries as events_ref
from tests.support import reference_insights as ref
from tests.support.bucket_log import D1, at
from tests.support.insights_http import close, post_insights
from tests.support.reference_formula import with_custom_property
from tests.support.sending import import_all
from tests.support.server import ServerProcess

COMPOSED = {letter: {"resourceType": "event", "type": "string", "value": prop.name}  # type: ignore[attr-defined]
            for letter, prop in INPUTS.items()}
RUN = itertools.count()

values = st.one_of(texts, numbers, st.none(), st.lists(st.one_of(texts, numbers), max_size=3))
events = st.lists(st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.integers(0, 23),
                            st.dictionaries(st.sampled_from(["a", "n", "l", "d"]), values, max_size=4)),
                  min_size=1, max_size=8)


@pytest.fixture(scope="module")
def creds(server: ServerProcess) -> ProjectCreds:
    return make_project(server.data_dir, "custom-properties-pbt")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(rows=events, formula=st.one_of(FAMILIES["text"], FAMILIES["compare"], FAMILIES["numbers"],
                                      FAMILIES["branches"], FAMILIES["mixed"]))
def test_insights_answer_is_the_reference(creds: ProjectCreds, client: httpx.Client, rows: list[Any],
                                          formula: str) -> None:
    try:
        expr = parse_formula(formula, INPUTS)
    except ExpressionError:
        assume(False)
    run = next(RUN)
    name = f"E{run}"
    sent = [{"event": name, "properties": {"distinct_id": user, "time": at(D1, hour), "$insert_id": f"{run}-{n}",
                                           **props}} for n, (user, hour, props) in enumerate(rows)]
    import_all(client, creds, sent)
    custom = {"composedProperties": COMPOSED, "displayFormula": formula, "name": "cp", "propertyType": "string",
              "resourceType": "events"}
    show = [{"type": "metric", "behavior": {"type": "event", "name": name, "resourceType": "events", "filters": []},
             "measurement": {"math": math_, **({"property": {"customProperty": custom, "name": ""}}
                                               if math_ == "sum" else {})}} for math_ in ("total", "sum")]
    params = {"displayOptions": {"chartType": "bar"}, "sections": {
        "show": show, "group": [{"customProperty": custom, "resourceType": "events", "value": None}],
        "filter": [{"customProperty": custom, "resourceType": "events", "filterType": "string",
                    "filterOperator": "does not equal", "filterValue": ["x"]}],
        "time": [{"dateRangeType": "between", "unit": "day", "value": [D1.isoformat(), D1.isoformat()]}]}}
    response = client.post("/api/query/insights", params={"workspace_id": "1"},
                           json={"bookmark": params, "project_id": creds.project_id},
                           auth=(creds.sa_username, creds.sa_secret))
    if response.status_code == 400 and "too complex" in response.text:
        assume(False)
    got = post_insights(client, creds, params) if response.status_code != 200 else response.json()
    stored = with_custom_property(events_ref.load(sent), expr, "cp")
    expected = ref.insights(stored, [ref.Metric(name, "total"), ref.Metric(name, "sum", "cp")], D1, D1, total=True,
                            where='not (properties["cp"] == "x")', groups=["cp"])
    assert got["headers"] == ["$metric", "cp"]
    assert close(got["series"], expected["series"]), (formula, got["series"], expected["series"])
