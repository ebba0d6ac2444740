"""Raw export: ``GET /api/2.0/export`` (and the ``/api/query/export`` alias), JSONL streamed, gzip on request."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mixhouse.core.dates import parse_range
from mixhouse.errors import MixhouseError
from mixhouse.server.context import full_path, runtime
from mixhouse.server.responses import query_error
from mixhouse.server.routes.query_auth import authenticate, request_params
from mixhouse.services.export import ExportRequest, parse_event_list, parse_limit, stream_export

GZIP_MIN_BYTES = 1400


def _gzip(chunks: Iterator[bytes], first: bytes) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    yield compressor.compress(first)
    for chunk in chunks:
        data = compressor.compress(chunk)
        if data:
            yield data
    yield compressor.flush()


def _prefetch(chunks: Iterator[bytes]) -> bytes:
    """Read chunks until we know whether the body passes the gzip threshold."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= GZIP_MIN_BYTES:
            break
    return head


async def export(request: Request) -> Response:
    try:
        params = await request_params(request)
        project = authenticate(request, params)
        export_request = ExportRequest(
            dates=parse_range(params.get("from_date"), params.get("to_date")),
            events=parse_event_list(params.get("event")),
            where=params.get("where") or None,
            limit=parse_limit(params.get("limit")),
            time_in_ms=str(params.get("time_in_ms", "")).lower() in ("1", "true"),
        )
        chunks = stream_export(runtime(request).backend, project, export_request)
        head = await run_in_threadpool(_prefetch, chunks)
    except MixhouseError as exc:
        return query_error(exc, full_path(request))
    wants_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    if wants_gzip and len(head) >= GZIP_MIN_BYTES:
        return StreamingResponse(
            _gzip(chunks, head), media_type="text/plain", headers={"Content-Encoding": "gzip"}
        )

    def plain() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return StreamingResponse(plain(), media_type="text/plain")


def routes() -> list[Route]:
    paths = ["/api/2.0/export", "/api/query/export"]
    return [Route(p + suffix, export, methods=["GET", "POST"]) for p in paths for suffix in ("", "/")]
