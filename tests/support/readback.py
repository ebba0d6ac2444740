"""Read data back through the server's public APIs (export and engage), as a user's script would."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


def export(
    client: httpx.Client, creds: Any, *, from_date: str, to_date: str, auth: str = "sa", **params: Any
) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"from_date": from_date, "to_date": to_date, **params}
    if auth == "sa":
        query["project_id"] = creds.project_id
        basic = (creds.sa_username, creds.sa_secret)
    else:
        basic = (creds.api_secret, "")
    response = client.get("/api/2.0/export", params=query, auth=basic)
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines() if line.strip()]


def engage(client: httpx.Client, creds: Any, **params: Any) -> dict[str, Any]:
    form = {"project_id": str(creds.project_id), **{k: str(v) for k, v in params.items()}}
    response = client.post("/api/query/engage", data=form, auth=(creds.sa_username, creds.sa_secret))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def profiles(client: httpx.Client, creds: Any, **params: Any) -> dict[str, dict[str, Any]]:
    body = engage(client, creds, **params)
    return {row["$distinct_id"]: row["$properties"] for row in body["results"]}
