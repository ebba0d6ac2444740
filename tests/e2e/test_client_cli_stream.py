"""``mp stream events|profiles`` against a live Mixhouse server, run as a user runs it (a subprocess): the records
on stdout are the server's, in every format, and the progress display on stderr never changes them.

``TTY_COMPATIBLE=1`` makes Rich treat the (piped) stderr as a terminal, the way a user's shell is, so the progress
line is really drawn; ``--quiet`` and a line format streamed to a real terminal turn it off.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_client_cli import _env, mp
from tests.support.sending import import_all
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def project(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, list[dict[str, Any]], str, str]:
    creds = make_project(server.data_dir, "client-cli-stream")
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    events = [{"event": ("Login", "Purchase", "Search")[i % 3], "properties": {
        "time": int((base + timedelta(hours=i)).timestamp()), "distinct_id": f"u{i % 5}", "$insert_id": f"s{i}",
        "n": i}} for i in range(40)]
    import_all(client, creds, events)
    updates = [{"$token": creds.token, "$distinct_id": f"u{i}", "$set": {"plan": ("pro", "free")[i % 2], "n": i}}
               for i in range(4)]
    assert client.post("/engage", json=updates).text == "1"
    return creds, events, base.date().isoformat(), (base + timedelta(days=2)).date().isoformat()


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stdout.splitlines() if line.strip()]


def test_stream_events_formats(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, events, start, end = project
    env = _env(server, creds, tmp_path)
    done = mp(env, "stream", "events", "--from-date", start, "--to-date", end)
    assert done.returncode == 0, done.stderr
    got = _lines(done.stdout)
    assert sorted(r["insert_id"] for r in got) == sorted(e["properties"]["$insert_id"] for e in events)
    assert set(got[0]) == {"event_name", "event_time", "distinct_id", "insert_id", "properties"}
    only = _lines(mp(env, "stream", "events", "--from", start, "--to", end, "-e", "Purchase,Search",
                     "--where", 'properties["n"] >= 20').stdout)
    assert Counter(r["event_name"] for r in only) == Counter(
        e["event"] for e in events if e["event"] != "Login" and e["properties"]["n"] >= 20)
    as_json = mp(env, "stream", "events", "--from", start, "--to", end, "--limit", "7", "-f", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert len(orjson.loads(as_json.stdout)) == 7
    as_csv = mp(env, "stream", "events", "--from", start, "--to", end, "-e", "Login", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == sum(1 for e in events if e["event"] == "Login")
    assert {row["event_name"] for row in rows} == {"Login"}


def test_progress_never_changes_stdout(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, events, start, end = project
    plain_env = _env(server, creds, tmp_path)
    tty_env = {**plain_env, "TTY_COMPATIBLE": "1"}
    for fmt in ("jsonl", "json", "csv", "table"):
        args = ("stream", "events", "--from", start, "--to", end, "-f", fmt)
        quiet = mp(tty_env, "--quiet", *args)
        shown = mp(tty_env, *args)
        piped = mp(plain_env, *args)
        assert quiet.returncode == shown.returncode == piped.returncode == 0, shown.stderr
        assert shown.stdout == quiet.stdout == piped.stdout, fmt
        assert "Streaming events" in shown.stderr and f"{len(events)} records" in shown.stderr
        assert quiet.stderr == "" and piped.stderr == ""
    limited = mp(tty_env, "stream", "events", "--from", start, "--to", end, "--limit", "5")
    assert len(_lines(limited.stdout)) == 5 and "5/5" in limited.stderr  # a bar against --limit


def test_stream_profiles(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, _events, _start, _end = project
    env = {**_env(server, creds, tmp_path), "TTY_COMPATIBLE": "1"}
    deadline, got = time.time() + 10, []
    while time.time() < deadline:
        done = mp(env, "stream", "profiles")
        assert done.returncode == 0, done.stderr
        got = _lines(done.stdout)
        if len(got) == 4:
            break
        time.sleep(0.3)
    assert sorted(p["distinct_id"] for p in got) == ["u0", "u1", "u2", "u3"]
    assert "Streaming profiles" in done.stderr
    pro = _lines(mp(env, "--quiet", "stream", "profiles", "--where", 'properties["plan"] == "pro"',
                    "-o", "n").stdout)
    assert sorted((p["distinct_id"], p["properties"].get("n")) for p in pro) == [("u0", 0), ("u2", 2)]
    table = mp(env, "stream", "profiles", "-f", "table")
    assert table.returncode == 0 and "u3" in table.stdout and "Streaming profiles" not in table.stdout


def _on_terminal_stdout(env: dict[str, str], *args: str) -> tuple[str, str]:
    """Run ``mp`` with stdout on a pseudo-terminal (as in an interactive shell) and stderr piped: (stdout, stderr)."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-m", "mixhouse.cli.mp", *args], stdout=follower,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode(), done.stderr


def test_no_bar_over_lines_streamed_to_the_terminal(server: ServerProcess, project: Any, tmp_path: Path) -> None:
    creds, events, start, end = project
    env = {**_env(server, creds, tmp_path), "TTY_COMPATIBLE": "1"}
    out, err = _on_terminal_stdout(env, "stream", "events", "--from", start, "--to", end)
    assert len(_lines(out.replace("\r\n", "\n"))) == len(events) and err == ""
    out, err = _on_terminal_stdout(env, "stream", "events", "--from", start, "--to", end, "-f", "table")
    assert "insert_id" in out and "Streaming events" in err  # a table is printed after the bar ends
