"""Identity planning rules (spec §2.6), on the pure planner and state."""

from __future__ import annotations

from typing import Any

from mixhouse.ingest.identity import MAX_CLUSTER_IDS, IdentityPlanner, IdentityState
from mixhouse.ingest.prepare import IDENTITY_KEYS, IdentityHint


def hint(event: str, distinct_id: str, **props: Any) -> IdentityHint:
    return IdentityHint(event, distinct_id, tuple(props.get(k) for k in IDENTITY_KEYS))


def plan(state: IdentityState, *hints: IdentityHint, authenticated: bool = True) -> list[tuple[str, str]]:
    planner = IdentityPlanner(state)
    for item in hints:
        if state.mode == "simplified":
            planner.simplified(item)
        else:
            planner.original(item, authenticated=authenticated)
    rows = planner.rows()
    state.apply(rows)
    return rows


def test_simplified_first_pairing_wins_and_never_moves() -> None:
    state = IdentityState(mode="simplified")
    assert plan(state, hint("Sign Up", "u1", **{"$device_id": "d1", "$user_id": "u1"})) == [("$device:d1", "u1")]
    assert plan(state, hint("Sign Up", "u2", **{"$device_id": "d1", "$user_id": "u2"})) == []
    assert state.canonical("$device:d1") == "u1"
    # many devices per user
    assert plan(state, hint("Login", "u1", **{"$device_id": "d2", "$user_id": "u1"})) == [("$device:d2", "u1")]
    assert state.cluster("u1") == {"u1", "$device:d1", "$device:d2"}


def test_simplified_within_one_batch_the_first_pairing_wins() -> None:
    state = IdentityState(mode="simplified")
    rows = plan(state,
                hint("A", "u1", **{"$device_id": "d9", "$user_id": "u1"}),
                hint("B", "u2", **{"$device_id": "d9", "$user_id": "u2"}))
    assert rows == [("$device:d9", "u1")]


def test_original_identify_alias_and_merge() -> None:
    state = IdentityState(mode="original")
    plan(state, hint("$identify", "known", **{"$identified_id": "known", "$anon_id": "anon-1"}))
    assert state.canonical("anon-1") == "known"
    # mixpanel-js spelling
    plan(state, hint("$identify", "known", **{"$anon_distinct_id": "anon-2"}))
    assert state.canonical("anon-2") == "known"
    # an anonymous id already merged to another identified id is not re-merged
    plan(state, hint("$identify", "other", **{"$identified_id": "other", "$anon_id": "anon-1"}))
    assert state.canonical("anon-1") == "known"
    plan(state, hint("$create_alias", "known", alias="alias-1"))
    assert state.canonical("alias-1") == "known"
    plan(state, hint("$merge", "x", **{"$distinct_ids": ["known", "solo"]}))
    assert state.canonical("solo") == "known"
    assert state.cluster("known") == {"known", "anon-1", "anon-2", "alias-1", "solo"}


def test_merge_of_two_clusters_moves_every_member_retroactively() -> None:
    state = IdentityState(mode="original")
    plan(state, hint("$identify", "a", **{"$identified_id": "a", "$anon_id": "a-anon"}))
    plan(state, hint("$identify", "b", **{"$identified_id": "b", "$anon_id": "b-anon"}))
    rows = plan(state, hint("$merge", "a", **{"$distinct_ids": ["a", "b"]}))
    assert sorted(rows) == [("b", "a"), ("b-anon", "a")]
    assert {state.canonical(x) for x in ("a", "a-anon", "b", "b-anon")} == {"a"}


def test_merge_is_ignored_unless_authenticated() -> None:
    state = IdentityState(mode="original")
    assert plan(state, hint("$merge", "a", **{"$distinct_ids": ["a", "b"]}), authenticated=False) == []


def test_cluster_cap() -> None:
    state = IdentityState(mode="original")
    for i in range(MAX_CLUSTER_IDS - 1):
        plan(state, hint("$create_alias", "big", alias=f"alias-{i}"))
    assert len(state.cluster("big")) == MAX_CLUSTER_IDS
    assert plan(state, hint("$create_alias", "big", alias="one-too-many")) == []
    assert state.canonical("one-too-many") == "one-too-many"
