"""Query API benchmark: p50 latency through HTTP next to the best hand-written chDB SQL for the same answer.

    python bench/query.py --events 10000000 [--data DIR]

Loads generated events through `/import` (the real pipeline; with `--data`, once: a later run on the same directory
reuses them), lets the engine finish merging (`OPTIMIZE … FINAL`, what background merges reach after a while; with
`--unsettled` the parts are left as the load made them), then times each endpoint over HTTP (p50 of --runs; 31 runs
on both sides for queries under 0.1 s, whose medians move most), stops
the server and times hand-written SQL on the same data directory in a separate process (chDB allows one process per
data directory).

Two hand-written figures per query:
- `same answer`: what a ClickHouse user would write for the answer the endpoint gives: deduplicated events (`FINAL`,
  the engine's own dedup; for the activity feed, `LIMIT 1 BY` over the by-user projection), canonical ids through
  the identity map where users are counted, the table's hot property columns where they exist, and a range pass
  before numeric bucketing. The ratio is ours / this.
- `floor`: the same shape on the raw table with no dedup and no identity resolution: what the engine costs when
  none of Mixpanel's semantics is applied (shown for reference; its answers can differ).
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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from _common import REPO, machine, rss_mb, start_server

sys.path.insert(0, str(REPO / "src"))
from tests.conftest import ProjectCreds, make_project

from mixhouse.demo.generator import DemoConfig, generate_event_batches

#: The generated month ends a few minutes before the load starts, so "today" (``events/top``) has events too.
END = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
FROM, TO = (END - timedelta(days=30)).date().isoformat(), END.date().isoformat()
LOADED_MARKER = "bench-loaded.json"

#: Placeholders in the hand-written SQL: {pid} project id, {lo}/{hi} the window's bounds, {final} `FINAL` or nothing,
#: {who} the distinct id expression (canonical or raw), {join} the identity join or nothing.
_WINDOW = "project_id = {pid} AND time >= {lo} AND time < {hi}"


#: A user of the 10M-event data set (seed 11) with ~2,000 events, one of its ids an anonymous device merged into it.
FEED_USER, FEED_DEVICE = "user_22610", "$device:1ad10584-018d-4c94-a42e-acfcb2fe539e"


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    params: dict[str, str]
    sql: str
    identity: bool = False  # whether the answer counts users (canonical ids)
    body: dict[str, object] | None = None  # a JSON body to POST instead of a GET


#: The feed user's events, the way the engine answers fastest: the asked id's user and that user's other ids looked up
#: in the identity table, the by-user projection read without `FINAL`, duplicates dropped with `LIMIT 1 BY` (ours
#: does the same).
_FEED_USER_OF_DEVICE = (
    f"(SELECT argMax(canonical, seq) FROM identity WHERE project_id = {{pid}} AND id = '{FEED_DEVICE}')"
)
_FEED_SQL = (
    "SELECT event, time, distinct_id, insert_id, properties FROM (SELECT * FROM events WHERE " + _WINDOW
    + " AND distinct_id IN (SELECT id FROM identity WHERE project_id = {pid} AND canonical = "
    + _FEED_USER_OF_DEVICE + " UNION ALL SELECT " + _FEED_USER_OF_DEVICE + ") ORDER BY seq DESC "
    "LIMIT 1 BY event, distinct_id, time, insert_id)"
)

#: The saved funnel the funnel cases run (``FUNNEL_ID`` is replaced by its id): the demo's purchase path, 7-day window.
FUNNEL_STEPS = ["Sign Up", "View Item", "Add To Cart", "Purchase"]
FUNNEL_ID = "{funnel_id}"
#: ClickHouse's own funnel function, what ClickHouse-based peers use: each user's deepest step reached within 7 days
#: of a step-1 event in the range (no 2-second grace, no per-bucket entries; on this data it gives our answer for the
#: one-bucket funnel).
_WINDOW_FUNNEL = (
    "SELECT level, count() FROM (SELECT {who} AS u, windowFunnel(604800000)(toUInt64(toUnixTimestamp64Milli(e.time)), "
    "e.event = 'Sign Up' AND e.time < {hi}, e.event = 'View Item', e.event = 'Add To Cart', e.event = 'Purchase') "
    "AS level FROM events AS e {final} {join} WHERE project_id = {pid} AND time >= {lo} "
    "AND time < {hi} + INTERVAL 7 DAY AND event IN ('Sign Up', 'View Item', 'Add To Cart', 'Purchase') "
    "AND {who} != '' GROUP BY u) GROUP BY level"
)

#: The same flow by hand: each user's events sorted, the three after their first Sign Up in the range within 7 days,
#: counted per path (our answer also prunes each step to its top 3 events and lays out drop-offs, in Python).
_FLOW_PATHS = (
    "SELECT p, count() FROM (SELECT arraySlice(arrayFilter((n, t) -> t <= t0 + 604800000, arraySlice(ns, i + 1), "
    "arraySlice(ts, i + 1)), 1, 3) AS p FROM (SELECT ns, ts, i, ts[i] AS t0 FROM (SELECT "
    "arraySort(groupArray((toUnixTimestamp64Milli(time), event))) AS evs, evs.1 AS ts, evs.2 AS ns, "
    "arrayFirstIndex((t, n) -> n = 'Sign Up' AND t >= toUnixTimestamp64Milli({lo}) "
    "AND t < toUnixTimestamp64Milli({hi}), ts, ns) AS i FROM (SELECT {who} AS u, e.time AS time, e.event AS event "
    "FROM events AS e {final} {join} "
    "WHERE project_id = {pid} AND time >= {lo} - INTERVAL 7 DAY AND time <= {hi} + INTERVAL 7 DAY AND {who} != '') "
    "GROUP BY u HAVING i > 0))) GROUP BY p"
)

CASES: list[Case] = [
    Case(
        "segmentation day total",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "unit": "day"},
        "SELECT toDate(time) d, count() FROM events {final} WHERE " + _WINDOW + " AND event = 'View Item' GROUP BY d",
    ),
    Case(
        "segmentation day unique",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "unit": "day", "type": "unique"},
        "SELECT toDate(time) d, uniqExactIf({who}, {who} != '') FROM events AS e {final} {join} WHERE "
        + _WINDOW
        + " AND event = 'View Item' GROUP BY d",
        identity=True,
    ),
    Case(
        "segmentation on $browser",
        "/api/query/segmentation",
        {"event": "View Item", "from_date": FROM, "to_date": TO, "on": 'properties["$browser"]'},
        "SELECT toDate(time) d, if(prop__browser = '', 'undefined', JSONExtractString(prop__browser)) b, count() "
        "FROM events {final} WHERE " + _WINDOW + " AND event = 'View Item' GROUP BY d, b",
    ),
    Case(
        "segmentation/sum price",
        "/api/query/segmentation/sum",
        {"event": "Purchase", "from_date": FROM, "to_date": TO, "on": 'properties["price"]'},
        "SELECT toDate(time) d, sum(JSONExtractFloat(properties, 'price')) FROM events {final} WHERE "
        + _WINDOW
        + " AND event = 'Purchase' GROUP BY d",
    ),
    Case(
        "segmentation/average price",
        "/api/query/segmentation/average",
        {"event": "Purchase", "from_date": FROM, "to_date": TO, "on": 'properties["price"]'},
        "SELECT toDate(time) d, avgIf(JSONExtractFloat(properties, 'price'), JSONType(properties, 'price') IN "
        "('Int64', 'UInt64', 'Double')) FROM events {final} WHERE " + _WINDOW + " AND event = 'Purchase' GROUP BY d",
    ),
    Case(
        "segmentation/numeric price",
        "/api/query/segmentation/numeric",
        {"event": "Purchase", "from_date": FROM, "to_date": TO, "on": 'properties["price"]', "buckets": "10"},
        "WITH (SELECT (min(v), max(v)) FROM (SELECT JSONExtractFloat(properties, 'price') v FROM events {final} "
        "WHERE " + _WINDOW + " AND event = 'Purchase' AND JSONType(properties, 'price') IN ('Int64', 'UInt64', "
        "'Double'))) AS r SELECT toDate(time) d, least(toInt64(floor((JSONExtractFloat(properties, 'price') - r.1) "
        "/ greatest((r.2 - r.1) / 10, 1))), 9) s, count() FROM events {final} WHERE " + _WINDOW
        + " AND event = 'Purchase' AND JSONType(properties, 'price') IN ('Int64', 'UInt64', 'Double') GROUP BY d, s",
    ),
    Case(
        "events (3 names, unique)",
        "/api/query/events",
        {"event": '["View Item", "Purchase", "Add To Cart"]', "type": "unique", "unit": "day",
         "from_date": FROM, "to_date": TO},
        "SELECT event, toDate(time) d, uniqExactIf({who}, {who} != '') FROM events AS e {final} {join} WHERE "
        + _WINDOW
        + " AND event IN ('View Item', 'Purchase', 'Add To Cart') GROUP BY event, d",
        identity=True,
    ),
    Case(
        "events/top (unique)",
        "/api/query/events/top",
        {"type": "unique"},
        "SELECT event, countIf(time >= toStartOfDay(now())) t, uniqExactIf({who}, time >= toStartOfDay(now()) AND "
        "{who} != '') tu, countIf(time < now() - INTERVAL 1 DAY) y FROM events AS e {final} {join} WHERE project_id = "
        "{pid} AND time >= toStartOfDay(now()) - INTERVAL 1 DAY GROUP BY event HAVING t > 0",
        identity=True,
    ),
    Case(
        "events/names",
        "/api/query/events/names",
        {"type": "general", "from_date": FROM, "to_date": TO},
        "SELECT event, count() c FROM events {final} WHERE " + _WINDOW + " GROUP BY event ORDER BY c DESC LIMIT 255",
    ),
    Case(
        "events/properties $browser",
        "/api/query/events/properties",
        {"event": "View Item", "name": "$browser", "from_date": FROM, "to_date": TO, "unit": "day"},
        "SELECT JSONExtractString(prop__browser) v, toDate(time) d, count() FROM events {final} WHERE "
        + _WINDOW
        + " AND event = 'View Item' AND prop__browser != '' GROUP BY v, d",
    ),
    Case(
        "events/properties/top",
        "/api/query/events/properties/top",
        {"event": "Purchase", "from_date": FROM, "to_date": TO},
        "SELECT k, count() c FROM events {final} ARRAY JOIN JSONExtractKeys(properties) AS k WHERE "
        + _WINDOW
        + " AND event = 'Purchase' GROUP BY k ORDER BY c DESC LIMIT 10",
    ),
    Case(
        "events/properties/values",
        "/api/query/events/properties/values",
        {"event": "View Item", "name": "$city", "from_date": FROM, "to_date": TO},
        "SELECT JSONExtractString(prop__city) v, count() c FROM events {final} WHERE "
        + _WINDOW
        + " AND event = 'View Item' AND prop__city != '' GROUP BY v ORDER BY c DESC LIMIT 255",
    ),
    Case(
        "stream/query (one user)",
        "/api/query/stream/query",
        {"distinct_ids": orjson.dumps([FEED_DEVICE]).decode(), "from_date": FROM, "to_date": TO},
        _FEED_SQL + " ORDER BY time",
    ),
    Case(
        "stream/bookmark (one user)",
        "/api/query/stream/bookmark",
        {},
        _FEED_SQL + " ORDER BY time DESC, insert_id DESC, event DESC LIMIT 15001",
        body={"bookmark": {"dateRange": {"type": "between", "from": FROM, "to": TO}, "entries": []},
              "distinct_ids": [FEED_DEVICE], "mode": "raw"},
    ),
    Case(
        "retention (birth, week, 8)",
        "/api/query/retention",
        {"born_event": "Sign Up", "unit": "week", "interval_count": "8", "from_date": FROM, "to_date": TO},
        "WITH births AS (SELECT {who} AS u, min(time) AS t FROM events AS e {final} {join} WHERE project_id = {pid} "
        "AND event = 'Sign Up' AND time < {hi} AND {who} != '' GROUP BY u HAVING t >= {lo}) "
        "SELECT toMonday(b.t) c, intDiv(toUnixTimestamp64Milli(r.time) - toUnixTimestamp64Milli(b.t), 604800000) i, "
        "uniqExact(b.u) FROM births AS b INNER JOIN (SELECT {who} AS u, time FROM events AS e {final} {join} "
        "WHERE " + _WINDOW.replace("time < {hi}", "time < {hi} + INTERVAL 63 DAY") + " AND {who} != '') AS r "
        "ON b.u = r.u WHERE r.time > b.t AND i <= 8 GROUP BY c, i",
        identity=True,
    ),
    Case(
        "funnels (4 steps, 7 d, one bucket)",
        "/api/query/funnels",
        {"funnel_id": FUNNEL_ID, "from_date": FROM, "to_date": TO, "interval": "31"},
        _WINDOW_FUNNEL,
        identity=True,
    ),
    Case(
        "funnels (same, daily buckets)",
        "/api/query/funnels",
        {"funnel_id": FUNNEL_ID, "from_date": FROM, "to_date": TO},
        _WINDOW_FUNNEL,
        identity=True,
    ),
    Case(
        "flows (Sign Up, 3 steps forward)",
        "/api/query/arb_funnels",
        {},
        _FLOW_PATHS,
        identity=True,
        body={"query_type": "flows_sankey", "bookmark": {
            "steps": [{"event": "Sign Up", "forward": 3, "reverse": 0}], "count_type": "unique",
            "conversion_window": {"unit": "day", "value": 7}, "cardinality_threshold": 3,
            "date_range": {"type": "between", "from_date": FROM, "to_date": TO}}},
    ),
    Case(
        "retention/addiction (day, hour)",
        "/api/query/retention/addiction",
        {"event": "View Item", "unit": "day", "addiction_unit": "hour", "from_date": FROM, "to_date": TO},
        "SELECT d, n, count() FROM (SELECT toDate(time) d, {who} u, uniqExact(toStartOfHour(time)) n "
        "FROM events AS e {final} {join} WHERE " + _WINDOW + " AND event = 'View Item' AND {who} != '' "
        "GROUP BY d, u) GROUP BY d, n",
        identity=True,
    ),
]

_IDENTITY_JOIN = (
    "LEFT JOIN (SELECT id, argMax(canonical, seq) AS canonical FROM identity WHERE project_id = {pid} GROUP BY id) "
    "AS m ON e.distinct_id = m.id"
)

HANDWRITTEN = r"""
import sys, time, statistics, json, chdb.session as cs
path, cases = sys.argv[1], json.loads(sys.argv[2])
s = cs.Session(path)
out = {}
for name, sql, runs in cases:
    times = []
    for _ in range(runs):
        t = time.perf_counter(); s.query(sql, "JSONCompact"); times.append(time.perf_counter() - t)
    out[name] = statistics.median(times)
