"""Declarative ORM models of the metadata store.

The schema itself is owned by the hand-written Alembic revisions in ``migrations/versions``; these models
must stay in step with them (a unit test compares the migrated schema against ``Base.metadata``). To add a
table: declare the model here, then add a new revision that creates it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Explicit constraint names, identical on SQLite and PostgreSQL, so later revisions can drop or alter them
#: (SQLite batch migrations need named constraints).
NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

IDENTITY_MODES: Final[tuple[str, ...]] = ("simplified", "original")
#: A service account's role in a project: owners and admins manage it, analysts read and save, consumers read.
ROLES: Final[tuple[str, ...]] = ("owner", "admin", "analyst", "consumer")
#: Kinds of saved report (Mixpanel's bookmark types).
REPORT_TYPES: Final[tuple[str, ...]] = ("insights", "funnels", "retention", "flows", "user")
#: A new dashboard's layout: no rows (Mixpanel's layout version 2).
EMPTY_LAYOUT: Final = '{"order": [], "rows": {}, "version": "2.0.0"}'

NAME_MAX_LENGTH: Final = 255
TIMEZONE_MAX_LENGTH: Final = 64
TOKEN_LENGTH: Final = 32
DIGEST_LENGTH: Final = 64  # sha256 hex digest


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC ``datetime`` in Python.

    SQLite stores it naive (in UTC); PostgreSQL stores a ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), nullable=False, default=utc_now, server_default=text("CURRENT_TIMESTAMP"))


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    timezone: Mapped[str] = mapped_column(
        String(TIMEZONE_MAX_LENGTH), nullable=False, default="UTC", server_default="UTC"
    )
    token: Mapped[str] = mapped_column(String(TOKEN_LENGTH), nullable=False, unique=True, index=True)
    api_secret_hash: Mapped[str] = mapped_column(String(DIGEST_LENGTH), nullable=False, unique=True, index=True)
    api_secret_hint: Mapped[str] = mapped_column(String(4), nullable=False)
    identity_mode: Mapped[str] = mapped_column(
        String(16), nullable=False, default="simplified", server_default="simplified"
    )
    created_at: Mapped[datetime] = _created_at()

    # sqlite_autoincrement: ids are never reused after a delete (event data is keyed by project id).
    __table_args__ = (
        CheckConstraint("identity_mode IN ('simplified', 'original')", name="identity_mode"),
        {"sqlite_autoincrement": True},
    )


class ServiceAccount(Base):
    __tablename__ = "service_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    username: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, unique=True, index=True)
    secret_hash: Mapped[str] = mapped_column(String(DIGEST_LENGTH), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class ProjectMember(Base):
    __tablename__ = "project_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_account_id: Mapped[int] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        UniqueConstraint("service_account_id", "project_id"),
        CheckConstraint("role IN ('owner', 'admin', 'analyst', 'consumer')", name="role"),
    )


#: The data view every project has: it sees all of the project's data.
GLOBAL_WORKSPACE = "All Project Data"


class Workspace(Base):
    """A data view of a project. Every project has a global default one (``GLOBAL_WORKSPACE``)."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_global: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    creator_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class Annotation(Base):
    """A note on a project's timeline. ``date`` is ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD`` text, as sent."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    date: Mapped[str] = mapped_column(String(19), nullable=False)
    description: Mapped[str] = mapped_column(String(512), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (Index("ix_annotations_project_id_date", "project_id", "date"), {"sqlite_autoincrement": True})


class AnnotationTag(Base):
    __tablename__ = "annotation_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)

    __table_args__ = (UniqueConstraint("project_id", "name"), {"sqlite_autoincrement": True})


class AnnotationTagLink(Base):
    __tablename__ = "annotation_tag_links"

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("annotation_tags.id", ondelete="CASCADE"), primary_key=True)


class AccessToken(Base):
    """A bearer token acting as its service account (OAuth-style ``Authorization: Bearer``); only a digest is kept."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_account_id: Mapped[int] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(DIGEST_LENGTH), nullable=False, unique=True, index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class Webhook(Base):
    """A project webhook. ``password`` is kept to authenticate to the receiver (basic auth), never answered."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, as Mixpanel's ids are
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    is_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    auth_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    username: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH), nullable=True)
    password: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH), nullable=True)
    creator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()


def _json_text(default: str) -> Mapped[str]:
    return mapped_column(Text, nullable=False, default=default, server_default=default)


def _who_id() -> Mapped[int | None]:
    return mapped_column(Integer, nullable=True)


def _who_name() -> Mapped[str]:
    return mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")


class Dashboard(Base):
    """A dashboard (board): title, settings as JSON text, and its ``layout`` (rows of cells naming reports and
    cards, Mixpanel's layout version 2)."""

    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    workspace_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str] = _json_text("")
    is_private: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_restricted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    filters: Mapped[str] = _json_text("[]")
    breakdowns: Mapped[str] = _json_text("[]")
    time_filter: Mapped[str] = _json_text("{}")
    layout: Mapped[str] = _json_text(EMPTY_LAYOUT)
    generation_type: Mapped[str] = mapped_column(
        String(32), nullable=False, default="User Created", server_default="User Created"
    )
    template_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    blueprint_variables: Mapped[str | None] = mapped_column(Text, nullable=True)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    creator_id: Mapped[int | None] = _who_id()
    creator_name: Mapped[str] = _who_name()
    last_modified_by_id: Mapped[int | None] = _who_id()
    last_modified_by_name: Mapped[str] = _who_name()
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class DashboardCard(Base):
    """A card on a dashboard that is not a report: a text card (``markdown``) or a link to a report."""

    __tablename__ = "dashboard_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dashboard_id: Mapped[int] = mapped_column(
        ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    markdown: Mapped[str | None] = mapped_column(Text, nullable=True)
    report_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    link_type: Mapped[str | None] = mapped_column(String(32), nullable=True)

    __table_args__ = (CheckConstraint("kind IN ('text', 'report-link')", name="kind"), {"sqlite_autoincrement": True})


