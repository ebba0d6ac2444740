"""Hypothesis strategies for user profiles in the property tests: current profiles of the ids ``a``-``d`` (some
without one), each with a ``plan`` (a string, a list of them, an empty list, or none) and ``seats`` (a number or
none)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PROFILE_IDS = ("a", "b", "c", "d")

profile_values = st.fixed_dictionaries({
    "plan": st.sampled_from(["pro", "free", ["pro", "team"], [], None]),
    "seats": st.sampled_from([1, 2.5, 10, None]),
}).map(lambda props: {key: value for key, value in props.items() if value is not None})


def _profiles(found: tuple[dict[str, Any] | None, ...]) -> dict[str, dict[str, Any]]:
    return {uid: props for uid, props in zip(PROFILE_IDS, found, strict=True) if props is not None}


#: Canonical (or merged-away) id -> current profile properties; an id may have no profile at all.
profile_maps = st.tuples(*[st.one_of(st.none(), profile_values)] * len(PROFILE_IDS)).map(_profiles)
