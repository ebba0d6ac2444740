"""Server settings: command-line flags, with ``MIXHOUSE_*`` environment variables as defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./mixhouse-data")
    #: SQLAlchemy URL of the metadata database (projects, secrets, reports ...); None: ``data_dir/meta.sqlite3``.
    #: ``postgresql://user:password@host/db`` uses PostgreSQL (see docs/decisions/0023-postgresql-metadata-url.md).
    meta_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: fsync every log append and insert: survives power loss, costs latency (see docs/durability.md).
    fsync_after_insert: bool = False
    #: MaxMind-format city database for $city/$region/$timezone (country needs nothing).
    geoip_db: Path | None = None
    #: Rows acknowledged or queued but not yet in ClickHouse above which ingestion answers 429 with Retry-After.
    max_pending_rows: int = int(os.environ.get("MIXHOUSE_MAX_PENDING_ROWS", "400000"))
    #: chDB sessions for reads (each runs one query at a time).
    read_sessions: int = 3
    #: How long the writer waits for more requests before appending a group to the write-ahead log (added latency
    #: per acknowledged request; fewer, larger appends).
    commit_gather_ms: float = float(os.environ.get("MIXHOUSE_COMMIT_GATHER_MS", "0"))
    #: How long acknowledged rows may wait in the write-ahead log before the flusher inserts them into ClickHouse
    #: (reads never wait for it: a query first flushes what is pending). Longer: fewer, larger parts.
    flush_ms: float = float(os.environ.get("MIXHOUSE_FLUSH_MS", "1000"))
    #: Rows in the write-ahead log's open segment at which the flusher inserts it without waiting for ``flush_ms``
    #: (the largest part one insert makes).
    flush_rows: int = int(os.environ.get("MIXHOUSE_FLUSH_ROWS", "100000"))
    #: Processes that decode and validate ``/import`` bodies (0: in the server process).
    ingest_workers: int = 2
    #: Feature flags a project may hold (archived ones do not count); creating one more is refused with a 400.
    feature_flag_limit: int = int(os.environ.get("MIXHOUSE_FEATURE_FLAG_LIMIT", "100"))
    #: Custom alerts a project may hold; creating one more is refused with a 400.
    alert_limit: int = int(os.environ.get("MIXHOUSE_ALERT_LIMIT", "50"))
    #: Seconds between two passes of the alert scheduler over the alerts that are due (0 turns it off).
    alert_tick_s: float = float(os.environ.get("MIXHOUSE_ALERT_TICK_S", "30"))
    #: The shortest alert frequency accepted, in seconds (each check runs the alert's report).
    alert_min_frequency_s: int = int(os.environ.get("MIXHOUSE_ALERT_MIN_FREQUENCY_S", "60"))
    #: SMTP server that alert emails go through (no host: email subscriptions are recorded as not sent).
    smtp_host: str | None = os.environ.get("MIXHOUSE_SMTP_HOST") or None
    smtp_port: int = int(os.environ.get("MIXHOUSE_SMTP_PORT", "25"))
    smtp_from: str = os.environ.get("MIXHOUSE_SMTP_FROM", "mixhouse@localhost")
    smtp_user: str | None = os.environ.get("MIXHOUSE_SMTP_USER") or None
    smtp_password: str | None = os.environ.get("MIXHOUSE_SMTP_PASSWORD") or None
    #: Upgrade the SMTP connection with STARTTLS before logging in and sending.
    smtp_starttls: bool = os.environ.get("MIXHOUSE_SMTP_STARTTLS", "0") == "1"
    #: Hosts besides loopback on which an OAuth client may register https redirect URIs (``mp login`` needs
    #: only loopback; an open list would let anyone register a look-alike sign-in).
    oauth_redirect_hosts: tuple[str, ...] = tuple(
        host.strip().lower() for host in os.environ.get("MIXHOUSE_OAUTH_REDIRECT_HOSTS", "").split(",") if host.strip()
    )

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        base: dict[str, object] = {
            "data_dir": Path(os.environ.get("MIXHOUSE_DATA_DIR", "./mixhouse-data")),
            "meta_url": os.environ.get("MIXHOUSE_META_URL") or None,
            "geoip_db": _env_path("MIXHOUSE_GEOIP_DB"),
            "fsync_after_insert": os.environ.get("MIXHOUSE_FSYNC", "0") == "1",
            "ingest_workers": int(os.environ.get("MIXHOUSE_INGEST_WORKERS", str(min(2, os.cpu_count() or 1)))),
        }
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)  # type: ignore[arg-type]
