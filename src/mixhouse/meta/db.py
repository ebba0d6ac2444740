"""Engine creation for the metadata store.

SQLite (the default) is opened so that several processes (the server and a CLI) can share one file:

* WAL journal: readers never block the writer and the writer never blocks readers;
* ``busy_timeout``: a writer waits for another writer's lock instead of failing at once;
* foreign keys enforced (SQLite leaves them off per connection unless asked);
* SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN``, so every transaction (reads included) is a real
  one; transactions opened on :func:`writer` start with ``BEGIN IMMEDIATE``, taking the write lock up front so
  a read-then-write transaction cannot fail half way with ``SQLITE_BUSY`` when another process wrote first.

Any other SQLAlchemy URL (e.g. ``postgresql+psycopg://...``) is passed through unchanged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url

#: How long (ms) a SQLite connection waits for a lock held by another connection or process.
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
#: Execution option marking a connection whose transactions will write.
WRITE_OPTION: Final = "mixhouse_write"

META_FILENAME: Final = "meta.sqlite3"


def sqlite_url(path: Path) -> URL:
    """The URL of the SQLite file at ``path`` (made absolute; safe for any characters in the path)."""
    return URL.create("sqlite", database=str(path.expanduser().resolve()))


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_meta_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``, configured for concurrent use when it is SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def writer(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):  # pragma: no cover - other sqlite drivers
        return
    # Take transaction control away from the sqlite3 module; _on_sqlite_begin emits BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    immediate = bool(connection.get_execution_options().get(WRITE_OPTION))
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
