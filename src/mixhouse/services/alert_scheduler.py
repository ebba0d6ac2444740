"""Evaluating alerts and the scheduler thread that does it at each alert's frequency.

A tick (``alert_tick_s``) finds the un-paused alerts whose ``frequency`` has elapsed since ``last_checked`` (never
checked: due now) and hands each to a small pool of worker threads (one at a time per alert): the worker runs the
alert's saved report through the Insights engine, reads the condition's value, notifies the subscriptions when it
holds (retries with backoff, ``services/alert_notify.py``), then records the check (history, ``last_checked``,
``last_fired``). Each check is first claimed in a metadata write transaction (``claim_check``), so several server
processes sharing one metadata store (PostgreSQL) never run the same check twice. Nothing a check does reaches the
event loop, and no error ends the scheduler: it is recorded in the alert's history. ``last_checked`` is stored, so
after a restart schedules continue where they were.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mixhouse.config import Settings
from mixhouse.errors import MixhouseError
from mixhouse.meta.alerts import Alert, claim_check, due_alerts, record_check, record_notifications
from mixhouse.meta.cohorts import Cohorts
from mixhouse.meta.records import Project
from mixhouse.meta.store import MetaStore
from mixhouse.meta.webhooks import Webhooks
from mixhouse.services import alert_conditions as conditions
from mixhouse.services import alert_notify as notify
from mixhouse.services import insights
from mixhouse.services.cohorts import members_resolver
from mixhouse.services.custom_properties import with_saved_definitions
from mixhouse.storage.base import Backend

log = logging.getLogger("mixhouse.alerts")

#: A project's user profiles for a query (``ProfileStore.snapshot`` of the project).
ProfilesOf = Callable[[int], Callable[[], Any]]


@dataclass(frozen=True)
class AlertContext:
    """What evaluating and notifying need from the runtime."""

    meta: MetaStore
    backend: Backend
    profiles_of: ProfilesOf
    settings: Settings


def evaluate(ctx: AlertContext, project_id: int, report_id: int, condition: Any) -> conditions.Reading:
    """Run the report and read the condition's value; a failure is a reading with its error, never raised."""
    try:
        project = ctx.meta.get_project(project_id)
        report = ctx.meta.get_report(project_id, report_id)
        if project is None or report is None:
            return conditions.Reading(None, None, False, "the alert's report no longer exists")
        parsed = conditions.parse(condition)
        conditions.check_against(parsed, report.type, report.params, project.timezone or "UTC")
        profiles = ctx.profiles_of(project_id)
        cohorts = members_resolver(ctx.backend, project, profiles, Cohorts(ctx.meta, project_id))
        params = with_saved_definitions(ctx.meta, project_id, report.params)
        answer = insights.answer_bookmark(ctx.backend, project, params, profiles, cohorts)
        return conditions.read(parsed, answer)
    except MixhouseError as exc:
        return conditions.Reading(None, None, False, exc.message)
    except Exception as exc:  # a check must never end the scheduler
        log.exception("alert evaluation failed")
        return conditions.Reading(None, None, False, f"internal error: {type(exc).__name__}: {exc}")


def targets(meta: MetaStore, project_id: int, subscriptions: list[dict[str, Any]]) -> list[notify.Target]:
    """Where the subscriptions go; a webhook named by id uses that project webhook's URL and basic auth."""
    hooks = {hook.id: hook for hook in Webhooks(meta, project_id).all()}
    out: list[notify.Target] = []
    for sub in subscriptions:
        kind, value = str(sub.get("type")), str(sub.get("value"))
        hook = hooks.get(value) if kind == "webhook" else None
        if hook is not None:
            auth = (hook.username or "", hook.password or "") if hook.auth_type == "basic" else None
            out.append(notify.Target("webhook", hook.url, auth))
        else:
            out.append(notify.Target(kind, value))
    return out


def message(*, alert_id: int | None, name: str, project: Project | None, report_id: int, condition: Any,
            reading: conditions.Reading, at: datetime, test: bool) -> notify.Message:
    try:
        described = conditions.parse(condition).describe()
    except MixhouseError:
        described = "(no condition)"
    project_name = project.name if project else ""
    prefix = "[test] " if test else ""
    subject = f"{prefix}Mixhouse alert: {name}"
    lines = [f"Alert {name!r} on report {report_id} of project {project_name!r}.",
             f"Condition: {described}.",
             f"Value: {reading.value if reading.value is not None else 'n/a'} (latest: "
             f"{reading.latest if reading.latest is not None else 'n/a'}), at {at.isoformat()}."]
    if reading.error:
        lines.append(f"Note: {reading.error}")
    if test:
        lines.append("This is a test notification, sent whatever the condition says.")
    payload = {"type": "test" if test else "alert", "alert": {"id": alert_id, "name": name, "condition": condition},
               "project": {"id": project.id if project else None, "name": project_name},
               "bookmark_id": report_id, "value": reading.value, "latest": reading.latest, "fired": reading.fired,
               "error": reading.error, "checked_at": at.isoformat(), "message": " ".join(lines)}
    return notify.Message(subject, "\n".join(lines), payload)


