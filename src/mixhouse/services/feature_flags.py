"""Feature flags over the App API: validation of bodies and rulesets, and the JSON Mixpanel answers with.

A ruleset is ``{"variants": [...], "rollout": [...], "test": {"users": {distinct_id: variant_key}}}``. Variants are
``{key, value, is_control, split}`` with distinct keys; their splits sum to 1 (or to 100, stored divided by 100).
A rollout is ``{rollout_percentage (0..1), variant_override?: {key}, variant_splits?: {variant_key: split},
runtime_evaluation_rule? (JsonLogic), runtime_evaluation_definition? ({property: value})}``. Rulesets are stored
normalised (every variant with all four fields), so the SDKs' parsers always accept what ``/flags/definitions``
serves. Other keys are kept as sent.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from mixhouse.errors import ValidationError
from mixhouse.meta.feature_flags import Flag, FlagChange
from mixhouse.services.flag_rules import check_rule

STATUSES = ("enabled", "disabled", "archived")
SERVING_METHODS = ("client", "server", "remote_or_local", "remote_only")
REPLACE_REQUIRED = ("name", "key", "status", "ruleset")
DEFAULT_CONTEXT = "distinct_id"
HISTORY_PAGE_SIZE = 50
HISTORY_MAX_PAGE_SIZE = 1000
_TOLERANCE = 1e-6


def _text(value: Any, what: str, *, spaces: bool = True) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise ValidationError(f"{what} must be 1 to 255 characters")
    if not spaces and any(ch.isspace() for ch in value):
        raise ValidationError(f"{what} must not contain spaces")
    return value


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValidationError(f"{what} must be a number of at least 0")
    return float(value)


def _splits_scale(total: float, what: str) -> float:
    """1 for fractions summing to 1, 0.01 for percentages summing to 100; otherwise a 400."""
    if abs(total - 1) <= _TOLERANCE:
        return 1.0
    if abs(total - 100) <= _TOLERANCE * 100:
        return 0.01
    raise ValidationError(f"{what} must sum to 1 (or 100), not {total:g}")


def _variants(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ValidationError("ruleset.variants must be a list")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise ValidationError("each variant must be an object with a key")
        key = _text(item.get("key"), "variant key")
        if key.casefold() in seen:
            raise ValidationError(f"variant key {key!r} is used twice")
        seen.add(key.casefold())
        if not isinstance(item.get("is_control", False), bool):
            raise ValidationError(f"variant {key!r}: is_control must be true or false")
        out.append({**item, "key": key, "value": item.get("value"), "is_control": item.get("is_control", False),
                    "split": _number(item.get("split", 0), f"variant {key!r} split")})
    if out:
        scale = _splits_scale(sum(v["split"] for v in out), "variant splits")
        for variant in out:
            variant["split"] *= scale
    return out


def _variant_key(key: Any, variants: list[dict[str, Any]], what: str) -> str:
    for variant in variants:
        if isinstance(key, str) and variant["key"].casefold() == key.casefold():
            return str(variant["key"])
    raise ValidationError(f"{what} names no variant of this flag: {key!r}")


def _rollout(item: Any, variants: list[dict[str, Any]], index: int) -> dict[str, Any]:
    what = f"rollout[{index}]"
    if not isinstance(item, dict):
        raise ValidationError(f"{what} must be an object with a rollout_percentage")
    percentage = item.get("rollout_percentage")
    if isinstance(percentage, bool) or not isinstance(percentage, int | float) or not 0 <= percentage <= 1:
        raise ValidationError(f"{what}.rollout_percentage must be a number from 0 to 1")
    out = {**item, "rollout_percentage": float(percentage)}
    override = item.get("variant_override")
    if override is not None:
        if not isinstance(override, dict):
            raise ValidationError(f"{what}.variant_override must be {{\"key\": variant key}}")
        out["variant_override"] = {"key": _variant_key(override.get("key"), variants, f"{what}.variant_override")}
    splits = item.get("variant_splits")
    if splits is not None:
        if not isinstance(splits, dict):
            raise ValidationError(f"{what}.variant_splits must map variant keys to splits")
        exact = {str(v["key"]) for v in variants}
        numbers = {key: _number(value, f"{what}.variant_splits[{key!r}]") for key, value in splits.items()}
        for key in numbers:
            if key not in exact:
                raise ValidationError(f"{what}.variant_splits names no variant of this flag: {key!r}")
        if numbers:
            scale = _splits_scale(sum(numbers.values()), f"{what}.variant_splits")
            out["variant_splits"] = {key: value * scale for key, value in numbers.items()}
    rule = item.get("runtime_evaluation_rule")
    if rule is not None:
        if not isinstance(rule, dict) or not rule:
            raise ValidationError(f"{what}.runtime_evaluation_rule must be a JsonLogic object")
        check_rule(rule)
    legacy = item.get("runtime_evaluation_definition")
    if legacy is not None and (not isinstance(legacy, dict)
                               or not all(isinstance(v, str) for v in legacy.values())):
        raise ValidationError(f"{what}.runtime_evaluation_definition must map property names to strings")
    return out


def ruleset(raw: Any) -> dict[str, Any]:
    """A checked, normalised ruleset (``None``: no variants and no rollout)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("ruleset must be an object with variants and rollout")
    variants = _variants(raw.get("variants", []))
    rollouts = raw.get("rollout", [])
    if not isinstance(rollouts, list):
        raise ValidationError("ruleset.rollout must be a list")
    if rollouts and not variants:
        raise ValidationError("a ruleset with a rollout needs at least one variant")
    out = {**raw, "variants": variants, "rollout": [_rollout(r, variants, i) for i, r in enumerate(rollouts)]}
    test = raw.get("test")
    if test is not None:
        users = test.get("users") if isinstance(test, dict) else None
        if not isinstance(users, dict):
            raise ValidationError("ruleset.test must be {\"users\": {distinct_id: variant key}}")
        out["test"] = {"users": {_text(user, "test user distinct_id"): _variant_key(key, variants, "ruleset.test")
                                 for user, key in users.items()}}
    return out


