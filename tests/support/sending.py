"""Send events the way a user's import script would: strict `/import` with a service account."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


def import_strict(client: httpx.Client, creds: Any, events: list[dict[str, Any]]) -> None:
    """POST ``events`` to ``/import?strict=1``; every one must be accepted."""
    response = client.post("/import", params={"project_id": creds.project_id, "strict": "1"},
                           content=orjson.dumps(events), headers={"Content-Type": "application/json"},
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    assert response.json().get("num_records_imported") == len(events), response.text
