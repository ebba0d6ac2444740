"""The metadata really lives in PostgreSQL when it is configured: a server and the CLI given its URL share it, the
rows are in PostgreSQL, and the data directory gets no SQLite file. Skipped without a PostgreSQL URL
(scripts/test-postgres.sh gives one)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, make_url, select

from tests.conftest import make_project
from tests.support.meta_db import META_URL, TEST_POSTGRES_URL, is_postgres
from tests.support.server import ServerProcess

POSTGRES_URL = META_URL if is_postgres(META_URL) else TEST_POSTGRES_URL if is_postgres(TEST_POSTGRES_URL) else None
needs_postgres = pytest.mark.skipif(
    POSTGRES_URL is None,
    reason="no PostgreSQL: set MIXHOUSE_META_URL or MIXHOUSE_TEST_POSTGRES_URL (bash scripts/test-postgres.sh does)",
)


def _stored_project(url: str, project_id: int) -> tuple[str, str] | None:
    """(name, token) of the project row in the database at ``url``, read with SQLAlchemy alone."""
    from mixhouse.meta.models import Project

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            row = connection.execute(select(Project.name, Project.token).where(Project.id == project_id)).one_or_none()
    finally:
        engine.dispose()
    return None if row is None else (row.name, row.token)


def _me(base_url: str, username: str, secret: str) -> Any:
    response = httpx.get(f"{base_url}/api/app/me", auth=(username, secret), timeout=30.0)
    assert response.status_code == 200, response.text
    return response.json()["results"]


@needs_postgres
def test_meta_url_flag_puts_server_and_cli_metadata_in_postgres(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    # A plain postgresql:// URL (no driver), as a user writes it: Mixhouse picks psycopg.
    url = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    data_dir = tmp_path / "data"
    no_env = {"MIXHOUSE_META_URL": ""}  # only the flags say where the metadata is
    server = ServerProcess(data_dir=data_dir, extra_args=("--meta-url", url), env=no_env).start()
    try:
        name = f"pg-proof-{uuid.uuid4().hex[:8]}"
        made = subprocess.run(
            [sys.executable, "-m", "mixhouse", "projects", "create", name, "--data-dir", str(data_dir),
             "--meta-url", url, "--json"],
            capture_output=True, text=True, timeout=120, env={**os.environ, **no_env}, check=False,
        )
        assert made.returncode == 0, made.stderr
        created = orjson.loads(made.stdout)
        account = created["service_account"]
        me = _me(server.url, account["username"], account["secret"])
        assert list(me["projects"]) == [str(created["project_id"])]
        assert _stored_project(url, created["project_id"]) == (name, created["token"])
        assert "meta=postgresql+psycopg://" in server.log()
    finally:
        server.stop()
    assert data_dir.is_dir()  # the events are there
    assert not list(data_dir.glob("meta.sqlite3*"))


@pytest.mark.skipif(not is_postgres(META_URL), reason="MIXHOUSE_META_URL is not a PostgreSQL URL")
def test_the_suites_server_keeps_its_metadata_in_postgres(server: ServerProcess) -> None:
    """In the PostgreSQL pass, the server every e2e module shares and the tests' helpers use PostgreSQL."""
    assert META_URL is not None
    creds = make_project(server.data_dir, f"pg-suite-{uuid.uuid4().hex[:8]}")
    me = _me(server.url, creds.sa_username, creds.sa_secret)
    assert list(me["projects"]) == [str(creds.project_id)]
    stored = _stored_project(META_URL, creds.project_id)
    assert stored is not None and stored[1] == creds.token
    assert not list(server.data_dir.glob("meta.sqlite3*"))