def fields(body: dict[str, Any], *, replacing: bool) -> dict[str, Any]:
    """The columns of a create (``name`` and ``key`` required) or a full replace (PUT: ``name``, ``key``,
    ``status`` and ``ruleset`` required; every other field back to its default when absent)."""
    required = REPLACE_REQUIRED if replacing else ("name", "key")
    for name in required:
        if name not in body:
            raise ValidationError(f"missing required field: {name}", details={"field": name})
    status = body.get("status") if replacing else body.get("status") or "disabled"
    if status not in (STATUSES if replacing else STATUSES[:2]):
        raise ValidationError(f"status must be one of {', '.join(STATUSES if replacing else STATUSES[:2])}")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ValidationError("description must be a string")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValidationError("tags must be a list of strings")
    serving = body.get("serving_method") or "client"
    if serving not in SERVING_METHODS:
        raise ValidationError(f"serving_method must be one of {', '.join(SERVING_METHODS)}")
    return {
        "name": _text(body.get("name"), "name"),
        "key": _text(body.get("key"), "key", spaces=False),
        "description": description,
        "status": status,
        "tags": tags,
        "context": _text(body.get("context") or DEFAULT_CONTEXT, "context", spaces=False),
        "serving_method": serving,
        "ruleset": ruleset(body.get("ruleset")),
    }


def copy_fields(flag: Flag, key: str) -> dict[str, Any]:
    """A duplicate of ``flag``: named "Copy of ...", under ``key``, disabled."""
    return {"name": f"Copy of {flag.name}"[:255], "key": _text(key, "key"), "description": flag.description,
            "status": "disabled", "tags": flag.tags, "context": flag.context, "serving_method": flag.serving_method,
            "ruleset": flag.ruleset}


def with_test_users(flag: Flag, body: dict[str, Any]) -> dict[str, Any]:
    """``flag``'s ruleset with its test users replaced by ``{"users": {variant_key: distinct_id or [ids]}}``."""
    users = body.get("users")
    if not isinstance(users, dict):
        raise ValidationError("users must map variant keys to a distinct_id (or a list of them)")
    variants = flag.ruleset.get("variants", [])
    testers: dict[str, str] = {}
    for variant, ids in users.items():
        key = _variant_key(variant, variants, "users")
        for distinct_id in ids if isinstance(ids, list) else [ids]:
            testers[_text(distinct_id, "test user distinct_id")] = key
    out = {k: v for k, v in flag.ruleset.items() if k != "test"}
    return {**out, "test": {"users": testers}} if testers else out


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def flag_json(flag: Flag, *, can_edit: bool) -> dict[str, Any]:
    return {
        "id": flag.id,
        "project_id": flag.project_id,
        "name": flag.name,
        "key": flag.key,
        "description": flag.description,
        "status": flag.status,
        "tags": flag.tags,
        "experiment_id": flag.experiment_id,
        "context": flag.context,
        "data_group_id": None,
        "serving_method": flag.serving_method,
        "ruleset": flag.ruleset,
        "hash_salt": flag.hash_salt,
        "workspace_id": flag.workspace_id,
        "content_type": None,
        "created": _moment(flag.created_at),
        "modified": _moment(flag.modified_at),
        "enabled_at": _moment(flag.enabled_at),
        "deleted": None,
        "creator_id": flag.creator_id,
        "creator_name": flag.creator_name,
        "creator_email": None,
        "last_modified_by_id": flag.last_modified_by_id,
        "last_modified_by_name": flag.last_modified_by_name,
        "last_modified_by_email": None,
        "is_favorited": False,
        "pinned_date": None,
        "can_edit": can_edit,
    }


def history_page(params: dict[str, str]) -> tuple[int, int]:
    """``(offset, limit)`` from ``page`` (1-based) and ``page_size``."""
    try:
        page = int(params.get("page") or 1)
        size = int(params.get("page_size") or HISTORY_PAGE_SIZE)
    except ValueError:
        raise ValidationError("page and page_size must be integers") from None
    if page < 1 or not 1 <= size <= HISTORY_MAX_PAGE_SIZE:
        raise ValidationError(f"page must be at least 1 and page_size 1 to {HISTORY_MAX_PAGE_SIZE}")
    return (page - 1) * size, size


def history_json(changes: list[FlagChange], total: int) -> dict[str, Any]:
    """``{"events": [[seq, action, timestamp, actor_id, actor_name], ...], "count": total}``, oldest first."""
    return {"events": [[c.seq, c.action, _moment(c.created_at), c.actor_id, c.actor_name] for c in changes],
            "count": total}


def limits_json(limit: int, usage: int) -> dict[str, Any]:
    return {"limit": limit, "is_trial": False, "current_usage": usage, "contract_status": "active"}
