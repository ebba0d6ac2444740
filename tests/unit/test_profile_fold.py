"""Profile operations: validation and the order of application (spec §2.4)."""

from __future__ import annotations

import pytest

from mixhouse.ingest.events import RecordError
from mixhouse.ingest.profiles import apply_ops, normalize_update

NOW = 1_700_000_000_000


def fold(*updates: dict, group: bool = False) -> dict | None:
    profile = None
    for raw in updates:
        update = normalize_update(raw, group=group, now_ms=NOW)
        profile = apply_ops(profile, update.ops, update.time_ms)
    return profile


def test_operations_in_one_update_apply_in_the_chosen_order() -> None:
    profile = fold(
        {"$distinct_id": "u", "$set": {"n": 1, "tags": ["a"]}},
        {"$distinct_id": "u", "$set_once": {"n": 100, "first": True}, "$set": {"n": 2}, "$add": {"n": 3},
         "$union": {"tags": ["b", "a"]}, "$append": {"tags": "c"}, "$remove": {"tags": "a"}, "$unset": ["first"]},
    )
    assert profile is not None
    assert profile["n"] == 5  # set_once skipped (present), set 2, add 3
    assert profile["tags"] == ["b", "c"]
    assert "first" not in profile
    assert profile["$last_seen"] == "2023-11-14T22:13:20"


def test_delete_is_exclusive_and_removes_the_profile() -> None:
    assert fold({"$distinct_id": "u", "$set": {"a": 1}}, {"$distinct_id": "u", "$delete": "", "$set": {"b": 2}}) is None


def test_add_to_non_numeric_is_a_noop_and_missing_counts_as_zero() -> None:
    profile = fold({"$distinct_id": "u", "$set": {"s": "text"}}, {"$distinct_id": "u", "$add": {"s": 1, "c": -2}})
    assert profile is not None and profile["s"] == "text" and profile["c"] == -2


def test_ignore_time_keeps_last_seen_and_time_sets_it() -> None:
    profile = fold({"$distinct_id": "u", "$set": {"a": 1}, "$time": 1_600_000_000},
                   {"$distinct_id": "u", "$set": {"a": 2}, "$ignore_time": True})
    assert profile is not None and profile["$last_seen"] == "2020-09-13T12:26:40"


def test_unset_or_remove_on_missing_profile_creates_nothing() -> None:
    assert fold({"$distinct_id": "u", "$unset": ["a"]}) is None
    assert fold({"$distinct_id": "u", "$remove": {"a": 1}}) is None


@pytest.mark.parametrize("bad", [
    {"$set": {"a": 1}},  # no distinct id
    {"$distinct_id": "u"},  # no operation
    {"$distinct_id": "u", "$add": {"a": "1"}},  # $add takes numbers
    {"$distinct_id": "u", "$set": ["a"]},  # $set takes an object
    {"$distinct_id": "u", "$unset": {"a": 1}},  # $unset takes names
])
def test_invalid_updates_are_rejected(bad: dict) -> None:
    with pytest.raises(RecordError):
        normalize_update(bad, group=False, now_ms=NOW)


def test_groups_reject_add_and_append() -> None:
    with pytest.raises(RecordError):
        normalize_update({"$group_key": "c", "$group_id": "x", "$add": {"n": 1}}, group=True, now_ms=NOW)
    profile = fold({"$group_key": "c", "$group_id": "x", "$set": {"n": 1}, "$union": {"r": "eu"}}, group=True)
    assert profile is not None and profile["r"] == ["eu"]
