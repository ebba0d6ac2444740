"""One authenticated ``/import`` body, decoded, validated, enriched and serialised: the work a worker process does.

``prepare_import`` is a pure function of its ``ImportJob`` (plus an IP geolocator), so ``ingest/workers.py`` can run
it in another process while the server process keeps identity decisions and the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixhouse.errors import DecodeError
from mixhouse.ingest.decode import decode_request
from mixhouse.ingest.events import EventRules
from mixhouse.ingest.fast_rows import prepare_event_rows
from mixhouse.ingest.geo import GeoLocator
from mixhouse.ingest.prepare import PreparedRows, RequestFacts


@dataclass(frozen=True)
class ImportJob:
    """Everything a worker needs to prepare one authenticated ``/import`` body."""

    body: bytes
    content_type: str
    content_encoding: str
    query: dict[str, str]
    project_id: int
    identity_mode: str
    facts: RequestFacts
    seq_start: int
    strict_default: str = "1"


@dataclass
class PreparedImport:
    params: dict[str, str]
    legacy: bool
    strict: bool
    accepted: int
    prepared: PreparedRows
    stored: int  # rows in ``prepared.rows`` (packed into one blob)


def prepare_import(job: ImportJob, geo: GeoLocator) -> PreparedImport:
    """Decode, validate, enrich and serialise an ``/import`` body (raises ``MixhouseError`` on a bad request)."""
    decoded = decode_request(
        body=job.body, content_type=job.content_type, content_encoding=job.content_encoding, query=job.query
    )
    legacy = decoded.body_format in ("form", "query")
    if not legacy and not decoded.records:
        raise DecodeError("the request must contain at least one event")
    strict = decoded.params.get("strict", "0" if legacy else job.strict_default) == "1"
    rules = EventRules(endpoint="import", strict=strict, now_ms=job.facts.receive_ms)
    batch = prepare_event_rows(
        decoded.records, rules=rules, project_id=job.project_id, identity_mode=job.identity_mode, facts=job.facts,
        geo=geo, seq_start=job.seq_start,
    )
    prepared = batch.prepared
    prepared.rows = [b"".join(prepared.rows)] if prepared.rows else []  # one object to pickle, not thousands
    return PreparedImport(decoded.params, legacy, strict, batch.stored + batch.ignored, prepared, batch.stored)
