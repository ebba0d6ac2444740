"""Send events and profiles the way a user's import script would: `/import` with a service account, `/engage`."""

from __future__ import annotations

import base64
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


def import_demo(client: httpx.Client, creds: Any, config: Any, *, batch_size: int = 2000) -> list[dict[str, Any]]:
    """The demo generator's events for ``config`` (a ``DemoConfig``), imported in batches; the events sent."""
    from mixhouse.demo.generator import generate_event_batches

    sent: list[dict[str, Any]] = []
    for batch in generate_event_batches(config, batch_size=batch_size):
        import_all(client, creds, batch)
        sent += batch
    return sent


def set_profiles(client: httpx.Client, creds: Any, profiles: dict[str, dict[str, Any]]) -> None:
    """``$set`` each user's profile properties through ``/engage`` (one batch); the server must accept it."""
    updates = [{"$token": creds.token, "$distinct_id": user, "$set": props} for user, props in profiles.items()]
    response = client.post("/engage", data={"data": base64.b64encode(orjson.dumps(updates)).decode()})
    assert response.text == "1", response.text


def set_plan_profiles(client: httpx.Client, creds: Any, users: list[str]) -> dict[str, dict[str, Any]]:
    """Give four in five of ``users`` (in order) a profile with a ``plan`` (a string, a list, or none) and an
    ``age``, through ``/engage``; the profiles set, by user."""
    found: dict[str, dict[str, Any]] = {}
    for n, user in enumerate(users[: len(users) * 4 // 5]):
        plan: Any = ["pro", "free", ["pro", "team"], None][n % 4]
        found[user] = {"age": 18 + n % 40, **({"plan": plan} if plan is not None else {})}
    set_profiles(client, creds, found)
    return found
