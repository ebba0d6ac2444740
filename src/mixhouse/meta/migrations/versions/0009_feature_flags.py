"""Feature flags and their change history.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def upgrade() -> None:
    op.create_table(
        "feature_flags",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=255), nullable=False),
        sa.Column("serving_method", sa.String(length=32), nullable=False),
        sa.Column("ruleset", sa.Text(), nullable=False),
        sa.Column("hash_salt", sa.String(length=32), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("last_modified_by_id", sa.Integer(), nullable=True),
        sa.Column("last_modified_by_name", sa.String(length=255), nullable=False, server_default=""),
        _moment("created_at"),
        _moment("modified_at"),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_flags")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_feature_flags_project_id_projects"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("project_id", "key", name=op.f("uq_feature_flags_project_id_key")),
        sa.CheckConstraint(
            "status IN ('enabled', 'disabled', 'archived')", name=op.f("ck_feature_flags_status")
        ),
    )
    op.create_table(
        "feature_flag_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=255), nullable=False, server_default=""),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_flag_changes")),
        sa.ForeignKeyConstraint(
            ["flag_id"], ["feature_flags.id"], name=op.f("fk_feature_flag_changes_flag_id_feature_flags"),
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_feature_flag_changes_flag_id", "feature_flag_changes", ["flag_id"])


def downgrade() -> None:
    op.drop_index("ix_feature_flag_changes_flag_id", table_name="feature_flag_changes")
    op.drop_table("feature_flag_changes")
    op.drop_table("feature_flags")
