"""In-process ClickHouse (chDB) on a data directory: the default backend.

chDB holds one data directory per process. A session runs one query at a time, so the backend keeps one session
for the writer and one per reading thread (sessions on one path run in parallel). An exclusive lock file makes sure
only one process owns the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import chdb.session as chdb_session
import orjson

from mixhouse.errors import ConfigError, QueryError, StorageError
from mixhouse.storage.schema import (
    DDL,
    EVENTS_ENGINE,
    EVENTS_TABLE,
    EVENTS_TABLE_SETTINGS,
    HOT_PROPERTIES,
    TABLES,
    USER_PROJECTION,
    USER_PROJECTION_DDL,
    hot_column,
    hot_column_ddl,
    insert_settings,
    merge_tree_settings,
)

LOCK_NAME = "mixhouse.lock"
#: Longest SQL text a read may have (ClickHouse's ``max_query_size``, raised from its 256 KiB default so that a report
#: using a large custom-property formula in several places still parses); a longer one is refused up front.
MAX_QUERY_BYTES = 4 * 1024 * 1024


_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def _literal(value: Any) -> str:
    """A value in the text form ClickHouse parses for a ``{name:Type}`` parameter of a composite type."""
    if isinstance(value, str):
        return "'" + value.translate(_ESCAPES).replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_literal(key)}:{_literal(item)}" for key, item in value.items()) + "}"
    return str(value)


def bind_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Parameters as chDB takes them: strings in ClickHouse's escaped text form, arrays as their literal text."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, list | tuple | dict):
            out[key] = _literal(value)
        elif isinstance(value, str):
            out[key] = value.translate(_ESCAPES)
        else:
            out[key] = value
    return out


class DataDirLock:
    """An exclusive, advisory lock on ``data_dir/mixhouse.lock``, released when the process exits."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._fd)
            raise ConfigError(
                f"the data directory {data_dir} is in use by another Mixhouse process "
                "(stop the server, or talk to it over HTTP)"
            ) from exc
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def _check_size(sql: str) -> None:
    size = len(sql.encode())
    if size > MAX_QUERY_BYTES:
        raise QueryError(f"query is too complex: its SQL is {size:,} bytes, over the {MAX_QUERY_BYTES:,}-byte limit"
                         " (a custom-property formula used in many places, say)")


