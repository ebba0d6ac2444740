"""Write a small event log straight into the in-process storage (the property tests' fixtures): events as the
ingest path stores them, identity rows as merges leave them, and the same events as a client would have sent them
(for the brute-force references)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from mixhouse.core.timeutil import ms_to_ch
from mixhouse.storage.commit import IDENTITY_COLUMNS
from mixhouse.storage.schema import EVENT_COLUMNS, EVENTS_TABLE, IDENTITY_TABLE

_seq = itertools.count(40_000_000)
#: Project ids for tests that write into the session's shared in-process backend: one counter for every module, so
#: no two tests ever share a project (each module used to count from its own start, and two starts collided).
_project_ids = itertools.count(1_000_000)


def fresh_project_id() -> int:
    """A project id no other test of this session uses on the shared backend."""
    return next(_project_ids)


def write_log(backend: Any, pid: int, log: list[tuple[str, str, int, str, dict[str, Any]]],
              merged: dict[str, str]) -> list[dict[str, Any]]:
    """Store ``log`` ((distinct id, event, time ms, insert id, properties)) and ``merged`` (id → canonical) under
    project ``pid``; return the events as sent."""
    rows, sent = [], []
    for user, name, ms, insert_id, props in log:
        rows.append(orjson.dumps({"project_id": pid, "time": ms_to_ch(ms), "event": name, "distinct_id": user,
                                  "insert_id": insert_id, "seq": next(_seq), "properties": props}))
        sent.append({"event": name, "properties": {"time": ms, "distinct_id": user, "$insert_id": insert_id,
                                                   **props}})
    backend.insert_rows(EVENTS_TABLE, EVENT_COLUMNS, b"\n".join(rows) + b"\n")
    if merged:
        identity = [orjson.dumps({"project_id": pid, "id": raw, "canonical": canonical, "seq": next(_seq)})
                    for raw, canonical in merged.items()]
        backend.insert_rows(IDENTITY_TABLE, IDENTITY_COLUMNS, b"\n".join(identity) + b"\n")
    return sent
