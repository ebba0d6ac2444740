"""Decode ingestion requests into a list of JSON records (spec §2.1).

Accepts every shape the Mixpanel SDKs send: form bodies (``data=`` raw JSON or base64, standard or URL-safe, padded
or not), ``text/plain`` sendBeacon bodies, JSON and NDJSON bodies, ``data`` in the query string, and gzip bodies.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from mixhouse.errors import DecodeError, PayloadTooLargeError

#: Largest body we inflate, after decompression (the spec's 10 MB ``/import`` limit).
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_RECORDS = 2000


@dataclass(frozen=True)
class DecodedRequest:
    """Records plus the request parameters (query string overlaid by form fields)."""

    records: list[Any]
    params: dict[str, str]
    body_format: str  # "form", "json", "ndjson", "query"


def gunzip(body: bytes) -> bytes:
    """Inflate a gzip body (every member of a multi-member stream), refusing anything that inflates beyond
    ``MAX_BODY_BYTES`` and truncated streams."""
    if not body:
        return body
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = inflater.decompress(rest, MAX_BODY_BYTES + 1 - size)
        except zlib.error as exc:
            raise DecodeError(f"invalid gzip body: {exc}") from exc
        size += len(out)
        if size > MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise PayloadTooLargeError(f"request exceeds max limit of {MAX_BODY_BYTES} bytes")
        if not inflater.eof:
            raise DecodeError("invalid gzip body: the compressed stream is truncated")
        parts.append(out)
        rest = inflater.unused_data
        if not rest.strip(b"\0"):  # trailing zero padding after the last member is tolerated, as gzip(1) does
            return b"".join(parts)


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, with or without padding; spaces stand for ``+`` lost to form decoding."""
    cleaned = text.strip().replace(" ", "+").replace("\n", "").replace("\r", "")
    cleaned = cleaned.replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("data is neither JSON nor valid base64") from exc


def parse_json(raw: bytes | str, what: str = "data") -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{what} is not valid JSON: {exc}") from exc


def decode_data_param(value: str) -> list[Any]:
    """A ``data`` parameter: JSON object/array, or base64 of one."""
    text = value.strip()
    if not text:
        raise DecodeError("data parameter is empty")
    if text[0] in "{[":
        payload = parse_json(text)
    else:
        raw = decode_base64(text)
        try:
            payload = parse_json(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DecodeError("decoded data is not valid UTF-8") from exc
    return as_record_list(payload)


def as_record_list(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        records = payload
    elif isinstance(payload, dict):
        records = [payload]
    else:
        raise DecodeError("data must be a JSON object or an array of objects")
    if len(records) > MAX_RECORDS:
        raise PayloadTooLargeError(f"request has {len(records)} records; the limit is {MAX_RECORDS}")
    return records


def _ndjson(body: bytes) -> list[Any]:
    records = [parse_json(line, "a NDJSON line") for line in body.splitlines() if line.strip()]
    if len(records) > MAX_RECORDS:
        raise PayloadTooLargeError(f"request has {len(records)} records; the limit is {MAX_RECORDS}")
    return records


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("form body is not valid UTF-8") from exc
    return dict(parse_qsl(text, keep_blank_values=True))


def body_kind(content_type: str, body: bytes) -> str:
    """Classify a body as ``form``, ``json``, ``ndjson`` or ``empty``."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    stripped = body.lstrip()
    if not stripped:
        return "empty"
    if ctype == "application/x-ndjson":
        return "ndjson"
    if ctype == "application/json":
        return "json"
    if ctype == "application/x-www-form-urlencoded" or stripped.startswith(b"data="):
        return "form"
    if stripped[:1] in (b"{", b"["):
        return "json"
    return "form"


def decode_request(
    *, body: bytes, content_type: str, content_encoding: str, query: Mapping[str, str]
) -> DecodedRequest:
    """Turn a raw ingestion request into records and parameters."""
    if "gzip" in content_encoding.lower():
        body = gunzip(body)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request exceeds max limit of {MAX_BODY_BYTES} bytes")
    params = dict(query)
    kind = body_kind(content_type, body)
    if kind == "json":
        return DecodedRequest(as_record_list(parse_json(body, "body")), params, "json")
    if kind == "ndjson":
        return DecodedRequest(_ndjson(body), params, "ndjson")
    if kind == "form":
        params.update(_form(body))
    data = params.get("data")
    if data is None:
        raise DecodeError("no data was sent: expected a 'data' parameter or a JSON body")
    return DecodedRequest(decode_data_param(data), params, "form" if kind == "form" else "query")
