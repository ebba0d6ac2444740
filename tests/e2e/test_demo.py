"""`mixhouse demo` fills a project through the ingestion pipeline; `serve --demo` does it on first start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson

from mixhouse.demo.generator import DemoConfig, generate_event_batches
from tests.conftest import ProjectCreds
from tests.support.readback import engage, export
from tests.support.server import ServerProcess


def _creds(body: dict) -> ProjectCreds:
    return ProjectCreds(body["project_id"], body["token"], body["api_secret"], body["service_account"]["username"],
                        body["service_account"]["secret"])


def test_demo_command_then_serve_reads_it_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "mixhouse", "demo", "--data-dir", str(data_dir), "--events", "6000", "--seed", "3"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    body = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert body["events"] == 6000 and body["profiles"] > 0 and body["groups"] > 0
    creds = _creds(body)

    server = ServerProcess(data_dir=data_dir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            events = export(client, creds, from_date="2000-01-01", to_date="2100-01-01")
            profile_page = engage(client, creds)
    finally:
        server.stop()
    sent = [e["properties"]["$insert_id"] for batch in generate_event_batches(DemoConfig(seed=3, events=6000))
            for e in batch]
    exported = [e["properties"]["$insert_id"] for e in events]
    # every event is there; export is not deduplicated, but background merges may already have compacted some of
    # the generator's resends (Mixpanel's compaction-time dedup)
    assert set(exported) == set(sent) and len(set(sent)) < len(sent)
    assert len(set(exported)) <= len(exported) <= len(sent)
    names = {e["event"] for e in events}
    assert {"Sign Up", "View Item", "Add To Cart", "Purchase"} <= names
    # identity merge: no signed-up user's events are left under their anonymous device id
    signed_up_devices = {e["properties"]["$device_id"] for e in events
                         if e["event"] == "Sign Up" and "$device_id" in e["properties"]}
    stragglers = [e for e in events if e["properties"]["distinct_id"] in
                  {f"$device:{d}" for d in signed_up_devices}]
    assert signed_up_devices and not stragglers
    assert profile_page["total"] > 0
    assert all("$email" in row["$properties"] for row in profile_page["results"])


def test_serve_demo_creates_project_once(tmp_path: Path) -> None:
    own = {"MIXHOUSE_META_URL": ""}  # --demo acts on an empty store: the data directory's own, not a shared one
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=("--demo", "--demo-events", "3000"),
                           env=own).start(timeout=180)
    server.stop()
    again = ServerProcess(data_dir=tmp_path / "data", extra_args=("--demo", "--demo-events", "3000"), env=own).start()
    again.stop()
    listed = subprocess.run([sys.executable, "-m", "mixhouse", "projects", "list", "--data-dir",
                             str(tmp_path / "data"), "--json"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, **own})
    assert [p["name"] for p in orjson.loads(listed.stdout)] == ["Demo"]
    assert "demo project created" in server.log()
