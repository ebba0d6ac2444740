"""Validate and normalise one event record (spec §2.2, §2.3, §3).

``normalize_event`` turns a decoded ``{"event": ..., "properties": {...}}`` object into an ``EventRecord`` or raises
``RecordError`` naming the field, with Mixpanel's wording where it has one. Strings and property names are truncated,
never rejected; structure limits (list length, nesting depth, key counts) reject the record.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from mixhouse.core.timeutil import MIN_EVENT_TIME_MS, MS_THRESHOLD, event_time_to_ms
from mixhouse.ingest import limits

_BAD_TIME = "'properties.time' is invalid: must be specified as seconds since epoch"
_FUTURE_TIME = "'properties.time' is invalid: must not be more than 1 hour in the future"
INSERT_ID_PATTERN = re.compile(r"[A-Za-z0-9-]{1,36}")
_SCALARS = (int, float, bool, type(None))
_FLAT_TYPES = frozenset({str, int, float, bool, type(None)})
#: Properties never stored: routing and geolocation inputs.
_DROPPED = frozenset({"token", "ip"})
#: Identity events carry ids of their own and may omit ``time`` and ``distinct_id`` (spec §2.6).
IDENTITY_EVENTS = frozenset({"$identify", "$create_alias", "$merge"})
#: Properties lifted into their own columns.
_LIFTED = frozenset({"time", "$time", "distinct_id", "$distinct_id", "$insert_id"})


class RecordError(Exception):
    """One record failed validation; ``field`` is the dotted path Mixpanel reports."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class EventRules:
    """How strictly to validate: ``/track`` and ``/import`` differ (time window, required fields)."""

    endpoint: str  # "track" or "import"
    strict: bool
    now_ms: int


@dataclass(slots=True)
class EventRecord:
    token: str | None
    event: str
    time_ms: int
    distinct_id: str
    insert_id: str
    properties: dict[str, Any]
    ip: str | None
    geo_disabled: bool
    ignored: bool = False


