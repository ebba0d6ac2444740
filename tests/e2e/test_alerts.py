"""Custom alerts over the App API, against a server started here with a fast scheduler tick, its SMTP settings
pointing at a real SMTP server (aiosmtpd) and webhooks at a real HTTP receiver, both started here.

Covers: an alert crossing its threshold (history, webhook and email), one that does not, a relative one, a
receiver failing twice then answering (retries), one always failing (recorded, the scheduler goes on), paused
alerts left alone, the lifecycle and its 400s, count and the limit, history paging, test notifications,
validate-for-bookmark, screenshots (signed SVG URLs), consumers and other projects, recorded answer shapes, and
schedules continuing from ``last_checked`` across a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ProjectCreds, make_project
from tests.e2e.test_app_reports import insights_params
from tests.support.app_api import call, projects_with_consumer, sa
from tests.support.receiver import serving
from tests.support.sending import import_all
from tests.support.server import ServerProcess, free_port

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

LIMIT = 30
#: What the webhook receiver got: (path, JSON body).
RECEIVED: list[tuple[str, Any]] = []
_HITS: dict[str, int] = {}
#: What the SMTP server got: (recipients, parsed message).
MAILS: list[tuple[list[str], Any]] = []


class _Receiver(BaseHTTPRequestHandler):
    """``/ok`` answers 200; ``/flaky...`` 503 twice then 200; ``/slow`` 200 after 6 s; anything else 503."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/slow":
            time.sleep(6)
        RECEIVED.append((self.path, orjson.loads(body)))
        _HITS[self.path] = _HITS.get(self.path, 0) + 1
        ok = self.path in ("/ok", "/slow") or (self.path.startswith("/flaky") and _HITS[self.path] > 2)
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if ok else b"no")

    def log_message(self, *args: Any) -> None:
        pass


