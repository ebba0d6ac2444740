"""Validate profile updates and fold them into profile state (spec §2.4, §2.5).

An update is stored as the normalised operation object; the current profile is the fold of its operations in
ingestion order. Within one update the operations apply in the order the spec chooses:
``$delete`` (alone) → ``$set_once`` → ``$set`` → ``$add`` → ``$union`` → ``$append`` → ``$remove`` → ``$unset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.core.timeutil import event_time_to_ms, ms_to_iso
from mixhouse.ingest import limits
from mixhouse.ingest.events import RecordError, sanitize_properties

USER_OPERATIONS = ("$set_once", "$set", "$add", "$union", "$append", "$remove", "$unset")
GROUP_OPERATIONS = ("$set_once", "$set", "$union", "$remove", "$unset")
MAX_PROFILE_PROPERTIES = 2000
_CREATING = frozenset({"$set", "$set_once", "$add", "$union", "$append"})


@dataclass(slots=True)
class ProfileUpdate:
    token: str | None
    group_key: str  # "" for user profiles
    distinct_id: str  # the user's distinct id, or the group id
    time_ms: int
    ops: dict[str, Any]  # normalised operations, plus "$delete" and "$ignore_time" flags
    ip: str | None
    geo_disabled: bool


def _id(value: Any, field: str) -> str:
    if isinstance(value, str) and value:
        return value[: limits.MAX_STRING_CHARS]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    raise RecordError(field, f"'{field}' is invalid: must be a non-empty string")


def _op_value(op: str, value: Any) -> Any:
    if op == "$unset":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RecordError(op, f"'{op}' is invalid: must be a list of property names")
        return [v[: limits.MAX_PROPERTY_NAME_CHARS] for v in value]
    if not isinstance(value, dict):
        raise RecordError(op, f"'{op}' is invalid: must be an object of properties")
    clean = sanitize_properties(value, op)
    if op == "$add":
        for key, number in clean.items():
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise RecordError(f"{op}.{key}", f"'{op}.{key}' is invalid: $add takes numbers")
    if op == "$union":
        clean = {k: (v if isinstance(v, list) else [v]) for k, v in clean.items()}
    return clean


def normalize_update(raw: Any, *, group: bool, now_ms: int) -> ProfileUpdate:
    """Validate one ``/engage`` (``group=False``) or ``/groups`` update object."""
    if not isinstance(raw, dict):
        raise RecordError("update", "each update must be a JSON object")
    if group:
        group_key = raw.get("$group_key")
        if not isinstance(group_key, str) or not group_key:
            raise RecordError("$group_key", "'$group_key' is required")
        distinct_id = _id(raw.get("$group_id"), "$group_id")
        allowed: tuple[str, ...] = GROUP_OPERATIONS
    else:
        group_key = ""
        distinct_id = _id(raw.get("$distinct_id", raw.get("distinct_id")), "$distinct_id")
        allowed = USER_OPERATIONS
    ops: dict[str, Any] = {}
    for op in allowed:
        if op in raw:
            ops[op] = _op_value(op, raw[op])
    if "$delete" in raw:
        ops = {"$delete": True}
    unknown = [k for k in ("$add", "$append") if group and k in raw]
    if unknown:
        raise RecordError(unknown[0], f"'{unknown[0]}' is not supported for group profiles")
    if not ops:
        raise RecordError("operation", "the update names no operation ($set, $set_once, $add, ...)")
    if raw.get("$ignore_time") is True:
        ops["$ignore_time"] = True
    if raw.get("$ignore_alias") is True:
        ops["$ignore_alias"] = True
    time_ms = now_ms
    if "$time" in raw:
        parsed = event_time_to_ms(raw["$time"])
        if parsed is None:
            raise RecordError("$time", "'$time' is invalid: must be seconds or milliseconds since epoch")
        time_ms = min(parsed, now_ms + limits.FUTURE_CLAMP_MS)
    ip_value = raw.get("$ip")
    geo_disabled = ip_value in (0, "0")
    token = raw.get("$token")
    return ProfileUpdate(
        token=token if isinstance(token, str) else None,
        group_key=group_key,
        distinct_id=distinct_id,
        time_ms=time_ms,
        ops=ops,
        ip=ip_value if isinstance(ip_value, str) and not geo_disabled else None,
        geo_disabled=geo_disabled,
    )


def _as_number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


#: Integers outside this range cannot be serialised as JSON numbers by orjson (signed 64-bit .. unsigned 64-bit).
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _in_json_range(value: float | int) -> float | int:
    """A ``$add`` result that stays serialisable: integers beyond 64 bits become floats, as JSON decoding makes them."""
    if isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        return float(value)
    return value


def apply_ops(profile: dict[str, Any] | None, ops: dict[str, Any], time_ms: int) -> dict[str, Any] | None:
    """Fold one normalised update into a profile's properties; ``None`` means no profile."""
    if ops.get("$delete"):
        return None
    if profile is None and not _CREATING.intersection(ops):
        return None
    props = dict(profile) if profile is not None else {}
    for key, value in ops.get("$set_once", {}).items():
        props.setdefault(key, value)
    props.update(ops.get("$set", {}))
    for key, delta in ops.get("$add", {}).items():
        current = props.get(key, 0)
        number = _as_number(current)
        if number is not None:
            props[key] = _in_json_range(number + delta)
    for key, values in ops.get("$union", {}).items():
        current = props.get(key)
        items = list(current) if isinstance(current, list) else ([] if current is None else [current])
        for value in values:
            if value not in items:
                items.append(value)
        props[key] = items
    for key, value in ops.get("$append", {}).items():
        current = props.get(key)
        items = list(current) if isinstance(current, list) else ([] if current is None else [current])
        items.append(value)
        props[key] = items
    for key, value in ops.get("$remove", {}).items():
        current = props.get(key)
        if isinstance(current, list):
            props[key] = [item for item in current if item != value]
    for key in ops.get("$unset", []):
        props.pop(key, None)
    if not ops.get("$ignore_time"):
        props["$last_seen"] = ms_to_iso(time_ms)
    if len(props) > MAX_PROFILE_PROPERTIES:
        return profile
    return props
