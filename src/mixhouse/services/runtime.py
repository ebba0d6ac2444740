"""Wires one data directory's stores and services together; the server and the CLI both start from here."""

from __future__ import annotations

import logging
import threading
from typing import Any

from mixhouse.config import Settings
from mixhouse.ingest.geo import GeoLocator
from mixhouse.ingest.workers import IngestWorkers
from mixhouse.meta.store import MetaStore
from mixhouse.services.alert_scheduler import AlertContext, AlertScheduler
from mixhouse.services.engage import EngageService
from mixhouse.services.identity_registry import IdentityRegistry
from mixhouse.services.ingestion import IngestService
from mixhouse.services.profile_store import ProfileStore
from mixhouse.services.projects import ProjectDirectory
from mixhouse.storage.base import Backend
from mixhouse.storage.commit import GroupCommitter, SeqAllocator
from mixhouse.storage.embedded.backend import EmbeddedBackend
from mixhouse.storage.read_barrier import ReadAfterWrite
from mixhouse.storage.schema import EVENTS_TABLE, IDENTITY_TABLE, PROFILE_OPS_TABLE
from mixhouse.storage.wal import wal_directory

log = logging.getLogger("mixhouse")


class Runtime:
    """Owns the data directory for the life of the process (server, ``mixhouse demo``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.meta = MetaStore.for_data_dir(settings.data_dir, settings.meta_url)
        self.meta.migrate()
        self.storage = EmbeddedBackend(
            settings.data_dir, fsync_after_insert=settings.fsync_after_insert, sessions=settings.read_sessions
        )
        self.storage.migrate()
        self.committer = GroupCommitter(
            self.storage,
            wal_directory(settings.data_dir),
            fsync=settings.fsync_after_insert,
            max_pending_rows=settings.max_pending_rows,
            gather_ms=settings.commit_gather_ms,
            flush_ms=settings.flush_ms,
            flush_rows=settings.flush_rows,
        )
        self.committer.recover()  # before anything reads: what the last process acknowledged but did not flush
        #: What every reader uses: waits for acknowledged rows still in the write-ahead log.
        self.backend: Backend = ReadAfterWrite(self.storage, self.committer.sync)
        self.projects = ProjectDirectory(self.meta)
        self.identities = IdentityRegistry(self.backend)
        self.profiles = ProfileStore(self.backend)
        self.seqs = SeqAllocator(self._max_seq())
        self.geo = GeoLocator(settings.geoip_db)
        self.workers = IngestWorkers(settings.ingest_workers, city_db=settings.geoip_db, geo=self.geo)
        self.ingest = IngestService(
            projects=self.projects,
            identities=self.identities,
            profiles=self.profiles,
            committer=self.committer,
            seqs=self.seqs,
            geo=self.geo,
            workers=self.workers,
        )
        self.engage = EngageService(self.profiles)
        self.committer.start()
        self.alert_context = AlertContext(self.meta, self.backend, self._profiles_of, settings)
        #: Alert checks and test notifications use it to cut their retry waits short at shutdown.
        self.alert_stopping = threading.Event()
        self._alerts: AlertScheduler | None = None

    def _profiles_of(self, project_id: int) -> Any:
        return lambda: self.profiles.snapshot(project_id)

    def start_alerts(self) -> None:
        """Start the alert scheduler (the server does; one-shot commands do not), unless ``alert_tick_s`` is 0."""
        if self._alerts is None and self.settings.alert_tick_s > 0:
            self._alerts = AlertScheduler(self.alert_context, tick_s=self.settings.alert_tick_s,
                                          stopping=self.alert_stopping)
            self._alerts.start()

    def _max_seq(self) -> int:
        sql = " UNION ALL ".join(
            f"SELECT max(seq) AS s FROM {table}" for table in (EVENTS_TABLE, IDENTITY_TABLE, PROFILE_OPS_TABLE)
        )
        rows = self.backend.query_rows(f"SELECT max(s) AS s FROM ({sql})")
        return int(rows[0]["s"]) if rows else 0

    def close(self) -> None:
        """Finish the alert checks under way, commit what is queued, then release the data directory."""
        self.alert_stopping.set()
        if self._alerts is not None:
            self._alerts.stop()
        self.workers.close()
        self.committer.stop()
        self.storage.close()
        self.geo.close()
        self.meta.close()
        log.info("mixhouse stopped; data flushed to %s", self.settings.data_dir)
