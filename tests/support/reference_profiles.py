"""Brute-force user-profile filters and breakdowns for the funnel and retention references: a user's current
profile (canonical id -> properties) read directly, through the expression evaluator only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mixhouse.expr import Record, evaluate, keeps, parse, segment_keys

#: The users' current profiles: canonical id -> properties.
ProfileMap = Mapping[str, Mapping[str, Any]]


def _profile(profiles: ProfileMap, user: str) -> Record:
    return Record("", 0, user, profiles.get(user, {}))


def passes(profiles: ProfileMap, where: str) -> Callable[[str], bool]:
    """Whether a user's profile passes ``where`` (an expression over the profile; no profile is an empty one)."""
    expr = parse(where)
    return lambda user: keeps(expr, _profile(profiles, user))


def segments(profiles: ProfileMap, name: str) -> Callable[[str], list[str]]:
    """A user's segments by profile property ``name``: one per item of a list, ``undefined`` without a value."""
    expr = parse(f'properties["{name}"]')
    return lambda user: segment_keys(evaluate(expr, _profile(profiles, user))) or ["undefined"]
