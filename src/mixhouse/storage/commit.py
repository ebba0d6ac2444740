"""Group commit: many requests, one insert per table, then every request in the group is acknowledged.

Requests hand a ``WriteBatch`` to ``GroupCommitter.submit`` and wait on the returned future. A single writer thread
takes whatever has queued up while the previous insert ran (up to ``max_rows``), inserts identity rows, then
profile operations, then events, and only then resolves the futures: an acknowledged record is on disk.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from mixhouse.errors import RateLimitError, StorageError
from mixhouse.storage.base import Backend
from mixhouse.storage.schema import (
    EVENT_COLUMNS,
    EVENT_ROW_FORMAT,
    EVENTS_TABLE,
    IDENTITY_TABLE,
    PROFILE_OPS_TABLE,
)

log = logging.getLogger("mixhouse.commit")

IDENTITY_COLUMNS = ("project_id", "id", "canonical", "seq")
PROFILE_OP_COLUMNS = ("project_id", "group_key", "distinct_id", "seq", "time", "op")


@dataclass
class WriteBatch:
    """Rows for each table (events as ``EVENT_ROW_FORMAT`` lines, the others JSONEachRow; each line ends in a
    newline, or one item holds many lines), and what to do once they are durable."""

    events: list[bytes] = field(default_factory=list)
    identity: list[bytes] = field(default_factory=list)
    profile_ops: list[bytes] = field(default_factory=list)
    on_commit: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    #: Rows in ``events`` when its items are joined blobs of many lines rather than one line each.
    event_rows: int | None = None

    def size(self) -> int:
        events = len(self.events) if self.event_rows is None else self.event_rows
        return events + len(self.identity) + len(self.profile_ops)


class SeqAllocator:
    """Monotonic 64-bit ingestion sequence numbers: microseconds since the epoch, never repeating."""

    def __init__(self, floor: int = 0) -> None:
        self._last = floor
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        """Reserve ``count`` numbers; returns the first."""
        with self._lock:
            start = max(self._last + 1, time.time_ns() // 1000)
            self._last = start + count - 1
            return start


_STOP = object()


class GroupCommitter:
    def __init__(
        self, backend: Backend, *, max_rows: int = 50_000, max_pending_rows: int = 400_000, gather_ms: float = 0.0
    ) -> None:
        self._backend = backend
        self._max_rows = max_rows
        self._gather_s = gather_ms / 1000
        self._max_pending = max_pending_rows
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mixhouse-commit", daemon=True)
        self._started = False
        self._stopped = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def submit(self, batch: WriteBatch) -> Future[None]:
        future: Future[None] = Future()
        if self._stopped:
            future.set_exception(StorageError("the server is shutting down"))
            return future
        with self._pending_lock:
            self._pending += batch.size()
        self._queue.put((batch, future))
        return future

    def check_capacity(self) -> None:
        """Raise ``RateLimitError`` while the writer is too far behind (backpressure before accepting work)."""
        if self._pending > self._max_pending:
            raise RateLimitError(
                "Project exceeded rate limits. Please retry the request with exponential backoff.", retry_after=1.0
            )

    def stop(self) -> None:
        """Commit everything already submitted, then stop the writer thread."""
        if self._started and not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            group = [item]
            rows = item[0].size()  # type: ignore[index]
            stop = False
            deadline = time.monotonic() + self._gather_s
            while rows < self._max_rows:
                try:
                    wait = deadline - time.monotonic()
                    nxt = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                group.append(nxt)
                rows += nxt[0].size()  # type: ignore[index]
            self._commit(group)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, group: list[tuple[WriteBatch, Future[None]]]) -> None:
        size = sum(batch.size() for batch, _ in group)
        try:
            self._insert(IDENTITY_TABLE, IDENTITY_COLUMNS, [b.identity for b, _ in group], "JSONEachRow")
            self._insert(PROFILE_OPS_TABLE, PROFILE_OP_COLUMNS, [b.profile_ops for b, _ in group], "JSONEachRow")
            self._insert(EVENTS_TABLE, EVENT_COLUMNS, [b.events for b, _ in group], EVENT_ROW_FORMAT)
        except Exception as exc:
            log.error("commit of %d requests failed: %s", len(group), exc)
            error = exc if isinstance(exc, StorageError) else StorageError(f"commit failed: {exc}")
            for batch, future in group:
                if batch.on_failure is not None:
                    batch.on_failure()
                future.set_exception(error)
            self._release(size)
            return
        self._release(size)
        for batch, future in group:
            try:
                if batch.on_commit is not None:
                    batch.on_commit()
            except Exception:  # the rows are durable; a failed in-memory update must not stop the writer
                log.exception("post-commit update failed")
            finally:
                future.set_result(None)

    def _release(self, size: int) -> None:
        with self._pending_lock:
            self._pending -= size

    def _insert(self, table: str, columns: tuple[str, ...], parts: list[list[bytes]], fmt: str) -> None:
        lines = [line for part in parts for line in part]
        if lines:
            self._backend.insert_rows(table, columns, b"".join(lines), fmt)
