"""Property-based fuzzing of ingestion.

(a) Unit level: request decoding and record normalisation only ever fail with Mixhouse's own errors
    (``MixhouseError`` subclasses, ``RecordError``), whatever the bytes, JSON or base64 garbage; what they accept is
    within Mixpanel's limits and serialisable.
(b) HTTP level: random bodies, content types, encodings, parameters and credentials sent to every ingestion route
    never produce a 5xx, and a control event sent afterwards is still stored (the server keeps serving).
"""

from __future__ import annotations

import base64
import gzip
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixhouse.core.timeutil import MIN_EVENT_TIME_MS
from mixhouse.errors import MixhouseError
from mixhouse.ingest import limits
from mixhouse.ingest.decode import DecodedRequest, decode_data_param, decode_request
from mixhouse.ingest.events import EventRecord, EventRules, RecordError, normalize_event
from mixhouse.ingest.profiles import ProfileUpdate, apply_ops, normalize_update
from tests.conftest import make_project
from tests.support.readback import export
from tests.support.server import ServerProcess

# -- strategies ----------------------------------------------------------------------------------------------------

KEYS = [
    "event", "properties", "time", "$time", "distinct_id", "$distinct_id", "$insert_id", "token", "$token", "ip",
    "$ip", "$ignore", "$user_id", "$device_id", "$set", "$set_once", "$add", "$append", "$union", "$remove",
    "$unset", "$delete", "$group_key", "$group_id", "$ignore_time", "mp_country_code", "$identified_id",
    "$anon_id", "alias", "$distinct_ids",
]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
KEY = st.sampled_from(KEYS) | TEXT
INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
TIMES = st.one_of(
    st.integers(min_value=-10, max_value=2**40),
    st.floats(min_value=0, max_value=1e13, allow_nan=False),
    st.sampled_from([31_536_000, 31_536_000_000, 99_999_999_999, 100_000_000_000, 1e11, 0, 5]),
    st.just(int(time.time()) - 3600),
    st.just(int(time.time() * 1000)),
)
SCALARS = st.none() | st.booleans() | INTS | st.floats(allow_nan=False, allow_infinity=False) | TEXT | TIMES
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(KEY, children, max_size=6),
    max_leaves=30,
)
IDS = st.sampled_from(["u1", "", "null", "0", "$device:d", "x" * 300, "ab-12", "a_b"]) | INTS | TEXT


@st.composite
def event_like(draw: st.DrawFn, token: str | None = None) -> dict[str, Any]:
    """Mostly well-formed events with random twists, so validation paths past the first check are reached."""
    props = draw(st.dictionaries(KEY, JSON, max_size=5))
    for key, strategy in (("time", TIMES), ("distinct_id", IDS), ("$insert_id", IDS), ("ip", JSON)):
        if draw(st.booleans()):
            props[key] = draw(strategy)
    if token is not None and draw(st.integers(0, 3)):
        props["token"] = token
    event: dict[str, Any] = {"event": draw(st.sampled_from(["E", "$identify", "$merge", "", "x" * 300]) | TEXT)}
    event["properties"] = props if draw(st.integers(0, 5)) else draw(JSON)
    return event


@st.composite
def update_like(draw: st.DrawFn, token: str | None = None) -> dict[str, Any]:
    update: dict[str, Any] = draw(st.dictionaries(KEY, JSON, max_size=4))
    op = draw(st.sampled_from(["$set", "$set_once", "$add", "$append", "$union", "$remove", "$unset", "$delete"]))
    if op == "$unset":
        update[op] = draw(st.lists(TEXT, max_size=3) | JSON)
    elif op == "$add":
        update[op] = draw(st.dictionaries(st.sampled_from(["n", "m"]), INTS | st.floats(allow_nan=False) | JSON,
                                          max_size=2))
    else:
        update[op] = draw(st.dictionaries(st.sampled_from(["a", "b", "n"]) | TEXT, JSON, max_size=3))
    update["$distinct_id"] = draw(IDS)
    if draw(st.booleans()):
        update["$time"] = draw(TIMES)
    if draw(st.booleans()):
        update.update({"$group_key": draw(st.sampled_from(["company", ""]) | TEXT), "$group_id": draw(IDS)})
    if token is not None:
        update["$token"] = token
    return update


