"""The ingestion use case: validate → enrich → resolve identity → hand to group commit.

Routes call these methods and await the returned future; a record is acknowledged only once the future resolves,
that is once its batch is durable. ``/import`` bodies are prepared in worker processes (``ingest/workers.py``);
identity decisions and the commit stay here, serialised by one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from mixhouse.core.timeutil import ms_to_ch
from mixhouse.ingest.decode import MAX_RECORDS
from mixhouse.ingest.events import EventRecord, EventRules, RecordError
from mixhouse.ingest.geo import GeoLocator, profile_geo_properties
from mixhouse.ingest.identity import IdentityPlanner, apply_simplified_ids
from mixhouse.ingest.import_batch import ImportJob, PreparedImport
from mixhouse.ingest.prepare import FailedRecord, PreparedRows, RequestFacts, normalize_batch, prepare_rows
from mixhouse.ingest.profiles import ProfileUpdate, normalize_update
from mixhouse.ingest.workers import IngestWorkers
from mixhouse.meta.records import Project
from mixhouse.services.identity_registry import IdentityRegistry
from mixhouse.services.profile_store import ProfileStore
from mixhouse.services.projects import ProjectDirectory
from mixhouse.storage.commit import GroupCommitter, SeqAllocator, WriteBatch

__all__ = ["FailedRecord", "IngestOutcome", "IngestService", "RequestFacts"]


@dataclass
class IngestOutcome:
    """What happened to a request's records; ``future`` resolves once the accepted ones are durable."""

    accepted: int = 0
    failed: list[FailedRecord] = field(default_factory=list)
    unknown_token: int = 0
    future: Future[None] | None = None


