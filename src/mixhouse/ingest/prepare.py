"""Turn a batch of events into storage rows: the CPU-heavy half of ingestion, free of shared state.

``normalize_batch`` validates a batch of decoded events and ``prepare_rows`` enriches and serialises the valid ones
for one project. Both are pure functions of their inputs (plus an IP geolocator), so ``/import`` batches can run in
worker processes (``ingest/workers.py``, ``ingest/import_batch.py``) while the server process keeps what needs
shared state: identity decisions and the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from mixhouse.core.timeutil import ms_to_ch, now_ms
from mixhouse.ingest import limits
from mixhouse.ingest.events import EventRecord, EventRules, RecordError, normalize_event
from mixhouse.ingest.geo import GeoLocator, event_geo_properties
from mixhouse.ingest.identity import apply_simplified_ids
from mixhouse.storage.schema import event_row

IDENTITY_KEYS = ("$user_id", "$device_id", "$identified_id", "$anon_id", "$anon_distinct_id", "alias",
                  "$distinct_ids")
_IDENTITY_EVENTS = frozenset({"$identify", "$create_alias", "$merge"})


@dataclass(frozen=True)
class FailedRecord:
    index: int
    insert_id: str | None
    field: str
    message: str


class IdentityHint(NamedTuple):
    """The part of an event identity resolution looks at (see ``IdentityPlanner``): small and cheap to pickle."""

    event: str
    distinct_id: str
    values: tuple[Any, ...]  # the event's values of ``IDENTITY_KEYS`` (None where absent)

    @property
    def properties(self) -> dict[str, Any]:
        return {key: value for key, value in zip(IDENTITY_KEYS, self.values, strict=True) if value is not None}


@dataclass(frozen=True)
class RequestFacts:
    """What enrichment needs to know about the HTTP request."""

    request_ip: str | None
    use_request_ip: bool
    host: str
    receive_ms: int


@dataclass
class PreparedRows:
    rows: list[bytes] = field(default_factory=list)  # event row lines; one joined blob once packed
    #: Simplified ID Merge: each distinct (``$user_id``, ``$device_id``) pair, in order of first appearance.
    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    #: Original ID Merge: the identity events (``$identify``, ``$create_alias``, ``$merge``).
    hints: list[IdentityHint] = field(default_factory=list)
    failed: list[FailedRecord] = field(default_factory=list)


def _collect_identity(record: EventRecord, identity_mode: str, out: PreparedRows, pairs: dict[Any, None]) -> None:
    props = record.properties
    if identity_mode == "simplified":
        user_id, device_id = props.get("$user_id"), props.get("$device_id")
        if user_id not in (None, "") and device_id not in (None, ""):
            pairs[(user_id, device_id)] = None
    elif record.event in _IDENTITY_EVENTS:
        out.hints.append(
            IdentityHint(record.event, record.distinct_id, tuple(props.get(key) for key in IDENTITY_KEYS))
        )


def prepare_rows(
    records: list[EventRecord],
    *,
    project_id: int,
    identity_mode: str,
    endpoint: str,
    facts: RequestFacts,
    geo: GeoLocator,
    seq_start: int,
    indices: Sequence[int] | None = None,
) -> PreparedRows:
    """Enrich, serialise (JSONEachRow lines) and collect identity hints for one project's valid events.

    ``indices`` are the records' positions in the request, so an oversize record is reported at its own index.
    """
    out = PreparedRows()
    processed = now_ms()
    dumps = orjson.dumps
    seq = seq_start
    pairs: dict[Any, None] = {}  # an ordered set
    default_ip = facts.request_ip if facts.use_request_ip else None
    imported = endpoint == "import"
    for position, record in enumerate(records):
        props = record.properties
        if (
            not record.geo_disabled
            and (record.ip or default_ip)
            and "$city" not in props
            and "$region" not in props
            and "mp_country_code" not in props
        ):
            props.update(event_geo_properties(geo.lookup(record.ip or default_ip or "")))
        props["$mp_api_endpoint"] = facts.host
        props["$mp_api_timestamp_ms"] = facts.receive_ms
        props["mp_processing_time_ms"] = processed
        if imported:
            props["$import"] = True
        line = event_row(
            project_id, ms_to_ch(record.time_ms), record.event, record.distinct_id, record.insert_id, seq, dumps(props)
        )
        seq += 1
        if len(line) > limits.MAX_EVENT_BYTES:
            index = indices[position] if indices is not None else -1
            out.failed.append(FailedRecord(index, record.insert_id, "event", "event is larger than 1 MB"))
            continue
        out.rows.append(line)
        _collect_identity(record, identity_mode, out, pairs)
    out.pairs = list(pairs)
    return out


def raw_insert_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        props = raw.get("properties")
        if isinstance(props, dict):
            value = props.get("$insert_id")
            return value if isinstance(value, str) else None
    return None


def normalize_batch(
    raw_records: list[Any], rules: EventRules, *, simplified: bool
) -> tuple[list[tuple[int, EventRecord]], list[FailedRecord], int]:
    """Validate every record: (index, record) for the valid, failures, and how many were ``$ignore``d."""
    valid: list[tuple[int, EventRecord]] = []
    failed: list[FailedRecord] = []
    ignored = 0
    for index, raw in enumerate(raw_records):
        try:
            record = normalize_event(raw, rules)
        except RecordError as exc:
            failed.append(FailedRecord(index, raw_insert_id(raw), exc.field, exc.message))
            continue
        if record.ignored:
            ignored += 1
            continue
        if simplified:
            apply_simplified_ids(record)
        valid.append((index, record))
    return valid, failed, ignored