def _as_json(value: Any) -> Any:
    """What the server would see: the value after a JSON round trip."""
    return orjson.loads(orjson.dumps(value))


def _within_limits(value: Any, depth: int = 0) -> None:
    if isinstance(value, str):
        assert len(value) <= limits.MAX_STRING_CHARS
    elif isinstance(value, list):
        assert len(value) < limits.MAX_LIST_ITEMS
        for item in value:
            _within_limits(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert len(key) <= limits.MAX_PROPERTY_NAME_CHARS
            _within_limits(item, depth + 1)


NOW_MS = int(time.time() * 1000)
RULES = [
    EventRules(endpoint="track", strict=False, now_ms=NOW_MS),
    EventRules(endpoint="track", strict=True, now_ms=NOW_MS),
    EventRules(endpoint="import", strict=True, now_ms=NOW_MS),
    EventRules(endpoint="import", strict=False, now_ms=NOW_MS),
]


def _check_event(raw: Any) -> None:
    for rules in RULES:
        try:
            record = normalize_event(raw, rules)
        except RecordError as exc:
            assert exc.field and exc.message
            continue
        assert isinstance(record, EventRecord)
        assert MIN_EVENT_TIME_MS <= record.time_ms <= rules.now_ms
        if rules.endpoint == "track":
            assert rules.now_ms - record.time_ms <= limits.TRACK_MAX_AGE_MS
        assert "token" not in record.properties and "ip" not in record.properties
        assert not limits.is_forbidden_id(record.distinct_id) or record.distinct_id == ""
        assert 1 <= len(record.insert_id) <= limits.MAX_INSERT_ID_BYTES and record.insert_id.isascii()
        assert "\n" not in record.insert_id
        assert len(record.properties) <= limits.MAX_PROPERTIES
        _within_limits(record.properties)
        _within_limits(record.event)
        orjson.dumps(record.properties)


def _check_updates(raws: list[Any], group: bool) -> None:
    profile: dict[str, Any] | None = None
    for raw in raws:
        try:
            update = normalize_update(raw, group=group, now_ms=NOW_MS)
        except RecordError as exc:
            assert exc.field and exc.message
            continue
        assert isinstance(update, ProfileUpdate)
        assert update.distinct_id
        orjson.dumps(update.ops)
        profile = apply_ops(profile, update.ops, update.time_ms)
        orjson.dumps(profile)  # a folded profile is always serialisable (engage reads it back as JSON)


# -- (a) unit level --------------------------------------------------------------------------------------------------

CONTENT_TYPES = st.sampled_from([
    "", "application/json", "application/x-ndjson", "application/x-www-form-urlencoded", "text/plain",
    "text/plain;charset=UTF-8", "multipart/form-data", "application/json; charset=utf-8",
]) | st.text(max_size=30)
ENCODINGS = st.sampled_from(["", "gzip", "deflate", "br", "identity", "gzip, identity"])
QUERY = st.dictionaries(st.sampled_from(["data", "verbose", "ip", "strict", "callback", "img"]) | TEXT, TEXT,
                        max_size=4)
B64_GARBAGE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\r%", max_size=80)


def _decode_only_mixhouse_errors(**kwargs: Any) -> DecodedRequest | None:
    try:
        decoded = decode_request(**kwargs)
    except MixhouseError:
        return None
    assert isinstance(decoded.records, list) and len(decoded.records) <= 2000
    assert decoded.body_format in ("form", "json", "ndjson", "query")
    return decoded


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300), content_type=CONTENT_TYPES, encoding=ENCODINGS, query=QUERY,
       gzipped=st.booleans())
