"""Ingestion benchmark: `/import` throughput against chDB's own bulk load, and `/track` requests per second.

    python bench/ingest.py --events 1000000

1. `/import`: gzip JSON batches of 2000 generated events from several concurrent clients (threads on the standard
   library's HTTP client, kept-alive connections); an event counts only once its request is acknowledged
   (acknowledged = durable); a request told to back off (429/503) is resent after its Retry-After, as SDKs do,
   and the wait counts. The batches are built and compressed before timing.
2. Ceiling, same run: the rows the server stored, bulk-loaded straight into a fresh chDB table of the same schema
   with `INSERT ... FORMAT JSONEachRow` (200k rows per insert, streamed to the parser), in a separate process;
   the same with TabSeparated (the format the server itself inserts).
3. `/track`: one event per request, `wrk` (if installed) with a form-encoded base64 body, or Python clients.
4. Bytes on disk per million events and the server's RSS.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from _common import REPO, du_bytes, machine, rss_mb, start_server

sys.path.insert(0, str(REPO / "src"))
from tests.conftest import make_project

from mixhouse.demo.generator import DemoConfig, generate_event_batches

CEILING_SCRIPT = r"""
import sys, time, chdb.session as cs
from mixhouse.storage.schema import DDL, merge_tree_settings
mode, path, dump, fmt = sys.argv[1:5]
s = cs.Session(path)
if mode == "dump":
    s.query("OPTIMIZE TABLE events FINAL")  # finish the background merges before the disk is measured
    s.query(f"SELECT * FROM events INTO OUTFILE '{dump}' TRUNCATE FORMAT {fmt}")
    active = "SELECT sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active"
    print(s.query(active, "CSV").bytes().decode().strip())
    sys.exit(0)
settings = merge_tree_settings(fsync_after_insert=False, dedup_window=0)
for stmt in DDL:  # the engine's best: no deduplication window (no hash of every inserted block)
    s.query(stmt.replace("{merge_tree_settings}", settings))
lines = open(dump, "rb").read().splitlines(keepends=True)
chunks = [b"".join(lines[i:i + 200_000]) for i in range(0, len(lines), 200_000)]
t = time.perf_counter()
for chunk in chunks:  # the engine's fastest path: bytes streamed straight to the format parser
    with s.send_insert("INSERT INTO events", fmt) as inserter:
        inserter.append(chunk)
        inserter.finish()
