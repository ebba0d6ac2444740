"""The ingestion wire contract (spec §1.2, §2, §3, §7) against a real server.

Every test asserts the exact response (status, content type, body) and what is stored afterwards, read back through
``/api/2.0/export`` and ``/api/query/engage``; rejected input must leave storage untouched. Request-IP geolocation
uses ``X-Forwarded-For``, which uvicorn trusts from 127.0.0.1 (its default ``forwarded_allow_ips``).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from mixhouse.errors import StorageError
from mixhouse.server.responses import import_error, legacy_ingest_error
from tests.conftest import ProjectCreds, make_project
from tests.support.readback import export, profiles
from tests.support.server import ServerProcess, free_port

# -- constants --------------------------------------------------------------------------------------------------

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
JS = "text/javascript; charset=utf-8"
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
OK_VERBOSE = {"status": 1, "error": None}
RECEIVED = "<receive time>"
BAD_TIME = "'properties.time' is invalid: must be specified as seconds since epoch"
FUTURE_TIME = "'properties.time' is invalid: must not be more than 1 hour in the future"
TRACK_TOO_OLD = "'properties.time' is invalid: /track only accepts events from the last 5 days; use /import"
BAD_INSERT_ID = "'properties.$insert_id' is invalid: must be at most 36 characters of [A-Za-z0-9-]"
RATE_LIMITED = "Project exceeded rate limits. Please retry the request with exponential backoff."
TOO_LARGE = "request exceeds max limit of 10485760 bytes"
UNKNOWN_TOKEN = "invalid or missing project token"
FORBIDDEN_IDS = [
    "00000000-0000-0000-0000-000000000000", "anon", "anonymous", "nil", "none", "null", "n/a", "na", "undefined",
    "unknown", "<nil>", "0", "-1", "true", "false", "[]", "{}",
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def b64(payload: Any) -> str:
    return base64.b64encode(orjson.dumps(payload)).decode()


def basic(username: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# -- response assertions ---------------------------------------------------------------------------------------


def assert_body(response: httpx.Response, status: int, content_type: str, body: bytes) -> None:
    assert (response.status_code, response.headers.get("content-type"), response.content) == (
        status, content_type, body,
    ), response.text


def assert_one(response: httpx.Response) -> None:
    assert_body(response, 200, TEXT, b"1")


def assert_zero(response: httpx.Response) -> None:
    assert_body(response, 200, TEXT, b"0")


def assert_json(response: httpx.Response, status: int, body: Any) -> None:
    assert (response.status_code, response.headers.get("content-type")) == (status, JSON), response.text
    assert response.json() == body


def imported(n: int) -> dict[str, Any]:
    return {"code": 200, "num_records_imported": n, "status": "OK"}


def failed(index: int, insert_id: str | None, field_name: str, message: str) -> dict[str, Any]:
    return {"index": index, "$insert_id": insert_id, "insert_id": insert_id, "field": field_name, "message": message}


def partly_failed(n: int, *failures: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": 400,
        "error": "some data points in the request failed validation",
        "num_records_imported": n,
        "status": "Bad Request",
        "failed_records": list(failures),
    }


# -- the read-back side ------------------------------------------------------------------------------------------


@dataclass
class Wire:
    http: httpx.Client
    server: ServerProcess
    project: ProjectCreds
    started_ms: int = field(default_factory=now_ms)

    @property
    def token(self) -> str:
        return self.project.token

    @property
    def secret_auth(self) -> tuple[str, str]:
        return (self.project.api_secret, "")

    def raw_events(self, **params: Any) -> list[dict[str, Any]]:
        until = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
        return export(self.http, self.project, from_date="1971-01-01", to_date=until, time_in_ms="true", **params)

    def events(self, *, imported: bool = False, host: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Exported events (``time`` in ms) with the server-added properties checked, then removed.

        A ``time`` equal to the receive time reads as ``RECEIVED``.
        """
        finished = now_ms()
        out = []
        for event in self.raw_events(**params):
            props = dict(event["properties"])
            assert props.pop("$mp_api_endpoint") == (host or self.server.host)
            received = props.pop("$mp_api_timestamp_ms")
            processed = props.pop("mp_processing_time_ms")
            assert self.started_ms <= received <= processed <= finished, (received, processed)
            if imported:
                assert props.pop("$import") is True
            else:
                assert "$import" not in props
            if props.get("time") == received:
                props["time"] = RECEIVED
            out.append({"event": event["event"], "properties": props})
        return out

    def users(self) -> dict[str, dict[str, Any]]:
        return profiles(self.http, self.project)

    def groups(self, key: str = "company") -> dict[str, dict[str, Any]]:
        return profiles(self.http, self.project, data_group_id=key)

    def assert_nothing_stored(self) -> None:
        assert self.raw_events() == []
        assert self.users() == {}
        assert self.groups() == {}


@pytest.fixture
def wire(server: ServerProcess, project: ProjectCreds, http: httpx.Client) -> Wire:
    return Wire(http, server, project)


def generated(props: dict[str, Any]) -> dict[str, Any]:
    """Replace a server-generated ``$insert_id`` (32 hex digits) by a marker."""
    value = props.get("$insert_id")
    assert isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value), value
    return {**props, "$insert_id": "<generated>"}


# -- one sample record per route ---------------------------------------------------------------------------------


def recent_s() -> int:
    return int(time.time()) - 3600


def sample(wire: Wire, route: str, marker: str, t: int) -> dict[str, Any]:
    if route == "track":
        return {"event": "Sample", "properties": {"token": wire.token, "distinct_id": "u1", "time": t,
                                                  "$insert_id": "sample-1", "marker": marker}}
    if route == "engage":
        return {"$token": wire.token, "$distinct_id": "u1", "$time": t, "$set": {"marker": marker}}
    if route == "groups":
        return {"$token": wire.token, "$group_key": "company", "$group_id": "Acme", "$time": t,
                "$set": {"marker": marker}}
    return {"event": "Sample", "properties": {"distinct_id": "u1", "time": t, "$insert_id": "sample-1",
                                              "marker": marker}}


def assert_sample_stored(wire: Wire, route: str, marker: str, t: int) -> None:
    if route in ("track", "import"):
        assert wire.events(imported=route == "import") == [
            {"event": "Sample", "properties": {"time": t * 1000, "distinct_id": "u1", "$insert_id": "sample-1",
                                               "marker": marker}}
        ]
        assert wire.users() == {}
    elif route == "engage":
        assert wire.users() == {"u1": {"marker": marker, "$last_seen": iso(t)}}
        assert wire.raw_events() == []
    else:
        assert wire.groups() == {"Acme": {"marker": marker, "$last_seen": iso(t)}}
        assert wire.users() == {}
        assert wire.raw_events() == []


# =================================================================================================================
# Routes and methods
# =================================================================================================================


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", ["track", "engage", "groups", "import"])
def test_every_route_with_and_without_trailing_slash(wire: Wire, route: str, method: str, slash: str) -> None:
    t = recent_s()
    record = sample(wire, route, "routed", t)
    path = f"/{route}{slash}"
    headers = basic(wire.project.api_secret) if route == "import" else {}
    if method == "GET":
        response = wire.http.get(path, params={"data": b64(record)}, headers=headers)
        assert_one(response)
    elif route == "import":  # modern JSON mode
        response = wire.http.post(path, json=[record], headers=headers)
        assert_json(response, 200, imported(1))
    else:
        response = wire.http.post(path, data={"data": b64(record)}, headers=headers)
        assert_one(response)
    assert_sample_stored(wire, route, "routed", t)


def test_unsupported_method_is_405_and_stores_nothing(wire: Wire) -> None:
    for route in ("/track", "/engage/", "/groups", "/import/"):
        assert wire.http.put(route, content=b"data=" + b64({}).encode()).status_code == 405
    wire.assert_nothing_stored()


# =================================================================================================================
# Request decoding: every encoding of `data` (spec §2.1)
# =================================================================================================================


