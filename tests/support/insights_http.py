"""Posting bookmark params to ``/api/query/insights`` as the client library does, and comparing answers."""

from __future__ import annotations

import math
from typing import Any

import httpx

from tests.conftest import ProjectCreds


def post_insights(client: httpx.Client, creds: ProjectCreds, bookmark: dict[str, Any], status: int = 200) -> Any:
    """The JSON answer to ``bookmark`` (asserting the status), posted with the project's service account."""
    response = client.post("/api/query/insights", params={"workspace_id": "1"},
                           json={"bookmark": bookmark, "project_id": creds.project_id, "queryLimits": {"limit": 3000}},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == status, response.text
    return response.json()


def close(got: Any, want: Any) -> bool:
    """``got`` equals ``want`` with the same keys and list lengths, numbers within a relative 1e-9."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(close(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(close, got, want))
    if isinstance(want, float) or isinstance(got, float):
        return isinstance(got, int | float) and isinstance(want, int | float) \
            and math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)
    return bool(got == want)