print(len(lines), time.perf_counter() - t)
"""


def build_bodies(events: int) -> list[bytes]:
    config = DemoConfig(seed=7, events=events)
    return [gzip.compress(orjson.dumps(batch), 1) for batch in generate_event_batches(config, batch_size=2000)]


def run_import(url: str, creds: object, bodies: list[bytes], clients: int) -> tuple[int, float, float]:
    """(events acknowledged, seconds until the last acknowledgement, seconds until all of them are queryable)."""
    lock = threading.Lock()
    next_index = [0]
    acked = [0]
    backoffs = [0]

    target = urlsplit(url)
    query = urlencode({"project_id": creds.project_id, "strict": "1"})  # type: ignore[attr-defined]
    token = base64.b64encode(f"{creds.sa_username}:{creds.sa_secret}".encode()).decode()  # type: ignore[attr-defined]
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Authorization": f"Basic {token}"}

    def worker() -> None:
        # The standard library's client, one kept-alive connection per thread: the load generator shares the two
        # cores with the server, so it should spend as little of them as it can (httpx took ~1.4 µs per event).
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=120)
        try:
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= len(bodies):
                    return
                while True:  # backpressure (429/503 with Retry-After): wait as told and resend, as SDKs do
                    connection.request("POST", f"/import?{query}", body=bodies[index], headers=headers)
                    response = connection.getresponse()
                    status, body = response.status, orjson.loads(response.read())
                    if status not in (429, 503):
                        break
                    with lock:
                        backoffs[0] += 1
                    time.sleep(float(response.getheader("Retry-After") or 1))
                if status not in (200, 400):
                    raise RuntimeError(f"import failed: {status} {body}")
                with lock:
                    acked[0] += body["num_records_imported"]
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    acked_seconds = time.perf_counter() - start
    if backoffs[0]:
        print(f"/import: {backoffs[0]} requests told to back off (429/503) and resent after Retry-After")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    with httpx.Client(base_url=url, timeout=600.0) as client:  # a read first waits for the log to be flushed
        client.get(
            "/api/2.0/export",
            params={"project_id": creds.project_id, "from_date": today, "to_date": today,  # type: ignore[attr-defined]
                    "limit": 1},
            auth=(creds.sa_username, creds.sa_secret),  # type: ignore[attr-defined]
        ).raise_for_status()
    return acked[0], acked_seconds, time.perf_counter() - start


def run_ceiling(data_dir: Path, work: Path, fmt: str) -> tuple[int, float, int]:
    """Dump the stored rows in ``fmt`` and time their bulk load into a fresh chDB (each step its own process).

    Also returns the bytes the merged ``events`` table takes on disk."""
    dump = work / f"rows.{fmt}"
    merged = subprocess.run(
        [sys.executable, "-c", CEILING_SCRIPT, "dump", str(data_dir / "clickhouse"), str(dump), fmt],
        check=True, capture_output=True, text=True,
    ).stdout.split()[-1]
    out = subprocess.run(
        [sys.executable, "-c", CEILING_SCRIPT, "load", str(work / f"ceiling-{fmt}"), str(dump), fmt],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    dump.unlink()
    return int(out[0]), float(out[1]), int(merged)


def run_track(url: str, token: str, seconds: int, connections: int) -> tuple[float, str]:
    event = {"event": "Bench Track", "properties": {"token": token, "distinct_id": "bench-user", "plan": "pro"}}
    data = base64.b64encode(orjson.dumps(event)).decode()
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write('wrk.method = "POST"\n')
            script.write(f'wrk.body = "data={data}&verbose=1"\n')
            script.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n')
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", script.name, f"{url}/track"],
            capture_output=True, text=True, check=True,
        ).stdout
        for line in out.splitlines():
            if line.startswith("Requests/sec:"):
                return float(line.split()[1]), "wrk"
        raise RuntimeError(out)
    count = [0]
    stop = time.perf_counter() + seconds

    def worker() -> None:
        with httpx.Client(base_url=url) as client:
            while time.perf_counter() < stop:
                client.post("/track", data={"data": data, "verbose": "1"})
                count[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0] / seconds, "python clients"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--track-seconds", type=int, default=10)
    parser.add_argument("--track-connections", type=int, default=64)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    t = time.perf_counter()
    bodies = build_bodies(args.events)
    print(f"built {len(bodies)} gzip batches of 2000 events in {time.perf_counter() - t:.1f}s "
          f"({sum(map(len, bodies)) / 1e6:.1f} MB compressed)")
    with tempfile.TemporaryDirectory(prefix="mixhouse-bench-") as tmp:
        work = Path(tmp)
        server = start_server(work / "data")
        try:
            creds = make_project(server.data_dir, "bench")
            acked, seconds, queryable = run_import(server.url, creds, bodies, args.clients)
            rate = acked / seconds
            rss, peak = rss_mb(server.proc.pid)  # type: ignore[union-attr]
            print(f"/import: {acked} events acknowledged in {seconds:.2f}s = {rate:,.0f} events/s "
                  f"({args.clients} clients); server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")
            print(f"/import: all of them in ClickHouse (queryable) after {queryable:.2f}s = "
                  f"{acked / queryable:,.0f} events/s")
            track_rate, how = run_track(server.url, creds.token, args.track_seconds, args.track_connections)
            rss, peak = rss_mb(server.proc.pid)  # type: ignore[union-attr]
            print(f"/track: {track_rate:,.0f} requests/s, one event each ({how}, {args.track_connections} "
                  f"connections); server RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")
        finally:
            server.stop()
        disk_fresh = du_bytes(work / "data" / "clickhouse")
        ceiling_rows, ceiling_seconds, disk = run_ceiling(work / "data", work, "JSONEachRow")
        ceiling = ceiling_rows / ceiling_seconds
        print(f"ceiling: chDB bulk JSONEachRow load of the {ceiling_rows} stored rows: {ceiling:,.0f} events/s")
        print(f"ratio /import : JSONEachRow ceiling = {rate / ceiling:.2f}")
        tsv_rows, tsv_seconds, _ = run_ceiling(work / "data", work, "TabSeparated")
        tsv = tsv_rows / tsv_seconds
        print(f"engine best: chDB bulk TabSeparated load of the same rows: {tsv:,.0f} events/s")
        print(f"ratio /import : TabSeparated bulk load = {rate / tsv:.2f}")
        print(f"disk: {disk / ceiling_rows:.0f} MB per million events once merged (events table, active parts); "
              f"{disk_fresh / ceiling_rows:.0f} MB per million for the whole data directory right after ingestion")


if __name__ == "__main__":
    main()
