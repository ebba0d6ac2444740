"""The unmodified official mixpanel-js in a real headless Chromium, against a real server on another origin.

The page (tests/browser/index.html, loading the prebuilt UMD bundle of the npm package `mixpanel-browser` pinned in
tests/browser/package.json) is served from one localhost port by a static HTTP server in a thread; the Mixhouse
server runs on another, so every request is a credentialed (`withCredentials`) cross-origin request and CORS is
exercised for real. Delivery is awaited by polling the export / engage APIs, never by fixed sleeps.

Needs Debian's chromium + chromium-driver, `npm ci` in tests/browser/ and the `selenium` bindings: run
`bash scripts/install-browser-deps.sh`. Without them the module is skipped (set MIXHOUSE_REQUIRE_BROWSER=1 to make
that a failure instead, e.g. in CI).
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.support.readback import export, profiles
from tests.support.server import ServerProcess, free_port

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # a fresh clone: scripts/install-browser-deps.sh not run yet
    webdriver = None  # type: ignore[assignment]

BROWSER_DIR = Path(__file__).resolve().parents[1] / "browser"
BUNDLE = BROWSER_DIR / "node_modules" / "mixpanel-browser" / "dist" / "mixpanel.umd.js"
PINNED_VERSION: str = json.loads((BROWSER_DIR / "package.json").read_text())["dependencies"]["mixpanel-browser"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,800",
)
SERVER_ADDED = {"$mp_api_endpoint", "$mp_api_timestamp_ms", "mp_processing_time_ms"}
T = TypeVar("T")


def _missing_deps() -> list[str]:
    missing = []
    if CHROMIUM is None:
        missing.append("chromium (apt)")
    if CHROMEDRIVER is None:
        missing.append("chromedriver (apt chromium-driver)")
    if not BUNDLE.is_file():
        missing.append(f"mixpanel-browser {PINNED_VERSION} (npm ci in tests/browser)")
    if webdriver is None:
        missing.append("selenium (pip)")
    return missing


_MISSING = _missing_deps()
if _MISSING and os.environ.get("MIXHOUSE_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser test dependencies missing: {', '.join(_MISSING)}; run scripts/install-browser-deps.sh")
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"browser test needs {', '.join(_MISSING)}: run `bash scripts/install-browser-deps.sh`",
)


# --------------------------------------------------------------------------------------------------- helpers


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _yesterday() -> str:
    return (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def _poll(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Call `fetch` until `done(value)` or the deadline; return the last value (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _events(http: httpx.Client, project: ProjectCreds, count: int, **params: Any) -> list[dict[str, Any]]:
    """Export the project's events once at least `count` are there (bounded wait)."""
    return _poll(lambda: export(http, project, from_date=_yesterday(), to_date=_today(), **params),
                 lambda rows: len(rows) >= count)


def _client_props(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in SERVER_ADDED}


def _decode_data(value: str) -> Any:
    """mixpanel-js's `data` parameter: base64(UTF-8 JSON) when api_host is not *.mixpanel.com."""
    return json.loads(base64.b64decode(value).decode("utf-8"))


@dataclass
class Request:
    """One request the page made to the API origin, rebuilt from Chromium's DevTools network events."""

    url: str
    method: str
    type: str
    post_data: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    failure: str | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query, keep_blank_values=True).items()}

    @property
    def payload(self) -> Any:
        assert self.post_data is not None and self.post_data.startswith("data="), self.post_data
        return _decode_data(unquote(self.post_data[len("data="):]))


