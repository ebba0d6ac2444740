"""Worker processes for the CPU-heavy half of ``/import`` (decode, validate, enrich, serialise).

Python runs one thread of bytecode at a time, so a server process alone tops out well below what the storage engine
can absorb. ``/import`` batches are prepared by a pool of ``spawn``ed processes (they import no storage code) and
the server process keeps identity decisions and the commit. With ``processes=0`` everything runs inline.
"""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from mixhouse.ingest.geo import GeoLocator
from mixhouse.ingest.import_batch import ImportJob, PreparedImport, prepare_import

_worker_geo: GeoLocator | None = None


def _initialise(city_db: str | None) -> None:
    global _worker_geo
    _worker_geo = GeoLocator(Path(city_db) if city_db else None)
    # A worker's garbage is decoded JSON, which holds no reference cycles: reference counting frees it. Keep the
    # cycle collector from rescanning the imported modules (freeze) and from running every few hundred objects
    # of each batch (about 0.5 µs per event).
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)


def _prepare(job: ImportJob) -> PreparedImport:
    assert _worker_geo is not None, "worker not initialised"
    return prepare_import(job, _worker_geo)


def _ready() -> bool:
    return _worker_geo is not None


class IngestWorkers:
    def __init__(self, processes: int, *, city_db: Path | None, geo: GeoLocator) -> None:
        self.processes = processes
        self._geo = geo
        self._pool: ProcessPoolExecutor | None = None
        if processes > 0:
            self._pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialise,
                initargs=(str(city_db) if city_db else None,),
            )
            for future in [self._pool.submit(_ready) for _ in range(processes)]:
                future.result(timeout=120)  # start them now, not on the first request

    #: Bodies smaller than this are prepared inline: the round trip to a worker would cost more than it saves.
    INLINE_BELOW_BYTES = 32 * 1024

    def submit(self, job: ImportJob) -> Future[PreparedImport]:
        if self._pool is None or len(job.body) < self.INLINE_BELOW_BYTES:
            future: Future[PreparedImport] = Future()
            try:
                future.set_result(prepare_import(job, self._geo))
            except BaseException as exc:
                future.set_exception(exc)
            return future
        return self._pool.submit(_prepare, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=False)
            self._pool = None
