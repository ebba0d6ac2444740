"""The metadata store: organizations, projects, their secrets, service accounts, memberships and saved reports.

Secrets (project API secrets, service account secrets) are minted here with :func:`secrets.token_hex`,
returned once in :class:`CreatedProject`, and stored only as SHA-256 hex digests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alembic import command
from sqlalchemy import URL, Engine, select, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from mixhouse.errors import NotFoundError, StorageError, ValidationError
from mixhouse.meta import models
from mixhouse.meta.db import create_meta_engine, is_sqlite, meta_url, normalize_url, writer
from mixhouse.meta.migrations import alembic_config
from mixhouse.meta.records import CreatedProject, Membership, Project, Report, ServiceAccount, Workspace

DEFAULT_ORGANIZATION: Final = "Default organization"
SERVICE_ACCOUNT_PREFIX: Final = "mixhouse-sa."
#: Bearer tokens start with this, so a leaked one is recognisable (and other bearer values are refused at once).
ACCESS_TOKEN_PREFIX: Final = "mhat_"
#: Arbitrary constant: the PostgreSQL advisory lock that serializes concurrent ``migrate`` calls.
_PG_MIGRATION_LOCK: Final = 0x6D69786D657461  # "mixmeta"
#: Arbitrary constant: the PostgreSQL advisory lock every metadata write transaction holds (see ``writing``).
_PG_WRITE_LOCK: Final = 0x6D6978777269  # "mixwri"
#: PostgreSQL: a value longer than its column.
_PG_TOO_LONG: Final = "22001"
#: Attempts of a write transaction that hit a unique-constraint race (e.g. two processes creating one org).
_WRITE_ATTEMPTS: Final = 3
#: PostgreSQL's SQLSTATE for a missing table (SQLite says "no such table").
_PG_UNDEFINED_TABLE: Final = "42P01"
#: PostgreSQL's SQLSTATE for a number out of its column's range: ids are 32-bit there, 64-bit in SQLite.
_PG_OUT_OF_RANGE: Final = "22003"
#: Compared against when a username is unknown, so a miss costs the same as a wrong secret.
_DUMMY_DIGEST: Final = "0" * 64


def secret_digest(secret: str) -> str:
    """The stored form of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def validate_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{what} must be a non-empty string")
    value = value.strip()
    if len(value) > models.NAME_MAX_LENGTH:
        raise ValidationError(f"{what} is longer than {models.NAME_MAX_LENGTH} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValidationError(f"{what} must not contain control characters (line breaks, tabs...)")
    return value


def validate_timezone(value: object) -> str:
    """An IANA time zone name that :mod:`zoneinfo` can load (``UTC`` is always accepted)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("timezone must be a non-empty IANA time zone name")
    value = value.strip()
    if value == "UTC":
        return value
    if len(value) > models.TIMEZONE_MAX_LENGTH:
        raise ValidationError(f"unknown timezone {value[:80]!r}", details={"timezone": value[:80]})
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"unknown timezone {value!r}", details={"timezone": value}) from None
    return value


def validate_identity_mode(value: object) -> str:
    if value not in models.IDENTITY_MODES:
        raise ValidationError(
            f"identity_mode must be one of {', '.join(models.IDENTITY_MODES)}, not {value!r}",
            details={"identity_mode": value},
        )
    assert isinstance(value, str)
    return value


def _project_record(row: models.Project) -> Project:
    return Project(
        id=row.id,
        organization_id=row.organization_id,
        name=row.name,
        timezone=row.timezone,
        token=row.token,
        identity_mode=row.identity_mode,
        created_at=row.created_at,
    )


def _service_account_record(row: models.ServiceAccount) -> ServiceAccount:
    return ServiceAccount(id=row.id, username=row.username, name=row.name, organization_id=row.organization_id)


def _existing_project(session: Session, project_id: int) -> models.Project:
    row = session.get(models.Project, project_id)
    if row is None:
        raise NotFoundError(f"unknown project {project_id}", details={"project_id": project_id})
    return row


def _workspace_record(row: models.Workspace) -> Workspace:
    return Workspace(row.id, row.project_id, row.name, row.description, row.is_default, row.is_global,
                     row.is_restricted, row.is_visible, row.creator_name, row.created_at)


def report_record(row: models.Report) -> Report:
    """The record of a report row (also for the modules that manage reports and dashboards)."""
    return Report(
        id=row.id,
        project_id=row.project_id,
        workspace_id=row.workspace_id,
        type=row.type,
        name=row.name,
        description=row.description,
        params=json.loads(row.params),
        created_at=row.created_at,
        modified_at=row.modified_at,
        dashboard_id=row.dashboard_id,
        icon=row.icon,
        is_visibility_restricted=row.is_visibility_restricted,
        is_modification_restricted=row.is_modification_restricted,
        creator_id=row.creator_id,
        creator_name=row.creator_name,
        last_modified_by_id=row.last_modified_by_id,
        last_modified_by_name=row.last_modified_by_name,
    )


class MetaStore:
    """Metadata on SQLite (default) or any SQLAlchemy database; safe to share across threads and processes."""

    def __init__(self, url: str | URL) -> None:
        self._url = normalize_url(url)
        self._engine = create_meta_engine(self._url)
        self._read_sessions = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=writer(self._engine), expire_on_commit=False)

    @classmethod
    def for_data_dir(cls, data_dir: Path, url: str | URL | None = None) -> MetaStore:
        """The metadata store of ``data_dir``: the database at ``url`` when given (``--meta-url``), else at
        ``$MIXHOUSE_META_URL``, else the SQLite file ``data_dir / "meta.sqlite3"`` (creating ``data_dir``)."""
        resolved = meta_url(data_dir, url)
        if is_sqlite(resolved):
            data_dir.mkdir(parents=True, exist_ok=True)
        return cls(resolved)

    @property
    def url(self) -> URL:
        return self._url

    @property
    def engine(self) -> Engine:
        return self._engine

    def __repr__(self) -> str:
        return f"MetaStore({self._url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> MetaStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    # -- sessions (also for later layers that keep their own tables in this database) ----------------------

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session in one transaction (a consistent snapshot); rolled back at the end."""
        with self._storage_errors(), self._read_sessions() as session:
            yield session  # closing the session rolls the transaction back

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write session: it holds the database's single writer lock from its start, so every read-check-write in
        it (a code used once, a limit, a status move) is atomic: SQLite's ``BEGIN IMMEDIATE``, or on PostgreSQL a
        transaction-scoped advisory lock (metadata writes are few; READ COMMITTED alone would let two transactions
        pass the same check). Commits at the end unless it raises."""
        with self._storage_errors(), self._write_sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_WRITE_LOCK})
            yield session

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except DataError as exc:
            # An id no row can have (every integer column is an id): PostgreSQL refuses to compare it, where SQLite
            # finds nothing below 2**63. Either way that id names nothing.
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate == _PG_TOO_LONG:
                raise ValidationError("a value is longer than its field allows") from None
            if sqlstate != _PG_OUT_OF_RANGE:
                raise
            raise NotFoundError("no such id: it is out of range", details={"reason": "id_out_of_range"}) from None
        except OverflowError as exc:
            if "SQLite INTEGER" not in str(exc):  # sqlite3 refuses a Python int of 2**63 or more
                raise
            raise NotFoundError("no such id: it is out of range", details={"reason": "id_out_of_range"}) from None
        except (OperationalError, ProgrammingError) as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            missing_table = "no such table" in str(exc.orig) or sqlstate == _PG_UNDEFINED_TABLE
            if isinstance(exc, ProgrammingError) and not missing_table:
                raise
            hint = " (has the store been migrated?)" if missing_table else ""
            raise StorageError(f"metadata database error: {exc.orig}{hint}") from exc

    # -- schema ------------------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent; concurrent callers are serialized)."""
        with self._storage_errors(), writer(self._engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            command.upgrade(alembic_config(connection=connection), "head")

    # -- projects ----------------------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        timezone: str = "UTC",
        identity_mode: str = "simplified",
        organization_name: str = DEFAULT_ORGANIZATION,
    ) -> CreatedProject:
        """A new project in ``organization_name`` (created if missing), with its API secret and a new
        service account that owns it."""
        name = validate_name(name, "project name")
        timezone = validate_timezone(timezone)
        identity_mode = validate_identity_mode(identity_mode)
        organization_name = validate_name(organization_name, "organization name")

        for attempt in range(_WRITE_ATTEMPTS):
            api_secret = secrets.token_hex(16)
            account_secret = secrets.token_hex(16)
            username = f"{SERVICE_ACCOUNT_PREFIX}{secrets.token_hex(8)}"
            try:
                with self.writing() as session:
                    organization = session.scalar(
                        select(models.Organization).where(models.Organization.name == organization_name)
                    )
                    if organization is None:
                        organization = models.Organization(name=organization_name)
                        session.add(organization)
                        session.flush()
                    project = models.Project(
                        organization_id=organization.id,
                        name=name,
                        timezone=timezone,
                        token=secrets.token_hex(16),
                        api_secret_hash=secret_digest(api_secret),
                        api_secret_hint=api_secret[-4:],
                        identity_mode=identity_mode,
                    )
                    account = models.ServiceAccount(
                        organization_id=organization.id,
                        username=username,
                        secret_hash=secret_digest(account_secret),
                        name=f"{name} owner"[: models.NAME_MAX_LENGTH],
                    )
                    session.add_all([project, account])
                    session.flush()
                    owner = models.ProjectMember(service_account_id=account.id, project_id=project.id, role="owner")
                    workspace = models.Workspace(project_id=project.id, name=models.GLOBAL_WORKSPACE, is_default=True,
                                                 is_global=True, creator_name=account.name)
                    session.add_all([owner, workspace])
                    session.flush()
                    record = _project_record(project)
            except IntegrityError:
                # Another process created the same organization concurrently (or, improbably, a token
                # collided): the retry sees the committed row.
                if attempt == _WRITE_ATTEMPTS - 1:
                    raise
                continue
            return CreatedProject(
                project=record,
                api_secret=api_secret,
                service_account_username=username,
                service_account_secret=account_secret,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def list_projects(self) -> list[Project]:
        with self.reading() as session:
            rows = session.scalars(select(models.Project).order_by(models.Project.id))
            return [_project_record(row) for row in rows]

    def get_project(self, project_id: int) -> Project | None:
        if isinstance(project_id, bool) or not isinstance(project_id, int):
            return None
        with self.reading() as session:
            row = session.get(models.Project, project_id)
            return None if row is None else _project_record(row)

    def project_by_token(self, token: str) -> Project | None:
        if not isinstance(token, str) or not token or len(token) > models.TOKEN_LENGTH:
            return None
        with self.reading() as session:
            row = session.scalar(select(models.Project).where(models.Project.token == token))
            return None if row is None else _project_record(row)

    def project_by_secret(self, api_secret: str) -> Project | None:
        """The project whose API secret this is; the digest lookup is confirmed by a constant-time compare."""
        if not isinstance(api_secret, str) or not api_secret:
            return None
        digest = secret_digest(api_secret)
        with self.reading() as session:
            row = session.scalar(select(models.Project).where(models.Project.api_secret_hash == digest))
            if row is None or not hmac.compare_digest(row.api_secret_hash, digest):
                return None
            return _project_record(row)

    def delete_in_project(self, model: type[models.Annotation] | type[models.Webhook] | type[models.FeatureFlag],
                          key: object, project_id: int) -> bool:
        """Delete the row ``key`` of ``model`` if it belongs to ``project_id``; False when there is none."""
        with self.writing() as session:
            row = session.get(model, key)
            if row is None or getattr(row, "project_id", None) != project_id:
                return False
            session.delete(row)
            return True

    def rotate_api_secret(self, project_id: int) -> str:
        """A new API secret for the project (shown once); the old one stops working."""
        api_secret = secrets.token_hex(16)
        with self.writing() as session:
            row = _existing_project(session, project_id)
            row.api_secret_hash = secret_digest(api_secret)
            row.api_secret_hint = api_secret[-4:]
        return api_secret

    def rotate_token(self, project_id: int) -> str:
        """A new project token (what SDKs send with events); events with the old one are refused."""
        token = secrets.token_hex(16)
        with self.writing() as session:
            row = _existing_project(session, project_id)
            row.token = token
        return token

    def set_identity_mode(self, project_id: int, mode: str) -> Project:
        mode = validate_identity_mode(mode)
        with self.writing() as session:
            row = _existing_project(session, project_id)
            row.identity_mode = mode
            session.flush()
            return _project_record(row)

    # -- service accounts ----------------------------------------------------------------------------------

    def authenticate_service_account(self, username: str, secret: str) -> ServiceAccount | None:
        if not isinstance(username, str) or not isinstance(secret, str) or not username or not secret:
            return None
        digest = secret_digest(secret)
        with self.reading() as session:
            row = session.scalar(select(models.ServiceAccount).where(models.ServiceAccount.username == username))
            stored = _DUMMY_DIGEST if row is None else row.secret_hash
            if not hmac.compare_digest(stored, digest) or row is None:
                return None
            return _service_account_record(row)

    def role_in_project(self, service_account_id: int, project_id: int) -> str | None:
        with self.reading() as session:
            return session.scalar(
                select(models.ProjectMember.role).where(
                    models.ProjectMember.service_account_id == service_account_id,
                    models.ProjectMember.project_id == project_id,
                )
            )

    def memberships(self, service_account_id: int) -> list[Membership]:
        """The projects a service account belongs to, with its role in each, by project id."""
        with self.reading() as session:
            rows = session.execute(
                select(models.Project, models.ProjectMember.role, models.Organization.name)
                .join(models.ProjectMember, models.ProjectMember.project_id == models.Project.id)
                .join(models.Organization, models.Organization.id == models.Project.organization_id)
                .where(models.ProjectMember.service_account_id == service_account_id)
                .order_by(models.Project.id)
            )
            return [Membership(_project_record(project), role, org) for project, role, org in rows]

    def add_service_account(self, project_id: int, role: str, name: str) -> tuple[str, str]:
        """A new service account of the project's organization with ``role`` in the project: (username, secret),
        the secret shown once."""
        if role not in models.ROLES:
            raise ValidationError(f"role must be one of {', '.join(models.ROLES)}, not {role!r}")
        name = validate_name(name, "service account name")
        username = f"{SERVICE_ACCOUNT_PREFIX}{secrets.token_hex(8)}"
        secret = secrets.token_hex(16)
        with self.writing() as session:
            project = session.get(models.Project, project_id)
            if project is None:
                raise NotFoundError(f"unknown project {project_id}", details={"project_id": project_id})
            account = models.ServiceAccount(organization_id=project.organization_id, username=username,
                                            secret_hash=secret_digest(secret), name=name)
            session.add(account)
            session.flush()
            session.add(models.ProjectMember(service_account_id=account.id, project_id=project_id, role=role))
        return username, secret

    # -- bearer access tokens ------------------------------------------------------------------------------

    def create_access_token(
        self, username: str, name: str, expires_days: int | None = None
    ) -> tuple[str, datetime | None]:
        """A new bearer token acting as service account ``username``: (token, expiry), the token shown once."""
        name = validate_name(name, "token name")
        if expires_days is not None and not 1 <= expires_days <= 3650:
            raise ValidationError("a token expires after 1 to 3650 days")
        token = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = None if expires_days is None else datetime.now(UTC) + timedelta(days=expires_days)
        with self.writing() as session:
            account = session.scalar(select(models.ServiceAccount).where(models.ServiceAccount.username == username))
            if account is None:
                raise NotFoundError(f"no service account {username!r}", details={"username": username})
            session.add(models.AccessToken(service_account_id=account.id, token_hash=secret_digest(token), name=name,
                                           expires_at=expires))
        return token, expires

    def authenticate_access_token(self, token: str) -> ServiceAccount | None:
        """The service account a bearer token acts as, unless it is unknown or expired."""
        if not isinstance(token, str) or not token.startswith(ACCESS_TOKEN_PREFIX):
            return None
        digest = secret_digest(token)
        with self.reading() as session:
            row = session.scalar(select(models.AccessToken).where(models.AccessToken.token_hash == digest))
            if row is None or not hmac.compare_digest(row.token_hash, digest):
                return None
            if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
                return None
            account = session.get(models.ServiceAccount, row.service_account_id)
            return None if account is None else _service_account_record(account)

    # -- workspaces ----------------------------------------------------------------------------------------

    def get_workspace(self, workspace_id: int) -> Workspace | None:
        with self.reading() as session:
            row = session.get(models.Workspace, workspace_id)
            return None if row is None else _workspace_record(row)

    def create_workspace(self, project_id: int, name: str, *, description: str = "", creator_name: str = "",
                         is_restricted: bool = False, is_visible: bool = True) -> Workspace:
        """A data view of the project besides its global one (entities made through it belong to it)."""
        name = validate_name(name, "workspace name")
        with self.writing() as session:
            _existing_project(session, project_id)
            taken = session.scalar(select(models.Workspace).where(models.Workspace.project_id == project_id,
                                                                  models.Workspace.name == name))
            if taken is not None:
                raise ValidationError(f"project {project_id} already has a workspace named {name!r}")
            row = models.Workspace(project_id=project_id, name=name, description=description,
                                   creator_name=creator_name, is_restricted=is_restricted, is_visible=is_visible)
            session.add(row)
            session.flush()
            return _workspace_record(row)

    def list_workspaces(self, project_id: int) -> list[Workspace]:
        with self.reading() as session:
            rows = session.scalars(
                select(models.Workspace).where(models.Workspace.project_id == project_id).order_by(models.Workspace.id)
            )
            return [_workspace_record(row) for row in rows]

    # -- saved reports -------------------------------------------------------------------------------------

    def create_report(
        self,
        project_id: int,
        report_type: str,
        name: str,
        params: dict[str, Any],
        *,
        description: str = "",
        workspace_id: int | None = None,
    ) -> Report:
        """Save a report of ``report_type`` (one of ``models.REPORT_TYPES``) whose bookmark params are ``params``."""
        if report_type not in models.REPORT_TYPES:
            raise ValidationError(f"report type must be one of {', '.join(models.REPORT_TYPES)}, not {report_type!r}")
        if not isinstance(params, dict):
            raise ValidationError("report params must be a JSON object")
        name = validate_name(name, "report name")
        with self.writing() as session:
            if session.get(models.Project, project_id) is None:
                raise NotFoundError(f"unknown project {project_id}", details={"project_id": project_id})
            row = models.Report(
                project_id=project_id,
                workspace_id=workspace_id,
                type=report_type,
                name=name,
                description=description,
                params=json.dumps(params, separators=(",", ":")),
            )
            session.add(row)
            session.flush()
            return report_record(row)

    def list_reports(self, project_id: int, report_type: str | None = None) -> list[Report]:
        """The project's saved reports (of one type when given), oldest first."""
        query = select(models.Report).where(models.Report.project_id == project_id)
        if report_type is not None:
            query = query.where(models.Report.type == report_type)
        with self.reading() as session:
            return [report_record(row) for row in session.scalars(query.order_by(models.Report.id))]

    def get_report(self, project_id: int, report_id: int) -> Report | None:
        """The report with this id if it belongs to the project (another project's id reads as missing)."""
        with self.reading() as session:
            row = session.get(models.Report, report_id)
            return None if row is None or row.project_id != project_id else report_record(row)