print(json.dumps(out))
"""


SETTLE = r"""
import sys, time, chdb.session as cs
s = cs.Session(sys.argv[1])
pending = "SELECT count() FROM system.mutations WHERE table = 'events' AND NOT is_done"
while s.query(pending, "CSV").bytes().strip() != b"0":
    time.sleep(1)
started = time.perf_counter()
s.query("OPTIMIZE TABLE events FINAL")
active = "SELECT count(), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active"
parts, size = s.query(active, "CSV").bytes().decode().strip().split(",")
print(f"merged in {time.perf_counter() - started:.0f}s; active parts: {parts}, {int(size) / 2**20:.0f} MiB")
"""


def handwritten_sql(case: Case, *, pid: int, lo: str, hi: str, same_answer: bool) -> str:
    identity = same_answer and case.identity
    return case.sql.format(
        pid=pid,
        lo=lo,
        hi=hi,
        final="FINAL" if same_answer else "",
        who="if(m.canonical = '', e.distinct_id, m.canonical)" if identity else "distinct_id",
        join=_IDENTITY_JOIN.format(pid=pid) if identity else "",
    )


def load(url: str, creds: ProjectCreds, events: int, clients: int) -> float:
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


def saved_funnel(data_dir: Path, creds: ProjectCreds) -> int:
    """The id of the bench's saved funnel in the project (saved on first use)."""
    from mixhouse.meta.store import MetaStore
    from mixhouse.services.funnel_definition import funnel_params

    with MetaStore.for_data_dir(data_dir) as store:
        store.migrate()
        for report in store.list_reports(creds.project_id, "funnels"):
            if report.name == "bench funnel":
                return report.id
        params = funnel_params(FUNNEL_STEPS, window=7)
        return store.create_report(creds.project_id, "funnels", "bench funnel", params).id


