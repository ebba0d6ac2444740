"""The storage backend protocol: what services need from ClickHouse, whatever the transport."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol


class Backend(Protocol):
    """A ClickHouse-speaking store. SQL is ClickHouse SQL; every value arrives as a bound parameter."""

    def migrate(self) -> None:
        """Create or upgrade the tables (idempotent)."""

    def insert_rows(
        self, table: str, columns: tuple[str, ...], rows: bytes, fmt: str = "JSONEachRow", *, dedup_token: str = ""
    ) -> None:
        """Append ``rows`` (lines in input format ``fmt``) to ``table``; returns once the rows are in its files.

        A second insert with the same non-empty ``dedup_token`` into the same table stores nothing (replays)."""

    def query_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows as dicts."""

    def stream_bytes(
        self, sql: str, params: Mapping[str, Any] | None = None, fmt: str = "JSONEachRow"
    ) -> Iterator[bytes]:
        """Run a query and yield its output in ``fmt`` chunk by chunk."""

    def close(self) -> None:
        """Release sessions and locks."""
