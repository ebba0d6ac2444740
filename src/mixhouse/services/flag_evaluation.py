"""Serving feature flags to SDKs: the definitions local evaluation needs (``/flags/definitions``) and remote
evaluation (``/flags``), assigning exactly as the official SDKs' local evaluation does.

For a context whose flag-context value (``distinct_id`` by default) is ``v``, with the flag's ``key`` and ``hash_salt``:

1. a test user (``ruleset.test.users[distinct_id]``) gets that variant;
2. else the first rollout ``i`` with ``hash(v, key + hash_salt + str(i)) < rollout_percentage`` whose runtime rule
   holds is the user's rollout; none: the flag is not served to them (the SDK falls back);
3. the rollout's ``variant_override`` wins; else, with the variants sorted by key and their splits (or the
   rollout's ``variant_splits``) summed in that order, the first whose running total exceeds
   ``hash(v, key + hash_salt + "variant")``.

``hash(s, salt)`` is FNV-1a 64 over the UTF-8 of ``s + salt``, modulo 100, over 100: a value in 0.00..0.99.
Only enabled flags are served; a disabled or archived one is absent, so the SDK answers its fallback.
"""

from __future__ import annotations

from typing import Any

from mixhouse.meta.feature_flags import Flag
from mixhouse.services.flag_rules import rollout_matches

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MASK_64 = 0xFFFFFFFFFFFFFFFF


def fnv1a_64(data: bytes) -> int:
    value = FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * FNV_PRIME) & MASK_64
    return value


def bucket(value: str, salt: str) -> float:
    """The user's position in 0.00..0.99 for one salt."""
    return (fnv1a_64((value + salt).encode("utf-8")) % 100) / 100.0


def definition(flag: Flag) -> dict[str, Any]:
    """A flag as the SDKs' local evaluation reads it."""
    return {
        "id": flag.id,
        "name": flag.name,
        "key": flag.key,
        "status": flag.status,
        "project_id": flag.project_id,
        "context": flag.context,
        "experiment_id": flag.experiment_id,
        "is_experiment_active": flag.experiment_active,
        "hash_salt": flag.hash_salt,
        "ruleset": flag.ruleset,
    }


def definitions(flags: list[Flag]) -> dict[str, Any]:
    return {"code": 200, "flags": [definition(flag) for flag in flags if flag.status == "enabled"]}


def _chosen(flag: Flag, variant: dict[str, Any], *, qa: bool) -> dict[str, Any]:
    return {"variant_key": variant["key"], "variant_value": variant.get("value"),
            "experiment_id": flag.experiment_id, "is_experiment_active": flag.experiment_active, "is_qa_tester": qa}


def _variant_named(flag: Flag, key: str) -> dict[str, Any] | None:
    return next((v for v in flag.ruleset.get("variants", []) if v["key"].casefold() == key.casefold()), None)


def _rollout_of(flag: Flag, value: str, context: dict[str, Any]) -> dict[str, Any] | None:
    for index, rollout in enumerate(flag.ruleset.get("rollout", [])):
        if bucket(value, flag.key + flag.hash_salt + str(index)) < rollout["rollout_percentage"] \
                and rollout_matches(rollout, context):
            return dict(rollout)
    return None


def _split_variant(flag: Flag, value: str, rollout: dict[str, Any]) -> dict[str, Any]:
    splits = rollout.get("variant_splits") or {}
    variants = sorted(flag.ruleset["variants"], key=lambda v: str(v["key"]))
    position = bucket(value, flag.key + flag.hash_salt + "variant")
    selected: dict[str, Any] = variants[0]
    total = 0.0
    for variant in variants:
        selected = variant
        total += splits.get(variant["key"], variant.get("split", 0.0))
        if position < total:
            break
    return selected


def select_variant(flag: Flag, context: dict[str, Any]) -> dict[str, Any] | None:
    """The variant ``context`` gets from an enabled flag, or None when it is in no rollout."""
    value = context.get(flag.context)
    if not value or flag.status != "enabled":
        return None
    testers = (flag.ruleset.get("test") or {}).get("users") or {}
    distinct_id = context.get("distinct_id")
    if distinct_id and isinstance(distinct_id, str) and distinct_id in testers:
        variant = _variant_named(flag, testers[distinct_id])
        if variant is not None:
            return _chosen(flag, variant, qa=True)
    rollout = _rollout_of(flag, str(value), context)
    if rollout is None:
        return None
    override = rollout.get("variant_override")
    if override:
        variant = _variant_named(flag, override["key"])
        if variant is not None:
            return _chosen(flag, variant, qa=False)
    return _chosen(flag, _split_variant(flag, str(value), rollout), qa=False)


def remote(flags: list[Flag], context: dict[str, Any], flag_key: str | None) -> dict[str, Any]:
    """``/flags``: the variant of every enabled flag (or just ``flag_key``) the context is in."""
    chosen: dict[str, Any] = {}
    for flag in flags:
        if flag_key is not None and flag.key != flag_key:
            continue
        variant = select_variant(flag, context)
        if variant is not None:
            chosen[flag.key] = variant
    return {"code": 200, "flags": chosen}