class DashboardFavorite(Base):
    """A service account's favorite dashboard."""

    __tablename__ = "dashboard_favorites"

    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"), primary_key=True)
    service_account_id: Mapped[int] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), primary_key=True
    )


class Report(Base):
    """A saved report (Mixpanel's bookmark): its kind and the bookmark params it runs. Saved funnels are reports
    of type ``funnels`` (``funnel_id`` is the report id). ``dashboard_id`` is the dashboard it belongs to."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    params: Mapped[str] = mapped_column(Text, nullable=False)  # JSON text of the bookmark params
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()
    dashboard_id: Mapped[int | None] = mapped_column(
        ForeignKey("dashboards.id", ondelete="SET NULL"), nullable=True
    )
    icon: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_visibility_restricted: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    is_modification_restricted: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    creator_id: Mapped[int | None] = _who_id()
    creator_name: Mapped[str] = _who_name()
    last_modified_by_id: Mapped[int | None] = _who_id()
    last_modified_by_name: Mapped[str] = _who_name()

    __table_args__ = (
        Index("ix_reports_project_id_type", "project_id", "type"),
        CheckConstraint("type IN ('insights', 'funnels', 'retention', 'flows', 'user')", name="type"),
        {"sqlite_autoincrement": True},
    )


class ReportHistory(Base):
    """One change to a saved report: what was done, by whom, and the report as it stood after (JSON text)."""

    __tablename__ = "report_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int | None] = _who_id()
    account_name: Mapped[str] = _who_name()
    snapshot: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class Cohort(Base):
    """A saved cohort: its definition (``{"selector", "behaviors"}`` JSON text) is evaluated when asked."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    workspace_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str] = _json_text("")
    data_group_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    definition: Mapped[str] = _json_text("{}")
    creator_id: Mapped[int | None] = _who_id()
    creator_name: Mapped[str] = _who_name()
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()
#: A feature flag's lifecycle state (only ``enabled`` flags are served to SDKs).
FLAG_STATUSES: Final[tuple[str, ...]] = ("enabled", "disabled", "archived")


class FeatureFlag(Base):
    """A project's feature flag. ``ruleset`` and ``tags`` are JSON text; ``key`` is unique in its project."""

    __tablename__ = "feature_flags"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, as Mixpanel's flag ids are
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    workspace_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    key: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    tags: Mapped[str] = mapped_column(Text, nullable=False)
    context: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    serving_method: Mapped[str] = mapped_column(String(32), nullable=False)
    ruleset: Mapped[str] = mapped_column(Text, nullable=False)
    hash_salt: Mapped[str] = mapped_column(String(32), nullable=False)
    creator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    last_modified_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_modified_by_name: Mapped[str] = mapped_column(
        String(NAME_MAX_LENGTH), nullable=False, default="", server_default=""
    )
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The experiment this flag backs (at most one; cleared when the experiment is deleted).
    experiment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        CheckConstraint("status IN ('enabled', 'disabled', 'archived')", name="status"),
        Index("ix_feature_flags_experiment_id", "experiment_id", unique=True),
    )


