"""Alembic environment: run by ``alembic.command`` functions, never imported directly."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from mixhouse.meta.db import create_meta_engine, writer
from mixhouse.meta.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: later revisions use op.batch_alter_table, which copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("MIXHOUSE_META_URL")
    if not url:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url / MIXHOUSE_META_URL")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        # The caller owns the connection and its transaction (MetaStore.migrate opens one).
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_meta_engine(_url())
    try:
        with writer(engine).begin() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