@dataclass(frozen=True)
class Delivery:
    """Notifications still to send for a recorded check (``check_id``)."""

    check_id: int
    targets: list[notify.Target]
    message: notify.Message
    error: str | None


def check(ctx: AlertContext, alert: Alert) -> Delivery | None:
    """Evaluate ``alert`` now and record the check; when it fired, its notifications are recorded as pending and
    returned for ``deliver`` (so a slow receiver never holds up the next evaluation)."""
    at = datetime.now(UTC)
    reading = evaluate(ctx, alert.project_id, alert.report_id, alert.condition)
    found: list[notify.Target] = []
    text = None
    error = reading.error
    if reading.fired:
        try:
            text = message(alert_id=alert.id, name=alert.name, project=ctx.meta.get_project(alert.project_id),
                           report_id=alert.report_id, condition=alert.condition, reading=reading, at=at, test=False)
            found = targets(ctx.meta, alert.project_id, alert.subscriptions)
        except Exception as exc:  # recorded, never raised
            log.exception("alert notification failed")
            error = f"no notification: {type(exc).__name__}: {exc}"
    pending = [{"type": target.kind, "target": target.address, "ok": None, "pending": True} for target in found]
    entry = record_check(ctx.meta, alert.id, kind="check", at=at, fired=reading.fired, value=reading.value,
                         error=error, notifications=pending, chart=list(reading.points) or None)
    if entry is None or not found or text is None:
        return None
    return Delivery(entry.id, found, text, error)


def deliver(ctx: AlertContext, delivery: Delivery, stop: threading.Event) -> None:
    """Send a check's notifications (with retries) and record what each did."""
    notes = notify.deliver(delivery.targets, delivery.message, ctx.settings, stop)
    failed = [note for note in notes if not note["ok"]]
    error = delivery.error
    if failed:
        error = "; ".join(filter(None, [error, f"{len(failed)} of {len(notes)} notifications failed"]))
    record_notifications(ctx.meta, delivery.check_id, notes, error)


def send_test(ctx: AlertContext, project_id: int, body: dict[str, Any], stop: threading.Event) -> dict[str, Any]:
    """``POST .../alerts/custom/test/``: evaluate when possible (for the message) and notify now regardless."""
    at = datetime.now(UTC)
    reading = evaluate(ctx, project_id, int(body["bookmark_id"]), body.get("condition"))
    text = message(alert_id=body.get("id") if isinstance(body.get("id"), int) else None, name=str(body["name"]),
                   project=ctx.meta.get_project(project_id), report_id=int(body["bookmark_id"]),
                   condition=body.get("condition"), reading=reading, at=at, test=True)
    notes = notify.deliver(targets(ctx.meta, project_id, body.get("subscriptions") or []), text, ctx.settings, stop)
    ok = all(note["ok"] for note in notes)
    return {"status": "sent" if ok else "failed", "value": reading.value, "notifications": notes}


class AlertScheduler:
    """The thread that checks due alerts every ``tick_s`` seconds, and the workers that run the checks."""

    def __init__(self, ctx: AlertContext, *, tick_s: float, stopping: threading.Event, workers: int = 2,
                 senders: int = 8) -> None:
        self._ctx = ctx
        self._tick_s = tick_s
        self.stopping = stopping
        #: Evaluations (each runs a report: few at a time) and deliveries (mostly waiting on receivers: more).
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mixhouse-alert")
        self._senders = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="mixhouse-alert-send")
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="mixhouse-alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking, cut retry waits short, and wait for the checks under way."""
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._senders.shutdown(wait=True)  # retry waits end at once; what was sent or not is recorded

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._tick()
            except Exception:  # e.g. the metadata store briefly locked: try again next tick
                log.exception("alert scheduler tick failed")
            self.stopping.wait(self._tick_s)

    def _tick(self) -> None:
        for alert in due_alerts(self._ctx.meta, datetime.now(UTC)):
            with self._lock:
                if alert.id in self._running:
                    continue
                self._running.add(alert.id)
            try:
                self._pool.submit(self._check, alert)
            except RuntimeError:  # the pool is shutting down
                return

    def _deliver(self, delivery: Delivery) -> None:
        try:
            deliver(self._ctx, delivery, self.stopping)
        except Exception:  # e.g. recording failed: logged, the scheduler goes on
            log.exception("alert notification failed")

    def _check(self, alert: Alert) -> None:
        try:
            if self.stopping.is_set():
                return
            # still due, and ours: not paused, deleted or claimed by another process since it was listed
            fresh = claim_check(self._ctx.meta, alert.id, datetime.now(UTC))
            if fresh is None:
                return
            delivery = check(self._ctx, fresh)
            if delivery is not None:
                self._senders.submit(self._deliver, delivery)
        except Exception:  # e.g. recording failed: the alert stays due and is tried next tick
            log.exception("alert %s check failed", alert.id)
        finally:
            with self._lock:
                self._running.discard(alert.id)
