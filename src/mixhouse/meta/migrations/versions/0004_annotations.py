"""Annotations (timeline notes on charts) and their tags.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Hand-written; keep it self-contained (no imports from mixhouse.meta.models, which will move on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.String(length=19), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_annotations_project_id_projects"), ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_annotations_project_id_date", "annotations", ["project_id", "date"])
    op.create_table(
        "annotation_tags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation_tags")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_annotation_tags_project_id_projects"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_annotation_tags_project_id_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "annotation_tag_links",
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("annotation_id", "tag_id", name=op.f("pk_annotation_tag_links")),
        sa.ForeignKeyConstraint(
            ["annotation_id"], ["annotations.id"], name=op.f("fk_annotation_tag_links_annotation_id_annotations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["annotation_tags.id"], name=op.f("fk_annotation_tag_links_tag_id_annotation_tags"),
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("annotation_tag_links")
    op.drop_table("annotation_tags")
    op.drop_index("ix_annotations_project_id_date", table_name="annotations")
    op.drop_table("annotations")
