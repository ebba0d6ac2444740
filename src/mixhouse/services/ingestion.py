"""The ingestion use case: validate → enrich → resolve identity → hand to group commit.

Routes call ``ingest_events`` / ``ingest_profiles`` and await the returned future; a record is acknowledged only
once the future resolves, that is once its batch is durable.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from mixhouse.core.timeutil import ms_to_ch, now_ms
from mixhouse.ingest import limits
from mixhouse.ingest.events import EventRecord, EventRules, RecordError, normalize_event
from mixhouse.ingest.geo import GeoLocator, event_geo_properties, profile_geo_properties
from mixhouse.ingest.identity import IdentityPlanner, apply_simplified_ids
from mixhouse.ingest.profiles import ProfileUpdate, normalize_update
from mixhouse.meta.records import Project
from mixhouse.services.identity_registry import IdentityRegistry
from mixhouse.services.profile_store import ProfileStore
from mixhouse.services.projects import ProjectDirectory
from mixhouse.storage.commit import GroupCommitter, SeqAllocator, WriteBatch

_GEO_EVENT_KEYS = ("$city", "$region", "mp_country_code")


@dataclass(frozen=True)
class FailedRecord:
    index: int
    insert_id: str | None
    field: str
    message: str


@dataclass
class IngestOutcome:
    """What happened to a request's records; ``future`` resolves once the accepted ones are durable."""

    accepted: int = 0
    failed: list[FailedRecord] = field(default_factory=list)
    unknown_token: int = 0
    future: Future[None] | None = None


@dataclass(frozen=True)
class RequestContext:
    """Facts about the HTTP request that enrichment uses."""

    request_ip: str | None
    use_request_ip: bool
    host: str
    receive_ms: int


def _raw_insert_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        props = raw.get("properties")
        if isinstance(props, dict):
            value = props.get("$insert_id")
            return value if isinstance(value, str) else None
    return None


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
    ) -> None:
        self.projects = projects
        self.identities = identities
        self.profiles = profiles
        self.committer = committer
        self.seqs = seqs
        self.geo = geo
        self._plan_lock = threading.Lock()

    # -- events ---------------------------------------------------------------------------------------------
    def ingest_events(
        self,
        raw_records: list[Any],
        *,
        endpoint: str,
        strict: bool,
        project: Project | None,
        context: RequestContext,
    ) -> IngestOutcome:
        """Validate and enqueue events; ``project`` is the authenticated project (``/import``) or None (tokens)."""
        outcome = IngestOutcome()
        rules = EventRules(endpoint=endpoint, strict=strict, now_ms=context.receive_ms)
        by_project: dict[int, tuple[Project, list[tuple[int, EventRecord]]]] = {}
        for index, raw in enumerate(raw_records):
            try:
                record = normalize_event(raw, rules)
                target = project
                if target is None:
                    target = self.projects.by_token(record.token) if record.token else None
                    if target is None:
                        outcome.unknown_token += 1
                        raise RecordError(
                            "properties.token", "'properties.token' is missing or not a known project token"
                        )
                if record.ignored:
                    outcome.accepted += 1
                    continue
                if target.identity_mode == "simplified":
                    apply_simplified_ids(record)
            except RecordError as exc:
                outcome.failed.append(FailedRecord(index, _raw_insert_id(raw), exc.field, exc.message))
                continue
            by_project.setdefault(target.id, (target, []))[1].append((index, record))
            outcome.accepted += 1
        if by_project:
            outcome.future = self._enqueue_events(by_project, endpoint=endpoint, context=context, outcome=outcome)
        return outcome

    def _enrich(self, record: EventRecord, endpoint: str, context: RequestContext, processed_ms: int) -> None:
        props = record.properties
        if not record.geo_disabled and not any(key in props for key in _GEO_EVENT_KEYS):
            ip = record.ip or (context.request_ip if context.use_request_ip else None)
            if ip:
                props.update(event_geo_properties(self.geo.lookup(ip)))
        props["$mp_api_endpoint"] = context.host
        props["$mp_api_timestamp_ms"] = context.receive_ms
        props["mp_processing_time_ms"] = processed_ms
        if endpoint == "import":
            props["$import"] = True

    def _enqueue_events(
        self,
        by_project: dict[int, tuple[Project, list[tuple[int, EventRecord]]]],
        *,
        endpoint: str,
        context: RequestContext,
        outcome: IngestOutcome,
    ) -> Future[None]:
        batch = WriteBatch()
        processed = now_ms()
        dumps = orjson.dumps
        with self._plan_lock:
            for project_id, (project, records) in by_project.items():
                state = self.identities.state(project_id, project.identity_mode)
                planner = IdentityPlanner(state)
                seq = self.seqs.take(len(records))
                kept = 0
                for index, record in records:
                    self._enrich(record, endpoint, context, processed)
                    line = dumps(
                        {
                            "project_id": project_id,
                            "time": ms_to_ch(record.time_ms),
                            "event": record.event,
                            "distinct_id": record.distinct_id,
                            "insert_id": record.insert_id,
                            "seq": seq,
                            "properties": record.properties,
                        }
                    )
                    seq += 1
                    if len(line) > limits.MAX_EVENT_BYTES:
                        outcome.accepted -= 1
                        outcome.failed.append(
                            FailedRecord(index, record.insert_id, "event", "event is larger than 1 MB")
                        )
                        continue
                    batch.events.append(line + b"\n")
                    kept += 1
                    if project.identity_mode == "simplified":
                        planner.simplified(record)
                    else:
                        planner.original(record, authenticated=endpoint == "import")
                rows = planner.rows()
                if rows:
                    id_seq = self.seqs.take(len(rows))
                    for offset, (member, canonical) in enumerate(rows):
                        batch.identity.append(
                            dumps({"project_id": project_id, "id": member, "canonical": canonical,
                                   "seq": id_seq + offset}) + b"\n"
                        )
                    state.apply(rows)  # visible to later requests at once; reloaded if the commit fails
                    batch.on_failure = self._reloader([project_id])
        return self.committer.submit(batch)

    def _reloader(self, project_ids: list[int]) -> Any:
        def reload() -> None:
            for project_id in project_ids:
                self.identities.reload(project_id)

        return reload

    # -- profiles -------------------------------------------------------------------------------------------
    def ingest_profiles(
        self,
        raw_records: list[Any],
        *,
        group: bool,
        project: Project | None,
        context: RequestContext,
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

    def _enrich_profile(self, update: ProfileUpdate, context: RequestContext) -> None:
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