def _sanitize(value: Any, path: str, depth: int) -> Any:
    """Truncate strings, check list and object limits, recursively."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= limits.MAX_STRING_CHARS else value[: limits.MAX_STRING_CHARS]
    if kind in _SCALARS:
        return value
    if kind is list:
        if len(value) >= limits.MAX_LIST_ITEMS:
            raise RecordError(path, f"'{path}' is invalid: lists must have fewer than {limits.MAX_LIST_ITEMS} items")
        return [_sanitize(item, path, depth + 1) for item in value]
    if kind is dict:
        if depth >= limits.MAX_NESTING_DEPTH:
            depth_limit = limits.MAX_NESTING_DEPTH
            raise RecordError(path, f"'{path}' is invalid: objects may be nested at most {depth_limit} deep")
        if len(value) >= limits.MAX_NESTED_KEYS:
            raise RecordError(path, f"'{path}' is invalid: objects must have fewer than {limits.MAX_NESTED_KEYS} keys")
        return {
            key[: limits.MAX_PROPERTY_NAME_CHARS]: _sanitize(item, f"{path}.{key}", depth + 1)
            for key, item in value.items()
        }
    raise RecordError(path, f"'{path}' is invalid: unsupported value type")


def values_fit(values: Any) -> bool:
    """True when no value needs changing: flat (or, at the top, a list of fewer than the limit of flat items), with
    no string over the limit (the common case of every event: one pass, each value's type looked up once)."""
    for value in values:  # one pass, strings (most values) tested first: ~30 % cheaper than set(map(type, ...))
        kind = type(value)
        if kind is str:
            if len(value) > limits.MAX_STRING_CHARS:
                return False
        elif kind is list:
            if len(value) >= limits.MAX_LIST_ITEMS or (value and not _flat_fits(value)):
                return False
        elif kind not in _FLAT_TYPES:
            return False
    return True


def _flat_fits(items: list[Any]) -> bool:
    if not set(map(type, items)) <= _FLAT_TYPES:
        return False
    for item in items:  # noqa: SIM110
        if type(item) is str and len(item) > limits.MAX_STRING_CHARS:
            return False
    return True


def _within_limits(props: dict[str, Any]) -> bool:
    """True when nothing needs changing: short names and ``values_fit``."""
    return not props or (max(map(len, props)) <= limits.MAX_PROPERTY_NAME_CHARS and values_fit(props.values()))


def sanitize_properties(props: dict[str, Any], prefix: str = "properties") -> dict[str, Any]:
    """``props`` within Mixpanel's limits: the same dict when nothing needs changing, else a cleaned copy."""
    if _within_limits(props):
        return props
    out: dict[str, Any] = {}
    for key, value in props.items():
        if len(key) > limits.MAX_PROPERTY_NAME_CHARS:
            key = key[: limits.MAX_PROPERTY_NAME_CHARS]
        kind = type(value)
        if kind is str:
            out[key] = value if len(value) <= limits.MAX_STRING_CHARS else value[: limits.MAX_STRING_CHARS]
        elif kind in _SCALARS:
            out[key] = value
        else:
            out[key] = _sanitize(value, f"{prefix}.{key}", 1)
    return out


def _identity_string(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    raise RecordError(field, f"'{field}' is invalid: must be a string")


def _is_truthy_ignore(value: Any) -> bool:
    if isinstance(value, str):
        return value != ""
    return bool(value) if isinstance(value, bool | int | float) else value is not None


def _time_ms(props: dict[str, Any], rules: EventRules, *, required: bool) -> int:
    raw = props.get("time", props.get("$time"))
    if raw is None:
        if required and rules.endpoint == "import":
            raise RecordError("properties.time", _BAD_TIME)
        return rules.now_ms
    ms = event_time_to_ms(raw)
    if ms is None or ms < MIN_EVENT_TIME_MS:
        raise RecordError("properties.time", _BAD_TIME)
    if ms > rules.now_ms:
        if ms - rules.now_ms > limits.FUTURE_CLAMP_MS:
            raise RecordError("properties.time", _FUTURE_TIME)
        ms = rules.now_ms
    if rules.endpoint == "track" and rules.now_ms - ms > limits.TRACK_MAX_AGE_MS:
        raise RecordError(
            "properties.time",
            "'properties.time' is invalid: /track only accepts events from the last 5 days; use /import",
        )
    return ms


def _insert_id(props: dict[str, Any], rules: EventRules, *, required: bool) -> str:
    raw = props.get("$insert_id")
    if raw is None:
        if required and rules.endpoint == "import" and rules.strict:
            raise RecordError("properties.$insert_id", "'properties.$insert_id' is required")
        return os.urandom(16).hex()
    text = raw if isinstance(raw, str) else str(raw)
    if not INSERT_ID_PATTERN.fullmatch(text) or limits.is_forbidden_id(text):
        if rules.strict:
            raise RecordError(
                "properties.$insert_id",
                "'properties.$insert_id' is invalid: must be at most 36 characters of [A-Za-z0-9-]",
            )
        return os.urandom(16).hex()
    return text


def _event_time(raw: Any, rules: EventRules, *, required: bool) -> int:
    """``time`` in ms, with the fast path for the plain numbers SDKs send."""
    kind = type(raw)
    if kind is float or kind is int:
        ms = int(raw) if raw >= MS_THRESHOLD else round(raw * 1000)
        if MIN_EVENT_TIME_MS <= ms <= rules.now_ms and (
            rules.endpoint != "track" or rules.now_ms - ms <= limits.TRACK_MAX_AGE_MS
        ):
            return ms
    return _time_ms({"time": raw}, rules, required=required)


def normalize_event(raw: Any, rules: EventRules) -> EventRecord:
    """Validate one decoded event object; raise ``RecordError`` when Mixpanel would reject it."""
    if type(raw) is not dict:
        raise RecordError("event", "event must be a JSON object")
    name = raw.get("event")
    if type(name) is not str or not name or name.isspace():
        raise RecordError("event", "'event' is invalid: must be a non-empty string")
    props = raw.get("properties", {})
    if type(props) is not dict:
        raise RecordError("properties", "'properties' is invalid: must be a JSON object")
    props = dict(props)  # ours to change: lifted and dropped keys are popped
    pop = props.pop
    token = pop("token", None)
    ip_value = pop("ip", None)
    raw_time = pop("time", None)
    alt_time = pop("$time", None)
    raw_id = pop("distinct_id", None)
    alt_id = pop("$distinct_id", None)
    raw_insert_id = pop("$insert_id", None)
    if raw_time is None:
        raw_time = alt_time
    if raw_id is None:
        raw_id = alt_id

    identity_event = name in IDENTITY_EVENTS
    if raw_id is None and identity_event:
        ids = props.get("$distinct_ids")
        raw_id = props.get("$identified_id") or (ids[0] if isinstance(ids, list) and ids else None)
    if type(raw_id) is str:
        distinct_id = raw_id
    elif raw_id is None:
        if rules.endpoint == "import" and not identity_event:
            raise RecordError("properties.distinct_id", "'properties.distinct_id' is required")
        distinct_id = ""
    else:
        distinct_id = _identity_string(raw_id, "properties.distinct_id")
    if distinct_id and limits.is_forbidden_id(distinct_id):
        raise RecordError(
            "properties.distinct_id", f"'properties.distinct_id' is invalid: {distinct_id!r} is not allowed as an id"
        )
    if raw_time is None:
        time_ms = _time_ms({}, rules, required=not identity_event)
    else:
        time_ms = _event_time(raw_time, rules, required=not identity_event)
    if (
        type(raw_insert_id) is str
        and INSERT_ID_PATTERN.fullmatch(raw_insert_id)
        and raw_insert_id.lower() not in limits.FORBIDDEN_IDS
    ):
        insert_id = raw_insert_id  # the common case, checked inline
    else:
        insert_id = _insert_id(
            {} if raw_insert_id is None else {"$insert_id": raw_insert_id}, rules, required=not identity_event
        )

    geo_disabled = ip_value == 0 or ip_value == "0"
    clean = sanitize_properties(props)
    if len(clean) > limits.MAX_PROPERTIES:
        raise RecordError("properties", f"'properties' is invalid: more than {limits.MAX_PROPERTIES} properties")
    return EventRecord(
        token if type(token) is str else None,
        name if len(name) <= limits.MAX_STRING_CHARS else name[: limits.MAX_STRING_CHARS],
        time_ms,
        distinct_id if len(distinct_id) <= limits.MAX_STRING_CHARS else distinct_id[: limits.MAX_STRING_CHARS],
        insert_id,
        clean,
        ip_value if type(ip_value) is str and not geo_disabled else None,
        geo_disabled,
        "$ignore" in props and _is_truthy_ignore(props["$ignore"]),
    )
