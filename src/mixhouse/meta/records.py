"""Immutable values the metadata store hands to its callers (never ORM objects, never secret digests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    organization_id: int
    name: str
    timezone: str
    token: str
    identity_mode: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    id: int
    username: str
    name: str
    organization_id: int


@dataclass(frozen=True, slots=True)
class CreatedProject:
    """A new project with the secrets minted for it: they are shown once and never retrievable again."""

    project: Project
    api_secret: str
    service_account_username: str
    service_account_secret: str

    def __repr__(self) -> str:  # keep secrets out of logs and tracebacks
        return (
            f"CreatedProject(project={self.project!r}, api_secret='***', "
            f"service_account_username={self.service_account_username!r}, service_account_secret='***')"
        )


@dataclass(frozen=True, slots=True)
class Report:
    """A saved report: ``params`` are its bookmark params (a JSON object)."""

    id: int
    project_id: int
    workspace_id: int | None
    type: str
    name: str
    description: str
    params: dict[str, Any]
    created_at: datetime
    modified_at: datetime
    dashboard_id: int | None = None
    icon: str | None = None
    is_visibility_restricted: bool = False
    is_modification_restricted: bool = False
    creator_id: int | None = None
    creator_name: str = ""
    last_modified_by_id: int | None = None
    last_modified_by_name: str = ""


@dataclass(frozen=True, slots=True)
class Workspace:
    """A data view of a project; every project has a global default one."""

    id: int
    project_id: int
    name: str
    description: str
    is_default: bool
    is_global: bool
    is_restricted: bool
    is_visible: bool
    creator_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A service account's role in one project, with the project and its organization's name."""

    project: Project
    role: str
    organization_name: str


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change (a service account's id and display name), as entities record it."""

    id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads or changes entities, for their restriction flags: the account, and whether its role (owner or
    admin) overrides other accounts' restrictions."""

    account_id: int
    overrides: bool

    def may_act_on(self, creator_id: int | None, restricted: bool) -> bool:
        """Whether this viewer may see or change (as the flag says) an entity ``creator_id`` made, ``restricted``
        or not."""
        return not restricted or creator_id == self.account_id or self.overrides
