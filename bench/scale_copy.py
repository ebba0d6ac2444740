"""Scale a benchmark data directory up by copies: N× the events and users, for the 100M-event figures.

    python bench/scale_copy.py --source /path/to/10M-data --target /path/to/100M-data --copies 10

Loading 100M events through `/import` takes about an hour of this 2-core machine; this copies a data directory that
`bench/query.py --data` loaded through the real pipeline, then appends copies 1…N-1 of its events and identity
merges inside the engine, each copy under its own users (`distinct_id` and `$insert_id` suffixed `~k`, identity
ids and canonical ids likewise). The shape per user — events, funnels, merges, resends — is the source's; there are
N times as many users. Then it merges each month into one part (what background merges reach after a while) and
prints the timings. Run `bench/query.py --data TARGET --unsettled` on the result (the parts are merged already).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from _common import REPO, machine

sys.path.insert(0, str(REPO / "src"))
from mixhouse.storage.embedded.backend import EmbeddedBackend
from mixhouse.storage.schema import EVENT_COLUMNS, EVENTS_TABLE, IDENTITY_TABLE


def _suffixed(column: str, copy: int) -> str:
    return f"concat({column}, '~{copy}')"


def scale(target: Path, copies: int) -> None:
    backend = EmbeddedBackend(target)
    try:
        backend.migrate()
        original = "position(distinct_id, '~') = 0"
        for copy in range(1, copies):
            started = time.perf_counter()
            columns = [_suffixed(c, copy) if c in ("distinct_id", "insert_id") else c for c in EVENT_COLUMNS]
            backend.query_rows(
                f"INSERT INTO {EVENTS_TABLE} ({', '.join(EVENT_COLUMNS)}) "
                f"SELECT {', '.join(columns)} FROM {EVENTS_TABLE} WHERE {original}"
            )
            backend.query_rows(
                f"INSERT INTO {IDENTITY_TABLE} (project_id, id, canonical, seq) "
                f"SELECT project_id, {_suffixed('id', copy)}, {_suffixed('canonical', copy)}, seq "
                f"FROM {IDENTITY_TABLE} WHERE position(id, '~') = 0"
            )
            print(f"copy {copy}: {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        for row in backend.query_rows(
            f"SELECT DISTINCT partition_id FROM system.parts WHERE table = '{EVENTS_TABLE}' AND active"
        ):
            backend.query_rows(f"OPTIMIZE TABLE {EVENTS_TABLE} PARTITION ID '{row['partition_id']}' FINAL")
        backend.query_rows(f"OPTIMIZE TABLE {IDENTITY_TABLE} FINAL")
        counted = backend.query_rows(f"SELECT count() AS n FROM {EVENTS_TABLE}")[0]["n"]
        parts = backend.query_rows(
            f"SELECT count() AS parts, sum(bytes_on_disk) AS size FROM system.parts "
            f"WHERE table = '{EVENTS_TABLE}' AND active"
        )[0]
        print(f"merged in {time.perf_counter() - started:.0f} s: {int(counted):,} events, {parts['parts']} parts, "
              f"{int(parts['size']) / 2**20:,.0f} MiB")
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="a data directory bench/query.py loaded")
    parser.add_argument("--target", type=Path, required=True, help="a new data directory (must not exist)")
    parser.add_argument("--copies", type=int, default=10, help="how many times the source's events (default 10)")
    args = parser.parse_args()
    if args.target.exists():
        parser.error(f"{args.target} exists")
    print(machine())
    started = time.perf_counter()
    shutil.copytree(args.source, args.target, symlinks=True, ignore=shutil.ignore_patterns("mixhouse.lock"))
    print(f"copied {args.source} in {time.perf_counter() - started:.0f} s", flush=True)
    scale(args.target, args.copies)


if __name__ == "__main__":
    main()