class _Mailbox:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        MAILS.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    with serving(_Receiver) as url:
        yield url


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = aiosmtpd_controller.Controller(_Mailbox(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp_port: int) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("alerts") / "data"
    proc = ServerProcess(data_dir=data_dir, env={
        "MIXHOUSE_ALERT_TICK_S": "0.2", "MIXHOUSE_ALERT_MIN_FREQUENCY_S": "1", "MIXHOUSE_ALERT_LIMIT": str(LIMIT),
        "MIXHOUSE_SMTP_HOST": "127.0.0.1", "MIXHOUSE_SMTP_PORT": str(smtp_port),
        "MIXHOUSE_SMTP_FROM": "alerts@mixhouse.test",
    }).start()
    yield proc
    proc.stop()


END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def projects(server: ServerProcess, client: httpx.Client) -> tuple[ProjectCreds, ProjectCreds, tuple[str, str]]:
    """Project A has 4 purchases two days ago and 10 yesterday (the last day of ``insights_params``' range)."""
    a, b, consumer = projects_with_consumer(server, "alerts")
    yesterday, before = int((END - timedelta(days=1)).timestamp()), int((END - timedelta(days=2)).timestamp())
    events = [{"event": "Purchase", "properties": {"distinct_id": f"u{n}", "time": yesterday + n * 600,
                                                   "$insert_id": f"y{n}"}} for n in range(10)]
    events += [{"event": "Purchase", "properties": {"distinct_id": f"u{n}", "time": before + n * 600,
                                                    "$insert_id": f"b{n}"}} for n in range(4)]
    import_all(client, a, events)
    return a, b, consumer


def _base(project_id: int) -> str:
    return f"/api/app/projects/{project_id}/alerts/custom/"


def _report(client: httpx.Client, creds: ProjectCreds, name: str = "Purchases", event: str = "Purchase") -> int:
    created = call(client, "POST", f"/api/app/projects/{creds.project_id}/bookmarks", sa(creds),
                   body={"name": name, "type": "insights", "params": insights_params(event)})
    return int(created["results"]["id"])


def _condition(op: str, value: float, kind: str = "absolute", metric: str = "Purchase") -> dict[str, Any]:
    return {"keys": [{"header": metric, "value": metric}], "type": kind, "op": op, "value": value}


def _alert(client: httpx.Client, creds: ProjectCreds, report_id: int, name: str, condition: dict[str, Any],
           subscriptions: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body = {"bookmark_id": report_id, "name": name, "condition": condition, "frequency": 3600, "paused": False,
            "subscriptions": subscriptions or [], **extra}
    created: dict[str, Any] = call(client, "POST", _base(creds.project_id), sa(creds), body=body)["results"]
    return created


def _history(client: httpx.Client, creds: ProjectCreds, alert_id: int, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = call(client, "GET", f"{_base(creds.project_id)}{alert_id}/history/", sa(creds),
                                **params)["results"]
    return page


def _wait(what: Callable[[], Any], timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _checks(client: httpx.Client, creds: ProjectCreds, alert_id: int, at_least: int = 1) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        results: list[dict[str, Any]] = _history(client, creds, alert_id, page_size=100)["results"]
        pending = [n for entry in results for n in entry["notifications"] if n.get("pending")]
        return results if len(results) >= at_least and not pending else None
    found: list[dict[str, Any]] = _wait(enough)
    return found


def test_a_crossing_alert_notifies_its_webhook_and_email(projects: Any, client: httpx.Client,
                                                          receiver: str) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    subscriptions = [{"type": "webhook", "value": receiver + "/ok"}, {"type": "email", "value": "ops@example.com"}]
    fired = _alert(client, a, report_id, "Many purchases", _condition(">", 5), subscriptions)
    quiet = _alert(client, a, report_id, "Few purchases", _condition("<", 5), subscriptions)
    jump = _alert(client, a, report_id, "Purchases jump", _condition(">=", 100, "relative"),
                  [{"type": "webhook", "value": receiver + "/ok"}])
    assert fired["valid"] is True and fired["last_checked"] is None and fired["bookmark"]["id"] == report_id

    [entry] = _checks(client, a, fired["id"])
    assert (entry["fired"], entry["value"], entry["error"]) == (True, 10, None)
    assert [(n["type"], n["ok"], n["attempts"]) for n in entry["notifications"]] == [
        ("webhook", True, 1), ("email", True, 1)]
    message = next(body for path, body in RECEIVED if body["alert"]["id"] == fired["id"])
    assert (message["type"], message["value"], message["fired"], message["bookmark_id"]) == (
        "alert", 10, True, report_id)
    recipients, mail = next(m for m in MAILS if "Many purchases" in m[1]["Subject"])
    assert recipients == ["ops@example.com"] and mail["From"] == "alerts@mixhouse.test"
    assert "Value: 10" in mail.get_payload()

    [calm] = _checks(client, a, quiet["id"])
    assert (calm["fired"], calm["value"], calm["notifications"]) == (False, 10, [])
    assert not [body for _, body in RECEIVED if body["alert"]["id"] == quiet["id"]]
    assert not [m for m in MAILS if "Few purchases" in m[1]["Subject"]]

    [rise] = _checks(client, a, jump["id"])
    assert (rise["fired"], rise["value"]) == (True, 150.0)  # 4 then 10: +150 %

    now = call(client, "GET", f"{_base(a.project_id)}{fired['id']}/", sa(a))["results"]
    assert now["last_checked"] and now["last_fired"] == now["last_checked"]
    assert now["results"] == {"value": 10, "fired": True, "error": None}


def test_an_alert_on_a_report_filtered_by_a_cohort(projects: Any, client: httpx.Client) -> None:
    """The scheduler resolves the cohorts a report filters by, as the Insights route does."""
    a, _, _ = projects
    everyone = call(client, "POST", f"/api/app/projects/{a.project_id}/cohorts", sa(a),
                    body={"name": "Everyone"})["results"]
    params = insights_params("Purchase")
    params["sections"]["filter"] = [{"value": "$cohorts", "resourceType": "events", "filterType": "list",
                                     "filterOperator": "contains", "filterValue": [
                                         {"cohort": {"id": everyone["id"], "name": "Everyone", "negated": False}}]}]
    report = call(client, "POST", f"/api/app/projects/{a.project_id}/bookmarks", sa(a),
                  body={"name": "Purchases by everyone", "type": "insights", "params": params})["results"]
    alert = _alert(client, a, report["id"], "Cohort-filtered", _condition(">", 5))
    [entry] = _checks(client, a, alert["id"])
    assert (entry["fired"], entry["value"], entry["error"]) == (True, 10, None)


def test_failing_receivers_are_retried_and_recorded(projects: Any, client: httpx.Client, receiver: str) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    flaky = _alert(client, a, report_id, "Flaky hook", _condition(">", 0),
                   [{"type": "webhook", "value": receiver + "/flaky-1"}])
    down = _alert(client, a, report_id, "Down hook", _condition(">", 0),
                  [{"type": "webhook", "value": receiver + "/down"}])
    [entry] = _checks(client, a, flaky["id"])
    assert entry["fired"] is True and entry["error"] is None
    assert (entry["notifications"][0]["ok"], entry["notifications"][0]["attempts"]) == (True, 3)
    assert _HITS["/flaky-1"] == 3
    [failed] = _checks(client, a, down["id"])
    assert failed["fired"] is True and "1 of 1 notifications failed" in failed["error"]
    note = failed["notifications"][0]
    assert (note["ok"], note["attempts"], note["status_code"]) == (False, 4, 503)
    # the scheduler lives on: a new alert is still checked
    after = _alert(client, a, report_id, "After the failures", _condition(">", 0))
    assert _checks(client, a, after["id"])[0]["fired"] is True


def test_a_slow_receiver_holds_up_no_other_alert(projects: Any, client: httpx.Client, receiver: str) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    slow = _alert(client, a, report_id, "Slow hook", _condition(">", 0),
                  [{"type": "webhook", "value": receiver + "/slow"}])
    [entry] = _wait(lambda: _history(client, a, slow["id"])["results"])
    assert entry["fired"] is True and entry["notifications"][0]["pending"] is True
    other = _alert(client, a, report_id, "Meanwhile", _condition(">", 0))
    assert _wait(lambda: _history(client, a, other["id"])["results"], timeout=5.0)
    assert _history(client, a, slow["id"])["results"][0]["notifications"][0].get("pending") is True
    [done] = _checks(client, a, slow["id"])
    assert done["notifications"][0]["ok"] is True and done["notifications"][0]["attempts"] == 1


def test_paused_alerts_are_not_evaluated(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    paused = _alert(client, a, report_id, "Paused", _condition(">", 0), paused=True)
    later = _alert(client, a, report_id, "Active", _condition(">", 0))
    _checks(client, a, later["id"])
    time.sleep(1.0)  # several ticks
    assert _history(client, a, paused["id"])["results"] == []
    assert call(client, "GET", f"{_base(a.project_id)}{paused['id']}/", sa(a))["results"]["last_checked"] is None
    call(client, "PATCH", f"{_base(a.project_id)}{paused['id']}/", sa(a), body={"paused": False})
    assert _checks(client, a, paused["id"])[0]["fired"] is True


def test_lifecycle_and_bad_alerts(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    base = _base(a.project_id)
    report_id = _report(client, a, "Lifecycle")
    other_report = _report(client, a, "Other")
    created = _alert(client, a, report_id, "Life", _condition(">", 1000), paused=True,
                     notification_windows={"days": [1, 2]})
    assert {k: created[k] for k in ("name", "frequency", "paused", "subscriptions", "notification_windows")} == {
        "name": "Life", "frequency": 3600, "paused": True, "subscriptions": [],
        "notification_windows": {"days": [1, 2]}}
    assert created["project"]["id"] == a.project_id and created["created"].endswith("Z")
    assert call(client, "GET", f"{base}{created['id']}/", sa(a))["results"]["name"] == "Life"
    listed = call(client, "GET", base, sa(a), bookmark_id=report_id)["results"]
    assert [x["id"] for x in listed] == [created["id"]]
    patched = call(client, "PATCH", f"{base}{created['id']}/", sa(a), body={
        "name": "Life 2", "bookmark_id": other_report, "condition": _condition("<", 3)})["results"]
    assert (patched["name"], patched["bookmark"]["id"], patched["condition"]["op"]) == ("Life 2", other_report, "<")
    assert call(client, "GET", base, sa(a), bookmark_id=report_id)["results"] == []
    # the report changes so that the metric the alert names is gone: the alert reads as not valid
    call(client, "PATCH", f"/api/app/projects/{a.project_id}/bookmarks/{other_report}", sa(a),
         body={"params": insights_params("Signup")})
    assert call(client, "GET", f"{base}{created['id']}/", sa(a))["results"]["valid"] is False
    call(client, "DELETE", f"{base}{created['id']}/", sa(a), 204)
    call(client, "GET", f"{base}{created['id']}/", sa(a), 404)
    call(client, "DELETE", f"{base}{created['id']}/", sa(a), 404)
    one, two = (_alert(client, a, report_id, n, _condition(">", 10**6), paused=True) for n in ("x", "y"))
    call(client, "POST", f"{base}bulk-delete/", sa(a), 404, body={"alert_ids": [one["id"], 10**9]})
    assert call(client, "POST", f"{base}bulk-delete/", sa(a), body={"alert_ids": [one["id"], two["id"]]}) == {
        "status": "ok", "results": {}}
    call(client, "GET", f"{base}{one['id']}/", sa(a), 404)

    good = {"bookmark_id": report_id, "name": "n", "condition": _condition(">", 1), "frequency": 3600,
            "paused": False, "subscriptions": []}
    for change, fragment, status in (
        ({"condition": {"op": "~", "value": 1}}, "condition.op", 400),
        ({"condition": {"op": ">", "value": "ten"}}, "condition.value", 400),
        ({"condition": {"type": "anomaly", "op": ">", "value": 1}}, "condition.type", 400),
        ({"condition": _condition(">", 1, metric="Nope")}, "no metric 'Nope'", 400),
        ({"frequency": 0}, "frequency", 400),
        ({"frequency": "daily"}, "frequency", 400),
        ({"name": ""}, "name", 400),
        ({"subscriptions": [{"type": "pager", "value": "x"}]}, "subscription", 400),
        ({"subscriptions": [{"type": "email", "value": "not an address"}]}, "address", 400),
        ({"subscriptions": [{"type": "webhook", "value": "ftp://x"}]}, "URL", 400),
        ({"subscriptions": [{"type": "webhook", "value": "3b0c4a0e-1111-4222-8333-444455556666"}]}, "no webhook",
         400),
        ({"bookmark_id": 10**9}, "no report", 404),
    ):
        error = call(client, "POST", base, sa(a), status, body={**good, **change})
        assert error["status"] == "error" and fragment in error["error"], (change, error)
    user_report = call(client, "POST", f"/api/app/projects/{a.project_id}/bookmarks", sa(a), body={
        "name": "Users", "type": "user", "params": {"anything": True}})["results"]
    error = call(client, "POST", base, sa(a), 400, body={**good, "bookmark_id": user_report["id"]})
    assert "Insights reports" in error["error"]


def test_alerts_may_name_a_project_webhook(projects: Any, client: httpx.Client, receiver: str) -> None:
    a, _, _ = projects
    hook = call(client, "POST", f"/api/app/projects/{a.project_id}/webhooks/", sa(a),
                body={"name": "Receiver", "url": receiver + "/ok"})["results"]
    alert = _alert(client, a, _report(client, a), "Via project webhook", _condition(">", 0),
                   [{"type": "webhook", "value": hook["id"]}])
    [entry] = _checks(client, a, alert["id"])
    assert entry["notifications"][0]["target"] == receiver + "/ok" and entry["notifications"][0]["ok"]


def test_count_and_the_limit(server: ServerProcess, client: httpx.Client) -> None:
    creds = make_project(server.data_dir, "alert-limit")
    report_id = _report(client, creds)
    base = _base(creds.project_id)
    assert call(client, "GET", f"{base}alert-count/", sa(creds))["results"] == {
        "anomaly_alerts_count": 0, "alert_limit": LIMIT, "is_below_limit": True}
    made = [_alert(client, creds, report_id, f"a{n}", _condition(">", 10**6), paused=True) for n in range(LIMIT)]
    error = call(client, "POST", base, sa(creds), 400, body={
        "bookmark_id": report_id, "name": "one too many", "condition": _condition(">", 1), "frequency": 3600,
        "paused": True, "subscriptions": []})
    assert f"limit is {LIMIT}" in error["error"]
    assert call(client, "GET", f"{base}alert-count/", sa(creds), type="anomaly")["results"] == {
        "anomaly_alerts_count": LIMIT, "alert_limit": LIMIT, "is_below_limit": False}
    call(client, "DELETE", f"{base}{made[0]['id']}/", sa(creds), 204)
    _alert(client, creds, report_id, "fits again", _condition(">", 10**6), paused=True)


def test_history_pages(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    alert = _alert(client, a, _report(client, a), "Every second", _condition(">", 10**6), frequency=1)
    _checks(client, a, alert["id"], at_least=3)
    call(client, "PATCH", f"{_base(a.project_id)}{alert['id']}/", sa(a), body={"paused": True})
    first = _history(client, a, alert["id"], page_size=2)
    assert len(first["results"]) == 2 and first["pagination"]["page_size"] == 2
    assert first["pagination"]["next_cursor"]
    rest = _history(client, a, alert["id"], page_size=100, next_cursor=first["pagination"]["next_cursor"])
    ids = [e["id"] for e in first["results"] + rest["results"]]
    assert len(ids) >= 3 and ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert rest["pagination"]["next_cursor"] is None and first["pagination"]["previous_cursor"] is None
    second = _history(client, a, alert["id"], page_size=2, next_cursor=first["pagination"]["next_cursor"])
    back = _history(client, a, alert["id"], page_size=2, previous_cursor=second["pagination"]["previous_cursor"])
    assert [e["id"] for e in back["results"]] == [e["id"] for e in first["results"]]
    assert back["pagination"]["previous_cursor"] is None and back["pagination"]["next_cursor"]
    assert all(e["fired"] is False and e["value"] == 10 and e["timestamp"] for e in first["results"])
    call(client, "GET", f"{_base(a.project_id)}{alert['id']}/history/", sa(a), 400, page_size=0)
    call(client, "GET", f"{_base(a.project_id)}{10**9}/history/", sa(a), 404)


def test_a_test_notification_goes_out_whatever_the_condition(projects: Any, client: httpx.Client,
                                                              receiver: str) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    answer = call(client, "POST", f"{_base(a.project_id)}test/", sa(a), body={
        "bookmark_id": report_id, "name": "Trying it", "condition": _condition(">", 10**6), "frequency": 86400,
        "paused": False, "subscriptions": [{"type": "webhook", "value": receiver + "/ok"},
                                           {"type": "email", "value": "me@example.com"}]})["results"]
    assert answer["status"] == "sent" and answer["value"] == 10
    assert [n["ok"] for n in answer["notifications"]] == [True, True]
    sent = [body for _, body in RECEIVED if body["type"] == "test" and body["alert"]["name"] == "Trying it"]
    assert sent and sent[-1]["value"] == 10
    assert any(m[0] == ["me@example.com"] and "[test]" in m[1]["Subject"] for m in MAILS)
    failing = call(client, "POST", f"{_base(a.project_id)}test/", sa(a), body={
        "bookmark_id": report_id, "name": "Down", "condition": {}, "frequency": 86400, "paused": False,
        "subscriptions": [{"type": "slack", "value": receiver + "/slack-down"}]})["results"]
    assert failing["status"] == "failed" and failing["notifications"][0]["attempts"] == 4
    assert RECEIVED[-1][1] == {"text": RECEIVED[-1][1]["text"]} and "Down" in RECEIVED[-1][1]["text"]
    call(client, "POST", f"{_base(a.project_id)}test/", sa(a), 404, body={
        "bookmark_id": 10**9, "name": "x", "condition": {}, "frequency": 86400, "paused": False,
        "subscriptions": []})


def test_validate_alerts_for_bookmark(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    report_id = _report(client, a)
    keyed = _alert(client, a, report_id, "Keyed", _condition(">", 10**6), paused=True)
    plain = _alert(client, a, report_id, "Plain", {"type": "absolute", "op": ">", "value": 10**6}, paused=True)
    path = f"{_base(a.project_id)}validate-alerts-for-bookmark/"
    ids = [keyed["id"], plain["id"]]

    def validate(kind: str, params: Any) -> dict[str, Any]:
        answer: dict[str, Any] = call(client, "POST", path, sa(a), body={
            "alert_ids": ids, "bookmark_type": kind, "bookmark_params": params})["results"]
        return answer

    same = validate("insights", insights_params("Purchase"))
    assert same["invalid_count"] == 0 and [v["valid"] for v in same["alert_validations"]] == [True, True]
    assert same["alert_validations"][0] == {"alert_id": keyed["id"], "alert_name": "Keyed", "valid": True,
                                            "reason": None}
    renamed = validate("insights", insights_params("Signup"))
    assert renamed["invalid_count"] == 1
    assert "no metric 'Purchase'" in renamed["alert_validations"][0]["reason"]
    two = insights_params("Purchase")
    two["sections"]["show"].append({**two["sections"]["show"][0], "behavior": {
        **two["sections"]["show"][0]["behavior"], "name": "Signup"}})
    several = validate("insights", two)
    assert [v["valid"] for v in several["alert_validations"]] == [True, False]
    assert "name one in condition.keys" in several["alert_validations"][1]["reason"]
    funnels = validate("funnels", insights_params("Purchase"))
    assert funnels["invalid_count"] == 2 and "Insights reports" in funnels["alert_validations"][0]["reason"]
    garbage = validate("insights", {"event": "Signup"})
    assert garbage["invalid_count"] == 2
    call(client, "POST", path, sa(a), 400, body={"alert_ids": [], "bookmark_type": "insights",
                                                 "bookmark_params": {}})
    call(client, "POST", path, sa(a), 404, body={"alert_ids": [10**9], "bookmark_type": "insights",
                                                 "bookmark_params": {}})


def test_screenshots_of_a_check(projects: Any, client: httpx.Client) -> None:
    """A check's history entry names its screenshot (``screenshot_gcs_key``); ``screenshot/?gcs_key`` answers a
    signed URL that serves, without credentials, an SVG of the series the check read and the threshold."""
    a, b, _ = projects
    report_id = _report(client, a)
    alert = _alert(client, a, report_id, "Drawn", _condition(">", 7))
    [entry] = _checks(client, a, alert["id"])
    key = entry["screenshot_gcs_key"]
    assert key == f"alerts/{alert['id']}/checks/{entry['id']}.svg"
    signed = call(client, "GET", f"{_base(a.project_id)}screenshot/", sa(a), gcs_key=key)["results"]["signed_url"]
    image = httpx.get(signed, timeout=30)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
    assert image.text.startswith("<svg") and "Drawn" in image.text and "<polyline" in image.text
    assert 'stroke-dasharray="6 4"' in image.text  # the threshold
    assert ">10<" in image.text  # the latest value, labelled
    tampered = signed.replace("signature=", "signature=0")
    assert httpx.get(tampered, timeout=30).status_code == 403
    unsigned = signed.split("?")[0]
    assert httpx.get(unsigned, timeout=30).status_code == 403
    # another project cannot have it signed; unknown keys are 404; the key is required
    call(client, "GET", f"{_base(b.project_id)}screenshot/", sa(b), 404, gcs_key=key)
    call(client, "GET", f"{_base(a.project_id)}screenshot/", sa(a), 404, gcs_key="screenshots/abc.png")
    call(client, "GET", f"{_base(a.project_id)}screenshot/", sa(a), 400)


def test_consumers_and_other_projects(projects: Any, client: httpx.Client) -> None:
    a, b, consumer = projects
    base = _base(a.project_id)
    report_id = _report(client, a)
    kept = _alert(client, a, report_id, "Kept", _condition(">", 10**6), paused=True)
    assert call(client, "GET", f"{base}{kept['id']}/", consumer)["results"]["name"] == "Kept"
    assert kept["id"] in [x["id"] for x in call(client, "GET", base, consumer)["results"]]
    call(client, "GET", f"{base}alert-count/", consumer)
    body = {"bookmark_id": report_id, "name": "n", "condition": _condition(">", 1), "frequency": 3600,
            "paused": False, "subscriptions": []}
    for method, path, payload in (("POST", base, body), ("PATCH", f"{base}{kept['id']}/", {"name": "n"}),
                                  ("DELETE", f"{base}{kept['id']}/", None),
                                  ("POST", f"{base}bulk-delete/", {"alert_ids": [kept["id"]]}),
                                  ("POST", f"{base}test/", body)):
        assert call(client, method, path, consumer, 403, body=payload)["status"] == "error"
    assert "no access" in call(client, "GET", base, sa(b), 403)["error"]
    other = _base(b.project_id)
    call(client, "GET", f"{other}{kept['id']}/", sa(b), 404)
    call(client, "PATCH", f"{other}{kept['id']}/", sa(b), 404, body={"name": "stolen"})
    call(client, "DELETE", f"{other}{kept['id']}/", sa(b), 404)
    call(client, "POST", f"{other}bulk-delete/", sa(b), 404, body={"alert_ids": [kept["id"]]})
    call(client, "GET", f"{other}{kept['id']}/history/", sa(b), 404)
    call(client, "POST", other, sa(b), 404, body=body)  # a's report from b
    assert call(client, "GET", other, sa(b))["results"] == []
    assert call(client, "GET", f"{base}{kept['id']}/", sa(a))["results"]["name"] == "Kept"


def test_pinned_workspace_paths(projects: Any, client: httpx.Client) -> None:
    a, _, _ = projects
    workspace = call(client, "GET", f"/api/app/projects/{a.project_id}/workspaces/public", sa(a))["results"][0]
    path = f"/api/app/workspaces/{workspace['id']}/alerts/custom/"
    created = call(client, "POST", path, sa(a), body={
        "bookmark_id": _report(client, a), "name": "Via workspace", "condition": _condition(">", 10**6),
        "frequency": 3600, "paused": True, "subscriptions": []})["results"]
    assert call(client, "GET", f"{path}{created['id']}/", sa(a))["results"]["project"]["id"] == a.project_id


def test_answer_keys_cover_the_recorded_ones(projects: Any, client: httpx.Client) -> None:
    from tests.support.vectors import interactions, require_vectors

    require_vectors()
    a, _, _ = projects
    base = _base(a.project_id)
    report_id = _report(client, a)
    alert = _alert(client, a, report_id, "Shapes", _condition(">", 0))
    _checks(client, a, alert["id"])
    ours = {
        "alert": call(client, "GET", f"{base}{alert['id']}/", sa(a))["results"],
        "alert-count": call(client, "GET", f"{base}alert-count/", sa(a))["results"],
        "history": _history(client, a, alert["id"]),
        "validate": call(client, "POST", f"{base}validate-alerts-for-bookmark/", sa(a), body={
            "alert_ids": [alert["id"]], "bookmark_type": "insights",
            "bookmark_params": insights_params("Purchase")})["results"],
    }
    seen = set()
    for _, request, response in interactions(lambda path: "/alerts/custom/" in path):
        body = (response.get("body") or {}).get("results")
        path = request["path"]
        if path.endswith("/alert-count/"):
            kind = "alert-count"
        elif path.endswith("/history/"):
            kind = "history"
            for entry in body["results"]:
                assert set(entry) <= set(ours["history"]["results"][0]), entry
        elif path.endswith("/validate-alerts-for-bookmark/"):
            kind = "validate"
            for entry in body["alert_validations"]:
                assert set(entry) <= set(ours["validate"]["alert_validations"][0]), entry
        elif isinstance(body, dict) and "condition" in body:
            kind = "alert"
        else:
            continue
        seen.add(kind)
        assert set(body) <= set(ours[kind]), (kind, set(body) - set(ours[kind]))
    assert seen == set(ours)


def test_schedules_continue_from_last_checked_after_a_restart(projects: Any, server: ServerProcess,
                                                              client: httpx.Client) -> None:
    """Runs last: restarts the module's server."""
    a, _, _ = projects
    report_id = _report(client, a)
    hourly = _alert(client, a, report_id, "Hourly", _condition(">", 10**6))
    every_second = _alert(client, a, report_id, "Each second", _condition(">", 10**6), frequency=1)
    _checks(client, a, hourly["id"])
    assert server.stop() in (0, -15) and "mixhouse stopped" in server.log()  # uvicorn re-raises SIGTERM
    server.start()
    before = len(_history(client, a, every_second["id"], page_size=100)["results"])
    _checks(client, a, every_second["id"], at_least=before + 2)  # still checked after the restart
    assert len(_history(client, a, hourly["id"])["results"]) == 1  # not re-checked: an hour has not passed
