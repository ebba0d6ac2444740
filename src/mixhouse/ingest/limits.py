"""Mixpanel's ingestion limits (spec §2.3, §3.4)."""

from __future__ import annotations

MAX_STRING_CHARS = 255
MAX_PROPERTY_NAME_CHARS = 255
MAX_PROPERTIES = 255
MAX_LIST_ITEMS = 255
MAX_NESTED_KEYS = 255
MAX_NESTING_DEPTH = 3
MAX_EVENT_BYTES = 1024 * 1024
MAX_INSERT_ID_BYTES = 36
TRACK_MAX_AGE_MS = 5 * 24 * 3600 * 1000
FUTURE_CLAMP_MS = 3600 * 1000

FORBIDDEN_IDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "anon",
        "anonymous",
        "nil",
        "none",
        "null",
        "n/a",
        "na",
        "undefined",
        "unknown",
        "<nil>",
        "0",
        "-1",
        "true",
        "false",
        "[]",
        "{}",
    }
)


def is_forbidden_id(value: str) -> bool:
    return value.strip().lower() in FORBIDDEN_IDS
