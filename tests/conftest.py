"""Shared fixtures: one real server per test session; every test gets its own project (isolation by project)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings

from tests.support.server import ServerProcess

# The property tests draw the same examples on every run (decision 44), so the suite passes or fails the same way on
# every machine; MIXHOUSE_HYPOTHESIS_RANDOM=1 draws fresh ones to explore.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile("explore" if os.environ.get("MIXHOUSE_HYPOTHESIS_RANDOM") == "1" else "repeatable")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@dataclass(frozen=True)
class ProjectCreds:
    project_id: int
    token: str
    api_secret: str
    sa_username: str
    sa_secret: str


@pytest.fixture(scope="session")
def inproc_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one data directory in-process chDB may use: chDB binds a process to a single path for its lifetime."""
    return tmp_path_factory.mktemp("inproc")


@pytest.fixture(scope="session")
def chdb_path(inproc_data_dir: Path) -> str:
    """Path for tests that open raw ``chdb.session.Session`` objects (isolate with their own table names)."""
    return str(inproc_data_dir / "clickhouse")


@pytest.fixture(scope="session")
def backend(inproc_data_dir: Path) -> Iterator[Any]:
    """The embedded backend on the in-process data directory (isolate by project id)."""
    from mixhouse.storage.embedded.backend import EmbeddedBackend

    store = EmbeddedBackend(inproc_data_dir)
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("server") / "data"
    proc = ServerProcess(data_dir=data_dir).start()
    yield proc
    proc.stop()


def make_project(data_dir: Path, name: str = "test", **options: str) -> ProjectCreds:
    """Create a project in the server's metadata store, as `mixhouse projects create` does."""
    from mixhouse.meta.store import MetaStore

    with MetaStore.for_data_dir(data_dir) as store:
        store.migrate()
        created = store.create_project(name, **options)  # type: ignore[arg-type]
    return ProjectCreds(
        project_id=created.project.id,
        token=created.project.token,
        api_secret=created.api_secret,
        sa_username=created.service_account_username,
        sa_secret=created.service_account_secret,
    )


@pytest.fixture
def project(server: ServerProcess) -> ProjectCreds:
    return make_project(server.data_dir)


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client for a module's tests (module fixtures that load data share it)."""
    with httpx.Client(base_url=server.url, timeout=60.0) as http:
        yield http


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client
