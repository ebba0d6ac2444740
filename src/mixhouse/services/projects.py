"""Project lookup and credential checks, cached for the ingestion hot path."""

from __future__ import annotations

import hashlib
import threading
import time

from mixhouse.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from mixhouse.meta.records import Project
from mixhouse.meta.store import MetaStore

_NEGATIVE_TTL_S = 2.0
#: How long a successful credential check is reused: a revoked secret stops working within this many seconds.
AUTH_CACHE_TTL_S = 10.0
READ_ROLES = frozenset({"owner", "admin", "analyst", "consumer"})
WRITE_ROLES = frozenset({"owner", "admin", "analyst"})


class ProjectDirectory:
    """Resolves tokens, secrets and service accounts to projects; caches positive token lookups."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta
        self._by_token: dict[str, tuple[float, Project]] = {}
        self._missing: dict[str, float] = {}
        self._authenticated: dict[tuple[str, str, int | None, frozenset[str]], tuple[float, Project]] = {}
        self._lock = threading.Lock()

    def by_token(self, token: str) -> Project | None:
        """The project a token routes to; cached for ``AUTH_CACHE_TTL_S`` so settings changes reach a running server."""
        hit = self._by_token.get(token)
        if hit is not None and time.monotonic() < hit[0]:
            return hit[1]
        missed = self._missing.get(token)
        if missed is not None and time.monotonic() - missed < _NEGATIVE_TTL_S:
            return None
        project = self.meta.project_by_token(token)
        with self._lock:
            if project is None:
                if len(self._missing) > 10_000:
                    self._missing.clear()
                self._missing[token] = time.monotonic()
            else:
                if len(self._by_token) > 100_000:
                    self._by_token.clear()
                self._by_token[token] = (time.monotonic() + AUTH_CACHE_TTL_S, project)
        return project

    def get(self, project_id: int) -> Project:
        project = self.meta.get_project(project_id)
        if project is None:
            raise NotFoundError(f"project {project_id} does not exist")
        return project

    def authenticate(
        self, *, username: str, password: str, project_id: int | None, roles: frozenset[str] = READ_ROLES
    ) -> Project:
        """Basic credentials: a service account plus ``project_id``, a project secret, or (``/import``) a token.

        Successes are cached for ``AUTH_CACHE_TTL_S`` under a digest of the secret (never the secret itself).
        """
        key = (username, hashlib.sha256(password.encode()).hexdigest(), project_id, roles)
        cached = self._authenticated.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        project = self._authenticate(username=username, password=password, project_id=project_id, roles=roles)
        with self._lock:
            if len(self._authenticated) > 10_000:
                self._authenticated.clear()
            self._authenticated[key] = (time.monotonic() + AUTH_CACHE_TTL_S, project)
        return project

    def _authenticate(
        self, *, username: str, password: str, project_id: int | None, roles: frozenset[str]
    ) -> Project:
        account = self.meta.authenticate_service_account(username, password) if password else None
        if account is not None:
            return self._member_project(account.id, project_id, roles, "a service account")
        project = self.meta.project_by_secret(username) if username else None
        if project is not None and not password:
            if project_id is not None and project_id != project.id:
                raise PermissionDeniedError("this project secret belongs to another project")
            return project
        raise AuthenticationError("Invalid credentials")

    def authenticate_bearer(self, token: str, project_id: int | None, roles: frozenset[str] = READ_ROLES) -> Project:
        """A bearer access token acting as its service account, for ``project_id`` (required)."""
        account = self.meta.authenticate_access_token(token)
        if account is None:
            raise AuthenticationError("Invalid credentials: unknown or expired access token")
        return self._member_project(account.id, project_id, roles, "an access token")

    def _member_project(self, account_id: int, project_id: int | None, roles: frozenset[str], what: str) -> Project:
        """``project_id``, if the account is a member with one of ``roles`` (``what`` names the credential)."""
        if project_id is None:
            raise AuthenticationError(f"project_id is required when authenticating with {what}")
        role = self.meta.role_in_project(account_id, project_id)
        if role is None:
            raise PermissionDeniedError(f"this {what.split(' ', 1)[1]} has no access to project {project_id}")
        if role not in roles:
            raise PermissionDeniedError(f"the {role} role may not do this in project {project_id}")
        return self.get(project_id)

    def authenticate_token(self, token: str, project_id: int | None) -> Project:
        project = self.by_token(token)
        if project is None or (project_id is not None and project_id != project.id):
            raise AuthenticationError("Invalid credentials")
        return project
