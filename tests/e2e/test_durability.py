"""No acknowledged event is lost on kill -9, none is stored twice, and no partial record survives."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import make_project
from tests.support.readback import export
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


def _event(name: str, insert_id: str, now: float, payload_len: int) -> dict[str, Any]:
    payload = hashlib.sha256(insert_id.encode()).hexdigest() * (payload_len // 64 + 1)
    payload = payload[:payload_len]
    return {
        "event": name,
        "properties": {
            "time": now,
            "distinct_id": f"user-{int(insert_id.split('-')[-1]) % 50}",
            "$insert_id": insert_id,
            "payload": payload,
            "digest": hashlib.sha256(payload.encode()).hexdigest()[:16],
        },
    }


def _import_worker(url: str, creds: Any, worker: int, acked: set[str], stop: threading.Event) -> None:
    batch_no = 0
    with httpx.Client(base_url=url, timeout=10.0) as client:
        while not stop.is_set():
            ids = [f"imp-{worker}-{batch_no}-{i}" for i in range(200)]
            now = time.time() - 3600
            body = orjson.dumps([_event("Imported", iid, now, 120) for iid in ids])
            try:
                response = client.post(
                    "/import", params={"project_id": creds.project_id, "strict": "1"}, content=body,
                    headers={"Content-Type": "application/json"}, auth=(creds.sa_username, creds.sa_secret),
                )
            except httpx.HTTPError:
                return  # the server died: this batch was never acknowledged
            if response.status_code == 200 and response.json()["num_records_imported"] == len(ids):
                acked.update(ids)
            batch_no += 1


def _track_worker(url: str, creds: Any, worker: int, acked: set[str], stop: threading.Event) -> None:
    n = 0
    with httpx.Client(base_url=url, timeout=10.0) as client:
        while not stop.is_set():
            iid = f"trk-{worker}-{n}"
            event = _event("Tracked", iid, time.time(), 40)
            event["properties"]["token"] = creds.token
            data = base64.b64encode(orjson.dumps(event)).decode()
            try:
                response = client.post("/track", data={"data": data, "verbose": "1"})
            except httpx.HTTPError:
                return
            if response.status_code == 200 and response.json() == {"status": 1, "error": None}:
                acked.add(iid)
            n += 1


def test_kill_9_mid_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data").start()
    creds = make_project(server.data_dir, "durable")
    acked: set[str] = set()
    stop = threading.Event()
    workers = [threading.Thread(target=_import_worker, args=(server.url, creds, w, acked, stop)) for w in range(3)]
    workers += [threading.Thread(target=_track_worker, args=(server.url, creds, w, acked, stop)) for w in range(4)]
    for thread in workers:
        thread.start()
    time.sleep(4.0)
    server.kill()  # SIGKILL while requests are in flight
    stop.set()
    for thread in workers:
        thread.join(timeout=30)
    assert len(acked) > 1000, "the load did not get going"

    restarted = ServerProcess(data_dir=server.data_dir).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=60.0) as client:
            today = datetime.now(UTC).date()
            events = export(
                client, creds, from_date=(today - timedelta(days=1)).isoformat(), to_date=today.isoformat()
            )
    finally:
        restarted.stop()

    seen: dict[str, int] = {}
    for event in events:
        props = event["properties"]
        iid = props["$insert_id"]
        seen[iid] = seen.get(iid, 0) + 1
        # no partial record: every stored event carries its full, intact payload
        assert hashlib.sha256(props["payload"].encode()).hexdigest()[:16] == props["digest"]
    missing = acked - seen.keys()
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:5]}"
    duplicated = [iid for iid, count in seen.items() if count > 1]
    assert not duplicated, f"stored twice: {duplicated[:5]}"


def test_sigterm_drains_and_flushes(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data").start()
    creds = make_project(server.data_dir, "drain")
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        body = orjson.dumps([_event("E", f"d-{i}", time.time() - 60, 10) for i in range(500)])
        response = client.post(
            "/import", params={"project_id": creds.project_id}, content=body,
            headers={"Content-Type": "application/json"}, auth=(creds.sa_username, creds.sa_secret),
        )
        assert response.json() == {"code": 200, "num_records_imported": 500, "status": "OK"}
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is the signal's
    assert server.stop() in (0, -15)
    log = server.log()
    assert "listening on http://127.0.0.1" in log
    assert "mixhouse stopped; data flushed" in log
    restarted = ServerProcess(data_dir=server.data_dir).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=30.0) as client:
            today = datetime.now(UTC).date()
            events = export(client, creds, from_date=(today - timedelta(days=1)).isoformat(),
                            to_date=today.isoformat())
    finally:
        restarted.stop()
    assert sorted(e["properties"]["$insert_id"] for e in events) == sorted(f"d-{i}" for i in range(500))