class EmbeddedBackend:
    """chDB on ``data_dir/clickhouse``."""

    def __init__(self, data_dir: Path, *, fsync_after_insert: bool = False, sessions: int = 3) -> None:
        self.data_dir = data_dir
        self._lock = DataDirLock(data_dir)
        self._path = str(data_dir / "clickhouse")
        self._fsync = fsync_after_insert
        self._all: list[Any] = [
            chdb_session.Session(self._path)  # type: ignore[no-untyped-call]
            for _ in range(max(1, sessions))
        ]
        for session in self._all:
            session.query(f"SET max_query_size = {MAX_QUERY_BYTES}", "CSV")
        self._pool: queue.Queue[Any] = queue.Queue()
        for session in self._all:
            self._pool.put(session)
        self._closed = False

    # -- sessions ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        if self._closed:
            raise StorageError("the storage backend is closed")
        session = self._pool.get()
        try:
            yield session
        finally:
            self._pool.put(session)

    def _run(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> Any:
        _check_size(sql)
        with self._session() as session:
            try:
                return session.query(sql, fmt, params=bind_params(params))
            except Exception as exc:  # chDB raises bare RuntimeError for every engine error
                raise StorageError(f"storage query failed: {exc}") from exc

    # -- Backend protocol ---------------------------------------------------------------------------------------
    def migrate(self) -> None:
        settings = merge_tree_settings(fsync_after_insert=self._fsync)
        for statement in DDL:
            self._run(statement.replace("{merge_tree_settings}", settings), "CSV", None)
        for table in TABLES:  # the fsync choice applies to existing tables too
            self._run(f"ALTER TABLE {table} MODIFY SETTING {settings}", "CSV", None)
        engine = self.query_rows(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = {table:String}",
            {"table": EVENTS_TABLE},
        )
        if [row["engine"] for row in engine] != [EVENTS_ENGINE]:
            raise StorageError(
                f"the data directory {self.data_dir} was made by an older Mixhouse (its events table is not a "
                f"{EVENTS_ENGINE}); start with an empty data directory and re-import the events"
            )
        self._add_hot_columns()
        self._add_user_projection()

    def _add_user_projection(self) -> None:
        """Give an events table made before the by-user projection existed that projection (built for old parts by a
        background mutation; until then reads of those parts use the main sort order)."""
        present = self.query_rows(
            "SELECT count() AS n FROM system.projections WHERE database = currentDatabase() AND table = {table:String}"
            " AND name = {name:String}",
            {"table": EVENTS_TABLE, "name": USER_PROJECTION},
        )
        if int(present[0]["n"]):
            return
        self._run(f"ALTER TABLE {EVENTS_TABLE} MODIFY SETTING {EVENTS_TABLE_SETTINGS}", "CSV", None)
        self._run(f"ALTER TABLE {EVENTS_TABLE} ADD {USER_PROJECTION_DDL}", "CSV", None)
        self._run(
            f"ALTER TABLE {EVENTS_TABLE} MATERIALIZE PROJECTION {USER_PROJECTION} SETTINGS mutations_sync = 0",
            "CSV",
            None,
        )

    def _add_hot_columns(self) -> None:
        """Give an events table made before a hot property column existed that column: old parts compute it on
        read until a background mutation has written it into them."""
        present = {
            row["name"]
            for row in self.query_rows(
                "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}",
                {"table": EVENTS_TABLE},
            )
        }
        missing = [key for key in HOT_PROPERTIES if hot_column(key) not in present]
        if not missing:
            return
        # One ALTER for all of them (each ALTER waits for the mutations before it), then background mutations.
        added = ", ".join(f"ADD COLUMN {hot_column_ddl(key)}" for key in missing)
        self._run(f"ALTER TABLE {EVENTS_TABLE} {added}", "CSV", None)
        filled = ", ".join(f"MATERIALIZE COLUMN {hot_column(key)}" for key in missing)
        self._run(f"ALTER TABLE {EVENTS_TABLE} {filled} SETTINGS mutations_sync = 0", "CSV", None)

    def insert_rows(
        self, table: str, columns: tuple[str, ...], rows: bytes, fmt: str = "JSONEachRow", *, dedup_token: str = ""
    ) -> None:
        if not rows:
            return
        column_list = ", ".join(columns)
        settings = insert_settings(dedup_token)
        # The streaming inserter hands the bytes to the format parser directly: about 4x faster than the same
        # rows inlined after FORMAT in a query string, which the SQL parser has to copy and scan first.
        with self._session() as session:
            try:
                with session.send_insert(f"INSERT INTO {table} ({column_list}) {settings}", fmt) as inserter:
                    inserter.append(rows)
                    inserter.finish()
            except Exception as exc:
                raise StorageError(f"storage insert failed: {exc}") from exc

    def query_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self._run(sql, "JSONEachRow", params)
        data: bytes = result.bytes()
        return [orjson.loads(line) for line in data.splitlines() if line]

    def stream_bytes(
        self, sql: str, params: Mapping[str, Any] | None = None, fmt: str = "JSONEachRow"
    ) -> Iterator[bytes]:
        _check_size(sql)
        with self._session() as session:
            try:
                stream = session.send_query(sql, fmt, params=bind_params(params))
                for chunk in stream:
                    data = chunk.bytes()
                    if data:
                        yield data
            except Exception as exc:
                raise StorageError(f"storage query failed: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        for session in self._all:
            with contextlib.suppress(Exception):  # best effort at shutdown
                session.close()
        self._lock.release()
