"""Read-after-write over the write-ahead log: a backend whose reads first wait for acknowledged rows to land.

Acknowledged records sit in the write-ahead log until the flusher inserts them (docs/decisions/0017). Queries go
through this wrapper, so a read that starts after a request was acknowledged sees that request's rows; when nothing
is waiting in the log the check is one comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mixhouse.storage.base import Backend


class ReadAfterWrite:
    """``backend`` for readers: ``sync()`` before every query; inserts go straight through."""

    def __init__(self, backend: Backend, sync: Callable[[], None]) -> None:
        self._backend = backend
        self._sync = sync

    def migrate(self) -> None:
        self._backend.migrate()

    def insert_rows(
        self, table: str, columns: tuple[str, ...], rows: bytes, fmt: str = "JSONEachRow", *, dedup_token: str = ""
    ) -> None:
        self._backend.insert_rows(table, columns, rows, fmt, dedup_token=dedup_token)

    def query_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self._sync()
        return self._backend.query_rows(sql, params)

    def stream_bytes(
        self, sql: str, params: Mapping[str, Any] | None = None, fmt: str = "JSONEachRow"
    ) -> Iterator[bytes]:
        self._sync()
        return self._backend.stream_bytes(sql, params, fmt)

    def close(self) -> None:
        self._backend.close()
