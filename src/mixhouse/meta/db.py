"""Engine creation for the metadata store.

SQLite (the default) is opened so that several processes (the server and a CLI) can share one file:

* WAL journal: readers never block the writer and the writer never blocks readers;
* ``busy_timeout``: a writer waits for another writer's lock instead of failing at once;
* foreign keys enforced (SQLite leaves them off per connection unless asked);
* SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN``, so every transaction (reads included) is a real
  one; transactions opened on :func:`writer` start with ``BEGIN IMMEDIATE``, taking the write lock up front so
  a read-then-write transaction cannot fail half way with ``SQLITE_BUSY`` when another process wrote first.

Any other SQLAlchemy URL is passed through, except that a PostgreSQL URL without a driver (``postgresql://`` or
``postgres://``) gets the psycopg 3 driver that the ``server`` extra installs (``postgresql+psycopg://``).

:func:`meta_url` is the one place that decides which database a data directory's metadata lives in.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from mixhouse.errors import ConfigError

#: How long (ms) a SQLite connection waits for a lock held by another connection or process.
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
#: Execution option marking a connection whose transactions will write.
WRITE_OPTION: Final = "mixhouse_write"

META_FILENAME: Final = "meta.sqlite3"
#: The environment variable naming the metadata database (``--meta-url`` on the command line wins over it).
META_URL_ENV: Final = "MIXHOUSE_META_URL"
#: Seconds a PostgreSQL connection attempt may take (``?connect_timeout=`` in the URL overrides it).
POSTGRES_CONNECT_TIMEOUT_S: Final = 10
#: The driver a PostgreSQL URL without one gets: psycopg 3, pinned in the ``server`` extra.
POSTGRES_DRIVER: Final = "postgresql+psycopg"


def sqlite_url(path: Path) -> URL:
    """The URL of the SQLite file at ``path`` (made absolute; safe for any characters in the path)."""
    return URL.create("sqlite", database=str(path.expanduser().resolve()))


def meta_url(data_dir: Path, url: str | URL | None = None) -> URL:
    """The metadata database of ``data_dir``: ``url`` when given (``--meta-url``), else ``$MIXHOUSE_META_URL``,
    else the SQLite file ``data_dir / "meta.sqlite3"``. An empty value counts as not given."""
    chosen = url or os.environ.get(META_URL_ENV)
    if not chosen:
        return sqlite_url(data_dir / META_FILENAME)
    return normalize_url(chosen)


def normalize_url(url: str | URL) -> URL:
    """``url`` parsed; a PostgreSQL URL without a driver gets :data:`POSTGRES_DRIVER`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The message would repeat the URL, password included.
        raise ConfigError("the metadata URL is not a database URL like postgresql://user:password@host/db") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_meta_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``, configured for concurrent use when it is SQLite."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # An unreachable host fails the server's start (or a CLI command) in seconds, not a TCP timeout.
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S, **kwargs.get("connect_args", {})}
        try:
            return create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise ConfigError(
                f"no database driver for {parsed.drivername!r} ({exc}); PostgreSQL needs the server extra's psycopg"
            ) from exc

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
