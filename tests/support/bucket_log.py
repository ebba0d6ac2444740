"""The hand-made log the numeric-bucket tests share: ``Pay`` events whose ``amount`` sits on, below, above and
between bucket edges (or is no number at all), each followed a minute later by ``Next``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

TODAY = datetime.now(UTC).date()
D1, D2 = TODAY - timedelta(days=10), TODAY - timedelta(days=9)


def at(day: date, hour: int) -> int:
    """``hour`` o'clock UTC on ``day``, in ms."""
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp() * 1000)


#: (user, day, hour, amount) of each Pay — ``None``: no amount at all.
PAYS: list[tuple[str, date, int, Any]] = [
    ("u1", D1, 1, 0), ("u1", D1, 2, 5), ("u1", D1, 3, 9.99), ("u1", D1, 4, 10), ("u1", D1, 5, -3),
    ("u2", D1, 6, 19.99), ("u2", D1, 7, 20), ("u2", D1, 8, 25), ("u2", D1, 9, "abc"),
    ("u2", D2, 1, True), ("u3", D2, 2, None), ("u3", D2, 3, "15"), ("u3", D2, 4, [3, 12, 14]),
    ("u3", D2, 5, -5), ("u1", D2, 6, -10), ("u3", D2, 7, 0.3),
]


def pay_events(prefix: str) -> list[dict[str, Any]]:
    """Each Pay of ``PAYS`` (insert ids ``{prefix}{n}``) and its Next a minute later."""
    sent = [{"event": "Pay", "properties": {"distinct_id": user, "time": at(day, hour), "$insert_id": f"{prefix}{n}",
                                            **({} if amount is None else {"amount": amount})}}
            for n, (user, day, hour, amount) in enumerate(PAYS)]
    sent += [{"event": "Next", "properties": {"distinct_id": user, "time": at(day, hour) + 60_000,
                                             "$insert_id": f"n{n}"}}
             for n, (user, day, hour, _) in enumerate(PAYS)]
    return sent
