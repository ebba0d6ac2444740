"""Fill a new project with the deterministic demo data, through the real ingestion pipeline."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from mixhouse.core.timeutil import now_ms
from mixhouse.demo.generator import (
    DemoConfig,
    generate_event_batches,
    generate_group_updates,
    generate_profile_updates,
)
from mixhouse.errors import ServerError
from mixhouse.meta.records import CreatedProject
from mixhouse.services.ingestion import IngestOutcome, RequestFacts
from mixhouse.services.runtime import Runtime

_IN_FLIGHT = 4


@dataclass(frozen=True)
class DemoSummary:
    created: CreatedProject
    events: int
    profiles: int
    groups: int


def _context() -> RequestFacts:
    return RequestFacts(request_ip=None, use_request_ip=False, host="mixhouse-demo", receive_ms=now_ms())


def _drain(pending: deque[Future[None]], keep: int) -> None:
    while len(pending) > keep:
        pending.popleft().result()


def _feed(batches: Iterable[list[Any]], send: Callable[[list[Any]], IngestOutcome]) -> int:
    pending: deque[Future[None]] = deque()
    total = 0
    for batch in batches:
        outcome = send(batch)
        if outcome.failed:
            raise ServerError(f"demo data failed validation: {outcome.failed[0].message}")
        total += outcome.accepted
        if outcome.future is not None:
            pending.append(outcome.future)
        _drain(pending, _IN_FLIGHT)
    _drain(pending, 0)
    return total


def _chunks(items: Iterable[dict[str, Any]], size: int = 2000) -> Iterable[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_demo(runtime: Runtime, *, name: str = "Demo", events: int = 100_000, seed: int = 42) -> DemoSummary:
    created = runtime.meta.create_project(name)
    project = created.project
    config = DemoConfig(seed=seed, events=events)
    n_events = _feed(
        generate_event_batches(config),
        lambda batch: runtime.ingest.ingest_events(
            batch, endpoint="import", strict=True, project=project, context=_context()
        ),
    )
    n_profiles = _feed(
        _chunks(generate_profile_updates(config)),
        lambda batch: runtime.ingest.ingest_profiles(batch, group=False, project=project, context=_context()),
    )
    n_groups = _feed(
        _chunks(generate_group_updates(config)),
        lambda batch: runtime.ingest.ingest_profiles(batch, group=True, project=project, context=_context()),
    )
    return DemoSummary(created=created, events=n_events, profiles=n_profiles, groups=n_groups)
