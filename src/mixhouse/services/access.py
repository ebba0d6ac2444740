"""Who is calling the App API and what they may see: service accounts, their projects and roles, and workspaces.

A service account authenticates with HTTP Basic (username and secret), or a bearer access token acts as it
(``mixhouse tokens create``); either way it sees exactly the projects it is a member of, each with its role
(``owner``, ``admin``, ``analyst``, ``consumer``). A project it is not a member of is refused (403) whether or not
it exists, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mixhouse.errors import AuthenticationError, PermissionDeniedError
from mixhouse.meta.records import Membership, Project, ServiceAccount, Viewer, Workspace
from mixhouse.meta.store import MetaStore


@dataclass(frozen=True)
class Caller:
    account: ServiceAccount
    memberships: tuple[Membership, ...]

    def membership(self, project_id: int) -> Membership:
        for membership in self.memberships:
            if membership.project.id == project_id:
                return membership
        raise PermissionDeniedError(f"this account has no access to project {project_id}")

    def project(self, project_id: int) -> Project:
        return self.membership(project_id).project


#: Roles that may create, change and delete a project's entities; consumers only read.
WRITERS = frozenset({"owner", "admin", "analyst"})


#: Roles that may change other accounts' restricted entities (restricted dashboards, reports, locked cohorts).
OVERRIDERS = frozenset({"owner", "admin"})


def viewer(caller: Caller, project_id: int) -> Viewer:
    """The caller as entity restriction flags see it."""
    return Viewer(caller.account.id, caller.membership(project_id).role in OVERRIDERS)


def check_writer(caller: Caller, project_id: int) -> None:
    role = caller.membership(project_id).role
    if role not in WRITERS:
        raise PermissionDeniedError(f"the {role} role cannot change project {project_id}")


def authenticate(meta: MetaStore, username: str, secret: str) -> Caller:
    account = meta.authenticate_service_account(username, secret)
    if account is None:
        raise AuthenticationError("Invalid credentials")
    return _caller(meta, account)


def authenticate_bearer(meta: MetaStore, token: str) -> Caller:
    account = meta.authenticate_access_token(token)
    if account is None:
        raise AuthenticationError("Invalid credentials: unknown or expired access token")
    return _caller(meta, account)


def _caller(meta: MetaStore, account: ServiceAccount) -> Caller:
    return Caller(account, tuple(meta.memberships(account.id)))


def workspace_json(workspace: Workspace) -> dict[str, Any]:
    """A workspace as ``/me`` and ``workspaces/public`` list it."""
    return {
        "id": workspace.id,
        "name": workspace.name,
        "project_id": workspace.project_id,
        "is_default": workspace.is_default,
        "is_global": workspace.is_global,
        "is_restricted": workspace.is_restricted,
        "is_visible": workspace.is_visible,
        "description": workspace.description,
        "creator_name": workspace.creator_name,
        "created_iso": workspace.created_at.isoformat(),
    }


def me(meta: MetaStore, caller: Caller) -> dict[str, Any]:
    """``/api/app/me``: the account, its organizations, projects (with role and timezone) and their workspaces."""
    organizations: dict[str, Any] = {}
    projects: dict[str, Any] = {}
    workspaces: dict[str, Any] = {}
    for membership in caller.memberships:
        project = membership.project
        organizations.setdefault(str(project.organization_id), {
            "id": project.organization_id, "name": membership.organization_name, "role": membership.role,
        })
        projects[str(project.id)] = {
            "name": project.name, "organization_id": project.organization_id, "timezone": project.timezone,
            "has_workspaces": True, "type": "PROJECT", "role": membership.role,
        }
        for workspace in meta.list_workspaces(project.id):
            workspaces[str(workspace.id)] = workspace_json(workspace)
    return {
        "user_id": caller.account.id,
        "user_name": caller.account.name,
        "user_email": None,
        "service_account": caller.account.username,
        "organizations": organizations,
        "projects": projects,
        "workspaces": workspaces,
    }


def metadata_index(meta: MetaStore, caller: Caller) -> dict[str, Any]:
    """``/api/app/projects/metadata/index``: each visible project's name and workspaces, by id."""
    return {
        str(m.project.id): {
            "id": m.project.id,
            "name": m.project.name,
            "workspaces": {str(w.id): workspace_json(w) for w in meta.list_workspaces(m.project.id)},
        }
        for m in caller.memberships
    }