def _tricky_marker(wire: Wire, route: str, t: int) -> str:
    """A marker whose payload's standard base64 holds '+' and '/' and needs '=' padding."""
    for n in range(3000):
        marker = "x" * (n % 3) + "é?/+&=" + "~" * (n // 3 % 10) + "y" * (n // 30)
        encoded = base64.b64encode(orjson.dumps(sample(wire, route, marker, t))).decode()
        if "+" in encoded and "/" in encoded and encoded.endswith("="):
            return marker
    raise AssertionError("no marker found")


def _encode(payload: Any, encoding: str) -> tuple[str, dict[str, Any]]:
    raw = orjson.dumps(payload)
    std = base64.b64encode(raw).decode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if encoding == "form_json":
        return "POST", {"data": {"data": raw.decode()}}
    if encoding == "form_base64":
        return "POST", {"data": {"data": std}}
    if encoding == "form_base64_urlsafe_unpadded":
        return "POST", {"data": {"data": base64.urlsafe_b64encode(raw).decode().rstrip("=")}}
    if encoding == "form_base64_plus_became_space":
        return "POST", {"content": b"data=" + std.encode(), "headers": form}
    if encoding == "sendbeacon_text_plain":
        body = ("data=" + quote(std, safe="")).encode()
        return "POST", {"content": body, "headers": {"Content-Type": "text/plain;charset=UTF-8"}}
    if encoding == "query_base64_get":
        return "GET", {"params": {"data": std}}
    if encoding == "query_json_get":
        return "GET", {"params": {"data": raw.decode()}}
    if encoding == "query_base64_post_empty_body":
        return "POST", {"params": {"data": std}}
    if encoding == "json_body":
        return "POST", {"content": raw, "headers": {"Content-Type": "application/json"}}
    if encoding == "json_body_no_content_type":
        return "POST", {"content": raw}
    if encoding == "ndjson_body":
        items = payload if isinstance(payload, list) else [payload]
        return "POST", {"content": b"\n".join(orjson.dumps(i) for i in items) + b"\n",
                        "headers": {"Content-Type": "application/x-ndjson"}}
    if encoding == "gzip_form":
        body = gzip.compress(("data=" + quote(std, safe="")).encode())
        return "POST", {"content": body, "headers": {**form, "Content-Encoding": "gzip"}}
    if encoding == "gzip_json":
        return "POST", {"content": gzip.compress(raw),
                        "headers": {"Content-Type": "application/json", "Content-Encoding": "gzip"}}
    raise AssertionError(encoding)


ENCODINGS = [
    "form_json", "form_base64", "form_base64_urlsafe_unpadded", "form_base64_plus_became_space",
    "sendbeacon_text_plain", "query_base64_get", "query_json_get", "query_base64_post_empty_body", "json_body",
    "json_body_no_content_type", "ndjson_body", "gzip_form", "gzip_json",
]
BODY_IS_JSON = {"json_body", "json_body_no_content_type", "ndjson_body", "gzip_json"}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("route", ["track", "engage", "groups", "import"])
def test_every_data_encoding(wire: Wire, route: str, encoding: str) -> None:
    t = recent_s()
    marker = _tricky_marker(wire, route, t)
    record = sample(wire, route, marker, t)
    payload: Any = [record] if encoding in BODY_IS_JSON else record
    method, kwargs = _encode(payload, encoding)
    headers = {**kwargs.pop("headers", {}), **(basic(wire.project.api_secret) if route == "import" else {})}
    response = wire.http.request(method, f"/{route}", headers=headers, **kwargs)
    if route == "import" and encoding in BODY_IS_JSON:
        assert_json(response, 200, imported(1))
    else:
        assert_one(response)
    assert_sample_stored(wire, route, marker, t)


def test_data_param_with_surrounding_whitespace_and_object_payload(wire: Wire) -> None:
    t = recent_s()
    record = sample(wire, "track", "ws", t)
    assert_one(wire.http.post("/track", data={"data": "  \n" + b64(record) + " \n"}))
    assert_sample_stored(wire, "track", "ws", t)


# =================================================================================================================
# Response selection: img, redirect, callback, verbose (spec §2.1)
# =================================================================================================================

RESPONSE_CASES = [
    # (query, expected status, content type, body)
    ({}, 200, TEXT, b"1"),
    ({"verbose": "0"}, 200, TEXT, b"1"),
    ({"verbose": "1"}, 200, JSON, b'{"status":1,"error":null}'),
    ({"verbose": "2"}, 200, JSON, b'{"status":1,"error":null}'),
    ({"img": "1"}, 200, "image/gif", GIF),
    ({"img": "1", "verbose": "1", "callback": "cb"}, 200, "image/gif", GIF),
    ({"callback": "mp_cb_1"}, 200, JS, b"mp_cb_1(1)"),
    ({"callback": "mp_cb_1", "verbose": "1"}, 200, JS, b'mp_cb_1({"status":1,"error":null})'),
    ({"callback": "(function(){})"}, 200, JS, b"(function(){})(1)"),
    ({"test": "1", "_": "1700000000000"}, 200, TEXT, b"1"),
]


@pytest.mark.parametrize(("query", "status", "ctype", "body"), RESPONSE_CASES)
@pytest.mark.parametrize("route", ["track", "engage", "groups", "import"])
def test_response_shapes_on_success(
    wire: Wire, route: str, query: dict[str, str], status: int, ctype: str, body: bytes
) -> None:
    t = recent_s()
    record = sample(wire, route, "shape", t)
    headers = basic(wire.project.api_secret) if route == "import" else {}
    response = wire.http.post(f"/{route}", params=query, data={"data": b64(record)}, headers=headers)
    assert_body(response, status, ctype, body)
    assert_sample_stored(wire, route, "shape", t)


@pytest.mark.parametrize("route", ["track", "engage", "groups", "import"])
def test_redirect_records_then_redirects(wire: Wire, route: str) -> None:
    t = recent_s()
    record = sample(wire, route, "link", t)
    headers = basic(wire.project.api_secret) if route == "import" else {}
    target = "https://example.com/landing?a=1"
    response = wire.http.get(f"/{route}/", params={"data": b64(record), "redirect": target}, headers=headers)
    assert response.status_code == 302
    assert response.headers["location"] == target
    assert_sample_stored(wire, route, "link", t)


def test_response_shapes_on_failure(wire: Wire) -> None:
    bad = {"event": "", "properties": {"token": wire.token}}
    message = "'event' is invalid: must be a non-empty string"
    cases: list[tuple[dict[str, str], str, bytes]] = [
        ({}, TEXT, b"0"),
        ({"verbose": "1"}, JSON, orjson.dumps({"status": 0, "error": message})),
        ({"callback": "cb"}, JS, b"cb(0)"),
        ({"callback": "cb", "verbose": "1"}, JS, b"cb(" + orjson.dumps({"status": 0, "error": message}) + b")"),
        ({"img": "1"}, "image/gif", GIF),
    ]
    for query, ctype, body in cases:
        assert_body(wire.http.post("/track", params=query, data={"data": b64(bad)}), 200, ctype, body)
    wire.assert_nothing_stored()


# =================================================================================================================
# Client shapes: mixpanel-js, mixpanel-node, Mixpanel docs HTTP examples
# =================================================================================================================


def test_mixpanel_js_batch_base64_form_verbose_ip_cache_buster(wire: Wire) -> None:
    t = int(time.time()) - 10 + 0.125
    batch = [
        {"event": "$mp_web_page_view", "properties": {
            "token": wire.token, "distinct_id": "$device:d-1", "$device_id": "d-1", "time": t, "$insert_id": "js1",
            "mp_lib": "web", "$current_url": "https://shop.example/"}},
        {"event": "Clicked", "properties": {
            "token": wire.token, "distinct_id": "$device:d-1", "$device_id": "d-1", "time": t + 0.5,
            "$insert_id": "js2", "mp_lib": "web", "button": "buy"}},
    ]
    response = wire.http.post(
        "/track/", params={"verbose": "1", "ip": "1", "_": str(now_ms())}, data={"data": b64(batch)},
        headers={"Origin": "https://shop.example", "X-Forwarded-For": "81.2.69.160"},
    )
    assert_json(response, 200, OK_VERBOSE)
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    ms = int(t) * 1000 + 125
    assert wire.events() == [
        {"event": "$mp_web_page_view", "properties": {
            "time": ms, "distinct_id": "$device:d-1", "$insert_id": "js1", "$device_id": "d-1", "mp_lib": "web",
            "$current_url": "https://shop.example/", "mp_country_code": "GB"}},
        {"event": "Clicked", "properties": {
            "time": ms + 500, "distinct_id": "$device:d-1", "$insert_id": "js2", "$device_id": "d-1",
            "mp_lib": "web", "button": "buy", "mp_country_code": "GB"}},
    ]


def test_mixpanel_js_sendbeacon_text_plain(wire: Wire) -> None:
    event = {"event": "Left Page", "properties": {"token": wire.token, "distinct_id": "u-b", "$insert_id": "beacon"}}
    body = ("data=" + quote(b64([event]), safe="")).encode()
    response = wire.http.post("/track/?ip=1&_=1", content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert_one(response)
    assert wire.events() == [{"event": "Left Page", "properties": {
        "time": RECEIVED, "distinct_id": "u-b", "$insert_id": "beacon"}}]


def test_mixpanel_js_get_jsonp(wire: Wire) -> None:
    event = {"event": "Jsonp", "properties": {"token": wire.token, "distinct_id": "u-j", "$insert_id": "jsonp"}}
    response = wire.http.get("/track/", params={"data": b64(event), "ip": "0", "callback": "mixpanel._jsc.abc"})
    assert_body(response, 200, JS, b"mixpanel._jsc.abc(1)")
    people = {"$token": wire.token, "$distinct_id": "u-j", "$set": {"$name": "J"}, "$time": 1_700_000_000}
    response = wire.http.get("/engage/", params={"data": b64(people), "ip": "0", "callback": "cb2", "verbose": "1"})
    assert_body(response, 200, JS, b'cb2({"status":1,"error":null})')
    assert wire.events() == [{"event": "Jsonp", "properties": {
        "time": RECEIVED, "distinct_id": "u-j", "$insert_id": "jsonp"}}]
    assert wire.users() == {"u-j": {"$name": "J", "$last_seen": "2023-11-14T22:13:20"}}


def test_mixpanel_node_get_track_engage_groups(wire: Wire) -> None:
    t_ms = now_ms() - 60_000
    event = {"event": "Node", "properties": {"token": wire.token, "distinct_id": "n1", "time": t_ms,
                                             "mp_lib": "node", "$lib_version": "0.18.0"}}
    assert_one(wire.http.get("/track", params={"data": b64(event), "ip": "0", "verbose": "0"}))
    people = {"$token": wire.token, "$distinct_id": "n1", "$ip": "0", "$time": t_ms, "$set": {"a": 1}}
    assert_one(wire.http.get("/engage", params={"data": b64(people), "ip": "0", "verbose": "0"}))
    group = {"$token": wire.token, "$group_key": "company", "$group_id": "G", "$time": t_ms, "$set": {"b": 2}}
    assert_one(wire.http.get("/groups", params={"data": b64(group), "ip": "0", "verbose": "0"}))
    [stored] = wire.events()
    assert generated(stored["properties"]) == {
        "time": t_ms, "distinct_id": "n1", "$insert_id": "<generated>", "mp_lib": "node", "$lib_version": "0.18.0"}
    assert wire.users() == {"n1": {"a": 1, "$last_seen": iso(t_ms // 1000)}}
    assert wire.groups() == {"G": {"b": 2, "$last_seen": iso(t_ms // 1000)}}


def test_mixpanel_node_import_get_with_secret_and_batch_with_ms(wire: Wire) -> None:
    old_ms = now_ms() - 40 * 86400 * 1000
    single = {"event": "Old", "properties": {"token": wire.token, "distinct_id": "n2", "time": old_ms}}
    response = wire.http.get("/import", params={"data": b64(single), "ip": "0", "verbose": "0"},
                             auth=wire.secret_auth)
    assert_one(response)
    batch = [{"event": "Old", "properties": {"token": wire.token, "distinct_id": "n2", "time": old_ms + i,
                                             "$insert_id": f"nb{i}"}} for i in (1, 2)]
    response = wire.http.post("/import", data={"data": b64(batch), "verbose": "1"}, auth=wire.secret_auth)
    assert_json(response, 200, OK_VERBOSE)
    stored = wire.events(imported=True)
    assert [generated(stored[0]["properties"])] + [e["properties"] for e in stored[1:]] == [
        {"time": old_ms, "distinct_id": "n2", "$insert_id": "<generated>"},
        {"time": old_ms + 1, "distinct_id": "n2", "$insert_id": "nb1"},
        {"time": old_ms + 2, "distinct_id": "n2", "$insert_id": "nb2"},
    ]


def test_docs_json_arrays_to_track_engage_groups(wire: Wire) -> None:
    t = recent_s()
    events = [{"event": "Docs", "properties": {"token": wire.token, "distinct_id": "d1", "time": t,
                                               "$insert_id": f"docs{i}", "i": i}} for i in range(3)]
    assert_one(wire.http.post("/track?ip=0", json=events))
    updates = [
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$set": {"plan": "free", "n": 1}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$set_once": {"plan": "x", "first": "y"}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$add": {"n": 2}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$union": {"tags": ["a", "b"]}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$append": {"log": "x"}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$remove": {"tags": "a"}},
        {"$token": wire.token, "$distinct_id": "d1", "$time": t, "$unset": ["first"]},
        {"$token": wire.token, "$distinct_id": "gone", "$time": t, "$set": {"x": 1}},
        {"$token": wire.token, "$distinct_id": "gone", "$delete": None},
    ]
    response = wire.http.post("/engage?verbose=1", json=updates)
    assert_json(response, 200, OK_VERBOSE)
    group_updates = [
        {"$token": wire.token, "$group_key": "company", "$group_id": "Acme", "$time": t,
         "$set": {"name": "Acme", "size": 5}},
        {"$token": wire.token, "$group_key": "company", "$group_id": "Acme", "$time": t,
         "$union": {"regions": ["eu", "us"]}},
        {"$token": wire.token, "$group_key": "company", "$group_id": "Acme", "$time": t, "$remove": {"regions": "eu"}},
        {"$token": wire.token, "$group_key": "company", "$group_id": "Acme", "$time": t, "$unset": ["size"]},
    ]
    assert_one(wire.http.post("/groups", json=group_updates))
    assert [e["properties"] for e in wire.events()] == [
        {"time": t * 1000, "distinct_id": "d1", "$insert_id": f"docs{i}", "i": i} for i in range(3)
    ]
    assert wire.users() == {"d1": {"plan": "free", "n": 3, "tags": ["b"], "log": ["x"], "$last_seen": iso(t)}}
    assert wire.groups() == {"Acme": {"name": "Acme", "regions": ["us"], "$last_seen": iso(t)}}


def test_docs_import_ndjson_and_gzip_strict(wire: Wire) -> None:
    t = int(time.time()) - 20 * 86400
    records = [{"event": "Imported", "properties": {"time": t + i, "distinct_id": "i1", "$insert_id": f"imp{i}"}}
               for i in range(4)]
    ndjson = b"\n".join(orjson.dumps(r) for r in records[:2]) + b"\n"
    response = wire.http.post("/import?strict=1", content=ndjson, auth=(wire.project.sa_username,
                              wire.project.sa_secret), params={"project_id": wire.project.project_id},
                              headers={"Content-Type": "application/x-ndjson"})
    assert_json(response, 200, imported(2))
    body = gzip.compress(b"\n".join(orjson.dumps(r) for r in records[2:]))
    response = wire.http.post(
        "/import", params={"strict": "1", "project_id": wire.project.project_id},
        auth=(wire.project.sa_username, wire.project.sa_secret), content=body,
        headers={"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    assert_json(response, 200, imported(2))
    assert [e["properties"] for e in wire.events(imported=True)] == [
        {"time": (t + i) * 1000, "distinct_id": "i1", "$insert_id": f"imp{i}"} for i in range(4)
    ]


def test_import_legacy_form_mode_uses_track_style_responses(wire: Wire) -> None:
    t = int(time.time()) - 10 * 86400
    good = {"event": "Legacy", "properties": {"time": t, "distinct_id": "l1", "$insert_id": "leg1"}}
    bad = {"event": "Legacy", "properties": {"distinct_id": "l1"}}  # no time: invalid for /import
    sa = (wire.project.sa_username, wire.project.sa_secret)
    response = wire.http.post("/import", params={"project_id": wire.project.project_id},
                              data={"data": json.dumps([good, bad]), "verbose": "1", "ip": "0"}, auth=sa)
    assert_json(response, 200, OK_VERBOSE)  # strict defaults to 0 in legacy mode: the invalid record is dropped
    response = wire.http.post("/import", data={"data": json.dumps([bad]), "verbose": "1"}, auth=wire.secret_auth)
    assert_json(response, 200, {"status": 0, "error": BAD_TIME})
    response = wire.http.post("/import", data={"data": json.dumps([bad])}, auth=wire.secret_auth)
    assert_zero(response)
    # Its own insert id: a copy of the first record could be merged away (deduplicated) before the export reads it.
    good_again = {"event": "Legacy", "properties": {"time": t, "distinct_id": "l1", "$insert_id": "leg2"}}
    response = wire.http.post("/import", params={"strict": "1"}, auth=wire.secret_auth,
                              data={"data": json.dumps([good_again, bad]), "verbose": "1"})
    assert_json(response, 200, {"status": 0, "error": BAD_TIME})
    assert sorted((e["properties"] for e in wire.events(imported=True)), key=lambda p: p["$insert_id"]) == [
        {"time": t * 1000, "distinct_id": "l1", "$insert_id": "leg1"},
        {"time": t * 1000, "distinct_id": "l1", "$insert_id": "leg2"},
    ]


# =================================================================================================================
# ip, strict, CORS, Retry-After
# =================================================================================================================

XFF_GB = {"X-Forwarded-For": "81.2.69.160"}


def test_track_geolocation_sources(wire: Wire) -> None:
    tok = wire.token

    def ev(iid: str, **props: Any) -> dict[str, Any]:
        return {"event": "Geo", "properties": {"token": tok, "distinct_id": "g", "$insert_id": iid, **props}}

    assert_one(wire.http.post("/track?ip=1", json=[ev("reqip")], headers=XFF_GB))
    assert_one(wire.http.post("/track", json=[ev("default-off")], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=0", json=[ev("off")], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=0", json=[ev("prop", ip="8.8.8.8")], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=1", json=[ev("prop-disabled", ip="0")], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=1", json=[ev("prop-disabled-int", ip=0)], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=1", json=[ev("explicit", mp_country_code="FR")], headers=XFF_GB))
    assert_one(wire.http.post("/track?ip=1", json=[ev("private", ip="10.1.2.3")]))
    stored = {e["properties"]["$insert_id"]: e["properties"] for e in wire.events()}
    countries = {iid: props.get("mp_country_code") for iid, props in stored.items()}
    assert countries == {"reqip": "GB", "default-off": None, "off": None, "prop": "US", "prop-disabled": None,
                         "prop-disabled-int": None, "explicit": "FR", "private": None}
    assert all("ip" not in props and "token" not in props for props in stored.values())


def test_import_geolocation_uses_request_ip_unless_ip_0(wire: Wire) -> None:
    t = int(time.time()) - 86400 * 9

    def ev(iid: str, **props: Any) -> dict[str, Any]:
        return {"event": "Geo", "properties": {"time": t, "distinct_id": "g", "$insert_id": iid, **props}}

    auth = wire.secret_auth
    assert_json(wire.http.post("/import", json=[ev("default")], auth=auth, headers=XFF_GB), 200, imported(1))
    assert_json(wire.http.post("/import?ip=0", json=[ev("off")], auth=auth, headers=XFF_GB), 200, imported(1))
    assert_json(wire.http.post("/import?ip=0", json=[ev("prop", ip="8.8.8.8")], auth=auth), 200, imported(1))
    stored = {e["properties"]["$insert_id"]: e["properties"] for e in wire.events(imported=True)}
    assert {k: v.get("mp_country_code") for k, v in stored.items()} == {"default": "GB", "off": None, "prop": "US"}
    assert all("ip" not in props for props in stored.values())


def test_profile_geolocation_sets_country_code(wire: Wire) -> None:
    tok, t = wire.token, 1_700_000_000

    def up(did: str, **extra: Any) -> dict[str, Any]:
        return {"$token": tok, "$distinct_id": did, "$time": t, **extra}

    assert_one(wire.http.post("/engage", json=[up("by-ip", **{"$ip": "8.8.8.8", "$set": {"a": 1}})]))
    assert_one(wire.http.post("/engage", json=[up("by-request", **{"$set": {"a": 1}})], headers=XFF_GB))
    assert_one(wire.http.post("/engage?ip=0", json=[up("param-off", **{"$set": {"a": 1}})], headers=XFF_GB))
    assert_one(wire.http.post("/engage", json=[up("ip-0", **{"$ip": "0", "$set": {"a": 1}})], headers=XFF_GB))
    assert_one(wire.http.post("/engage", json=[up("explicit", **{"$ip": "8.8.8.8",
                                                                  "$set": {"$country_code": "FR"}})]))
    assert_one(wire.http.post("/engage", json=[up("add-only", **{"$ip": "8.8.8.8", "$add": {"n": 1}})]))
    assert_one(wire.http.post("/groups", json=[{"$token": tok, "$group_key": "company", "$group_id": "C",
                                                "$time": t, "$ip": "8.8.8.8", "$set": {"a": 1}}]))
    last = iso(t)
    assert wire.users() == {
        "by-ip": {"a": 1, "$country_code": "US", "$last_seen": last},
        "by-request": {"a": 1, "$country_code": "GB", "$last_seen": last},
        "param-off": {"a": 1, "$last_seen": last},
        "ip-0": {"a": 1, "$last_seen": last},
        "explicit": {"$country_code": "FR", "$last_seen": last},
        "add-only": {"n": 1, "$last_seen": last},
    }
    assert wire.groups() == {"C": {"a": 1, "$country_code": "US", "$last_seen": last}}


def test_track_strict_rejects_invalid_records_but_keeps_valid_ones(wire: Wire) -> None:
    good = {"event": "S", "properties": {"token": wire.token, "distinct_id": "s", "$insert_id": "good"}}
    bad = {"event": "S", "properties": {"token": wire.token, "distinct_id": "s", "$insert_id": "not valid!"}}
    response = wire.http.post("/track?strict=1&verbose=1", json=[good, bad])
    assert_json(response, 200, {"status": 0, "error": BAD_INSERT_ID})
    # without strict, a bad $insert_id is replaced by a generated one
    assert_one(wire.http.post("/track", json=[bad]))
    stored = [e["properties"] for e in wire.events()]
    assert stored[0] == {"time": RECEIVED, "distinct_id": "s", "$insert_id": "good"}
    assert generated(stored[1]) == {"time": RECEIVED, "distinct_id": "s", "$insert_id": "<generated>"}


def test_cors_for_mixpanel_js(wire: Wire) -> None:
    origin = "https://app.example.org"
    event = sample(wire, "track", "cors", recent_s())
    response = wire.http.post("/track/", data={"data": b64(event)}, headers={"Origin": origin})
    assert_one(response)
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "Retry-After" in response.headers["access-control-expose-headers"]
    assert "Origin" in response.headers["vary"]
    preflight = wire.http.options("/engage/", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-Custom-Header, Content-Type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")} >= {"GET", "POST"}
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"x-custom-header", "content-type"} <= allowed
    # errors carry CORS headers too, so the browser lets the SDK read them
    rejected = wire.http.post("/track", json=[{"event": "E", "properties": {"token": "nope"}}],
                              headers={"Origin": origin})
    assert rejected.status_code == 401
    assert rejected.headers["access-control-allow-origin"] == origin
    assert_sample_stored(wire, "track", "cors", event["properties"]["time"])


_OVERLOADED = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import uvicorn
    from mixhouse.config import Settings
    from mixhouse.server.app import create_app
    from mixhouse.services.runtime import Runtime

    settings = Settings(data_dir=Path(sys.argv[1]), port=int(sys.argv[2]), max_pending_rows=-1)
    uvicorn.run(create_app(settings, runtime=Runtime(settings)), host="127.0.0.1", port=settings.port,
                log_level="warning")
    """
)


@pytest.fixture(scope="module")
def overloaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, ProjectCreds]]:
    """A real server whose writer always reports backpressure (``max_pending_rows=-1``)."""
    data_dir = tmp_path_factory.mktemp("overloaded") / "data"
    creds = make_project(data_dir)
    port = free_port()
    log = open(data_dir.parent / "server.log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen([sys.executable, "-c", _OVERLOADED, str(data_dir), str(port)], stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                assert proc.poll() is None, (data_dir.parent / "server.log").read_text()
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline
                time.sleep(0.1)
            yield client, creds
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


@pytest.mark.parametrize("route", ["track", "engage", "groups", "import-json", "import-form"])
def test_429_with_retry_after_when_the_writer_is_behind(
    overloaded: tuple[httpx.Client, ProjectCreds], route: str
) -> None:
    client, creds = overloaded
    t = int(time.time()) - 60
    records = {
        "track": [{"event": "E", "properties": {"token": creds.token, "distinct_id": "u", "time": t}}],
        "engage": [{"$token": creds.token, "$distinct_id": "u", "$set": {"a": 1}}],
        "groups": [{"$token": creds.token, "$group_key": "company", "$group_id": "g", "$set": {"a": 1}}],
    }
    origin = {"Origin": "https://web.example"}
    if route == "import-json":
        response = client.post("/import", json=[{"event": "E", "properties": {
            "time": t, "distinct_id": "u", "$insert_id": "x1"}}], auth=(creds.api_secret, ""), headers=origin)
    elif route == "import-form":
        response = client.post("/import", data={"data": b64({"event": "E", "properties": {
            "time": t, "distinct_id": "u"}}), "verbose": "1"}, auth=(creds.api_secret, ""), headers=origin)
    else:
        response = client.post(f"/{route}", params={"verbose": "1"}, data={"data": b64(records[route])},
                               headers=origin)
    assert_json(response, 429, {"code": 429, "error": RATE_LIMITED, "status": "Too Many Requests"})
    assert response.headers["retry-after"] == "1"
    assert response.headers["access-control-expose-headers"] == "Retry-After"
    until = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    assert export(client, creds, from_date="2000-01-01", to_date=until) == []
    assert profiles(client, creds) == {}


def test_503_bodies_carry_retry_after() -> None:
    """Storage failures (503) cannot be provoked over HTTP on demand; check the response builders directly."""
    legacy = legacy_ingest_error({"verbose": "1"}, StorageError("a temporary failure occurred"))
    assert (legacy.status_code, legacy.headers["retry-after"], legacy.media_type) == (503, "1", JSON)
    assert orjson.loads(legacy.body) == {"error": "a temporary failure occurred", "status": 0}
    modern = import_error(StorageError("a temporary failure occurred"))
    assert (modern.status_code, modern.headers["retry-after"]) == (503, "1")
    assert orjson.loads(modern.body) == {"code": 503, "error": "a temporary failure occurred",
                                         "status": "Service Unavailable"}


# =================================================================================================================
# Authentication (spec §1.2, §2.2, §2.3, §7)
# =================================================================================================================


@pytest.mark.parametrize("route", ["track", "engage", "groups"])
@pytest.mark.parametrize("token", ["0" * 32, None, 12345])
def test_unknown_or_missing_token_is_401(wire: Wire, route: str, token: Any) -> None:
    record = sample(wire, route, "x", recent_s())
    if route == "track":
        record["properties"].pop("token")
        if token is not None:
            record["properties"]["token"] = token
    else:
        record.pop("$token")
        if token is not None:
            record["$token"] = token
    for query in ({}, {"verbose": "1"}):
        response = wire.http.post(f"/{route}", params=query, data={"data": b64([record, record])})
        assert_json(response, 401, {"error": UNKNOWN_TOKEN, "status": "error"})
    wire.assert_nothing_stored()


def test_batch_with_some_unknown_tokens_keeps_the_known_ones(wire: Wire) -> None:
    t = recent_s()
    good = sample(wire, "track", "known", t)
    stranger = {"event": "Sample", "properties": {**good["properties"], "token": "f" * 32, "$insert_id": "s2"}}
    response = wire.http.post("/track?verbose=1", json=[stranger, good])
    assert_json(response, 200, OK_VERBOSE)
    assert_sample_stored(wire, "track", "known", t)


def _auth_headers(wire: Wire, other: ProjectCreds, scheme: str) -> tuple[dict[str, str], dict[str, Any]]:
    p = wire.project
    sa_plain = {"Authorization": f"Basic {p.sa_username}:{p.sa_secret}"}
    return {
        "service_account": (basic(p.sa_username, p.sa_secret), {"project_id": p.project_id}),
        "service_account_plain_text": (sa_plain, {"project_id": p.project_id}),
        "project_secret": (basic(p.api_secret), {}),
        "project_secret_own_project_id": (basic(p.api_secret), {"project_id": p.project_id}),
        "token": (basic(p.token), {}),
        "token_own_project_id": (basic(p.token), {"project_id": p.project_id}),
        "none": ({}, {}),
        "wrong_secret": (basic("0" * 32), {}),
        "wrong_sa_password": (basic(p.sa_username, "wrong"), {"project_id": p.project_id}),
        "sa_without_project_id": (basic(p.sa_username, p.sa_secret), {}),
        "sa_other_project": (basic(p.sa_username, p.sa_secret), {"project_id": other.project_id}),
        "secret_other_project": (basic(p.api_secret), {"project_id": other.project_id}),
        "token_other_project": (basic(p.token), {"project_id": other.project_id}),
        "bearer": ({"Authorization": f"Bearer {p.api_secret}"}, {}),
        "bad_project_id": (basic(p.sa_username, p.sa_secret), {"project_id": "abc"}),
    }[scheme]


AUTH_OK = ["service_account", "service_account_plain_text", "project_secret", "project_secret_own_project_id",
           "token", "token_own_project_id"]
AUTH_REJECTED: dict[str, tuple[int, str]] = {
    "none": (401, "Invalid credentials: /import needs HTTP Basic authentication"),
    "wrong_secret": (401, "Invalid credentials"),
    "wrong_sa_password": (401, "Invalid credentials"),
    "sa_without_project_id": (401, "project_id is required when authenticating with a service account"),
    "sa_other_project": (403, "this service account has no access to project {other}"),
    "secret_other_project": (403, "this project secret belongs to another project"),
    "token_other_project": (401, "Invalid credentials"),
    "bearer": (401, "unsupported Authorization scheme; use HTTP Basic"),
    "bad_project_id": (400, "project_id must be an integer, got 'abc'"),
}
STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}


@pytest.fixture
def other_project(server: ServerProcess) -> ProjectCreds:
    return make_project(server.data_dir, "other")


@pytest.mark.parametrize("scheme", AUTH_OK)
def test_import_accepted_credentials(wire: Wire, other_project: ProjectCreds, scheme: str) -> None:
    headers, params = _auth_headers(wire, other_project, scheme)
    t = int(time.time()) - 86400 * 7
    record = sample(wire, "import", scheme, t)
    assert_json(wire.http.post("/import", params=params, headers=headers, json=[record]), 200, imported(1))
    # a different $insert_id: two copies of one record may be collapsed by a background merge at any time
    again = {**record, "properties": {**record["properties"], "$insert_id": "sample-2"}}
    response = wire.http.post("/import", params={**params, "verbose": "1"}, headers=headers,
                              data={"data": b64(again)})
    assert_json(response, 200, OK_VERBOSE)
    assert [e["properties"]["marker"] for e in wire.events(imported=True)] == [scheme, scheme]


@pytest.mark.parametrize("scheme", list(AUTH_REJECTED))
def test_import_rejected_credentials(wire: Wire, other_project: ProjectCreds, scheme: str) -> None:
    headers, params = _auth_headers(wire, other_project, scheme)
    status, message = AUTH_REJECTED[scheme]
    message = message.format(other=other_project.project_id)
    record = sample(wire, "import", scheme, int(time.time()) - 86400)
    response = wire.http.post("/import", params=params, headers=headers, json=[record])
    assert_json(response, status, {"code": status, "error": message, "status": STATUS_TEXT[status]})
    response = wire.http.post("/import", params={**params, "verbose": "1"}, headers=headers,
                              data={"data": b64(record)})
    if status == 400:
        assert_json(response, 200, {"status": 0, "error": message})
    else:
        assert_json(response, status, {"error": message, "status": "error"})
    response = wire.http.get("/import", params={**params, "data": b64(record)}, headers=headers)
    assert response.status_code == (200 if status == 400 else status)
    wire.assert_nothing_stored()
    assert export(wire.http, other_project, from_date="2000-01-01",
                  to_date=(datetime.now(UTC).date() + timedelta(days=1)).isoformat()) == []


# =================================================================================================================
# /import strict validation (spec §2.3, §3.4)
# =================================================================================================================


def _good(i: int, t: int) -> dict[str, Any]:
    return {"event": "Valid", "properties": {"time": t, "distinct_id": "v", "$insert_id": f"good{i}"}}


def _bad(**props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"time": _NOW - 3600, "distinct_id": "v", "$insert_id": "bad1"}
    for key, value in props.items():
        if value is _MISSING:
            base.pop(key)
        else:
            base[key] = value
    return {"event": "Invalid", "properties": base}


_MISSING = object()
_NOW = int(time.time())
STRICT_CASES: list[tuple[str, Any, str | None, str, str]] = [
    # (id, record, reported $insert_id, field, message)
    ("record_not_object", "just a string", None, "event", "event must be a JSON object"),
    ("record_is_list", [1, 2], None, "event", "event must be a JSON object"),
    ("missing_event", {"properties": _bad()["properties"]}, "bad1", "event",
     "'event' is invalid: must be a non-empty string"),
    ("empty_event", {**_bad(), "event": " "}, "bad1", "event", "'event' is invalid: must be a non-empty string"),
    ("event_not_string", {**_bad(), "event": 42}, "bad1", "event", "'event' is invalid: must be a non-empty string"),
    ("properties_not_object", {"event": "E", "properties": [1]}, None, "properties",
     "'properties' is invalid: must be a JSON object"),
    ("missing_time", _bad(time=_MISSING), "bad1", "properties.time", BAD_TIME),
    ("time_before_1971", _bad(time=31_535_999), "bad1", "properties.time", BAD_TIME),
    ("time_negative", _bad(time=-5), "bad1", "properties.time", BAD_TIME),
    ("time_not_a_number", _bad(time="yesterday"), "bad1", "properties.time", BAD_TIME),
    ("time_bool", _bad(time=True), "bad1", "properties.time", BAD_TIME),
    ("time_object", _bad(time={"s": 1}), "bad1", "properties.time", BAD_TIME),
    ("time_2h_in_future", _bad(time=_NOW + 7200), "bad1", "properties.time", FUTURE_TIME),
    ("time_ms_2h_in_future", _bad(time=(_NOW + 7200) * 1000), "bad1", "properties.time", FUTURE_TIME),
    ("time_just_below_ms_threshold_is_seconds", _bad(time=99_999_999_999), "bad1", "properties.time", FUTURE_TIME),
    ("missing_distinct_id", _bad(distinct_id=_MISSING), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is required"),
    ("distinct_id_bool", _bad(distinct_id=True), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is invalid: must be a string"),
    ("distinct_id_list", _bad(distinct_id=["a"]), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is invalid: must be a string"),
    ("distinct_id_null", _bad(distinct_id=None), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is required"),
    *[
        (f"forbidden_distinct_id_{value}", _bad(distinct_id=value), "bad1", "properties.distinct_id",
         f"'properties.distinct_id' is invalid: {value!r} is not allowed as an id")
        for value in [*FORBIDDEN_IDS, "NULL", "Anonymous", "N/A", "UNDEFINED"]
    ],
    ("forbidden_distinct_id_int_0", _bad(distinct_id=0), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is invalid: '0' is not allowed as an id"),
    ("forbidden_distinct_id_int_minus_1", _bad(distinct_id=-1), "bad1", "properties.distinct_id",
     "'properties.distinct_id' is invalid: '-1' is not allowed as an id"),
    ("missing_insert_id", _bad(**{"$insert_id": _MISSING}), None, "properties.$insert_id",
     "'properties.$insert_id' is required"),
    ("insert_id_37_chars", _bad(**{"$insert_id": "a" * 37}), "a" * 37, "properties.$insert_id", BAD_INSERT_ID),
    ("insert_id_underscore", _bad(**{"$insert_id": "a_b"}), "a_b", "properties.$insert_id", BAD_INSERT_ID),
    ("insert_id_space", _bad(**{"$insert_id": "a b"}), "a b", "properties.$insert_id", BAD_INSERT_ID),
    ("insert_id_trailing_newline", _bad(**{"$insert_id": "abc\n"}), "abc\n", "properties.$insert_id",
     BAD_INSERT_ID),
    ("insert_id_non_ascii", _bad(**{"$insert_id": "ünï"}), "ünï", "properties.$insert_id", BAD_INSERT_ID),
    ("insert_id_empty", _bad(**{"$insert_id": ""}), "", "properties.$insert_id", BAD_INSERT_ID),
    ("insert_id_forbidden", _bad(**{"$insert_id": "undefined"}), "undefined", "properties.$insert_id",
     BAD_INSERT_ID),
    ("insert_id_object", _bad(**{"$insert_id": {"a": 1}}), None, "properties.$insert_id", BAD_INSERT_ID),
    ("list_255_items", _bad(tags=list(range(255))), "bad1", "properties.tags",
     "'properties.tags' is invalid: lists must have fewer than 255 items"),
    ("nested_list_255_items", _bad(obj={"inner": ["x"] * 255}), "bad1", "properties.obj.inner",
     "'properties.obj.inner' is invalid: lists must have fewer than 255 items"),
    ("object_depth_4", _bad(a={"b": {"c": {"d": 1}}}), "bad1", "properties.a.b.c",
     "'properties.a.b.c' is invalid: objects may be nested at most 3 deep"),
    ("object_255_keys", _bad(obj={f"k{i}": i for i in range(255)}), "bad1", "properties.obj",
     "'properties.obj' is invalid: objects must have fewer than 255 keys"),
    ("256_properties", _bad(**{f"p{i}": i for i in range(256)}), "bad1", "properties",
     "'properties' is invalid: more than 255 properties"),
    ("event_over_1mb", _bad(**{f"big{i}": ["x" * 255] * 254 for i in range(17)}), "bad1", "event",
     "event is larger than 1 MB"),
]


@pytest.mark.parametrize(("record", "insert_id", "field_name", "message"),
                         [pytest.param(*case[1:], id=case[0]) for case in STRICT_CASES])
def test_import_strict_rejects_invalid_record_and_stores_the_valid_ones(
    wire: Wire, record: Any, insert_id: str | None, field_name: str, message: str
) -> None:
    t = int(time.time()) - 86400 * 3
    response = wire.http.post("/import?strict=1", json=[_good(0, t), record, _good(2, t)], auth=wire.secret_auth)
    assert_json(response, 400, partly_failed(2, failed(1, insert_id, field_name, message)))
    assert [e["properties"] for e in wire.events(imported=True)] == [
        {"time": t * 1000, "distinct_id": "v", "$insert_id": "good0"},
        {"time": t * 1000, "distinct_id": "v", "$insert_id": "good2"},
    ]


def test_import_strict_reports_every_failed_record_in_order(wire: Wire) -> None:
    records = [_bad(time=_MISSING), _good(1, _NOW - 100), _bad(distinct_id="null"), _bad(**{"$insert_id": "a_b"})]
    response = wire.http.post("/import", json=records, auth=wire.secret_auth)  # strict defaults to 1
    assert_json(response, 400, partly_failed(
        1,
        failed(0, "bad1", "properties.time", BAD_TIME),
        failed(2, "bad1", "properties.distinct_id",
               "'properties.distinct_id' is invalid: 'null' is not allowed as an id"),
        failed(3, "a_b", "properties.$insert_id", BAD_INSERT_ID),
    ))
    assert [e["properties"] for e in wire.events(imported=True)] == [
        {"time": (_NOW - 100) * 1000, "distinct_id": "v", "$insert_id": "good1"}]


def test_import_all_invalid_stores_nothing(wire: Wire) -> None:
    response = wire.http.post("/import?strict=1", json=[_bad(time=_MISSING)], auth=wire.secret_auth)
    assert_json(response, 400, partly_failed(0, failed(0, "bad1", "properties.time", BAD_TIME)))
    wire.assert_nothing_stored()


def test_import_strict_0_drops_invalid_records_silently(wire: Wire) -> None:
    t = _NOW - 500
    records = [_bad(time=_MISSING), _good(1, t), _bad(**{"$insert_id": "a_b"})]
    assert_json(wire.http.post("/import?strict=0", json=records, auth=wire.secret_auth), 200, imported(2))
    stored = [e["properties"] for e in wire.events(imported=True)]  # by time
    # strict=0: an invalid $insert_id is replaced, not fatal
    assert generated(stored[0]) == {"time": (_NOW - 3600) * 1000, "distinct_id": "v", "$insert_id": "<generated>"}
    assert stored[1] == {"time": t * 1000, "distinct_id": "v", "$insert_id": "good1"}


def test_import_accepts_values_at_the_limits(wire: Wire) -> None:
    t = _NOW - 86400
    props: dict[str, Any] = {
        "time": t, "distinct_id": "", "$insert_id": "A" * 36,
        "list": list(range(254)),
        "nested": {"b": {"c": 1}},
        "wide": {f"k{i}": i for i in range(254)},
        **{f"p{i}": i for i in range(252)},
    }
    response = wire.http.post("/import?strict=1", json=[{"event": "Edge", "properties": props}],
                              auth=wire.secret_auth)
    assert_json(response, 200, imported(1))
    expected = {**props, "time": t * 1000}
    assert wire.events(imported=True) == [{"event": "Edge", "properties": expected}]


def test_import_empty_array_is_a_bad_request(wire: Wire) -> None:
    response = wire.http.post("/import", json=[], auth=wire.secret_auth)
    assert_json(response, 400, {"code": 400, "error": "the request must contain at least one event",
                                "status": "Bad Request"})
    wire.assert_nothing_stored()


# =================================================================================================================
# time, 5-day limit, forbidden ids on /track
# =================================================================================================================


def test_time_in_seconds_or_milliseconds(wire: Wire) -> None:
    base = _NOW - 30 * 86400
    times: list[tuple[str, float | int, int]] = [
        ("s-int", base, base * 1000),
        ("s-float", base + 0.25, base * 1000 + 250),
        ("ms-int", base * 1000 + 7, base * 1000 + 7),
        ("ms-float", base * 1000 + 8.0, base * 1000 + 8),
        ("ms-threshold", 100_000_000_000, 100_000_000_000),  # 1e11: milliseconds (1973-03-03)
        ("s-1971", 31_536_000, 31_536_000_000),
    ]
    records = [{"event": "T", "properties": {"time": value, "distinct_id": "t", "$insert_id": iid}}
               for iid, value, _ in times]
    assert_json(wire.http.post("/import", json=records, auth=wire.secret_auth), 200, imported(len(times)))
    stored = {e["properties"]["$insert_id"]: e["properties"]["time"] for e in wire.events(imported=True)}
    assert stored == {iid: ms for iid, _, ms in times}
    seconds = {e["properties"]["$insert_id"]: e["properties"]["time"]
               for e in export(wire.http, wire.project, from_date="1971-01-01", to_date="2100-01-01")}
    assert seconds["s-int"] == base and seconds["ms-int"] == base


def test_future_time_within_an_hour_is_clamped_to_now(wire: Wire) -> None:
    future = int(time.time()) + 1800
    record = {"event": "F-import", "properties": {"time": future, "distinct_id": "f", "$insert_id": "fut"}}
    assert_json(wire.http.post("/import", json=[record], auth=wire.secret_auth), 200, imported(1))
    event = {"event": "F-track", "properties": {"token": wire.token, "time": future * 1000, "distinct_id": "f",
                                                "$insert_id": "fut2"}}
    assert_one(wire.http.post("/track", json=[event]))
    assert wire.events(imported=True, event='["F-import"]') == [
        {"event": "F-import", "properties": {"time": RECEIVED, "distinct_id": "f", "$insert_id": "fut"}}]
    assert wire.events(event='["F-track"]') == [
        {"event": "F-track", "properties": {"time": RECEIVED, "distinct_id": "f", "$insert_id": "fut2"}}]


def test_track_only_accepts_the_last_five_days(wire: Wire) -> None:
    tok, now = wire.token, int(time.time())

    def ev(iid: str, t: int) -> dict[str, Any]:
        return {"event": "Age", "properties": {"token": tok, "distinct_id": "a", "time": t, "$insert_id": iid}}

    response = wire.http.post("/track?verbose=1", json=[ev("six-days", now - 6 * 86400)])
    assert_json(response, 200, {"status": 0, "error": TRACK_TOO_OLD})
    assert_zero(wire.http.post("/track", json=[ev("six-days", now - 6 * 86400)]))
    assert_one(wire.http.post("/track", json=[ev("six-days", now - 6 * 86400), ev("four-days", now - 4 * 86400)]))
    assert [e["properties"] for e in wire.events()] == [
        {"time": (now - 4 * 86400) * 1000, "distinct_id": "a", "$insert_id": "four-days"}]
    # the same old event is fine through /import
    record = {"event": "Age", "properties": {"time": now - 6 * 86400, "distinct_id": "a", "$insert_id": "old"}}
    assert_json(wire.http.post("/import", json=[record], auth=wire.secret_auth), 200, imported(1))


@pytest.mark.parametrize("value", [*FORBIDDEN_IDS, "None", "NULL", 0, -1])
def test_track_rejects_forbidden_distinct_ids(wire: Wire, value: Any) -> None:
    event = {"event": "Bad Id", "properties": {"token": wire.token, "distinct_id": value}}
    response = wire.http.post("/track?verbose=1", json=[event])
    text = str(value)
    assert_json(response, 200, {"status": 0, "error": f"'properties.distinct_id' is invalid: {text!r} is not "
                                                      "allowed as an id"})
    wire.assert_nothing_stored()


# =================================================================================================================
# Property rules: truncation, $ignore, token/ip never stored, enrichment
# =================================================================================================================


def test_strings_and_names_are_truncated_to_255(wire: Wire) -> None:
    long_key = "k" * 300
    event = {"event": "E" * 300, "properties": {
        "token": wire.token, "distinct_id": "d" * 300, "$insert_id": "trunc",
        "s": "s" * 300, "accent": "é" * 300, long_key: 1,
        "list": ["l" * 300, 5], "obj": {"inner": "i" * 300, "n" * 300: "v"},
    }}
    assert_one(wire.http.post("/track", json=[event]))
    assert wire.events() == [{"event": "E" * 255, "properties": {
        "time": RECEIVED, "distinct_id": "d" * 255, "$insert_id": "trunc",
        "s": "s" * 255, "accent": "é" * 255, "k" * 255: 1,
        "list": ["l" * 255, 5], "obj": {"inner": "i" * 255, "n" * 255: "v"},
    }}]


def test_profile_strings_and_names_are_truncated(wire: Wire) -> None:
    update = {"$token": wire.token, "$distinct_id": "p", "$time": 1_700_000_000,
              "$set": {"s": "s" * 300, "n" * 300: "v", "list": ["x" * 300]}}
    assert_one(wire.http.post("/engage", json=[update]))
    assert wire.users() == {"p": {"s": "s" * 255, "n" * 255: "v", "list": ["x" * 255],
                                  "$last_seen": "2023-11-14T22:13:20"}}


def test_ignore_drops_the_event(wire: Wire) -> None:
    tok = wire.token
    values = {"i-true": True, "i-yes": "yes", "i-false-string": "false", "i-empty": "", "i-false": False,
              "i-null": None}
    events = [{"event": "Bot", "properties": {"token": tok, "distinct_id": "b", "$insert_id": iid, "$ignore": v}}
              for iid, v in values.items()]
    assert_one(wire.http.post("/track", json=events))
    assert wire.events() == [
        {"event": "Bot", "properties": {"time": RECEIVED, "distinct_id": "b", "$insert_id": iid, "$ignore": v}}
        for iid, v in values.items() if iid in ("i-empty", "i-false", "i-null")
    ]
    # all dropped: still a successful request, nothing more stored
    assert_one(wire.http.post("/track", json=events[:1]))
    record = {"event": "Bot", "properties": {"time": _NOW - 60, "distinct_id": "b", "$insert_id": "imp",
                                             "$ignore": True}}
    assert_json(wire.http.post("/import", json=[record], auth=wire.secret_auth), 200, imported(1))
    assert len(wire.raw_events()) == 3


def test_token_and_ip_are_never_stored(wire: Wire) -> None:
    event = {"event": "Private", "properties": {"token": wire.token, "distinct_id": "x", "$insert_id": "p1",
                                                "ip": "8.8.8.8", "kept": 1}}
    assert_one(wire.http.post("/track?ip=1", json=[event], headers=XFF_GB))
    record = {"event": "Private-import", "properties": {"token": wire.token, "distinct_id": "x", "$insert_id": "p2",
                                                 "ip": "10.0.0.1", "time": _NOW - 60}}
    assert_json(wire.http.post("/import", json=[record], auth=wire.secret_auth), 200, imported(1))
    update = {"$token": wire.token, "$distinct_id": "x", "$ip": "10.0.0.1", "$time": 1_700_000_000,
              "$set": {"kept": 1}}
    assert_one(wire.http.post("/engage", json=[update]))
    raw = json.dumps(wire.raw_events())
    assert wire.token not in raw and "8.8.8.8" not in raw and "10.0.0.1" not in raw
    assert wire.events(event='["Private"]') == [{"event": "Private", "properties": {
        "time": RECEIVED, "distinct_id": "x", "$insert_id": "p1", "kept": 1, "mp_country_code": "US"}}]
    assert wire.events(imported=True, event='["Private-import"]') == [{"event": "Private-import", "properties": {
        "time": (_NOW - 60) * 1000, "distinct_id": "x", "$insert_id": "p2"}}]
    assert wire.users() == {"x": {"kept": 1, "$last_seen": "2023-11-14T22:13:20"}}


def test_enrichment_properties(wire: Wire) -> None:
    event = sample(wire, "track", "enriched", recent_s())
    assert_one(wire.http.post("/track", json=[event], headers={"Host": "api.mixhouse.test"}))
    assert len(wire.events(host="api.mixhouse.test")) == 1  # endpoint, receive and processing times checked
    record = sample(wire, "import", "enriched", recent_s())
    record["properties"]["$insert_id"] = "imp-1"
    assert_json(wire.http.post("/import", json=[record], auth=wire.secret_auth), 200, imported(1))
    [stored] = [e["properties"] for e in wire.raw_events() if e["properties"]["$insert_id"] == "imp-1"]
    assert stored["$import"] is True
    assert stored["$mp_api_endpoint"] == wire.server.host


# =================================================================================================================
# Profiles: bad updates
# =================================================================================================================

BAD_UPDATES: list[tuple[str, str, dict[str, Any], str]] = [
    ("engage", "no_operation", {"$distinct_id": "p"}, "the update names no operation ($set, $set_once, $add, ...)"),
    ("engage", "missing_distinct_id", {"$set": {"a": 1}}, "'$distinct_id' is invalid: must be a non-empty string"),
    ("engage", "empty_distinct_id", {"$distinct_id": "", "$set": {"a": 1}},
     "'$distinct_id' is invalid: must be a non-empty string"),
    ("engage", "set_not_object", {"$distinct_id": "p", "$set": [1]},
     "'$set' is invalid: must be an object of properties"),
    ("engage", "add_not_number", {"$distinct_id": "p", "$add": {"n": "1"}}, "'$add.n' is invalid: $add takes numbers"),
    ("engage", "unset_not_list", {"$distinct_id": "p", "$unset": {"a": 1}},
     "'$unset' is invalid: must be a list of property names"),
    ("engage", "bad_time", {"$distinct_id": "p", "$time": "soon", "$set": {"a": 1}},
     "'$time' is invalid: must be seconds or milliseconds since epoch"),
    ("groups", "missing_group_key", {"$group_id": "g", "$set": {"a": 1}}, "'$group_key' is required"),
    ("groups", "missing_group_id", {"$group_key": "company", "$set": {"a": 1}},
     "'$group_id' is invalid: must be a non-empty string"),
    ("groups", "add_not_supported", {"$group_key": "company", "$group_id": "g", "$add": {"n": 1}},
     "'$add' is not supported for group profiles"),
    ("groups", "append_not_supported", {"$group_key": "company", "$group_id": "g", "$append": {"n": 1}},
     "'$append' is not supported for group profiles"),
]


@pytest.mark.parametrize(("route", "update", "message"),
                         [pytest.param(r, u, m, id=f"{r}-{i}") for r, i, u, m in BAD_UPDATES])
def test_invalid_profile_updates(wire: Wire, route: str, update: dict[str, Any], message: str) -> None:
    record = {"$token": wire.token, **update}
    assert_json(wire.http.post(f"/{route}?verbose=1", json=[record]), 200, {"status": 0, "error": message})
    assert_zero(wire.http.post(f"/{route}", json=[record, "not an object"]))
    wire.assert_nothing_stored()


def test_profile_add_beyond_64_bits_stays_readable(wire: Wire) -> None:
    big = 18_446_744_073_709_551_615
    updates = [{"$token": wire.token, "$distinct_id": "big", "$time": 1_700_000_000, "$add": {"n": big}}] * 2
    assert_one(wire.http.post("/engage", json=updates))
    assert wire.users() == {"big": {"n": float(2 * big), "$last_seen": "2023-11-14T22:13:20"}}


# =================================================================================================================
# Bad input: documented error shape, nothing stored, server keeps serving
# =================================================================================================================

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class BadInput:
    body: bytes
    content_type: str | None
    message: str  # a trailing "…" means "starts with"
    encoding: str | None = None
    too_large: bool = False


def _bad_inputs() -> dict[str, BadInput]:
    deep = b"[" * 2000 + b"]" * 2000
    return {
        "form_invalid_json": BadInput(b"data=%7Bbad", FORM, "data is not valid JSON: …"),
        "form_bad_base64": BadInput(b"data=%21%21%21%21", FORM, "data is neither JSON nor valid base64"),
        "form_base64_of_text": BadInput(b"data=" + base64.b64encode(b"hello").replace(b"=", b"%3D"), FORM,
                                        "data is not valid JSON: …"),
        "form_base64_of_latin1": BadInput(b"data=" + quote(base64.b64encode(b'{"a":"\xe9"}')).encode(), FORM,
                                          "decoded data is not valid UTF-8"),
        "form_data_scalar": BadInput(b"data=" + quote(base64.b64encode(b"123")).encode(), FORM,
                                     "data must be a JSON object or an array of objects"),
        "form_without_data": BadInput(b"foo=bar", FORM, "no data was sent: expected a 'data' parameter or a JSON body"),
        "form_empty_data": BadInput(b"data=", FORM, "data parameter is empty"),
        "form_not_utf8": BadInput(b"data=\xff\xfe", FORM, "form body is not valid UTF-8"),
        "text_plain_garbage": BadInput(b"hello world", "text/plain", "no data was sent: expected a 'data' parameter "
                                       "or a JSON body"),
        "empty_body": BadInput(b"", None, "no data was sent: expected a 'data' parameter or a JSON body"),
        "json_invalid": BadInput(b'[{"event": ', "application/json", "body is not valid JSON: …"),
        "json_string": BadInput(b'"event"', "application/json", "data must be a JSON object or an array of objects"),
        "json_number": BadInput(b"42", "application/json", "data must be a JSON object or an array of objects"),
        "json_too_deep": BadInput(deep, "application/json", "body is not valid JSON: …"),
        "json_nan": BadInput(b'[{"event": NaN}]', "application/json", "body is not valid JSON: …"),
        "ndjson_bad_line": BadInput(b'{"event": "a"}\n{oops\n', "application/x-ndjson",
                                    "a NDJSON line is not valid JSON: …"),
        "gzip_not_gzip": BadInput(b'[{"event": "a"}]', "application/json", "invalid gzip body: …", encoding="gzip"),
        "gzip_truncated": BadInput(gzip.compress(b'[{"event": "a"}]')[:-12], "application/json",
                                   "invalid gzip body: …", encoding="gzip"),
        "gzip_bomb": BadInput(gzip.compress(b" " * (11 * 1024 * 1024)), "application/json", TOO_LARGE,
                              encoding="gzip", too_large=True),
        "body_over_10mb": BadInput(b"[" + b" " * (10 * 1024 * 1024) + b"]", "application/json", TOO_LARGE,
                                   too_large=True),
        "over_2000_records": BadInput(orjson.dumps([{"event": "x"}] * 2001), "application/json",
                                      "request has 2001 records; the limit is 2000", too_large=True),
        "form_over_2000_records": BadInput(b"data=" + quote(b64([{"event": "x"}] * 2001)).encode(), FORM,
                                           "request has 2001 records; the limit is 2000", too_large=True),
    }


BAD_INPUTS = _bad_inputs()


def _matches(actual: str, expected: str) -> bool:
    return actual.startswith(expected[:-1]) if expected.endswith("…") else actual == expected


@pytest.mark.parametrize("case", list(BAD_INPUTS))
@pytest.mark.parametrize("route", ["track", "engage", "groups", "import"])
def test_bad_input_gets_the_documented_error(wire: Wire, route: str, case: str) -> None:
    bad = BAD_INPUTS[case]
    headers = {"Content-Type": bad.content_type} if bad.content_type else {}
    if bad.encoding:
        headers["Content-Encoding"] = bad.encoding
    if route == "import":
        headers.update(basic(wire.project.api_secret))
    modern = route == "import" and bad.content_type in ("application/json", "application/x-ndjson")
    for verbose in ("1", "0"):
        response = wire.http.post(f"/{route}", params={"verbose": verbose}, content=bad.body, headers=headers)
        if bad.too_large:
            assert (response.status_code, response.headers["content-type"]) == (413, JSON)
            body = response.json()
            assert body == {"code": 413, "error": body["error"], "status": "Request Entity Too Large"}
            assert _matches(body["error"], bad.message), body
        elif modern:
            assert (response.status_code, response.headers["content-type"]) == (400, JSON)
            body = response.json()
            assert body == {"code": 400, "error": body["error"], "status": "Bad Request"}
            assert _matches(body["error"], bad.message), body
        elif verbose == "1":
            assert (response.status_code, response.headers["content-type"]) == (200, JSON)
            body = response.json()
            assert body == {"status": 0, "error": body["error"]}
            assert _matches(body["error"], bad.message), body
        else:
            assert_zero(response)
    assert wire.http.get("/healthz").status_code == 200
    wire.assert_nothing_stored()
    # and the route still works
    t = recent_s()
    record = sample(wire, route, "after", t)
    auth = basic(wire.project.api_secret) if route == "import" else {}
    assert_one(wire.http.post(f"/{route}", data={"data": b64(record)}, headers=auth))
    assert_sample_stored(wire, route, "after", t)


def test_long_query_string_get(wire: Wire) -> None:
    """mixpanel-node sends single events as GET: a query string well over 8 KB must work."""
    props = {f"p{i}": "v" * 200 for i in range(100)}
    event = {"event": "Long", "properties": {"token": wire.token, "distinct_id": "l", "$insert_id": "long",
                                             **props}}
    data = b64(event)
    assert len(data) > 20_000
    assert_one(wire.http.get("/track", params={"data": data, "ip": "0", "verbose": "0"}))
    assert wire.events() == [{"event": "Long", "properties": {"time": RECEIVED, "distinct_id": "l",
                                                              "$insert_id": "long", **props}}]
