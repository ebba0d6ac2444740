"""The environment a test gives the client library to reach a running server as a project's service account."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ProjectCreds

#: Client settings of the machine running the tests that must not leak into them.
_CLEARED = ("MP_ACCOUNT", "MP_TARGET", "MP_WORKSPACE_ID", "MP_OAUTH_TOKEN", "MP_APP_BASE_URL")


def use_service_account(monkeypatch: pytest.MonkeyPatch, server_url: str, creds: ProjectCreds,
                        storage: Path) -> None:
    """``MP_*`` variables for ``mp.Workspace()`` with no arguments: the project's service account on the server at
    ``server_url``, no config file, and the ``/me`` cache and OAuth tokens under ``storage`` with no bridge file (so
    nothing is read from or written to the home directory)."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in {"MP_API_BASE_URL": server_url, "MP_USERNAME": creds.sa_username,
                        "MP_SECRET": creds.sa_secret, "MP_PROJECT_ID": str(creds.project_id), "MP_REGION": "us",
                        "MP_CONFIG_PATH": str(storage / "no-config.toml"), "MP_STORAGE_DIR": str(storage / "store"),
                        "MP_AUTH_FILE": str(storage / "no-bridge.json")}.items():
        monkeypatch.setenv(name, value)
