"""``/api/query/engage/stats`` on random profile sets: the server's answer equals the brute-force reference.

Each example sends a few random profiles (values of every JSON type, repeated and overwritten ``$set`` updates)
through ``/engage`` to a fresh project of the running server, then asks one random action under a random selector.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_project
from tests.support import reference_engage_stats as ref
from tests.support.app_api import sa
from tests.support.server import ServerProcess

values = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                   st.sampled_from(["7", "", "x", True, False, None]), st.lists(st.integers(0, 3), max_size=2))
updates = st.lists(st.tuples(st.sampled_from([f"u{n}" for n in range(8)]),
                             st.dictionaries(st.sampled_from(["v", "w", "kind"]), values, max_size=3)),
                   min_size=0, max_size=14)
SELECTORS: list[tuple[str | None, Any]] = [
    (None, lambda p: True),
    ('properties["kind"] == "x"', lambda p: p.get("kind") == "x"),
    ('defined(properties["w"])', lambda p: "w" in p),
    ('properties["v"] > 0', lambda p: isinstance(p.get("v"), int | float) and not isinstance(p.get("v"), bool)
     and p["v"] > 0),
]
actions = st.one_of(
    st.tuples(st.sampled_from(["count", "sum", "min", "max", "extremes", "numeric_summary"]),
              st.sampled_from(["v", "w"]), st.just(0.0)),
    st.tuples(st.just("percentile"), st.sampled_from(["v", "w"]),
              st.one_of(st.integers(0, 100).map(float), st.floats(0, 100, allow_nan=False))),
)


def _action_text(function: str, prop: str, level: float) -> str:
    if function == "count":
        return "count()"
    if function == "percentile":
        return f'percentile(properties["{prop}"], {level!r})'
    return f'{function}(properties["{prop}"])'


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sent=updates, action=actions, selector=st.sampled_from(SELECTORS))
def test_stats_equal_the_reference(server: ServerProcess, sent: list[tuple[str, dict[str, Any]]],
                                   action: tuple[str, str, float], selector: tuple[str | None, Any]) -> None:
    creds = make_project(server.data_dir, "stats-pbt")
    profiles: dict[str, dict[str, Any]] = {}
    for uid, props in sent:
        profiles.setdefault(uid, {}).update(props)
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        if sent:
            body = [{"$token": creds.token, "$distinct_id": uid, "$set": props} for uid, props in sent]
            assert client.post("/engage", json=body).text == "1"
        function, prop, level = action
        request: dict[str, Any] = {"project_id": creds.project_id, "action": _action_text(function, prop, level)}
        if selector[0] is not None:
            request["selector"] = selector[0]
        response = client.post("/api/query/engage/stats", json=request, auth=sa(creds))
    assert response.status_code == 200, response.text
    answer = response.json()
    selected = ref.select(profiles, selector[1])
    want = ref.aggregate(function, selected, prop, level)
    assert ref.close(answer["results"], want), (request, answer, want)
    assert answer["total"] == len(selected)