def test_decode_request_arbitrary_bytes(
    body: bytes, content_type: str, encoding: str, query: dict[str, str], gzipped: bool
) -> None:
    if gzipped:
        body = gzip.compress(body)
    decoded = _decode_only_mixhouse_errors(body=body, content_type=content_type, content_encoding=encoding,
                                           query=query)
    if decoded is not None:
        for record in decoded.records:
            _check_event(record)


@settings(max_examples=300, deadline=None)
@given(payload=JSON, form=st.sampled_from(["json", "b64", "b64url", "b64-spaces", "body", "ndjson", "gzip"]))
def test_decode_request_arbitrary_json(payload: Any, form: str) -> None:
    raw = orjson.dumps(payload)
    std = base64.b64encode(raw).decode()
    kwargs: dict[str, Any] = {"body": b"", "content_type": "", "content_encoding": "", "query": {}}
    if form == "json":
        kwargs.update(body=b"data=" + quote(raw).encode(), content_type="application/x-www-form-urlencoded")
    elif form == "b64":
        kwargs.update(query={"data": std})
    elif form == "b64url":
        kwargs.update(query={"data": base64.urlsafe_b64encode(raw).decode().rstrip("=")})
    elif form == "b64-spaces":
        kwargs.update(body=b"data=" + std.encode(), content_type="text/plain;charset=UTF-8")
    elif form == "body":
        kwargs.update(body=raw, content_type="application/json")
    elif form == "ndjson":
        kwargs.update(body=raw + b"\n", content_type="application/x-ndjson")
    else:
        kwargs.update(body=gzip.compress(raw), content_type="application/json", content_encoding="gzip")
    decoded = _decode_only_mixhouse_errors(**kwargs)
    value = _as_json(payload)
    # every encoding round-trips: an object is one record, an array is the records, a scalar is refused
    if form == "ndjson" or isinstance(value, dict):
        assert decoded is not None and decoded.records == [value]
    elif isinstance(value, list):
        assert decoded is not None and decoded.records == value
    else:
        assert decoded is None
    if decoded is not None:
        for record in decoded.records:
            _check_event(record)


@settings(max_examples=300, deadline=None)
@given(text=B64_GARBAGE | st.text(max_size=60))
def test_decode_data_param_garbage(text: str) -> None:
    try:
        records = decode_data_param(text)
    except MixhouseError:
        return
    assert isinstance(records, list)


@settings(max_examples=400, deadline=None)
@given(raw=JSON | event_like())
def test_normalize_event_only_raises_record_error(raw: Any) -> None:
    _check_event(_as_json(raw))


@settings(max_examples=300, deadline=None)
@given(raws=st.lists(JSON | update_like(), max_size=6), group=st.booleans())
def test_normalize_update_and_fold_only_raise_record_error(raws: list[Any], group: bool) -> None:
    _check_updates([_as_json(raw) for raw in raws], group)


def test_add_overflow_stays_serialisable() -> None:
    big = {"$distinct_id": "p", "$add": {"n": 2**64 - 1}}
    _check_updates([big, big, big, {"$distinct_id": "p", "$add": {"n": -(2**63)}}], group=False)


# -- (b) HTTP level --------------------------------------------------------------------------------------------------

ROUTES = ["/track", "/track/", "/engage", "/engage/", "/groups", "/groups/", "/import", "/import/"]