class Page:
    """The test page in the shared browser; collects console messages and the API origin's network traffic."""

    def __init__(self, driver: Any, origin: str, api: str) -> None:
        self.driver = driver
        self.origin = origin
        self.api = api
        self.url = f"{origin}/index.html"
        self.console: list[dict[str, Any]] = []
        self._requests: dict[str, Request] = {}

    def open(self) -> None:
        self.driver.get(self.url)
        self.js("localStorage.clear(); sessionStorage.clear();")
        self.driver.delete_all_cookies()
        assert self.js("return typeof mixpanel") == "object", "mixpanel-js bundle did not load"
        self.collect()
        self.console.clear()
        self._requests.clear()

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def js_async(self, script: str, *args: Any) -> Any:
        """Run `script`; it finishes by calling its last argument (Selenium's async-script callback)."""
        return self.driver.execute_async_script(script, *args)

    def init(self, token: str, **config: Any) -> None:
        self.js("mixpanel.init(arguments[0], arguments[1]);", token, {"api_host": self.api, **config})

    def collect(self) -> None:
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message["params"]
            if method == "Network.requestWillBeSent" and params["request"]["url"].startswith(self.api):
                req = params["request"]
                self._requests[params["requestId"]] = Request(
                    url=req["url"], method=req["method"], type=params.get("type", ""),
                    post_data=req.get("postData"), headers=req.get("headers", {}),
                )
            elif (request := self._requests.get(params.get("requestId", ""))) is None:
                continue
            elif method == "Network.responseReceived":
                request.status = params["response"]["status"]
                request.response_headers = {k.lower(): v for k, v in params["response"]["headers"].items()}
            elif method == "Network.loadingFailed":
                request.failure = f"{params.get('errorText')} cors={params.get('corsErrorStatus')}"

    @property
    def requests(self) -> list[Request]:
        self.collect()
        return list(self._requests.values())

    def assert_clean(self) -> None:
        """No console errors or warnings (CORS failures show up there), and every API request got a CORS-valid 200."""
        _poll(lambda: self.requests, lambda rs: all(r.status is not None or r.failure for r in rs), timeout=5)
        noisy = [e for e in self.console if e["level"] in ("SEVERE", "WARNING")]
        assert noisy == [], noisy
        assert not [e for e in self.console if "CORS" in e["message"] or "Access-Control" in e["message"]]
        for request in self._requests.values():
            assert request.failure is None, (request.url, request.failure)
            if request.type == "Ping":  # sendBeacon: a no-cors request whose response the page never reads
                continue
            assert request.status == 200, (request.url, request.status)
            assert request.response_headers.get("access-control-allow-origin") == self.origin, request
            assert request.response_headers.get("access-control-allow-credentials") == "true", request


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """tests/browser/ over HTTP on its own port; `localhost` so that it is a different site from the API's 127.0.0.1."""
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(BROWSER_DIR))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    chrome.set_script_timeout(10)
    chrome.set_page_load_timeout(15)
    yield chrome
    chrome.quit()


@pytest.fixture
def page(driver: Any, page_origin: str, server: ServerProcess) -> Page:
    opened = Page(driver, page_origin, server.url)
    opened.open()
    return opened


def _web_defaults(page: Page) -> dict[str, Any]:
    """The properties mixpanel-js adds to every event it sends from this page and browser."""
    width, height = page.js("return [screen.width, screen.height];")
    return {
        "$os": "Linux",
        "$browser": "Chrome",
        "$browser_version": int(page.driver.capabilities["browserVersion"].split(".")[0]),
        "$current_url": page.url,
        "$screen_width": width,
        "$screen_height": height,
        "$initial_referrer": "$direct",
        "$initial_referring_domain": "$direct",
        "mp_lib": "web",
        "$lib_version": PINNED_VERSION,
    }


def _assert_event_shape(event: dict[str, Any], server: ServerProcess) -> None:
    props = event["properties"]
    assert isinstance(props["time"], int) and abs(props["time"] - time.time()) < 120, props["time"]
    assert re.fullmatch(r"[A-Za-z0-9-]{1,36}", props["$insert_id"]), props["$insert_id"]
    assert props["$mp_api_endpoint"] == server.host
    assert "token" not in props


# --------------------------------------------------------------------------------------------------- tests


PAGE_PROPS = {
    "section": "home",
    "n": 3,
    "ratio": 0.25,
    "logged_in": False,
    "tags": ["a", "b"],
    "nested": {"k": "v"},
    "unicode": "héllo ✓ 日本",
}


