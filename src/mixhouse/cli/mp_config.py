"""``mp`` configuration commands: ``login`` and the ``account``, ``project``, ``workspace`` and ``target`` groups."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from mixhouse.cli.mp_common import JSON, TABLE, Format, _config, _ws, handled
from mixhouse.cli.mp_output import emit
from mixhouse.errors import ConfigError


@handled
def login(name: Annotated[str, typer.Option("--name", help="Account name to save.")] = "default",
          region: Annotated[str, typer.Option("--region", help="us, eu or in.")] = "us",
          project: Annotated[str | None, typer.Option("--project", help="Default project id.")] = None,
          no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the address, open nothing.")] = False,
          ) -> None:
    """Sign in with OAuth (browser, PKCE) and save an oauth_browser account (MP_API_BASE_URL or
    MP_OAUTH_BASE_URL picks a Mixhouse server)."""
    from mixhouse.client import oauth
    from mixhouse.client.config import Account

    opener = (lambda url: typer.echo(f"Open this address to sign in:\n{url}", err=True)) if no_browser else None
    tokens = oauth.login(region=region, open_url=opener)
    oauth.save_tokens(name, tokens)
    from mixhouse.client.me_cache import drop_me_cache

    drop_me_cache(name)  # another sign-in may be another user
    config = _config()
    if name in {a.name for a in config.list_accounts()}:
        config.update_account(name, type="oauth_browser", region=region,
                              **({"default_project": project} if project else {}))
    else:
        config.add_account(Account(name=name, type="oauth_browser", region=region, default_project=project))
    typer.echo(f"Signed in; account {name!r} saved in {config.config_path}", err=True)


# ------------------------------------------------------------------------------------------------ account / project
account_app = typer.Typer(help="Accounts in the config file (service accounts, OAuth tokens).", no_args_is_help=True)
project_app = typer.Typer(help="The project the commands act on.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (data views) of the project.", no_args_is_help=True)
target_app = typer.Typer(help="Named account + project (+ workspace) triples.", no_args_is_help=True)


def _account_row(account: Any, active: str | None) -> dict[str, Any]:
    return {"name": account.name, "type": account.type, "region": account.region,
            "username": account.username, "default_project": account.default_project,
            "token_env": account.token_env, "active": account.name == active}


@account_app.command("list")
@handled
def account_list(fmt: Format = TABLE) -> None:
    """List the configured accounts (secrets are never printed)."""
    config = _config()
    active = config.get_active().get("account")
    emit([_account_row(a, active) for a in config.list_accounts()], fmt)


@account_app.command("add")
@handled
def account_add(
    name: Annotated[str, typer.Argument(help="Account name.")],
    type_: Annotated[str, typer.Option("--type", help="service_account or oauth_token.")] = "service_account",
    region: Annotated[str, typer.Option("--region", help="us, eu or in.")] = "us",
    project: Annotated[str | None, typer.Option("--project", help="Default project id.")] = None,
    username: Annotated[str | None, typer.Option("--username", help="Service account username.")] = None,
    secret_stdin: Annotated[bool, typer.Option("--secret-stdin", help="Read the secret or token from stdin.")] = False,
    token_env: Annotated[str | None, typer.Option("--token-env", help="Env var holding the OAuth token.")] = None,
) -> None:
    """Add an account (the secret comes from stdin with --secret-stdin, or MP_SECRET / MP_OAUTH_TOKEN)."""
    import os

    from mixhouse.client.config import Account

    secret = sys.stdin.readline().strip() if secret_stdin else None
    if type_ == "service_account":
        secret = secret or os.environ.get("MP_SECRET")
        if not username or not secret:
            raise ConfigError("a service account needs --username and a secret (--secret-stdin or MP_SECRET)")
        account = Account(name=name, type=type_, region=region, username=username, secret=secret,
                          default_project=project)
    else:
        token = None if token_env else (secret or os.environ.get("MP_OAUTH_TOKEN"))
        account = Account(name=name, type=type_, region=region, token=token, token_env=token_env,
                          default_project=project)
    config = _config()
    config.add_account(account)
    typer.echo(f"Added account {name!r} to {config.config_path}", err=True)


@account_app.command("use")
@handled
def account_use(name: Annotated[str, typer.Argument()]) -> None:
    """Make an account the active one."""
    _config().set_active(account=name, clear_workspace=True)
    typer.echo(f"Active account: {name}", err=True)


@account_app.command("show")
@handled
def account_show(name: Annotated[str | None, typer.Argument()] = None, fmt: Format = JSON) -> None:
    """Show an account (the active one by default)."""
    config = _config()
    active = config.get_active().get("account")
    target = name or active
    if target is None:
        raise ConfigError("no active account: pass a name or run `mp account use NAME`")
    emit(_account_row(config.get_account(target), active), fmt)


@account_app.command("remove")
@handled
def account_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an account from the config file (and its stored OAuth tokens and cached /me)."""
    from mixhouse.client.me_cache import drop_me_cache
    from mixhouse.client.oauth import tokens_path

    _config().remove_account(name)
    drop_me_cache(name)
    tokens_path(name).unlink(missing_ok=True)
    typer.echo(f"Removed account {name!r}", err=True)