#: Queries faster than this get ``SMALL_RUNS`` runs on both sides: their medians move most from run to run.
SMALL_QUERY_S = 0.1
SMALL_RUNS = 31


def time_endpoints(url: str, creds: ProjectCreds, runs: int, funnel_id: int,
                   cases: list[Case]) -> tuple[dict[str, float], dict[str, int]]:
    """p50 per case, and how many runs it got (the hand-written side gets as many)."""
    ours: dict[str, float] = {}
    counts: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=600, auth=(creds.sa_username, creds.sa_secret)) as client:
        for case in cases:
            times: list[float] = []
            params = {key: value.replace(FUNNEL_ID, str(funnel_id)) for key, value in case.params.items()}
            while len(times) < runs or (statistics.median(times) < SMALL_QUERY_S and len(times) < SMALL_RUNS):
                started = time.perf_counter()
                if case.body is None:
                    response = client.get(case.path, params={**params, "project_id": str(creds.project_id)})
                else:
                    response = client.post(case.path, json={**case.body, "project_id": str(creds.project_id)})
                times.append(time.perf_counter() - started)
                response.raise_for_status()
            ours[case.name] = statistics.median(times)
            counts[case.name] = len(times)
    return ours, counts


def time_handwritten(clickhouse_dir: Path, cases: list[tuple[str, str, int]]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", HANDWRITTEN, str(clickhouse_dir), orjson.dumps(cases).decode()],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"hand-written queries failed:\n{done.stderr}")
    times: dict[str, float] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return times


def run(data_dir: Path, args: argparse.Namespace) -> None:
    marker = data_dir / LOADED_MARKER
    server = start_server(data_dir)
    try:
        if marker.exists():
            saved = orjson.loads(marker.read_bytes())
            creds = ProjectCreds(**saved["creds"])
            print(f"reusing {saved['events']:,} events loaded earlier in {data_dir}")
        else:
            creds = make_project(server.data_dir, "qbench")
            seconds = load(server.url, creds, args.events, args.clients)
            print(f"loaded {args.events:,} events through /import in {seconds:.0f}s")
            marker.write_bytes(orjson.dumps({"events": args.events, "creds": creds.__dict__}))
    finally:
        server.stop()
    if not args.unsettled:
        settled = subprocess.run([sys.executable, "-c", SETTLE, str(data_dir / "clickhouse")], capture_output=True,
                                 text=True)
        if settled.returncode != 0:
            raise SystemExit(f"settling the parts failed:\n{settled.stderr}")
        print(settled.stdout.strip())
    selected = [case for case in CASES if not args.only or any(part in case.name for part in args.only.split(","))]
    server = start_server(data_dir)
    try:
        ours, run_counts = time_endpoints(server.url, creds, args.runs, saved_funnel(data_dir, creds), selected)
        rss, peak = rss_mb(server.proc.pid)  # type: ignore[union-attr]
    finally:
        server.stop()
    start_ms = int(datetime.fromisoformat(FROM).replace(tzinfo=UTC).timestamp() * 1000)
    end_ms = int((datetime.fromisoformat(TO).replace(tzinfo=UTC) + timedelta(days=1)).timestamp() * 1000)
    lo = f"fromUnixTimestamp64Milli(toInt64({start_ms}), 'UTC')"
    hi = f"fromUnixTimestamp64Milli(toInt64({end_ms}), 'UTC')"
    figures = {}
    for same_answer in (True, False):
        cases = [
            (case.name, handwritten_sql(case, pid=creds.project_id, lo=lo, hi=hi, same_answer=same_answer),
             run_counts[case.name])
            for case in selected
        ]
        figures[same_answer] = time_handwritten(data_dir / "clickhouse", cases)
    best, floor = figures[True], figures[False]
    print(f"server RSS after the queries: {rss:.0f} MiB (peak {peak:.0f} MiB)")
    print(f"{'query':34} {'ours p50':>9} {'same answer':>12} {'ratio':>6} {'floor':>8}")
    for case in selected:
        name = case.name
        print(f"{name:34} {ours[name]:8.3f}s {best[name]:11.3f}s {ours[name] / best[name]:6.2f} {floor[name]:7.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--unsettled", action="store_true", help="time the parts as the load left them")
    parser.add_argument("--data", type=Path, help="data directory to load once and reuse (default: a temporary one)")
    parser.add_argument("--only", help="comma-separated parts of the query names to time (default: all)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        run(args.data, args)
        return
    with tempfile.TemporaryDirectory(prefix="mixhouse-qbench-") as tmp:
        run(Path(tmp) / "data", args)


if __name__ == "__main__":
    main()
