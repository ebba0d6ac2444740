"""Time helpers shared by ingestion and queries (pure, no I/O)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

#: 1971-01-01T00:00:00Z: the earliest event time Mixpanel accepts.
MIN_EVENT_TIME_MS = 31_536_000_000
#: Seconds values of any valid date are below 1e10; a value of 1e11 or more is in milliseconds.
MS_THRESHOLD = 1e11


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def computed_at() -> str:
    """The ``computed_at`` of a Query API answer: now, ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


def event_time_to_ms(value: object) -> int | None:
    """A Mixpanel ``time`` (seconds or milliseconds, int or float, or a numeric string) in ms; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        return None
    if number >= MS_THRESHOLD:
        return int(number)
    return round(number * 1000)


def ms_to_iso(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` in UTC, the profile date format Mixpanel returns."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def ms_to_ch(ms: int) -> str:
    """A DateTime64(3) value for JSONEachRow input: seconds with a 3-digit fraction, as a string.

    The seconds are zero-padded to 10 digits: ClickHouse reads a shorter all-digit value (any time before
    1973-03-03, e.g. 1971 imports or a profile ``$time`` of 0) as a ``YYYYMMDD``-style date and rejects the insert.
    """
    return f"{ms // 1000:010d}.{ms % 1000:03d}"
