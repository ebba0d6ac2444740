"""Group commit into the write-ahead log, and the flusher that moves the log into ClickHouse.

Requests hand a ``WriteBatch`` to ``GroupCommitter.submit`` and wait on the returned future. A writer thread takes
whatever has queued up while its previous append ran (up to ``max_rows``), appends it to the write-ahead log as one
frame, applies the in-memory updates and resolves the futures: an acknowledged record is in the log's file.

A flusher thread inserts the log into ClickHouse a segment at a time (identity rows, then profile operations, then
events; one insert per table) once the segment is old or large enough, or at once when a reader asks for
read-after-write (``sync``), and then deletes the segment. At start, ``recover`` inserts the segments a previous
process left behind; the segment's name is the insert's deduplication token, so a segment whose insert had already
landed is not stored twice (docs/decisions/0017-write-ahead-log-before-clickhouse.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from mixhouse.errors import RateLimitError, StorageError
from mixhouse.storage.base import Backend
from mixhouse.storage.schema import (
    EVENT_COLUMNS,
    EVENT_ROW_FORMAT,
    EVENTS_TABLE,
    IDENTITY_TABLE,
    PROFILE_OPS_TABLE,
)
from mixhouse.storage.wal import Segment, SegmentRows, leftover_segments

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


#: Attempts at inserting a segment before it is set aside (renamed ``*.failed``) so that later ones can flow.
FLUSH_ATTEMPTS = 5


class GroupCommitter:
    def __init__(
        self,
        backend: Backend,
        wal_dir: Path,
        *,
        fsync: bool = False,
        max_rows: int = 50_000,
        max_pending_rows: int = 400_000,
        gather_ms: float = 0.0,
        flush_ms: float = 1000.0,
        flush_rows: int = 100_000,
        retry_delay_s: float = 0.1,
    ) -> None:
        self._backend = backend
        self._wal_dir = wal_dir
        self._fsync = fsync
        self._max_rows = max_rows
        self._gather_s = gather_ms / 1000
        self._flush_s = flush_ms / 1000
        self._flush_rows = flush_rows
        self._retry_delay_s = retry_delay_s
        self._max_pending = max_pending_rows
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._queue: queue.Queue[object] = queue.Queue()
        self._writer = threading.Thread(target=self._run, name="mixhouse-commit", daemon=True)
        self._flusher = threading.Thread(target=self._flush_loop, name="mixhouse-flush", daemon=True)
        # guards the open segment and the frame counters below
        self._state = threading.Condition()
        self._segment: Segment | None = None
        self._appended = 0  # frames written to the log
        self._flushed = 0  # frames whose rows are in ClickHouse
        self._sync_wanted = False
        self._draining = False
        self._started = False
        self._stopped = False

    def recover(self) -> int:
        """Insert what a previous process acknowledged but did not flush; call before ``start``. Returns rows."""
        rows = 0
        for name, segment_rows in leftover_segments(self._wal_dir):
            if self._insert_segment(name, segment_rows):  # else it was set aside as *.failed
                (self._wal_dir / f"{name}.wal").unlink()
                rows += sum(chunk.count(b"\n") for chunk in segment_rows.events)
        if rows:
            log.info("write-ahead log: recovered %d events not yet in ClickHouse", rows)
        return rows

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._writer.start()
            self._flusher.start()

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
        """Raise ``RateLimitError`` while ClickHouse is too far behind the log (backpressure before accepting work)."""
        if self._pending > self._max_pending:
            raise RateLimitError(
                "Project exceeded rate limits. Please retry the request with exponential backoff.", retry_after=1.0
            )

    def sync(self, timeout: float = 120.0) -> None:
        """Return once every record acknowledged so far is in ClickHouse (read-after-write for queries)."""
        with self._state:
            target = self._appended
            if self._flushed >= target:
                return
            self._sync_wanted = True
            self._state.notify_all()
            if not self._state.wait_for(lambda: self._flushed >= target, timeout):
                raise StorageError("timed out waiting for acknowledged rows to reach storage")

    def stop(self) -> None:
        """Log everything already submitted, flush the log into ClickHouse, then stop both threads."""
        if self._started and not self._stopped:
            self._stopped = True
            self._queue.put(_STOP)
            self._writer.join()
            with self._state:
                self._draining = True
                self._state.notify_all()
            self._flusher.join()

    # -- the writer: group commit into the log ----------------------------------------------------------------
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
        events = b"".join(line for batch, _ in group for line in batch.events)
        identity = b"".join(line for batch, _ in group for line in batch.identity)
        profile_ops = b"".join(line for batch, _ in group for line in batch.profile_ops)
        try:
            with self._state:
                if self._segment is None:
                    self._segment = Segment(self._wal_dir, fsync=self._fsync)
                self._segment.append(events, identity, profile_ops, size, self._appended + 1)
                self._appended += 1
                if self._segment.row_count >= self._flush_rows:
                    self._state.notify_all()
        except Exception as exc:
            log.error("write-ahead log append of %d requests failed: %s", len(group), exc)
            error = exc if isinstance(exc, StorageError) else StorageError(f"commit failed: {exc}")
            for batch, future in group:
                if batch.on_failure is not None:
                    batch.on_failure()
                future.set_exception(error)
            self._release(size)
            return
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

    # -- the flusher: the log into ClickHouse -----------------------------------------------------------------
    def _next_segment(self) -> Segment | None:
        """Wait until the open segment is due (old, large, asked for, or the server is stopping) and take it."""
        with self._state:
            while True:
                segment = self._segment
                now = time.monotonic()
                if segment is not None and (
                    self._draining
                    or self._sync_wanted
                    or segment.row_count >= self._flush_rows
                    or now - segment.opened >= self._flush_s
                ):
                    self._segment = None
                    self._sync_wanted = False
                    return segment
                if segment is None and self._draining:
                    return None
                self._state.wait(None if segment is None else segment.opened + self._flush_s - now)

    def _flush_loop(self) -> None:
        while (segment := self._next_segment()) is not None:
            segment.close()
            if self._insert_segment(segment.name, segment.rows):
                segment.remove()
            with self._state:
                self._flushed = segment.last_frame
                self._state.notify_all()
            self._release(segment.row_count)

    def _insert_segment(self, name: str, rows: SegmentRows) -> bool:
        """Insert one segment's rows, retrying; False (and the file set aside) if ClickHouse keeps refusing them."""
        delay = self._retry_delay_s
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                self._insert(IDENTITY_TABLE, IDENTITY_COLUMNS, rows.identity, "JSONEachRow", name)
                self._insert(PROFILE_OPS_TABLE, PROFILE_OP_COLUMNS, rows.profile_ops, "JSONEachRow", name)
                self._insert(EVENTS_TABLE, EVENT_COLUMNS, rows.events, EVENT_ROW_FORMAT, name)
                return True
            except Exception as exc:
                log.error("flush of log segment %s failed (attempt %d): %s", name, attempt, exc)
                if attempt < FLUSH_ATTEMPTS:
                    time.sleep(delay)
                    delay = min(delay * 4, 5.0)
        path = self._wal_dir / f"{name}.wal"
        if path.exists():
            path.rename(path.with_suffix(".failed"))
        log.error("log segment %s set aside as %s.failed after %d attempts", name, name, FLUSH_ATTEMPTS)
        return False

    def _insert(self, table: str, columns: tuple[str, ...], chunks: list[bytes], fmt: str, token: str) -> None:
        if chunks:
            self._backend.insert_rows(table, columns, b"".join(chunks), fmt, dedup_token=token)
