"""Dashboards (boards) and what saved reports need to live on them: creators, a home dashboard, an edit history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LAYOUT = '{"order": [], "rows": {}, "version": "2.0.0"}'


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def _text(name: str, default: str = "") -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=False, server_default=default)


def _who(prefix: str) -> list[sa.Column[object]]:
    return [sa.Column(f"{prefix}_id", sa.Integer(), nullable=True),
            sa.Column(f"{prefix}_name", sa.String(length=255), nullable=False, server_default="")]


def upgrade() -> None:
    op.create_table(
        "dashboards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        _text("description"),
        sa.Column("is_private", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_restricted", sa.Boolean(), nullable=False, server_default=sa.false()),
        _text("filters", "[]"),
        _text("breakdowns", "[]"),
        _text("time_filter", "{}"),
        _text("layout", EMPTY_LAYOUT),
        sa.Column("generation_type", sa.String(length=32), nullable=False, server_default="User Created"),
        sa.Column("template_type", sa.String(length=64), nullable=True),
        sa.Column("blueprint_variables", sa.Text(), nullable=True),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True),
        *_who("creator"),
        *_who("last_modified_by"),
        _moment("created_at"),
        _moment("modified_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboards")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_dashboards_project_id_projects"), ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dashboards_project_id", "dashboards", ["project_id"])
    op.create_table(
        "dashboard_cards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dashboard_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("link_type", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_cards")),
        sa.ForeignKeyConstraint(
            ["dashboard_id"], ["dashboards.id"], name=op.f("fk_dashboard_cards_dashboard_id_dashboards"),
            ondelete="CASCADE"
        ),
        sa.CheckConstraint("kind IN ('text', 'report-link')", name=op.f("ck_dashboard_cards_kind")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_dashboard_cards_dashboard_id", "dashboard_cards", ["dashboard_id"])
    op.create_table(
        "dashboard_favorites",
        sa.Column("dashboard_id", sa.Integer(), nullable=False),
        sa.Column("service_account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dashboard_id", "service_account_id", name=op.f("pk_dashboard_favorites")),
        sa.ForeignKeyConstraint(
            ["dashboard_id"], ["dashboards.id"], name=op.f("fk_dashboard_favorites_dashboard_id_dashboards"),
            ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_account_id"], ["service_accounts.id"],
            name=op.f("fk_dashboard_favorites_service_account_id_service_accounts"), ondelete="CASCADE"
        ),
    )
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint(op.f("ck_reports_type"), type_="check")
        batch.create_check_constraint(
            op.f("ck_reports_type"), "type IN ('insights', 'funnels', 'retention', 'flows', 'user')")
        batch.add_column(sa.Column("dashboard_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("icon", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("is_visibility_restricted", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("is_modification_restricted", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        for column in (*_who("creator"), *_who("last_modified_by")):
            batch.add_column(column)
        batch.create_foreign_key(op.f("fk_reports_dashboard_id_dashboards"), "dashboards", ["dashboard_id"], ["id"],
                                 ondelete="SET NULL")
    op.create_table(
        "report_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        *_who("account"),
        sa.Column("snapshot", sa.Text(), nullable=False),
        _moment("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_history")),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_history_report_id_reports"), ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_report_history_report_id", "report_history", ["report_id"])


def downgrade() -> None:
    op.drop_index("ix_report_history_report_id", table_name="report_history")
    op.drop_table("report_history")
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint(op.f("fk_reports_dashboard_id_dashboards"), type_="foreignkey")
        for name in ("dashboard_id", "icon", "is_visibility_restricted", "is_modification_restricted",
                     "creator_id", "creator_name", "last_modified_by_id", "last_modified_by_name"):
            batch.drop_column(name)
        batch.drop_constraint(op.f("ck_reports_type"), type_="check")
        batch.create_check_constraint(op.f("ck_reports_type"), "type IN ('insights', 'funnels', 'retention', 'flows')")
    op.drop_table("dashboard_favorites")
    op.drop_index("ix_dashboard_cards_dashboard_id", table_name="dashboard_cards")
    op.drop_table("dashboard_cards")
    op.drop_index("ix_dashboards_project_id", table_name="dashboards")
    op.drop_table("dashboards")
