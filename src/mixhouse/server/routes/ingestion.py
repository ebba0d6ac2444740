"""``/track``, ``/engage``, ``/groups`` and ``/import`` (spec §2), each with and without a trailing slash."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse.core.timeutil import now_ms
from mixhouse.errors import AuthenticationError, MixhouseError, PayloadTooLargeError
from mixhouse.ingest.decode import MAX_BODY_BYTES, DecodedRequest, decode_request
from mixhouse.meta.records import Project
from mixhouse.server.auth import basic_credentials, project_id_param
from mixhouse.server.context import client_ip, runtime
from mixhouse.server.responses import (
    import_error,
    json_response,
    legacy_ingest_error,
    legacy_ingest_response,
)
from mixhouse.services.ingestion import IngestOutcome, RequestFacts

METHODS = ["GET", "POST"]


async def _read_body(request: Request) -> bytes:
    """The raw body, never buffering more than the 10 MB limit: a larger upload is drained, then refused (413).

    Draining (rather than answering mid-upload) lets the client read the 413 instead of a reset connection.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
    if size > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request exceeds max limit of {MAX_BODY_BYTES} bytes")
    return b"".join(chunks)


async def _decode(request: Request) -> DecodedRequest:
    body = await _read_body(request)
    return decode_request(
        body=body,
        content_type=request.headers.get("content-type", ""),
        content_encoding=request.headers.get("content-encoding", ""),
        query=request.query_params,
    )


def _context(request: Request, params: dict[str, str], *, default_ip: str) -> RequestFacts:
    return RequestFacts(
        request_ip=client_ip(request),
        use_request_ip=params.get("ip", default_ip) == "1",
        host=request.headers.get("host", ""),
        receive_ms=now_ms(),
    )


async def _wait(outcome: IngestOutcome) -> None:
    if outcome.future is not None:
        await asyncio.wrap_future(outcome.future)


def _first_error(outcome: IngestOutcome) -> str | None:
    return outcome.failed[0].message if outcome.failed else None


async def _legacy(request: Request, kind: str) -> Response:
    """The ``/track``-style families: token-routed, ``1``/``0`` answers."""
    params: dict[str, str] = dict(request.query_params)
    try:
        decoded = await _decode(request)
        params = decoded.params
        rt = runtime(request)
        rt.committer.check_capacity()
        strict = params.get("strict") == "1"
        if kind == "track":
            context = _context(request, params, default_ip="0")
            outcome = rt.ingest.ingest_events(
                decoded.records, endpoint="track", strict=strict, project=None, context=context
            )
        else:
            context = _context(request, params, default_ip="1")
            outcome = rt.ingest.ingest_profiles(
                decoded.records, group=kind == "groups", project=None, context=context
            )
        if outcome.accepted == 0 and outcome.unknown_token and outcome.unknown_token == len(decoded.records):
            raise AuthenticationError("invalid or missing project token")
        await _wait(outcome)
    except MixhouseError as exc:
        return legacy_ingest_error(params, exc)
    ok = outcome.accepted > 0 and not (strict and outcome.failed)
    return legacy_ingest_response(params, ok, _first_error(outcome))


async def track(request: Request) -> Response:
    return await _legacy(request, "track")


async def engage(request: Request) -> Response:
    return await _legacy(request, "engage")


async def groups(request: Request) -> Response:
    return await _legacy(request, "groups")


def _import_project(request: Request, params: dict[str, str]) -> Project:
    """Service account + ``project_id``, project secret, or (``/import`` only) the token as Basic username."""
    rt = runtime(request)
    project_id = project_id_param(params.get("project_id"))
    credentials = basic_credentials(request.headers)
    if credentials is None:
        raise AuthenticationError("Invalid credentials: /import needs HTTP Basic authentication")
    try:
        return rt.projects.authenticate(
            username=credentials.username, password=credentials.password, project_id=project_id
        )
    except AuthenticationError:
        if credentials.password:
            raise
        return rt.projects.authenticate_token(credentials.username, project_id)


def _import_body(outcome: IngestOutcome) -> tuple[int, dict[str, Any]]:
    if not outcome.failed:
        return 200, {"code": 200, "num_records_imported": outcome.accepted, "status": "OK"}
    failed = [
        {
            "index": item.index,
            "$insert_id": item.insert_id,
            "insert_id": item.insert_id,
            "field": item.field,
            "message": item.message,
        }
        for item in sorted(outcome.failed, key=lambda failure: failure.index)
    ]
    return 400, {
        "code": 400,
        "error": "some data points in the request failed validation",
        "num_records_imported": outcome.accepted,
        "status": "Bad Request",
        "failed_records": failed,
    }


async def import_events(request: Request) -> Response:
    """Authenticate, prepare the body in a worker process, then resolve identity and commit here."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    legacy = content_type not in ("application/json", "application/x-ndjson")
    params: dict[str, str] = dict(request.query_params)
    try:
        body = await _read_body(request)
        project = _import_project(request, params)
        rt = runtime(request)
        rt.committer.check_capacity()
        job = rt.ingest.import_job(
            project,
            body=body,
            content_type=request.headers.get("content-type", ""),
            content_encoding=request.headers.get("content-encoding", ""),
            query=params,
            facts=_context(request, params, default_ip="1"),
        )
        prepared = await asyncio.wrap_future(rt.ingest.submit_import(job))
        params, legacy, strict = prepared.params, prepared.legacy, prepared.strict
        outcome = rt.ingest.commit_import(project, prepared)
        await _wait(outcome)
    except MixhouseError as exc:
        return legacy_ingest_error(params, exc) if legacy else import_error(exc)
    if legacy:
        ok = outcome.accepted > 0 and not (strict and outcome.failed)
        return legacy_ingest_response(params, ok, _first_error(outcome))
    if not strict:
        return json_response({"code": 200, "num_records_imported": outcome.accepted, "status": "OK"})
    status, answer = _import_body(outcome)
    return json_response(answer, status)


def routes() -> list[Route]:
    table = [("/track", track), ("/engage", engage), ("/groups", groups), ("/import", import_events)]
    out: list[Route] = []
    for path, endpoint in table:
        out.append(Route(path, endpoint, methods=METHODS))
        out.append(Route(path + "/", endpoint, methods=METHODS))
    return out

