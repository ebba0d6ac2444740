"""The metadata store (organizations, projects, secrets, service accounts) on SQLite or PostgreSQL."""

from __future__ import annotations

from mixhouse.meta.records import CreatedProject, Project, ServiceAccount
from mixhouse.meta.store import MetaStore

__all__ = ["CreatedProject", "MetaStore", "Project", "ServiceAccount"]