@account_app.command("update")
@handled
def account_update(
    name: Annotated[str, typer.Argument(help="Account name.")],
    region: Annotated[str | None, typer.Option("--region", help="New region: us, eu or in.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="New default project id.")] = None,
    username: Annotated[str | None, typer.Option("--username", help="New username (service_account).")] = None,
    secret_stdin: Annotated[bool, typer.Option("--secret-stdin", help="Read a new secret (service_account) or "
                                               "token (oauth_token) from stdin.")] = False,
    token_env: Annotated[str | None, typer.Option("--token-env", help="New env var holding the token "
                                                  "(oauth_token).")] = None,
) -> None:
    """Change fields of an account in place (only the flags given; the type never changes). Drops its cached /me."""
    from mixhouse.client.me_cache import drop_me_cache

    config = _config()
    account = config.get_account(name)
    changes: dict[str, Any] = {}
    if region is not None:
        changes["region"] = region
    if project is not None:
        if not project.isdigit():
            raise ConfigError(f"--project must be a project id (digits), not {project!r}")
        changes["default_project"] = project
    if username is not None:
        if account.type != "service_account":
            raise ConfigError(f"--username applies to service_account accounts; {name!r} is {account.type}")
        changes["username"] = username
    if token_env is not None:
        if account.type != "oauth_token":
            raise ConfigError(f"--token-env applies to oauth_token accounts; {name!r} is {account.type}")
        changes.update(token_env=token_env, token=None)
    if secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise ConfigError("--secret-stdin read nothing from stdin")
        if account.type == "service_account":
            changes["secret"] = secret
        elif account.type == "oauth_token" and token_env is None:
            changes.update(token=secret, token_env=None)
        else:
            raise ConfigError(f"--secret-stdin applies to service_account and oauth_token accounts (without "
                              f"--token-env); {name!r} is {account.type}")
    config.update_account(name, **changes)
    drop_me_cache(name)
    summary = ", ".join(sorted(changes)) or "no changes"
    typer.echo(f"Updated account {name!r} ({summary})", err=True)


@account_app.command("token")
@handled
def account_token(name: Annotated[str | None, typer.Argument(help="Account (the active one by default).")] = None,
                  ) -> None:
    """Print the account's bearer token (refreshed if an oauth_browser token is near expiry); N/A for a service
    account, which has none."""
    from mixhouse.client import oauth

    config = _config()
    name = name or config.get_active().get("account")
    if not name:
        raise ConfigError("no active account: pass a name or run `mp account use NAME`")
    account = config.get_account(name)
    if account.type == "service_account":
        typer.echo("N/A")
    elif account.type == "oauth_browser":
        typer.echo(oauth.access_token(name))
    else:
        typer.echo(account.auth_header().removeprefix("Bearer "))


@account_app.command("login")
@handled
def account_login(name: Annotated[str, typer.Argument(help="An oauth_browser account.")],
                  no_browser: Annotated[bool, typer.Option("--no-browser", help="Print the address, open "
                                                           "nothing.")] = False) -> None:
    """Sign an existing oauth_browser account in again (browser, PKCE); replaces its tokens and drops its /me."""
    from mixhouse.client import oauth
    from mixhouse.client.me_cache import drop_me_cache

    account = _config().get_account(name)
    if account.type != "oauth_browser":
        raise ConfigError(f"`mp account login` is for oauth_browser accounts; {name!r} is {account.type} "
                          "(`mp login --name NAME` makes a new one)")
    opener = (lambda url: typer.echo(f"Open this address to sign in:\n{url}", err=True)) if no_browser else None
    oauth.save_tokens(name, oauth.login(region=account.region, open_url=opener))
    drop_me_cache(name)
    typer.echo(f"Signed in; tokens of {name!r} saved in {oauth.tokens_path(name)}", err=True)


@account_app.command("logout")
@handled
def account_logout(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
    """Delete the account's stored OAuth tokens and cached /me (the account stays in the config file)."""
    from mixhouse.client.me_cache import drop_me_cache
    from mixhouse.client.oauth import tokens_path

    _config().get_account(name)
    had_tokens = tokens_path(name).exists()
    tokens_path(name).unlink(missing_ok=True)
    drop_me_cache(name)
    typer.echo(f"Removed the tokens of {name!r}" if had_tokens else f"{name!r} had no stored tokens", err=True)


@account_app.command("test")
@handled
def account_test(ctx: typer.Context, name: Annotated[str | None, typer.Argument()] = None,
                 fmt: Format = JSON) -> None:
    """Check that the credentials work (calls /me)."""
    if name:
        ctx.find_root().obj["account"] = name
    with _ws(ctx) as ws:
        me = ws.me()
    emit({"ok": True, "account": ws.account.name, "user_name": me.get("user_name"),
          "projects": sorted(str(p) for p in (me.get("projects") or {}))}, fmt)


@project_app.command("list")
@handled
def project_list(ctx: typer.Context, refresh: Annotated[bool, typer.Option("--refresh")] = False,
                 fmt: Format = TABLE) -> None:
    """Projects the account can use."""
    with _ws(ctx) as ws:
        emit(ws.projects(refresh=refresh), fmt)


@project_app.command("use")
@handled
def project_use(ctx: typer.Context, project_id: Annotated[str, typer.Argument()]) -> None:
    """Make a project the active account's default."""
    config = _config()
    name = ctx.find_root().obj.get("account") or config.get_active().get("account")
    if not name:
        raise ConfigError("no active account: run `mp account use NAME` first")
    config.update_account(name, default_project=project_id)
    config.set_active(account=name, clear_workspace=True)
    typer.echo(f"Account {name!r} now uses project {project_id}", err=True)


@project_app.command("show")
@handled
def project_show(ctx: typer.Context, fmt: Format = JSON) -> None:
    """The resolved account, project and workspace."""
    with _ws(ctx) as ws:
        emit({"account": ws.account.name, "project_id": ws.project.id,
              "workspace_id": ws.workspace.id if ws.workspace else None}, fmt)


@workspace_app.command("list")
@handled
def workspace_list(ctx: typer.Context, refresh: Annotated[bool, typer.Option("--refresh")] = False,
                   fmt: Format = TABLE) -> None:
    """Workspaces of the project."""
    with _ws(ctx) as ws:
        emit(ws.workspaces(refresh=refresh), fmt)


@workspace_app.command("use")
@handled
def workspace_use(ctx: typer.Context, workspace_id: Annotated[int, typer.Argument()]) -> None:
    """Pin a workspace for the active account."""
    config = _config()
    name = ctx.find_root().obj.get("account")
    config.set_active(account=name, workspace=workspace_id)
    typer.echo(f"Pinned workspace {workspace_id}", err=True)


@workspace_app.command("show")
@handled
def workspace_show(ctx: typer.Context, fmt: Format = JSON) -> None:
    """The pinned workspace, or the one the App API calls would resolve."""
    with _ws(ctx) as ws:
        pinned = ws.workspace.id if ws.workspace else None
        emit({"workspace_id": pinned if pinned is not None else ws.resolve_workspace_id(),
              "pinned": pinned is not None}, fmt)


@target_app.command("add")
@handled
def target_add(name: Annotated[str, typer.Argument()],
               account: Annotated[str, typer.Option("--account", "-a")],
               project: Annotated[str, typer.Option("--project", "-p")],
               workspace: Annotated[int | None, typer.Option("--workspace", "-w")] = None) -> None:
    """Save an account + project (+ workspace) as a target."""
    from mixhouse.client.config import Target

    _config().add_target(Target(name=name, account=account, project=project, workspace=workspace))
    typer.echo(f"Added target {name!r}", err=True)


@target_app.command("use")
@handled
def target_use(name: Annotated[str, typer.Argument()]) -> None:
    """Make a target the persisted state ([active] and the account's default project)."""
    _config().apply_target(name)
    typer.echo(f"Using target {name!r}", err=True)


@target_app.command("list")
@handled
def target_list(fmt: Format = TABLE) -> None:
    """List the targets."""
    emit([vars(t) for t in _config().list_targets()], fmt)


@target_app.command("show")
@handled
def target_show(name: Annotated[str, typer.Argument()], fmt: Format = JSON) -> None:
    """Show one target."""
    emit(vars(_config().get_target(name)), fmt)


@target_app.command("remove")
@handled
def target_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a target."""
    _config().remove_target(name)
    typer.echo(f"Removed target {name!r}", err=True)
