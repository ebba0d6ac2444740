"""Per-project identity state, loaded from storage on first use and kept current by the ingest service."""

from __future__ import annotations

import threading

from mixhouse.ingest.identity import IdentityState
from mixhouse.storage.base import Backend
from mixhouse.storage.schema import IDENTITY_TABLE

CANONICAL_MAP_SQL = f"""
SELECT id, argMax(canonical, seq) AS canonical
FROM {IDENTITY_TABLE}
WHERE project_id = {{project_id:UInt32}}
GROUP BY id
"""


class IdentityRegistry:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._states: dict[int, IdentityState] = {}
        self._lock = threading.Lock()

    def state(self, project_id: int, mode: str) -> IdentityState:
        state = self._states.get(project_id)
        if state is None:
            with self._lock:
                state = self._states.get(project_id)
                if state is None:
                    state = self._load(project_id, mode)
                    self._states[project_id] = state
        state.mode = mode
        return state

    def reload(self, project_id: int) -> None:
        with self._lock:
            self._states.pop(project_id, None)

    def _load(self, project_id: int, mode: str) -> IdentityState:
        state = IdentityState(mode=mode)
        rows = self._backend.query_rows(CANONICAL_MAP_SQL, {"project_id": project_id})
        state.apply((row["id"], row["canonical"]) for row in rows)
        return state
