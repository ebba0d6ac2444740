"""The ORM model of saved custom properties (kept apart from ``models``, which registers it on ``Base.metadata``
by importing this module at its end; migration 0013 creates the table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from mixhouse.meta.models import NAME_MAX_LENGTH, Base, _created_at


class CustomProperty(Base):
    """A project's saved custom property: ``display_formula`` over ``composed_properties`` (JSON text, letter →
    ``{"value", "type", "resourceType", ...}``), an ``events`` or a ``people`` property. ``example_value`` is JSON
    text (null when none). Locked ones are changed only by their creator, owners and admins."""

    __tablename__ = "custom_properties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    resource_type: Mapped[str] = mapped_column(String(16), nullable=False)
    property_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    display_formula: Mapped[str] = mapped_column(Text, nullable=False)
    composed_properties: Mapped[str] = mapped_column(Text, nullable=False)
    is_locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    is_visible: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())
    example_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    creator_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creator_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), nullable=False, default="", server_default="")
    created_at: Mapped[datetime] = _created_at()
    modified_at: Mapped[datetime] = _created_at()

    __table_args__ = (
        CheckConstraint("resource_type IN ('events', 'people')", name="resource_type"),
        {"sqlite_autoincrement": True},
    )