class IngestService:
    def __init__(
        self,
        *,
        projects: ProjectDirectory,
        identities: IdentityRegistry,
        profiles: ProfileStore,
        committer: GroupCommitter,
        seqs: SeqAllocator,
        geo: GeoLocator,
        workers: IngestWorkers,
    ) -> None:
        self.projects = projects
        self.identities = identities
        self.profiles = profiles
        self.committer = committer
        self.seqs = seqs
        self.geo = geo
        self.workers = workers
        self._plan_lock = threading.Lock()

    # -- events, token-routed or small (inline) ----------------------------------------------------------------
    def ingest_events(
        self,
        raw_records: list[Any],
        *,
        endpoint: str,
        strict: bool,
        project: Project | None,
        context: RequestFacts,
    ) -> IngestOutcome:
        """Validate and enqueue events; ``project`` is the authenticated project (``/import``) or None (tokens)."""
        outcome = IngestOutcome()
        rules = EventRules(endpoint=endpoint, strict=strict, now_ms=context.receive_ms)
        valid, outcome.failed, ignored = normalize_batch(raw_records, rules, simplified=False)
        by_project: dict[int, tuple[Project, list[EventRecord], list[int]]] = {}
        for index, record in valid:
            target = project or (self.projects.by_token(record.token) if record.token else None)
            if target is None:
                outcome.unknown_token += 1
                outcome.failed.append(FailedRecord(
                    index, record.insert_id, "properties.token",
                    "'properties.token' is missing or not a known project token",
                ))
                continue
            _, records, indices = by_project.setdefault(target.id, (target, [], []))
            records.append(record)
            indices.append(index)
        outcome.failed.sort(key=lambda item: item.index)
        batch = WriteBatch()
        reload_ids: list[int] = []
        for target, records, indices in by_project.values():
            if target.identity_mode == "simplified":
                for record in records:
                    apply_simplified_ids(record)
            prepared = prepare_rows(
                records, project_id=target.id, identity_mode=target.identity_mode, endpoint=endpoint,
                facts=context, geo=self.geo, seq_start=self.seqs.take(len(records)), indices=indices,
            )
            outcome.failed.extend(prepared.failed)
            outcome.accepted += len(prepared.rows)
            batch.events.extend(prepared.rows)
            if self._plan_identity(target, prepared, batch, authenticated=endpoint == "import"):
                reload_ids.append(target.id)
        outcome.accepted += ignored
        if reload_ids:
            batch.on_failure = self._reloader(reload_ids)
        if batch.size():
            outcome.future = self.committer.submit(batch)
        return outcome

    # -- /import through the worker pool -------------------------------------------------------------------------
    def import_job(
        self, project: Project, *, body: bytes, content_type: str, content_encoding: str,
        query: dict[str, str], facts: RequestFacts,
    ) -> ImportJob:
        return ImportJob(
            body=body, content_type=content_type, content_encoding=content_encoding, query=query,
            project_id=project.id, identity_mode=project.identity_mode, facts=facts,
            seq_start=self.seqs.take(MAX_RECORDS),
        )

    def submit_import(self, job: ImportJob) -> Future[PreparedImport]:
        return self.workers.submit(job)

    def commit_import(self, project: Project, prepared: PreparedImport) -> IngestOutcome:
        outcome = IngestOutcome(accepted=prepared.accepted, failed=prepared.prepared.failed)
        batch = WriteBatch(events=prepared.prepared.rows, event_rows=prepared.stored)
        if self._plan_identity(project, prepared.prepared, batch, authenticated=True):
            batch.on_failure = self._reloader([project.id])
        if batch.size():
            outcome.future = self.committer.submit(batch)
        return outcome

    # -- identity ------------------------------------------------------------------------------------------------
    def _plan_identity(
        self, project: Project, prepared: PreparedRows, batch: WriteBatch, *, authenticated: bool
    ) -> bool:
        """Decide the identity rows a prepared batch adds, put them in ``batch``; True if any (state changed)."""
        if not prepared.pairs and not prepared.hints:
            return False
        with self._plan_lock:
            state = self.identities.state(project.id, project.identity_mode)
            planner = IdentityPlanner(state)
            if project.identity_mode == "simplified":
                for user_id, device_id in prepared.pairs:
                    planner.pair(user_id, device_id)
            else:
                for hint in prepared.hints:
                    planner.original(hint, authenticated=authenticated)
            rows = planner.rows()
            if not rows:
                return False
            seq = self.seqs.take(len(rows))
            for offset, (member, canonical) in enumerate(rows):
                batch.identity.append(
                    orjson.dumps({"project_id": project.id, "id": member, "canonical": canonical,
                                  "seq": seq + offset}) + b"\n"
                )
            state.apply(rows)  # visible to later requests at once; reloaded from storage if the commit fails
        return True

    def _reloader(self, project_ids: list[int]) -> Callable[[], None]:
        def reload() -> None:
            for project_id in project_ids:
                self.identities.reload(project_id)

        return reload

    # -- profiles ------------------------------------------------------------------------------------------------
    def ingest_profiles(
        self,
        raw_records: list[Any],
        *,
        group: bool,
        project: Project | None,
        context: RequestFacts,
    ) -> IngestOutcome:
        outcome = IngestOutcome()
        accepted: list[tuple[Project, ProfileUpdate]] = []
        for index, raw in enumerate(raw_records):
            try:
                update = normalize_update(raw, group=group, now_ms=context.receive_ms)
                target = project
                if target is None:
                    target = self.projects.by_token(update.token) if update.token else None
                    if target is None:
                        outcome.unknown_token += 1
                        raise RecordError("$token", "'$token' is missing or not a known project token")
            except RecordError as exc:
                outcome.failed.append(FailedRecord(index, None, exc.field, exc.message))
                continue
            self._enrich_profile(update, context)
            accepted.append((target, update))
        outcome.accepted = len(accepted)
        if accepted:
            outcome.future = self._enqueue_profiles(accepted)
        return outcome

    def _enrich_profile(self, update: ProfileUpdate, context: RequestFacts) -> None:
        ops = update.ops
        if update.geo_disabled or not ("$set" in ops or "$set_once" in ops):
            return
        ip = update.ip or (context.request_ip if context.use_request_ip else None)
        if not ip:
            return
        geo = profile_geo_properties(self.geo.lookup(ip))
        if geo:
            explicit = ops.get("$set", {})
            ops["$set"] = {**{k: v for k, v in geo.items() if k not in explicit}, **explicit}

    def _enqueue_profiles(self, accepted: list[tuple[Project, ProfileUpdate]]) -> Future[None]:
        batch = WriteBatch()
        seq = self.seqs.take(len(accepted))
        applied: dict[int, list[tuple[tuple[str, str], dict[str, Any], int, int]]] = {}
        for project, update in accepted:
            batch.profile_ops.append(
                orjson.dumps(
                    {
                        "project_id": project.id,
                        "group_key": update.group_key,
                        "distinct_id": update.distinct_id,
                        "seq": seq,
                        "time": ms_to_ch(update.time_ms),
                        "op": orjson.dumps(update.ops).decode(),
                    }
                )
                + b"\n"
            )
            applied.setdefault(project.id, []).append(
                ((update.group_key, update.distinct_id), update.ops, update.time_ms, seq)
            )
            seq += 1

        def on_commit() -> None:
            for project_id, updates in applied.items():
                self.profiles.apply(project_id, updates)

        batch.on_commit = on_commit
        return self.committer.submit(batch)
