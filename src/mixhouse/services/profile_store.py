"""Current user and group profiles: the fold of stored operations, kept in memory by the one owning process.

On first use for a project the operations are replayed from storage in ingestion order; afterwards each durable
batch is applied as it commits. Reads take a snapshot under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import orjson

from mixhouse.ingest.profiles import apply_ops
from mixhouse.storage.base import Backend
from mixhouse.storage.schema import PROFILE_OPS_TABLE

ProfileKey = tuple[str, str]  # (group_key, distinct_id); group_key "" for users
Profiles = dict[ProfileKey, dict[str, Any]]

_REPLAY_SQL = f"""
SELECT group_key, distinct_id, toUnixTimestamp64Milli(time) AS time_ms, seq, op
FROM {PROFILE_OPS_TABLE}
WHERE project_id = {{project_id:UInt32}}
ORDER BY seq
"""


class ProfileStore:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._projects: dict[int, Profiles] = {}
        self._loaded_seq: dict[int, int] = {}
        self._lock = threading.RLock()

    def _profiles(self, project_id: int) -> Profiles:
        profiles = self._projects.get(project_id)
        if profiles is None:
            profiles = {}
            max_seq = 0
            for chunk in self._backend.stream_bytes(_REPLAY_SQL, {"project_id": project_id}):
                for line in chunk.splitlines():
                    if line:
                        row = orjson.loads(line)
                        max_seq = max(max_seq, int(row["seq"]))
                        self._fold(profiles, (row["group_key"], row["distinct_id"]), orjson.loads(row["op"]),
                                   int(row["time_ms"]))
            self._projects[project_id] = profiles
            self._loaded_seq[project_id] = max_seq
        return profiles

    @staticmethod
    def _fold(profiles: Profiles, key: ProfileKey, ops: dict[str, Any], time_ms: int) -> None:
        folded = apply_ops(profiles.get(key), ops, time_ms)
        if folded is None:
            profiles.pop(key, None)
        else:
            profiles[key] = folded

    def apply(self, project_id: int, updates: Iterable[tuple[ProfileKey, dict[str, Any], int, int]]) -> None:
        """Fold committed ``(key, ops, time_ms, seq)`` updates; ones the initial replay already saw are skipped."""
        with self._lock:
            profiles = self._projects.get(project_id)
            if profiles is None:
                return  # not loaded yet: the first read replays these operations from storage
            loaded = self._loaded_seq.get(project_id, 0)
            for key, ops, time_ms, seq in updates:
                if seq > loaded:
                    self._fold(profiles, key, ops, time_ms)

    def snapshot(self, project_id: int, group_key: str = "") -> list[tuple[str, dict[str, Any]]]:
        """All profiles of one kind, sorted by distinct id (stable pages)."""
        with self._lock:
            profiles = self._profiles(project_id)
            rows = [(did, props) for (gk, did), props in profiles.items() if gk == group_key]
        rows.sort(key=lambda row: row[0])
        return rows

    def get(self, project_id: int, distinct_id: str, group_key: str = "") -> dict[str, Any] | None:
        with self._lock:
            return self._profiles(project_id).get((group_key, distinct_id))