class FeatureFlagChange(Base):
    """One entry of a flag's history: what was done (``created``, ``enabled``, ``archived``...), by whom, when."""

    __tablename__ = "feature_flag_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag_id: Mapped[str] = mapped_column(
        ForeignKey("feature_flags.id", ondelete="CASCADE"), nullable=False, index=True
    )
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


class OAuthClient(Base):
    """A client registered for the OAuth flow (dynamic registration; public clients, PKCE only)."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = _who_name()
    redirect_uris: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list
    created_at: Mapped[datetime] = _created_at()


class OAuthCode(Base):
    """An authorization code (only its digest), single use, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_hash: Mapped[str] = mapped_column(String(DIGEST_LENGTH), nullable=False, unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), nullable=False)
    service_account_id: Mapped[int] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), nullable=False
    )
    redirect_uri: Mapped[str] = mapped_column(String(2048), nullable=False)
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    __table_args__ = ({"sqlite_autoincrement": True},)


class OAuthRefreshToken(Base):
    """A refresh token (only its digest); refreshing revokes it and issues a new one."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(DIGEST_LENGTH), nullable=False, unique=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), nullable=False)
    service_account_id: Mapped[int] = mapped_column(
        ForeignKey("service_accounts.id", ondelete="CASCADE"), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())

    __table_args__ = ({"sqlite_autoincrement": True},)
#: An experiment's lifecycle: draft → active (launch) → concluded (force_conclude) → success | fail (decide).
EXPERIMENT_STATUSES: Final[tuple[str, ...]] = ("draft", "active", "concluded", "success", "fail")


class Experiment(Base):
    """A project's A/B experiment. ``variants``, ``metrics``, ``settings``, the two caches and ``tags`` are JSON
    text; ``archived`` is apart from the lifecycle ``status``; the decision is set by ``decide``. The flag that
    backs it points here (``feature_flags.experiment_id``)."""

    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, as Mixpanel's experiment ids are
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    workspace_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hypothesis: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    variants: Mapped[str] = mapped_column(Text, nullable=False)
    metrics: Mapped[str] = mapped_column(Text, nullable=False)
    settings: Mapped[str] = mapped_column(Text, nullable=False)
    exposures_cache: Mapped[str] = mapped_column(Text, nullable=False)
    results_cache: Mapped[str] = mapped_column(Text, nullable=False)
    tags: Mapped[str] = mapped_column(Text, nullable=False)
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    decision_variant: Mapped[str | None] = mapped_column(String(NAME_MAX_LENGTH), nullable=True)
    decision_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    creator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    last_modified_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_modified_by_name: Mapped[str] = mapped_column(
        String(NAME_MAX_LENGTH), nullable=False, default="", server_default=""
    )
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'concluded', 'success', 'fail')", name="status"),
    )
class Alert(Base):
    """A custom alert on a saved report: a ``condition`` on the report's latest value, checked every ``frequency``
    seconds, notifying ``subscriptions`` when it holds. ``condition``, ``subscriptions`` and
    ``notification_windows`` are JSON text; ``last_checked`` is when the scheduler last evaluated it."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
                                           index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    condition: Mapped[str] = _json_text("{}")
    frequency: Mapped[int] = mapped_column(Integer, nullable=False)
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    subscriptions: Mapped[str] = _json_text("[]")
    notification_windows: Mapped[str | None] = mapped_column(Text, nullable=True)
    creator_id: Mapped[int | None] = _who_id()
    creator_name: Mapped[str] = _who_name()
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()
    last_checked: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_fired: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: The last evaluation: ``{"value", "fired", "error"}`` as JSON text (null before the first).
    last_result: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = ({"sqlite_autoincrement": True},)


class AlertHistory(Base):
    """One evaluation (or test) of an alert: whether it fired, the value read, and what each notification did."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "check" or "test"
    fired: Mapped[bool] = mapped_column(Boolean, nullable=False)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON number (or null)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    chart: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [[bucket, value], ...] the check read
    notifications: Mapped[str] = _json_text("[]")
    at: Mapped[datetime] = _created_at()

    __table_args__ = ({"sqlite_autoincrement": True},)


# Saved custom properties live in their own module; importing it registers their table on Base.metadata.
from mixhouse.meta import models_custom_properties as _custom_properties  # noqa: E402,F401
