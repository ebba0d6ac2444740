"""Workspaces (data views): every project has a global default one, "All Project Data".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL_WORKSPACE = "All Project Data"


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_global", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_restricted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("is_visible", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("creator_name", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_workspaces_project_id_projects"), ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_workspaces_project_id", "workspaces", ["project_id"])
    # projects made before workspaces existed get their global default one
    op.execute(
        sa.text(
            "INSERT INTO workspaces (project_id, name, is_default, is_global, is_restricted, is_visible) "
            "SELECT id, :name, :yes, :yes, :no, :yes FROM projects"
        ).bindparams(name=GLOBAL_WORKSPACE, yes=True, no=False)
    )


def downgrade() -> None:
    op.drop_index("ix_workspaces_project_id", table_name="workspaces")
    op.drop_table("workspaces")