@st.composite
def http_requests(draw: st.DrawFn, creds: Any) -> dict[str, Any]:
    route = draw(st.sampled_from(ROUTES))
    method = draw(st.sampled_from(["GET", "POST", "POST"]))
    kind = draw(st.sampled_from(["events", "updates", "json", "bytes", "b64-garbage"]))
    if kind == "events":
        payload: Any = draw(st.lists(event_like(creds.token), min_size=1, max_size=4))
    elif kind == "updates":
        payload = draw(st.lists(update_like(creds.token), min_size=1, max_size=4))
    elif kind == "json":
        payload = draw(JSON)
    else:
        payload = None
    raw = orjson.dumps(payload) if payload is not None else draw(st.binary(max_size=200))
    data_value = draw(st.sampled_from(["json", "b64", "b64url"]))
    if kind == "b64-garbage":
        data = draw(B64_GARBAGE)
    elif data_value == "json":
        data = raw.decode("utf-8", "replace")
    elif data_value == "b64":
        data = base64.b64encode(raw).decode()
    else:
        data = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    params: dict[str, str] = draw(st.dictionaries(
        st.sampled_from(["verbose", "img", "callback", "redirect", "ip", "strict", "test", "_", "project_id"]),
        st.sampled_from(["0", "1", "2", "", "cb", "https://example.com/x", str(creds.project_id)]) | TEXT,
        max_size=4))
    headers: dict[str, str] = {}
    body = b""
    shape = draw(st.sampled_from(["query", "form", "beacon", "json-body", "ndjson", "raw"]))
    if shape == "query" or method == "GET":
        params["data"] = data
    elif shape == "form":
        body = b"data=" + quote(data, safe="").encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif shape == "beacon":
        body = b"data=" + quote(data, safe="").encode()
        headers["Content-Type"] = "text/plain;charset=UTF-8"
    elif shape == "json-body":
        body = raw
        headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", ""]))
    elif shape == "ndjson":
        items = payload if isinstance(payload, list) else [payload]
        body = b"\n".join(orjson.dumps(item) for item in items)
        headers["Content-Type"] = "application/x-ndjson"
    else:
        body = draw(st.binary(max_size=300))
        # a value HTTP can carry (no surrounding whitespace: h11 refuses to send ' ' before the server sees it)
        headers["Content-Type"] = draw(CONTENT_TYPES.filter(lambda s: s.isascii() and s.isprintable()
                                                            and s == s.strip()))
    if method == "POST" and draw(st.booleans()):
        if draw(st.booleans()):
            body = gzip.compress(body)
        headers["Content-Encoding"] = draw(ENCODINGS)
    auth = draw(st.sampled_from(["none", "secret", "token", "sa", "bad", "bearer", "plain"]))
    if auth == "secret":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{creds.api_secret}:".encode()).decode()
    elif auth == "token":
        headers["Authorization"] = "Basic " + base64.b64encode(f"{creds.token}:".encode()).decode()
    elif auth == "sa":
        headers["Authorization"] = "Basic " + base64.b64encode(
            f"{creds.sa_username}:{creds.sa_secret}".encode()).decode()
    elif auth == "bad":
        garbage = draw(B64_GARBAGE).replace("\n", "").replace("\r", "").strip()
        headers["Authorization"] = "Basic " + (garbage or "x")
    elif auth == "bearer":
        headers["Authorization"] = "Bearer xyz"
    elif auth == "plain":
        headers["Authorization"] = f"Basic {creds.sa_username}:{creds.sa_secret}"
    if draw(st.booleans()):
        headers["Origin"] = "https://fuzz.example"
    return {"method": method, "url": route, "params": params, "headers": headers,
            "content": body if method == "POST" else None}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_http_fuzz_never_5xx_and_server_keeps_serving(server: ServerProcess) -> None:
    creds = make_project(server.data_dir, "fuzz")
    control = make_project(server.data_dir, "fuzz-control")
    deadline = time.monotonic() + 40
    seen: dict[int, int] = {}
    with httpx.Client(base_url=server.url, timeout=30.0) as client:

        @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(request=http_requests(creds))
        def fuzz(request: dict[str, Any]) -> None:
            if time.monotonic() > deadline:
                return  # keep the whole run bounded
            response = client.request(**request)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (request, response.status_code, response.text)

        fuzz()
        assert client.get("/healthz").status_code == 200
        event = {"event": "Control", "properties": {"token": control.token, "distinct_id": "c", "$insert_id": "ctl"}}
        response = client.post("/track", data={"data": base64.b64encode(orjson.dumps(event)).decode()})
        assert (response.status_code, response.text) == (200, "1")
        until = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
        stored = export(client, control, from_date="2000-01-01", to_date=until)
        assert [(e["event"], e["properties"]["distinct_id"], e["properties"]["$insert_id"]) for e in stored] == [
            ("Control", "c", "ctl")]
    assert sum(seen.values()) > 50 and 200 in seen
