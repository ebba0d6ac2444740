"""Send events the way a user's import script would: `/import` with a service account."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


def import_all(client: httpx.Client, creds: Any, events: list[dict[str, Any]], *, strict: bool = True) -> None:
    """POST ``events`` to ``/import`` (``strict=1`` unless told otherwise); every one must be accepted."""
    params = {"project_id": creds.project_id, **({"strict": "1"} if strict else {})}
    response = client.post("/import", params=params, content=orjson.dumps(events),
                           headers={"Content-Type": "application/json"}, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    assert response.json().get("num_records_imported") == len(events), response.text
