"""Acknowledged records wait in the write-ahead log, yet every read sees them, and a kill -9 before any flush loses
none of them: the restarted server inserts the log (docs/decisions/0017-write-ahead-log-before-clickhouse.md)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.readback import export, profiles
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

NEVER = {"MIXHOUSE_FLUSH_MS": "600000"}  # no timed flush while the test runs: only reads and shutdown flush


def _send(client: httpx.Client, creds: ProjectCreds, tag: str, count: int) -> None:
    now = time.time()
    batch = [{"event": "Imported", "properties": {"distinct_id": f"u{i % 7}", "time": now - 60 - i,
                                                  "$insert_id": f"{tag}-imp-{i}", "n": i}}
             for i in range(count)]
    response = client.post("/import", params={"project_id": creds.project_id, "strict": "1"}, json=batch,
                           auth=(creds.sa_username, creds.sa_secret))
    assert response.json() == {"code": 200, "num_records_imported": count, "status": "OK"}
    for i in range(5):
        event = {"event": "Tracked", "properties": {"token": creds.token, "distinct_id": "walker",
                                                    "$insert_id": f"{tag}-trk-{i}"}}
        data = base64.b64encode(orjson.dumps(event)).decode()
        assert client.post("/track", data={"data": data}).text == "1"
    update = {"$token": creds.token, "$distinct_id": "walker", "$set": {"tag": tag}, "$add": {"visits": 1}}
    assert client.post("/engage", data={"data": base64.b64encode(orjson.dumps(update)).decode()}).text == "1"


def _insert_ids(client: httpx.Client, creds: ProjectCreds) -> list[str]:
    today = datetime.now(UTC).date()
    events = export(client, creds, from_date=(today - timedelta(days=1)).isoformat(), to_date=today.isoformat())
    return sorted(event["properties"]["$insert_id"] for event in events)


def _expected(tag: str, count: int) -> list[str]:
    return sorted([f"{tag}-imp-{i}" for i in range(count)] + [f"{tag}-trk-{i}" for i in range(5)])


def _segments(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "wal").glob("*.wal"))


def test_reads_see_records_still_in_the_log(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", env=NEVER).start()
    try:
        creds = make_project(server.data_dir, "raw")
        with httpx.Client(base_url=server.url, timeout=30.0) as client:
            _send(client, creds, "a", 300)
            assert _segments(server.data_dir), "the acknowledged records should still be in the log"
            assert _insert_ids(client, creds) == _expected("a", 300)
            assert not _segments(server.data_dir), "a read flushes the log"
            _send(client, creds, "b", 20)
            walker = profiles(client, creds)["walker"]
            assert (walker["tag"], walker["visits"]) == ("b", 2)
            assert _insert_ids(client, creds) == sorted(_expected("a", 300) + _expected("b", 20))
    finally:
        server.stop()


def test_kill_9_before_any_flush_loses_nothing(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", env=NEVER).start()
    creds = make_project(server.data_dir, "killed")
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        _send(client, creds, "k", 1000)
    assert _segments(server.data_dir)
    server.kill()  # nothing was ever inserted into ClickHouse: it is all in the log

    restarted = ServerProcess(data_dir=server.data_dir).start()
    try:
        assert "recovered 1005 events" in restarted.log()
        assert not _segments(server.data_dir)
        with httpx.Client(base_url=restarted.url, timeout=30.0) as client:
            assert _insert_ids(client, creds) == _expected("k", 1000)  # each exactly once
            walker = profiles(client, creds)["walker"]
            assert (walker["tag"], walker["visits"]) == ("k", 1)
    finally:
        restarted.stop()
