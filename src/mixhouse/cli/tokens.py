"""``mixhouse tokens``: bearer access tokens (OAuth-style) acting as a service account, server running or not."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from mixhouse.cli.options import DEFAULT_DATA_DIR, DataDir, MetaUrl
from mixhouse.errors import MixhouseError

tokens_app = typer.Typer(help="Create bearer access tokens for service accounts.", no_args_is_help=True)


@tokens_app.command("create")
def tokens_create(
    username: Annotated[str, typer.Option("--username", help="The service account the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "access token",
    expires_days: Annotated[int | None, typer.Option("--expires-days", help="Days until it expires (none).")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Print {"token", "username", "expires_at"}: use it as `Authorization: Bearer <token>` or MP_OAUTH_TOKEN."""
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            token, expires = store.create_access_token(username, name, expires_days)
    except MixhouseError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    body = {"token": token, "username": username, "expires_at": expires.isoformat() if expires else None}
    typer.echo(orjson.dumps(body).decode())
