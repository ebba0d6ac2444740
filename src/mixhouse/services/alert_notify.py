"""Delivering an alert's notification to its subscriptions: webhooks (HTTP POST of JSON), Slack incoming webhooks
(``{"text"}``) and email over SMTP; each retried with exponential backoff, each reported, none raising.

A delivery is tried up to ``ATTEMPTS`` times, waiting ``BACKOFF_S``, then twice as long, ... between attempts; an
HTTP answer of 5xx or 429, or no answer, is retried; another 4xx is final. The wait ends early when ``stop`` is set
(the server is shutting down).
"""

from __future__ import annotations

import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Final

import httpx

from mixhouse.config import Settings

ATTEMPTS: Final = 4
BACKOFF_S: Final = 0.5
TIMEOUT_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class Target:
    """Where one subscription goes: ``kind`` ``webhook``, ``slack`` or ``email``; ``address`` a URL or a mailbox;
    ``auth`` basic-auth credentials of a project webhook."""

    kind: str
    address: str
    auth: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str
    payload: dict[str, Any]


def deliver(targets: list[Target], message: Message, settings: Settings, stop: threading.Event) -> list[dict[str, Any]]:
    """Send ``message`` to every target; one ``{"type", "target", "ok", "attempts", ...}`` per target."""
    return [_deliver_one(target, message, settings, stop) for target in targets]


def _deliver_one(target: Target, message: Message, settings: Settings, stop: threading.Event) -> dict[str, Any]:
    body = {"text": f"{message.subject}\n{message.text}"} if target.kind == "slack" else message.payload

    def send() -> tuple[bool, bool, dict[str, Any]]:
        return _email(target.address, message, settings) if target.kind == "email" else _post(target, body)

    outcome: dict[str, Any] = {}
    attempts = 0
    ok = False
    while attempts < ATTEMPTS:
        attempts += 1
        ok, retry, outcome = send()
        if ok or not retry or attempts == ATTEMPTS:
            break
        if stop.wait(BACKOFF_S * 2 ** (attempts - 1)):
            outcome = {**outcome, "stopped": "the server shut down before the next attempt"}
            break
    return {"type": target.kind, "target": target.address, "ok": ok, "attempts": attempts, **outcome}


def _post(target: Target, body: dict[str, Any]) -> tuple[bool, bool, dict[str, Any]]:
    """(delivered, worth retrying, what to report)."""
    try:
        response = httpx.post(target.address, json=body, auth=target.auth, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return False, True, {"error": str(exc) or type(exc).__name__}
    code = response.status_code
    if 200 <= code < 300:
        return True, False, {"status_code": code}
    # the receiver's body is not kept or echoed (alert tests must not become a way to read other hosts' pages)
    return False, code >= 500 or code == 429, {"status_code": code, "error": f"HTTP {code}"}


def _email(address: str, message: Message, settings: Settings) -> tuple[bool, bool, dict[str, Any]]:
    if not settings.smtp_host:
        return False, False, {"error": "no SMTP server configured (MIXHOUSE_SMTP_HOST)"}
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.smtp_from
    mail["To"] = address
    mail.set_content(message.text)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        return False, False, {"error": f"recipient refused: {exc.recipients}"}
    except smtplib.SMTPResponseException as exc:
        said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return False, 400 <= exc.smtp_code < 500, {"error": f"{exc.smtp_code} {said}"}
    except (smtplib.SMTPException, OSError) as exc:
        return False, True, {"error": str(exc) or type(exc).__name__}
    return True, False, {}