def test_immediate_track_stores_page_props_and_js_defaults(
    page: Page, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    page.init(project.token, batch_requests=False)
    page.js("mixpanel.track('Page Viewed', arguments[0]);", PAGE_PROPS)
    device_id = page.js("return mixpanel.get_property('$device_id');")
    assert page.js("return mixpanel.get_distinct_id();") == f"$device:{device_id}"

    events = _events(http, project, 1)
    assert [e["event"] for e in events] == ["Page Viewed"]
    props = events[0]["properties"]
    _assert_event_shape(events[0], server)
    assert _client_props(props) == {
        "time": props["time"],
        "distinct_id": f"$device:{device_id}",
        "$insert_id": props["$insert_id"],
        "$device_id": device_id,
        **_web_defaults(page),
        **PAGE_PROPS,
    }

    # The wire: one form POST to `track/` (trailing slash) with ip=1 and the `_` cache buster, base64 `data`.
    [request] = [r for r in page.requests if r.path.startswith("/track")]
    assert (request.method, request.path) == ("POST", "/track/")
    assert request.headers.get("Content-Type") == "application/x-www-form-urlencoded"
    assert request.query["ip"] == "1" and re.fullmatch(r"\d{13}", request.query["_"])
    sent = request.payload
    assert sent["event"] == "Page Viewed" and sent["properties"]["token"] == project.token
    page.assert_clean()


def test_batched_events_arrive_as_json_arrays(
    page: Page, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    page.init(project.token, batch_requests=True, batch_flush_interval_ms=200)
    page.js("for (let i = 0; i < 6; i++) { mixpanel.track('Step', {i: i, even: i % 2 === 0}); }")
    device_id = page.js("return mixpanel.get_property('$device_id');")

    events = _events(http, project, 6)
    assert len(events) == 6
    events.sort(key=lambda e: e["properties"]["i"])
    defaults = _web_defaults(page)
    for i, event in enumerate(events):
        assert event["event"] == "Step"
        _assert_event_shape(event, server)
        props = event["properties"]
        assert _client_props(props) == {
            "time": props["time"], "$insert_id": props["$insert_id"],
            "distinct_id": f"$device:{device_id}", "$device_id": device_id, **defaults,
            "i": i, "even": i % 2 == 0,
            "mp_sent_by_lib_version": PINNED_VERSION,  # the batcher stamps what it sent each event with
        }
    assert len({e["properties"]["$insert_id"] for e in events}) == 6

    tracks = [r for r in page.requests if r.path.startswith("/track")]
    assert tracks and all(r.path == "/track/" and r.query["verbose"] == "1" for r in tracks)
    assert all(isinstance(r.payload, list) for r in tracks)
    assert sum(len(r.payload) for r in tracks) == 6 and len(tracks) < 6, [len(r.payload) for r in tracks]
    page.assert_clean()


def test_identify_merges_anonymous_history_and_people_set(
    page: Page, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    page.init(project.token, batch_flush_interval_ms=200)  # batch_requests defaults to on
    page.js("mixpanel.track('Anon 1', {k: 1}); mixpanel.track('Anon 2', {k: 2});")
    device_id = page.js("return mixpanel.get_property('$device_id');")
    _events(http, project, 2)  # the anonymous events are stored under $device:<id> before identify
    page.js("""
        mixpanel.identify('user-7');
        mixpanel.people.set({'$name': 'Seven', plan: 'pro', seats: 4});
        mixpanel.track('Known', {k: 3});
    """)
    assert page.js("return mixpanel.get_distinct_id();") == "user-7"

    events = _poll(lambda: export(http, project, from_date=_yesterday(), to_date=_today()),
                   lambda rows: len(rows) >= 4 and all(e["properties"]["distinct_id"] == "user-7" for e in rows))
    by_name = {e["event"]: e["properties"] for e in events}
    assert sorted(by_name) == ["$identify", "Anon 1", "Anon 2", "Known"]
    assert {name: props["distinct_id"] for name, props in by_name.items()} == dict.fromkeys(by_name, "user-7")
    assert by_name["$identify"]["$anon_distinct_id"] == f"$device:{device_id}"
    assert by_name["$identify"]["$user_id"] == "user-7"
    assert by_name["Known"]["$user_id"] == "user-7" and by_name["Known"]["$device_id"] == device_id
    assert "$user_id" not in by_name["Anon 1"] and by_name["Anon 1"]["$device_id"] == device_id
    assert [by_name[n]["k"] for n in ("Anon 1", "Anon 2", "Known")] == [1, 2, 3]
    # the identity cluster is queryable by any of its ids and answers with the canonical one
    only_user = export(http, project, from_date=_yesterday(), to_date=_today(), where='properties["k"] == 1')
    assert [(e["event"], e["properties"]["distinct_id"]) for e in only_user] == [("Anon 1", "user-7")]

    found = _poll(lambda: profiles(http, project), lambda rows: "seats" in rows.get("user-7", {}))
    assert set(found) == {"user-7"}
    seven = found["user-7"]
    defaults = _web_defaults(page)
    assert {k: v for k, v in seven.items() if k != "$last_seen"} == {
        "$name": "Seven", "plan": "pro", "seats": 4,
        "$os": defaults["$os"], "$browser": defaults["$browser"], "$browser_version": defaults["$browser_version"],
        "$initial_referrer": "$direct", "$initial_referring_domain": "$direct",
    }
    engage = [r for r in page.requests if r.path.startswith("/engage")]
    assert engage and all(r.path == "/engage/" for r in engage)
    sent = [u for r in engage for u in r.payload]
    assert {(u["$distinct_id"], u.get("$user_id"), u.get("$device_id")) for u in sent} == {
        ("user-7", "user-7", device_id)
    }
    page.assert_clean()


def test_groups_reach_the_groups_endpoint(
    page: Page, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    page.init(project.token, batch_flush_interval_ms=200)
    # Each call goes on in the previous one's callback (fired once the batcher has queued the update): calls made
    # in one synchronous burst may be queued, and so sent, in another order by mixpanel-js itself.
    page.js_async("""
        const done = arguments[arguments.length - 1];
        mixpanel.identify('member-1');
        const acme = mixpanel.get_group('company', 'acme');
        mixpanel.set_group('company', 'acme', () =>
          acme.set({name: 'Acme', plan: 'enterprise', old: 1}, () =>
            acme.set_once({name: 'ignored', founded: 1990}, () =>
              acme.union('regions', ['eu', 'us'], () =>
                acme.remove('regions', 'eu', () =>
                  acme.unset('old', () =>
                    mixpanel.track('Group Event', {x: 1}, () => done(true))))))));
    """)

    def settled() -> dict[str, dict[str, Any]]:
        return profiles(http, project, data_group_id="company")

    groups = _poll(settled, lambda rows: "old" not in rows.get("acme", {"old": 1}) and "regions" in rows["acme"])
    assert set(groups) == {"acme"}
    assert {k: v for k, v in groups["acme"].items() if k != "$last_seen"} == {
        "name": "Acme", "plan": "enterprise", "founded": 1990, "regions": ["us"],
    }
    member = _poll(lambda: profiles(http, project), lambda rows: "company" in rows.get("member-1", {}))["member-1"]
    assert member["company"] == ["acme"]

    events = _poll(lambda: export(http, project, from_date=_yesterday(), to_date=_today(), event='["Group Event"]'),
                   lambda rows: len(rows) == 1)
    assert [(e["properties"]["distinct_id"], e["properties"]["company"]) for e in events] == [("member-1", ["acme"])]

    group_requests = [r for r in page.requests if r.path.startswith("/groups")]
    assert group_requests and all(r.path == "/groups/" for r in group_requests)
    sent = [u for r in group_requests for u in (r.payload if isinstance(r.payload, list) else [r.payload])]
    assert {(u["$group_key"], u["$group_id"], u["$token"]) for u in sent} == {("company", "acme", project.token)}
    page.assert_clean()


def test_cors_credentialed_requests_and_preflight_are_answered(
    page: Page, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    # A custom XHR header makes every request non-simple, so Chromium must preflight it with OPTIONS first.
    page.init(project.token, batch_requests=False, xhr_headers={"X-Mixhouse-Test": "yes"})
    page.js("""
        mixpanel.track('Preflighted', {p: 1});
        mixpanel.identify('cors-user');
        mixpanel.people.set({seen: true});
        mixpanel.get_group('team', 't1').set({size: 2});
    """)
    events = _events(http, project, 2)
    assert sorted(e["event"] for e in events) == ["$identify", "Preflighted"]
    user = _poll(lambda: profiles(http, project), lambda rows: "seen" in rows.get("cors-user", {}))["cors-user"]
    assert user["seen"] is True
    assert _poll(lambda: profiles(http, project, data_group_id="team"), lambda rows: "t1" in rows)["t1"]["size"] == 2

    requests = _poll(lambda: page.requests, lambda rs: all(r.status is not None or r.failure for r in rs), timeout=5)
    posts = sorted(r.path for r in requests if r.method == "POST")
    # identify() flushes the referrer $set_once to /engage before people.set sends its own update
    assert posts == ["/engage/", "/engage/", "/groups/", "/track/", "/track/"], posts
    assert all(r.headers.get("X-Mixhouse-Test") == "yes" for r in requests if r.method == "POST")
    preflights = [r for r in requests if r.method == "OPTIONS"]
    assert sorted(r.path for r in preflights) == posts  # one answered preflight per request
    for preflight in preflights:
        allowed = preflight.response_headers.get("access-control-allow-headers", "").lower()
        assert "x-mixhouse-test" in allowed, preflight
        assert "POST" in preflight.response_headers.get("access-control-allow-methods", ""), preflight
    page.assert_clean()


def test_send_beacon_text_plain_and_flush_on_unload(
    page: Page, driver: Any, page_origin: str, server: ServerProcess, project: ProjectCreds, http: httpx.Client
) -> None:
    # 1) an explicit sendBeacon transport: the browser sends the `data=...` body as text/plain;charset=UTF-8.
    page.init(project.token, batch_requests=False)
    page.js("mixpanel.track('Beaconed', {via: 'beacon'}, {transport: 'sendBeacon'});")
    events = _events(http, project, 1)
    assert [(e["event"], e["properties"]["via"]) for e in events] == [("Beaconed", "beacon")]
    [beacon] = [r for r in page.requests if r.path.startswith("/track")]
    assert beacon.type == "Ping" and beacon.headers.get("Content-Type") == "text/plain;charset=UTF-8"
    assert beacon.payload["event"] == "Beaconed"
    page.assert_clean()

    # 2) the batcher's unload flush: a long flush interval, then the page goes away before it fires.
    other = make_project(server.data_dir, name="browser-unload")
    page.open()
    page.init(other.token, batch_requests=True, batch_flush_interval_ms=60_000)
    for i in range(3):
        page.js("mixpanel.track('Before Unload', {i: arguments[0]});", i)
    # the batcher persists its queue to localStorage asynchronously: leave only once all three are queued
    queued = _poll(lambda: page.js(
        "const k = Object.keys(localStorage).find(k => k.startsWith('__mpq_') && k.endsWith('_ev'));"
        "return k ? JSON.parse(localStorage.getItem(k)).length : 0;"), lambda n: n == 3, timeout=5)
    assert queued == 3
    driver.get("about:blank")  # visibilitychange -> hidden: the batcher flushes its queue with sendBeacon
    unloaded = _poll(lambda: export(http, other, from_date=_yesterday(), to_date=_today()),
                     lambda rows: {e["properties"]["i"] for e in rows} == {0, 1, 2})
    assert {e["event"] for e in unloaded} == {"Before Unload"}
    # mixpanel-js may beacon the same queue more than once (it relies on $insert_id dedup, and raw export is
    # not deduplicated, spec 3.5): every copy of an event carries the same $insert_id.
    by_i: dict[int, set[str]] = {}
    for event in unloaded:
        by_i.setdefault(event["properties"]["i"], set()).add(event["properties"]["$insert_id"])
    assert sorted(by_i) == [0, 1, 2] and all(len(ids) == 1 for ids in by_i.values()), by_i
