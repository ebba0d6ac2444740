"""OAuth state in the metadata store: registered clients, authorization codes and refresh tokens (digests only),
and the short-lived access tokens the flow issues (ordinary bearer tokens of the service account)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select

from mixhouse.meta import models
from mixhouse.meta.store import ACCESS_TOKEN_PREFIX, MetaStore, secret_digest

CODE_TTL: Final = timedelta(minutes=10)
ACCESS_TTL: Final = timedelta(hours=1)
REFRESH_TTL: Final = timedelta(days=30)
REFRESH_PREFIX: Final = "mhrt_"


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Redeemed:
    """What an authorization code was issued for."""

    service_account_id: int
    code_challenge: str


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


class OAuthStore:
    def __init__(self, store: MetaStore) -> None:
        self._store = store

    def register(self, name: str, redirect_uris: list[str]) -> Client:
        client_id = "mhc_" + secrets.token_urlsafe(18)
        with self._store.writing() as session:
            row = models.OAuthClient(client_id=client_id, name=name, redirect_uris=json.dumps(redirect_uris))
            session.add(row)
            session.flush()
            return Client(row.client_id, row.name, tuple(redirect_uris), row.created_at)

    def client(self, client_id: str) -> Client | None:
        with self._store.reading() as session:
            row = session.get(models.OAuthClient, client_id)
            if row is None:
                return None
            return Client(row.client_id, row.name, tuple(json.loads(row.redirect_uris)), row.created_at)

    def issue_code(self, client_id: str, service_account_id: int, redirect_uri: str, code_challenge: str) -> str:
        code = secrets.token_urlsafe(32)
        with self._store.writing() as session:
            session.add(models.OAuthCode(code_hash=secret_digest(code), client_id=client_id,
                                         service_account_id=service_account_id, redirect_uri=redirect_uri,
                                         code_challenge=code_challenge, expires_at=datetime.now(UTC) + CODE_TTL))
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> Redeemed | None:
        """The grant of an unused, unexpired code issued to this client for this redirect URI; used up either way."""
        with self._store.writing() as session:
            row = session.scalar(select(models.OAuthCode).where(models.OAuthCode.code_hash == secret_digest(code)))
            if row is None or row.used:
                return None
            row.used = True
            if row.client_id != client_id or row.redirect_uri != redirect_uri or row.expires_at <= datetime.now(UTC):
                return None
            return Redeemed(row.service_account_id, row.code_challenge)

    def issue_tokens(self, client_id: str, service_account_id: int) -> Tokens:
        access = ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._store.writing() as session:
            session.add(models.AccessToken(service_account_id=service_account_id, token_hash=secret_digest(access),
                                           name=f"oauth {client_id}"[:255], expires_at=now + ACCESS_TTL))
            session.add(models.OAuthRefreshToken(token_hash=secret_digest(refresh), client_id=client_id,
                                                 service_account_id=service_account_id,
                                                 expires_at=now + REFRESH_TTL))
        return Tokens(access, refresh, int(ACCESS_TTL.total_seconds()))

    def use_refresh_token(self, refresh_token: str, client_id: str) -> int | None:
        """The service account of a live refresh token of this client, revoking it (refresh tokens rotate)."""
        with self._store.writing() as session:
            row = session.scalar(select(models.OAuthRefreshToken).where(
                models.OAuthRefreshToken.token_hash == secret_digest(refresh_token)))
            if row is None or row.revoked or row.client_id != client_id or row.expires_at <= datetime.now(UTC):
                return None
            row.revoked = True
            return row.service_account_id
