"""Experiments, and the experiment a feature flag backs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("hypothesis", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("variants", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("exposures_cache", sa.Text(), nullable=False),
        sa.Column("results_cache", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_success", sa.Boolean(), nullable=True),
        sa.Column("decision_variant", sa.String(length=255), nullable=True),
        sa.Column("decision_message", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=False, server_default=""),
        sa.Column("last_modified_by_id", sa.Integer(), nullable=True),
        sa.Column("last_modified_by_name", sa.String(length=255), nullable=False, server_default=""),
        _moment("created_at"),
        _moment("modified_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_experiments_project_id_projects"), ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'concluded', 'success', 'fail')", name=op.f("ck_experiments_status")
        ),
    )
    op.create_index("ix_experiments_project_id", "experiments", ["project_id"])
    op.add_column("feature_flags", sa.Column("experiment_id", sa.String(length=36), nullable=True))
    op.create_index("ix_feature_flags_experiment_id", "feature_flags", ["experiment_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_feature_flags_experiment_id", table_name="feature_flags")
    # Not a batch rebuild: dropping and recreating feature_flags would cascade away its change history on SQLite
    # (foreign keys are on). SQLite 3.35+ and PostgreSQL both drop a plain column in place.
    op.execute("ALTER TABLE feature_flags DROP COLUMN experiment_id")
    op.drop_index("ix_experiments_project_id", table_name="experiments")
    op.drop_table("experiments")
