"""Saved custom properties.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def upgrade() -> None:
    op.create_table(
        "custom_properties",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("property_type", sa.String(length=16), nullable=True),
        sa.Column("display_formula", sa.Text(), nullable=False),
        sa.Column("composed_properties", sa.Text(), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_visible", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("example_value", sa.Text(), nullable=True),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=False, server_default=""),
        _moment("created_at"),
        _moment("modified_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_properties")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_custom_properties_project_id_projects"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "resource_type IN ('events', 'people')", name=op.f("ck_custom_properties_resource_type")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_custom_properties_project_id", "custom_properties", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_custom_properties_project_id", table_name="custom_properties")
    op.drop_table("custom_properties")
