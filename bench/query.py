"""Query API benchmark: p50 latency through HTTP next to the best hand-written chDB SQL for the same answer.

    python bench/query.py --events 10000000

Loads generated events through `/import` (the real pipeline), then times each endpoint over HTTP (p50 of --runs),
stops the server and times hand-written SQL for the same answers on the same data directory, in a separate process
(chDB allows one process per data directory). The hand-written SQL reads the `events` table directly: no identity
join and no dedup, which our path must do; the ratio shows what those cost.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from _common import REPO, machine, rss_mb, start_server

sys.path.insert(0, str(REPO / "src"))
from tests.conftest import make_project

from mixhouse.demo.generator import DemoConfig, generate_event_batches

END = datetime(2026, 11, 1, tzinfo=UTC)
FROM, TO = (END - timedelta(days=30)).date().isoformat(), (END - timedelta(days=1)).date().isoformat()

#: (name, path, params, hand-written SQL for the same answer; {lo}/{hi} are the window's bounds)
CASES: list[tuple[str, str, dict[str, str], str]] = [
    (
        "segmentation day total",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "unit": "day"},
        "SELECT toDate(time) d, count() FROM events WHERE project_id = 1 AND event = 'View Item' "
        "AND time >= {lo} AND time < {hi} GROUP BY d",
    ),
    (
        "segmentation day unique",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "unit": "day", "type": "unique"},
        "SELECT toDate(time) d, uniqExact(distinct_id) FROM events WHERE project_id = 1 AND event = 'View Item' "
        "AND time >= {lo} AND time < {hi} GROUP BY d",
    ),
    (
        "segmentation on $browser",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "on": 'properties["$browser"]'},
        "SELECT toDate(time) d, JSONExtractString(properties, '$browser') b, count() FROM events "
        "WHERE project_id = 1 AND event = 'View Item' AND time >= {lo} "
        "AND time < {hi} GROUP BY d, b",
    ),
    (
        "events/names",
        "/api/query/events/names",
        {"type": "general", "from_date": FROM, "to_date": TO},
        "SELECT event, count() c FROM events WHERE project_id = 1 AND time >= {lo} "
        "AND time < {hi} GROUP BY event ORDER BY c DESC",
    ),
    (
        "events/properties/top",
        "/api/query/events/properties/top",
        {"event": "Purchase", "from_date": FROM, "to_date": TO},
        "SELECT k, count() c FROM events ARRAY JOIN JSONExtractKeys(properties) AS k WHERE project_id = 1 "
        "AND event = 'Purchase' AND time >= {lo} "
        "AND time < {hi} GROUP BY k ORDER BY c DESC LIMIT 10",
    ),
]

HANDWRITTEN = r"""
import sys, time, statistics, json, chdb.session as cs
path, runs, cases = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
s = cs.Session(path)
out = {}
for name, sql in cases:
    times = []
    for _ in range(runs):
        t = time.perf_counter(); s.query(sql, "JSONCompact"); times.append(time.perf_counter() - t)
    out[name] = statistics.median(times)
print(json.dumps(out))
"""


def load(url: str, creds: Any, events: int, clients: int) -> float:
    config = DemoConfig(seed=11, events=events, end=END, days=30)
    batches = iter(generate_event_batches(config, batch_size=2000))
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            while True:
                with lock:
                    batch = next(batches, None)
                if batch is None:
                    return
                response = client.post(
                    "/import",
                    params={"project_id": creds.project_id},
                    content=gzip.compress(orjson.dumps(batch), 1),
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                    auth=(creds.sa_username, creds.sa_secret),
                )
                response.raise_for_status()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    start_ms = int((END - timedelta(days=30)).timestamp() * 1000)
    end_ms = int(END.timestamp() * 1000)
    with tempfile.TemporaryDirectory(prefix="mixhouse-qbench-") as tmp:
        server = start_server(Path(tmp) / "data")
        ours: dict[str, float] = {}
        try:
            creds = make_project(server.data_dir, "qbench")
            seconds = load(server.url, creds, args.events, args.clients)
            print(f"loaded {args.events:,} events through /import in {seconds:.0f}s")
            with httpx.Client(base_url=server.url, timeout=600, auth=(creds.sa_username, creds.sa_secret)) as client:
                for name, path, params, _ in CASES:
                    times = []
                    for _ in range(args.runs):
                        t = time.perf_counter()
                        response = client.get(path, params={**params, "project_id": str(creds.project_id)})
                        times.append(time.perf_counter() - t)
                        response.raise_for_status()
                    ours[name] = statistics.median(times)
            rss, peak = rss_mb(server.proc.pid)  # type: ignore[union-attr]
        finally:
            server.stop()
        lo = f"fromUnixTimestamp64Milli(toInt64({start_ms}), 'UTC')"
        hi = f"fromUnixTimestamp64Milli(toInt64({end_ms}), 'UTC')"
        cases = [(name, sql.format(lo=lo, hi=hi)) for name, _, _, sql in CASES]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                HANDWRITTEN,
                str(Path(tmp) / "data" / "clickhouse"),
                str(args.runs),
                orjson.dumps(cases).decode(),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"hand-written queries failed:\n{done.stderr}")
        out = done.stdout
        best = orjson.loads(out.strip().splitlines()[-1])
    print(f"server RSS after the queries: {rss:.0f} MiB (peak {peak:.0f} MiB)")
    print(f"{'query':32} {'ours p50':>10} {'chDB p50':>10} {'ratio':>7}")
    for name, _, _, _ in CASES:
        print(f"{name:32} {ours[name]:9.3f}s {best[name]:9.3f}s {ours[name] / best[name]:7.1f}")


if __name__ == "__main__":
    main()
