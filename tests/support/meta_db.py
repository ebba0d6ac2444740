"""The metadata database the tests share, and a reset for a PostgreSQL one.

``python -m tests.support.meta_db reset URL`` empties the database at URL (every metadata table and
``alembic_version``): scripts/test.sh runs it once before the PostgreSQL pass, whose modules then share the database.
"""

from __future__ import annotations

import os
import sys

from sqlalchemy import MetaData

#: When set, the server, the CLI and the test helpers keep the metadata there (see mixhouse.meta.db.meta_url).
META_URL = os.environ.get("MIXHOUSE_META_URL") or None
#: A PostgreSQL database that tests/unit/test_meta_store.py may empty before and after each test.
TEST_POSTGRES_URL = os.environ.get("MIXHOUSE_TEST_POSTGRES_URL") or None


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("postgresql", "postgres:"))


def reset(url: str) -> None:
    """Drop every table in the database (the metadata tables, Alembic's version table, and tables of revisions
    this checkout does not know), in foreign-key order: the next ``migrate`` starts from nothing."""
    from mixhouse.meta.db import create_meta_engine

    engine = create_meta_engine(url)
    try:
        with engine.begin() as connection:
            existing = MetaData()
            existing.reflect(connection)
            existing.drop_all(connection)
    finally:
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "reset":
        sys.exit("usage: python -m tests.support.meta_db reset URL")
    reset(sys.argv[2])
