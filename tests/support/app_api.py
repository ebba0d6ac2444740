"""Calling the App API in tests: two projects and a consumer of the first, and a checked request helper."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ProjectCreds, make_project
from tests.support.server import ServerProcess


def projects_with_consumer(server: ServerProcess, prefix: str,
                           **options: str) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    """Two projects (``options``, e.g. ``timezone``, for both), and the (username, secret) of a consumer service
    account of the first."""
    from mixhouse.meta.store import MetaStore

    a, b = make_project(server.data_dir, f"{prefix}-a", **options), make_project(server.data_dir, f"{prefix}-b",
                                                                                 **options)
    with MetaStore.for_data_dir(server.data_dir) as store:
        consumer = store.add_service_account(a.project_id, "consumer", "reader")
    return a, b, consumer


def call(client: httpx.Client, method: str, path: str, auth: tuple[str, str], status: int = 200,
         body: dict[str, Any] | None = None, **params: Any) -> Any:
    """The JSON answer of a request that must answer ``status`` (``None`` for a 204)."""
    response = client.request(method, path, auth=auth, json=body, params=params or None)
    assert response.status_code == status, response.text
    return None if status == 204 else response.json()


def sa(creds: ProjectCreds) -> tuple[str, str]:
    return creds.sa_username, creds.sa_secret
