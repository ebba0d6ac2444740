"""``mp``: the Mixpanel-compatible client CLI on the Workspace library (a Mixhouse server or Mixpanel itself).

Global options pick the account, project, workspace or target (each also from ``MP_*`` environment variables, as
the library resolves them); every command takes ``--format/-f json|jsonl|table|csv|plain``. Errors go to stderr
with what to fix, and exit codes 1 (general), 2 (authentication), 3 (invalid request), 4 (not found), 5 (rate
limited).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import orjson
import typer

from mixhouse import __version__
from mixhouse.cli.mp_output import emit
from mixhouse.errors import (
    AuthenticationError,
    ConfigError,
    MixhouseError,
    NotSupportedError,
    RateLimitError,
    ValidationError,
    WorkspaceScopeError,
)

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(help="mp: query and manage a Mixhouse (or Mixpanel) project.", no_args_is_help=True,
                  pretty_exceptions_enable=False)

class OutputFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    table = "table"
    csv = "csv"
    plain = "plain"


Format = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
JSON, TABLE = OutputFormat.json, OutputFormat.table


class Exit:
    GENERAL = 1
    AUTH = 2
    INVALID = 3
    NOT_FOUND = 4
    RATE_LIMIT = 5


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Fix: {hint}\n")
    raise typer.Exit(code)


def handled(func: F) -> F:
    """Turn library errors into a message on stderr, a hint and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AuthenticationError as exc:
            _fail(exc.message, "check the account's username and secret (or token): `mp account show NAME`, "
                  "or MP_USERNAME/MP_SECRET/MP_OAUTH_TOKEN", Exit.AUTH)
        except RateLimitError as exc:
            _fail(exc.message, f"wait {exc.retry_after:g} s and run the command again", Exit.RATE_LIMIT)
        except WorkspaceScopeError as exc:
            _fail(exc.message, "pass --workspace/-w N (`mp workspace list` shows them)", Exit.GENERAL)
        except NotSupportedError as exc:
            _fail(exc.message, None, Exit.GENERAL)
        except ConfigError as exc:
            _fail(exc.message, "see `mp account --help`; the config file is ~/.mp/config.toml or MP_CONFIG_PATH",
                  Exit.GENERAL)
        except ValidationError as exc:
            status = exc.details.get("status_code")
            if status == 404:
                _fail(exc.message, "check the id (list them with the group's `list` command)", Exit.NOT_FOUND)
            if status == 403:
                _fail(exc.message, "this account is not allowed to do that in this project", Exit.INVALID)
            _fail(exc.message, None, Exit.INVALID)
        except MixhouseError as exc:
            _fail(exc.message, None, Exit.GENERAL)
        except ValueError as exc:
            _fail(str(exc), None, Exit.INVALID)
        return None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", "-a", help="Account name (env MP_ACCOUNT).")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project id (env MP_PROJECT_ID).")] = None,
    workspace: Annotated[int | None, typer.Option("--workspace", "-w", help="Workspace id (MP_WORKSPACE_ID).")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target name (env MP_TARGET).")] = None,
) -> None:
    ctx.obj = {"account": account, "project": project, "workspace": workspace, "target": target}


def _ws(ctx: typer.Context) -> Any:
    from mixhouse.client.workspace import Workspace

    root = ctx.find_root()
    opts = root.obj or {}
    return Workspace(account=opts.get("account"), project=opts.get("project"), workspace=opts.get("workspace"),
                     target=opts.get("target"), _entry="cli")


class _Busy:
    """A spinner on stderr while a request runs (only on a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._status: Any = None

    def __enter__(self) -> _Busy:
        if sys.stderr.isatty():
            from rich.console import Console

            self._status = Console(stderr=True).status(self.label)
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


def _json_arg(value: str | None, name: str) -> Any:
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


def _ids(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"ids must be comma-separated integers, not {value!r}") from None


def _result(result: Any, fmt: str) -> None:
    """A query result: its fields as JSON, its DataFrame rows as a table or CSV."""
    if fmt in ("table", "csv") and hasattr(result, "_frame_rows"):
        rows, _ = result._frame_rows()
        emit(rows, fmt)
    else:
        emit(result, fmt)


@app.command()
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
    config = _config()
    if name in {a.name for a in config.list_accounts()}:
        config.update_account(name, type="oauth_browser", region=region,
                              **({"default_project": project} if project else {}))
    else:
        config.add_account(Account(name=name, type="oauth_browser", region=region, default_project=project))
    typer.echo(f"Signed in; account {name!r} saved in {config.config_path}", err=True)


@app.command()
def version() -> None:
    """Print the client version."""
    typer.echo(__version__)


# ------------------------------------------------------------------------------------------------ account / project
account_app = typer.Typer(help="Accounts in the config file (service accounts, OAuth tokens).", no_args_is_help=True)
project_app = typer.Typer(help="The project the commands act on.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (data views) of the project.", no_args_is_help=True)
target_app = typer.Typer(help="Named account + project (+ workspace) triples.", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(project_app, name="project")
app.add_typer(workspace_app, name="workspace")
app.add_typer(target_app, name="target")


def _config() -> Any:
    from mixhouse.client.config import ConfigManager

    return ConfigManager()


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
    """Remove an account from the config file."""
    _config().remove_account(name)
    typer.echo(f"Removed account {name!r}", err=True)


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


# ------------------------------------------------------------------------------------------------------ inspect
inspect_app = typer.Typer(help="Discover events, properties, funnels, cohorts and reports.", no_args_is_help=True)
app.add_typer(inspect_app, name="inspect")


@inspect_app.command("events")
@handled
def inspect_events(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Event names."""
    with _ws(ctx) as ws:
        emit(ws.events(), fmt)


@inspect_app.command("properties")
@handled
def inspect_properties(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                       fmt: Format = JSON) -> None:
    """Property names of an event."""
    with _ws(ctx) as ws:
        emit(ws.properties(event), fmt)


@inspect_app.command("values")
@handled
def inspect_values(ctx: typer.Context, property_name: Annotated[str, typer.Option("--property", "-p")],
                   event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                   limit: Annotated[int, typer.Option("--limit", "-l")] = 100, fmt: Format = JSON) -> None:
    """Values of a property."""
    with _ws(ctx) as ws:
        emit(ws.property_values(property_name, event=event, limit=limit), fmt)


@inspect_app.command("funnels")
@handled
def inspect_funnels(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Saved funnels."""
    with _ws(ctx) as ws:
        emit(ws.funnels(), fmt)


@inspect_app.command("cohorts")
@handled
def inspect_cohorts(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Saved cohorts."""
    with _ws(ctx) as ws:
        emit(ws.cohorts(), fmt)


@inspect_app.command("top-events")
@handled
def inspect_top_events(ctx: typer.Context, type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                       limit: Annotated[int | None, typer.Option("--limit", "-l")] = None,
                       fmt: Format = JSON) -> None:
    """Today's top events."""
    with _ws(ctx) as ws:
        emit(ws.top_events(type=type_, limit=limit), fmt)


@inspect_app.command("bookmarks")
@handled
def inspect_bookmarks(ctx: typer.Context, type_: Annotated[str | None, typer.Option("--type", "-t")] = None,
                      fmt: Format = JSON) -> None:
    """Saved reports."""
    with _ws(ctx) as ws:
        emit(ws.list_bookmarks(type_), fmt)


# -------------------------------------------------------------------------------------------------------- query
query_app = typer.Typer(help="Live queries (segmentation, funnels, retention ...).", no_args_is_help=True)
app.add_typer(query_app, name="query")

FromDate = Annotated[str, typer.Option("--from", help="Start date YYYY-MM-DD.")]
ToDate = Annotated[str, typer.Option("--to", help="End date YYYY-MM-DD.")]


@query_app.command("segmentation")
@handled
def query_segmentation(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                       from_date: FromDate, to_date: ToDate,
                       on: Annotated[str | None, typer.Option("--on", "-o")] = None,
                       unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                       where: Annotated[str | None, typer.Option("--where", "-w")] = None,
                       fmt: Format = JSON) -> None:
    """Event counts over time, optionally segmented by a property."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.segmentation(event, from_date=from_date, to_date=to_date, on=_on(on), unit=unit, where=where),
                fmt)


def _on(on: str | None) -> str | None:
    """``--on country`` means the event property ``country`` (an expression is kept as it is)."""
    if on is None or any(ch in on for ch in '["( '):
        return on
    return f'properties["{on}"]'


@query_app.command("funnel")
@handled
def query_funnel(ctx: typer.Context, funnel_id: Annotated[int, typer.Argument()], from_date: FromDate,
                 to_date: ToDate, unit: Annotated[str | None, typer.Option("--unit", "-u")] = None,
                 on: Annotated[str | None, typer.Option("--on", "-o")] = None, fmt: Format = JSON) -> None:
    """A saved funnel's steps."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.funnel(funnel_id, from_date=from_date, to_date=to_date, unit=unit, on=_on(on)), fmt)


@query_app.command("retention")
@handled
def query_retention(ctx: typer.Context, born: Annotated[str, typer.Option("--born", "-b")],
                    return_event: Annotated[str, typer.Option("--return", "-r")], from_date: FromDate,
                    to_date: ToDate, born_where: Annotated[str | None, typer.Option("--born-where")] = None,
                    return_where: Annotated[str | None, typer.Option("--return-where")] = None,
                    interval: Annotated[int, typer.Option("--interval", "-i")] = 1,
                    intervals: Annotated[int, typer.Option("--intervals", "-n")] = 10,
                    unit: Annotated[str, typer.Option("--unit", "-u")] = "day", fmt: Format = JSON) -> None:
    """Birth retention cohorts."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.retention(born_event=born, return_event=return_event, from_date=from_date, to_date=to_date,
                             born_where=born_where, return_where=return_where, interval=interval,
                             interval_count=intervals, unit=unit), fmt)


@query_app.command("event-counts")
@handled
def query_event_counts(ctx: typer.Context, events: Annotated[str, typer.Option("--events", "-e",
                                                                               help="Comma-separated names.")],
                       from_date: FromDate, to_date: ToDate,
                       type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                       unit: Annotated[str, typer.Option("--unit", "-u")] = "day", fmt: Format = JSON) -> None:
    """Counts of several events over time."""
    names = [e.strip() for e in events.split(",") if e.strip()]
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.event_counts(names, from_date=from_date, to_date=to_date, type=type_, unit=unit), fmt)


@query_app.command("property-counts")
@handled
def query_property_counts(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                          property_name: Annotated[str, typer.Option("--property", "-p")], from_date: FromDate,
                          to_date: ToDate, type_: Annotated[str, typer.Option("--type", "-t")] = "general",
                          unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                          limit: Annotated[int | None, typer.Option("--limit", "-l")] = None,
                          fmt: Format = JSON) -> None:
    """Counts of an event per value of a property."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.property_counts(event, property_name, from_date=from_date, to_date=to_date, type=type_,
                                   unit=unit, limit=limit), fmt)


@query_app.command("frequency")
@handled
def query_frequency(ctx: typer.Context, from_date: FromDate, to_date: ToDate,
                    event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                    unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                    addiction_unit: Annotated[str, typer.Option("--addiction-unit")] = "hour",
                    where: Annotated[str | None, typer.Option("--where", "-w")] = None,
                    fmt: Format = JSON) -> None:
    """How often users do an event."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.frequency(from_date=from_date, to_date=to_date, unit=unit, addiction_unit=addiction_unit,
                             event=event, where=where), fmt)


def _numeric(kind: str) -> Callable[..., None]:
    def command(ctx: typer.Context, event: Annotated[str, typer.Option("--event", "-e")],
                on: Annotated[str, typer.Option("--on", "-o")], from_date: FromDate, to_date: ToDate,
                unit: Annotated[str, typer.Option("--unit", "-u")] = "day",
                where: Annotated[str | None, typer.Option("--where", "-w")] = None, fmt: Format = JSON) -> None:
        with _ws(ctx) as ws, _Busy("Querying..."):
            method = getattr(ws, f"segmentation_{kind}")
            _result(method(event, from_date=from_date, to_date=to_date, on=_on(on), unit=unit, where=where), fmt)

    command.__doc__ = {"numeric": "Events in ranges of a numeric property.", "sum": "Sum of a numeric property.",
                       "average": "Average of a numeric property."}[kind]
    return handled(command)


query_app.command("segmentation-numeric")(_numeric("numeric"))
query_app.command("segmentation-sum")(_numeric("sum"))
query_app.command("segmentation-average")(_numeric("average"))


@query_app.command("saved-report")
@handled
def query_saved_report(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                       type_: Annotated[str, typer.Option("--type", "-t")] = "insights",
                       fmt: Format = JSON) -> None:
    """Run a saved report."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.query_saved_report(bookmark_id, bookmark_type=type_), fmt)


@query_app.command("flows")
@handled
def query_flows(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Run a saved flows report."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.query_saved_flows(bookmark_id), fmt)


@query_app.command("activity-feed")
@handled
def query_activity_feed(ctx: typer.Context, users: Annotated[str, typer.Option("--users",
                                                                               help="Comma-separated ids.")],
                        from_date: Annotated[str | None, typer.Option("--from")] = None,
                        to_date: Annotated[str | None, typer.Option("--to")] = None,
                        limit: Annotated[int | None, typer.Option("--limit")] = None,
                        fmt: Format = JSON) -> None:
    """Events of some users, newest first."""
    with _ws(ctx) as ws, _Busy("Querying..."):
        _result(ws.activity_feed([u.strip() for u in users.split(",") if u.strip()], from_date=from_date,
                                 to_date=to_date, limit=limit), fmt)


# --------------------------------------------------------------------------------------------------- dashboards
dashboards_app = typer.Typer(help="Dashboards.", no_args_is_help=True)
app.add_typer(dashboards_app, name="dashboards")


@dashboards_app.command("list")
@handled
def dashboards_list(ctx: typer.Context, ids: Annotated[str | None, typer.Option("--ids")] = None,
                    fmt: Format = JSON) -> None:
    """List dashboards."""
    with _ws(ctx) as ws:
        emit(ws.list_dashboards(ids=_ids(ids)), fmt)


@dashboards_app.command("get")
@handled
def dashboards_get(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Show a dashboard."""
    with _ws(ctx) as ws:
        emit(ws.get_dashboard(dashboard_id), fmt)


@dashboards_app.command("create")
@handled
def dashboards_create(ctx: typer.Context, title: Annotated[str, typer.Option("--title")],
                      description: Annotated[str | None, typer.Option("--description")] = None,
                      private: Annotated[bool | None, typer.Option("--private/--public")] = None,
                      restricted: Annotated[bool | None, typer.Option("--restricted/--unrestricted")] = None,
                      duplicate: Annotated[int | None, typer.Option("--duplicate")] = None,
                      fmt: Format = JSON) -> None:
    """Create a dashboard."""
    from mixhouse.client.types import CreateDashboardParams

    with _ws(ctx) as ws:
        emit(ws.create_dashboard(CreateDashboardParams(title=title, description=description, is_private=private,
                                                       is_restricted=restricted, duplicate=duplicate)), fmt)


@dashboards_app.command("update")
@handled
def dashboards_update(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()],
                      title: Annotated[str | None, typer.Option("--title")] = None,
                      description: Annotated[str | None, typer.Option("--description")] = None,
                      fmt: Format = JSON) -> None:
    """Rename or describe a dashboard."""
    from mixhouse.client.types import UpdateDashboardParams

    with _ws(ctx) as ws:
        emit(ws.update_dashboard(dashboard_id, UpdateDashboardParams(title=title, description=description)), fmt)


@dashboards_app.command("delete")
@handled
def dashboards_delete(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()]) -> None:
    """Delete a dashboard."""
    with _ws(ctx) as ws:
        ws.delete_dashboard(dashboard_id)
    typer.echo(f"Deleted dashboard {dashboard_id}", err=True)


def _dashboard_action(name: str, method: str, doc: str) -> None:
    def command(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()]) -> None:
        with _ws(ctx) as ws:
            getattr(ws, method)(dashboard_id)
        typer.echo(f"{name.capitalize()}: dashboard {dashboard_id}", err=True)

    command.__doc__ = doc
    dashboards_app.command(name)(handled(command))


_dashboard_action("favorite", "favorite_dashboard", "Favorite a dashboard.")
_dashboard_action("unfavorite", "unfavorite_dashboard", "Unfavorite a dashboard.")
_dashboard_action("pin", "pin_dashboard", "Pin a dashboard.")
_dashboard_action("unpin", "unpin_dashboard", "Unpin a dashboard.")


@dashboards_app.command("add-report")
@handled
def dashboards_add_report(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()],
                          bookmark_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Put a report on a dashboard."""
    with _ws(ctx) as ws:
        emit(ws.add_report_to_dashboard(dashboard_id, bookmark_id), fmt)


@dashboards_app.command("remove-report")
@handled
def dashboards_remove_report(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()],
                             bookmark_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Take a report off a dashboard."""
    with _ws(ctx) as ws:
        emit(ws.remove_report_from_dashboard(dashboard_id, bookmark_id), fmt)


# ------------------------------------------------------------------------------------------------------ reports
reports_app = typer.Typer(help="Saved reports (bookmarks).", no_args_is_help=True)
app.add_typer(reports_app, name="reports")


@reports_app.command("list")
@handled
def reports_list(ctx: typer.Context, bookmark_type: Annotated[str | None, typer.Option("--type", "-t")] = None,
                 ids: Annotated[str | None, typer.Option("--ids")] = None, fmt: Format = JSON) -> None:
    """List saved reports."""
    with _ws(ctx) as ws:
        emit(ws.list_bookmarks_v2(bookmark_type=bookmark_type, ids=_ids(ids)), fmt)


@reports_app.command("get")
@handled
def reports_get(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Show a saved report."""
    with _ws(ctx) as ws:
        emit(ws.get_bookmark(bookmark_id), fmt)


@reports_app.command("create")
@handled
def reports_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name", "-n")],
                   bookmark_type: Annotated[str, typer.Option("--type", "-t")],
                   params: Annotated[str, typer.Option("--params", "-p", help="Bookmark params: JSON or @file.")],
                   dashboard_id: Annotated[int, typer.Option("--dashboard-id")],
                   description: Annotated[str | None, typer.Option("--description", "-d")] = None,
                   fmt: Format = JSON) -> None:
    """Save a report on a dashboard."""
    from mixhouse.client.types import CreateBookmarkParams

    with _ws(ctx) as ws:
        emit(ws.create_bookmark(CreateBookmarkParams.model_validate({
            "name": name, "type": bookmark_type, "params": _json_arg(params, "--params"),
            "description": description, "dashboard_id": dashboard_id})), fmt)


@reports_app.command("update")
@handled
def reports_update(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                   name: Annotated[str | None, typer.Option("--name", "-n")] = None,
                   params: Annotated[str | None, typer.Option("--params", "-p")] = None,
                   description: Annotated[str | None, typer.Option("--description", "-d")] = None,
                   fmt: Format = JSON) -> None:
    """Change a saved report."""
    from mixhouse.client.types import UpdateBookmarkParams

    with _ws(ctx) as ws:
        emit(ws.update_bookmark(bookmark_id, UpdateBookmarkParams(
            name=name, params=_json_arg(params, "--params"), description=description)), fmt)


@reports_app.command("delete")
@handled
def reports_delete(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()]) -> None:
    """Delete a saved report."""
    with _ws(ctx) as ws:
        ws.delete_bookmark(bookmark_id)
    typer.echo(f"Deleted report {bookmark_id}", err=True)


@reports_app.command("history")
@handled
def reports_history(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                    cursor: Annotated[str | None, typer.Option("--cursor")] = None,
                    page_size: Annotated[int | None, typer.Option("--page-size")] = None,
                    fmt: Format = JSON) -> None:
    """A report's change history."""
    with _ws(ctx) as ws:
        emit(ws.get_bookmark_history(bookmark_id, cursor=cursor, page_size=page_size), fmt)


# ------------------------------------------------------------------------------------------------------ cohorts
cohorts_app = typer.Typer(help="Cohorts.", no_args_is_help=True)
app.add_typer(cohorts_app, name="cohorts")


@cohorts_app.command("list")
@handled
def cohorts_list(ctx: typer.Context, data_group_id: Annotated[str | None, typer.Option("--data-group-id")] = None,
                 ids: Annotated[str | None, typer.Option("--ids")] = None, fmt: Format = JSON) -> None:
    """List cohorts."""
    with _ws(ctx) as ws:
        emit(ws.list_cohorts_full(data_group_id=data_group_id, ids=_ids(ids)), fmt)


@cohorts_app.command("get")
@handled
def cohorts_get(ctx: typer.Context, cohort_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Show a cohort."""
    with _ws(ctx) as ws:
        emit(ws.get_cohort(cohort_id), fmt)


@cohorts_app.command("create")
@handled
def cohorts_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
                   description: Annotated[str | None, typer.Option("--description")] = None,
                   data_group_id: Annotated[str | None, typer.Option("--data-group-id")] = None,
                   definition: Annotated[str | None, typer.Option("--definition",
                                                                  help="Definition JSON or @file.")] = None,
                   fmt: Format = JSON) -> None:
    """Create a cohort."""
    from mixhouse.client.types import CreateCohortParams

    with _ws(ctx) as ws:
        emit(ws.create_cohort(CreateCohortParams(name=name, description=description, data_group_id=data_group_id,
                                                 definition=_json_arg(definition, "--definition"))), fmt)


@cohorts_app.command("update")
@handled
def cohorts_update(ctx: typer.Context, cohort_id: Annotated[int, typer.Argument()],
                   name: Annotated[str | None, typer.Option("--name")] = None,
                   description: Annotated[str | None, typer.Option("--description")] = None,
                   definition: Annotated[str | None, typer.Option("--definition")] = None,
                   fmt: Format = JSON) -> None:
    """Change a cohort."""
    from mixhouse.client.types import UpdateCohortParams

    with _ws(ctx) as ws:
        emit(ws.update_cohort(cohort_id, UpdateCohortParams(name=name, description=description,
                                                            definition=_json_arg(definition, "--definition"))), fmt)


@cohorts_app.command("delete")
@handled
def cohorts_delete(ctx: typer.Context, cohort_id: Annotated[int, typer.Argument()]) -> None:
    """Delete a cohort."""
    with _ws(ctx) as ws:
        ws.delete_cohort(cohort_id)
    typer.echo(f"Deleted cohort {cohort_id}", err=True)


# -------------------------------------------------------------------------------------------------------- flags
flags_app = typer.Typer(help="Feature flags.", no_args_is_help=True)
app.add_typer(flags_app, name="flags")


@flags_app.command("list")
@handled
def flags_list(ctx: typer.Context, include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
               fmt: Format = JSON) -> None:
    """List feature flags."""
    with _ws(ctx) as ws:
        emit(ws.list_feature_flags(include_archived=include_archived), fmt)


@flags_app.command("get")
@handled
def flags_get(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()], fmt: Format = JSON) -> None:
    """Show a feature flag."""
    with _ws(ctx) as ws:
        emit(ws.get_feature_flag(flag_id), fmt)


@flags_app.command("create")
@handled
def flags_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
                 key: Annotated[str, typer.Option("--key")],
                 description: Annotated[str | None, typer.Option("--description")] = None,
                 status: Annotated[str | None, typer.Option("--status")] = None,
                 ruleset: Annotated[str | None, typer.Option("--ruleset", help="JSON or @file.")] = None,
                 fmt: Format = JSON) -> None:
    """Create a feature flag."""
    from mixhouse.client.types import CreateFeatureFlagParams

    fields: dict[str, Any] = {"name": name, "key": key, "description": description, "status": status}
    if ruleset:
        fields["ruleset"] = _json_arg(ruleset, "--ruleset")
    with _ws(ctx) as ws:
        emit(ws.create_feature_flag(CreateFeatureFlagParams.model_validate(
            {k: v for k, v in fields.items() if v is not None})), fmt)


@flags_app.command("delete")
@handled
def flags_delete(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()]) -> None:
    """Delete a feature flag."""
    with _ws(ctx) as ws:
        ws.delete_feature_flag(flag_id)
    typer.echo(f"Deleted flag {flag_id}", err=True)


@flags_app.command("archive")
@handled
def flags_archive(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()]) -> None:
    """Archive a feature flag."""
    with _ws(ctx) as ws:
        ws.archive_feature_flag(flag_id)
    typer.echo(f"Archived flag {flag_id}", err=True)


@flags_app.command("restore")
@handled
def flags_restore(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()], fmt: Format = JSON) -> None:
    """Restore an archived feature flag."""
    with _ws(ctx) as ws:
        emit(ws.restore_feature_flag(flag_id), fmt)


@flags_app.command("history")
@handled
def flags_history(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()],
                  page: Annotated[int | None, typer.Option("--page")] = None,
                  page_size: Annotated[int | None, typer.Option("--page-size")] = None,
                  fmt: Format = JSON) -> None:
    """A flag's change history."""
    with _ws(ctx) as ws:
        emit(ws.get_flag_history(flag_id, page=page, page_size=page_size), fmt)


@flags_app.command("limits")
@handled
def flags_limits(ctx: typer.Context, fmt: Format = JSON) -> None:
    """The project's flag limits."""
    with _ws(ctx) as ws:
        emit(ws.get_flag_limits(), fmt)


# -------------------------------------------------------------------------------------------------- experiments
experiments_app = typer.Typer(help="Experiments.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")


@experiments_app.command("list")
@handled
def experiments_list(ctx: typer.Context,
                     include_archived: Annotated[bool, typer.Option("--include-archived")] = False,
                     fmt: Format = JSON) -> None:
    """List experiments."""
    with _ws(ctx) as ws:
        emit(ws.list_experiments(include_archived=include_archived), fmt)


@experiments_app.command("get")
@handled
def experiments_get(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                    fmt: Format = JSON) -> None:
    """Show an experiment."""
    with _ws(ctx) as ws:
        emit(ws.get_experiment(experiment_id), fmt)


@experiments_app.command("create")
@handled
def experiments_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
                       description: Annotated[str | None, typer.Option("--description")] = None,
                       hypothesis: Annotated[str | None, typer.Option("--hypothesis")] = None,
                       fmt: Format = JSON) -> None:
    """Create a draft experiment."""
    from mixhouse.client.types import CreateExperimentParams

    with _ws(ctx) as ws:
        emit(ws.create_experiment(CreateExperimentParams(name=name, description=description,
                                                         hypothesis=hypothesis)), fmt)


@experiments_app.command("launch")
@handled
def experiments_launch(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                       fmt: Format = JSON) -> None:
    """Launch a draft experiment."""
    with _ws(ctx) as ws:
        emit(ws.launch_experiment(experiment_id), fmt)


@experiments_app.command("conclude")
@handled
def experiments_conclude(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                         end_date: Annotated[str | None, typer.Option("--end-date")] = None,
                         fmt: Format = JSON) -> None:
    """Conclude an active experiment."""
    from mixhouse.client.types import ExperimentConcludeParams

    with _ws(ctx) as ws:
        emit(ws.conclude_experiment(experiment_id, params=ExperimentConcludeParams(end_date=end_date)), fmt)


@experiments_app.command("decide")
@handled
def experiments_decide(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                       success: Annotated[bool, typer.Option("--success/--fail")],
                       variant: Annotated[str | None, typer.Option("--variant")] = None,
                       message: Annotated[str | None, typer.Option("--message")] = None,
                       fmt: Format = JSON) -> None:
    """Record the decision of a concluded experiment."""
    from mixhouse.client.types import ExperimentDecideParams

    with _ws(ctx) as ws:
        emit(ws.decide_experiment(experiment_id, ExperimentDecideParams(success=success, variant=variant,
                                                                        message=message)), fmt)


@experiments_app.command("delete")
@handled
def experiments_delete(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()]) -> None:
    """Delete an experiment."""
    with _ws(ctx) as ws:
        ws.delete_experiment(experiment_id)
    typer.echo(f"Deleted experiment {experiment_id}", err=True)


# -------------------------------------------------------------------------------------------------- annotations
annotations_app = typer.Typer(help="Annotations.", no_args_is_help=True)
app.add_typer(annotations_app, name="annotations")


@annotations_app.command("list")
@handled
def annotations_list(ctx: typer.Context, from_date: Annotated[str | None, typer.Option("--from")] = None,
                     to_date: Annotated[str | None, typer.Option("--to")] = None,
                     tags: Annotated[str | None, typer.Option("--tags")] = None, fmt: Format = JSON) -> None:
    """List annotations."""
    with _ws(ctx) as ws:
        emit(ws.list_annotations(from_date=from_date, to_date=to_date, tags=_ids(tags)), fmt)


@annotations_app.command("create")
@handled
def annotations_create(ctx: typer.Context, date: Annotated[str, typer.Option("--date")],
                       description: Annotated[str, typer.Option("--description")],
                       tags: Annotated[str | None, typer.Option("--tags")] = None, fmt: Format = JSON) -> None:
    """Create an annotation."""
    from mixhouse.client.types import CreateAnnotationParams

    with _ws(ctx) as ws:
        emit(ws.create_annotation(CreateAnnotationParams(date=date, description=description, tags=_ids(tags))), fmt)


@annotations_app.command("delete")
@handled
def annotations_delete(ctx: typer.Context, annotation_id: Annotated[int, typer.Argument()]) -> None:
    """Delete an annotation."""
    with _ws(ctx) as ws:
        ws.delete_annotation(annotation_id)
    typer.echo(f"Deleted annotation {annotation_id}", err=True)


# ----------------------------------------------------------------------------------------------------- webhooks
webhooks_app = typer.Typer(help="Project webhooks.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
@handled
def webhooks_list(ctx: typer.Context, fmt: Format = JSON) -> None:
    """List webhooks."""
    with _ws(ctx) as ws:
        emit(ws.list_webhooks(), fmt)


@webhooks_app.command("create")
@handled
def webhooks_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
                    url: Annotated[str, typer.Option("--url")], fmt: Format = JSON) -> None:
    """Create a webhook."""
    from mixhouse.client.types import CreateWebhookParams

    with _ws(ctx) as ws:
        emit(ws.create_webhook(CreateWebhookParams(name=name, url=url)), fmt)


@webhooks_app.command("delete")
@handled
def webhooks_delete(ctx: typer.Context, webhook_id: Annotated[str, typer.Argument()]) -> None:
    """Delete a webhook."""
    with _ws(ctx) as ws:
        ws.delete_webhook(webhook_id)
    typer.echo(f"Deleted webhook {webhook_id}", err=True)


# ----------------------------------------------------------------------------------------------- more commands
@inspect_app.command("subproperties")
@handled
def inspect_subproperties(ctx: typer.Context, property_name: Annotated[str, typer.Option("--property", "-p")],
                          event: Annotated[str | None, typer.Option("--event", "-e")] = None,
                          sample_size: Annotated[int, typer.Option("--sample-size", "-s")] = 50,
                          fmt: Format = JSON) -> None:
    """Keys of an object-valued property."""
    with _ws(ctx) as ws:
        emit(ws.subproperties(property_name, event=event, sample_size=sample_size), fmt)


def _bulk_delete(app_: typer.Typer, method: str, what: str) -> None:
    def command(ctx: typer.Context, ids: Annotated[str, typer.Option("--ids", help="Comma-separated ids.")]) -> None:
        wanted = _ids(ids) or []
        with _ws(ctx) as ws:
            getattr(ws, method)(wanted)
        typer.echo(f"Deleted {len(wanted)} {what}", err=True)

    command.__doc__ = f"Delete several {what} at once."
    app_.command("bulk-delete")(handled(command))


_bulk_delete(dashboards_app, "bulk_delete_dashboards", "dashboards")
_bulk_delete(reports_app, "bulk_delete_bookmarks", "reports")
_bulk_delete(cohorts_app, "bulk_delete_cohorts", "cohorts")


@flags_app.command("update")
@handled
def flags_update(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()],
                 name: Annotated[str | None, typer.Option("--name")] = None,
                 key: Annotated[str | None, typer.Option("--key")] = None,
                 status: Annotated[str | None, typer.Option("--status")] = None,
                 ruleset: Annotated[str | None, typer.Option("--ruleset", help="JSON or @file.")] = None,
                 description: Annotated[str | None, typer.Option("--description")] = None,
                 fmt: Format = JSON) -> None:
    """Replace a flag (unspecified fields keep their current values)."""
    from mixhouse.client.types import UpdateFeatureFlagParams

    with _ws(ctx) as ws:
        current = ws.get_feature_flag(flag_id)
        params = UpdateFeatureFlagParams.model_validate({
            "name": name or current.name, "key": key or current.key, "status": status or current.status,
            "ruleset": _json_arg(ruleset, "--ruleset") if ruleset else (current.ruleset or {}),
            "description": description if description is not None else current.description,
            "tags": current.tags or [], "context": current.context or "distinct_id",
            "serving_method": current.serving_method or "client"})
        emit(ws.update_feature_flag(flag_id, params), fmt)


@flags_app.command("duplicate")
@handled
def flags_duplicate(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()], fmt: Format = JSON) -> None:
    """Copy a flag (disabled)."""
    with _ws(ctx) as ws:
        emit(ws.duplicate_feature_flag(flag_id), fmt)


@flags_app.command("set-test-users")
@handled
def flags_set_test_users(ctx: typer.Context, flag_id: Annotated[str, typer.Argument()],
                         users: Annotated[str, typer.Option("--users", help='JSON {"variant": "distinct_id"}.')]
                         ) -> None:
    """Pin test users to variants."""
    with _ws(ctx) as ws:
        ws.set_flag_test_users(flag_id, {"users": _json_arg(users, "--users")})
    typer.echo(f"Set test users of flag {flag_id}", err=True)


@experiments_app.command("archive")
@handled
def experiments_archive(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()]) -> None:
    """Archive an experiment."""
    with _ws(ctx) as ws:
        ws.archive_experiment(experiment_id)
    typer.echo(f"Archived experiment {experiment_id}", err=True)


@experiments_app.command("restore")
@handled
def experiments_restore(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                        fmt: Format = JSON) -> None:
    """Restore an archived experiment."""
    with _ws(ctx) as ws:
        emit(ws.restore_experiment(experiment_id), fmt)


@experiments_app.command("duplicate")
@handled
def experiments_duplicate(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                          name: Annotated[str, typer.Option("--name")], fmt: Format = JSON) -> None:
    """Copy an experiment as a new draft."""
    with _ws(ctx) as ws:
        emit(ws.duplicate_experiment(experiment_id, {"name": name}), fmt)


@experiments_app.command("erf")
@handled
def experiments_erf(ctx: typer.Context, fmt: Format = JSON) -> None:
    """Experiments in the experiment-results format."""
    with _ws(ctx) as ws:
        emit(ws.list_erf_experiments(), fmt)


@annotations_app.command("get")
@handled
def annotations_get(ctx: typer.Context, annotation_id: Annotated[int, typer.Argument()],
                    fmt: Format = JSON) -> None:
    """Show an annotation."""
    with _ws(ctx) as ws:
        emit(ws.get_annotation(annotation_id), fmt)


@annotations_app.command("update")
@handled
def annotations_update(ctx: typer.Context, annotation_id: Annotated[int, typer.Argument()],
                       description: Annotated[str | None, typer.Option("--description")] = None,
                       tags: Annotated[str | None, typer.Option("--tags")] = None, fmt: Format = JSON) -> None:
    """Change an annotation."""
    from mixhouse.client.types import UpdateAnnotationParams

    with _ws(ctx) as ws:
        emit(ws.update_annotation(annotation_id, UpdateAnnotationParams(description=description,
                                                                        tags=_ids(tags))), fmt)


annotation_tags_app = typer.Typer(help="Annotation tags.", no_args_is_help=True)
annotations_app.add_typer(annotation_tags_app, name="tags")


@annotation_tags_app.command("list")
@handled
def annotation_tags_list(ctx: typer.Context, fmt: Format = JSON) -> None:
    """List annotation tags."""
    with _ws(ctx) as ws:
        emit(ws.list_annotation_tags(), fmt)


@annotation_tags_app.command("create")
@handled
def annotation_tags_create(ctx: typer.Context, name: Annotated[str, typer.Option("--name")],
                           fmt: Format = JSON) -> None:
    """Create an annotation tag."""
    with _ws(ctx) as ws:
        emit(ws.create_annotation_tag({"name": name}), fmt)


@webhooks_app.command("update")
@handled
def webhooks_update(ctx: typer.Context, webhook_id: Annotated[str, typer.Argument()],
                    name: Annotated[str | None, typer.Option("--name")] = None,
                    url: Annotated[str | None, typer.Option("--url")] = None,
                    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
                    fmt: Format = JSON) -> None:
    """Change a webhook."""
    from mixhouse.client.types import UpdateWebhookParams

    with _ws(ctx) as ws:
        emit(ws.update_webhook(webhook_id, UpdateWebhookParams(name=name, url=url, is_enabled=enabled)), fmt)


@webhooks_app.command("test")
@handled
def webhooks_test(ctx: typer.Context, url: Annotated[str, typer.Option("--url")],
                  name: Annotated[str | None, typer.Option("--name")] = None, fmt: Format = JSON) -> None:
    """Send a test message to a URL."""
    from mixhouse.client.types import WebhookTestParams

    with _ws(ctx) as ws:
        emit(ws.test_webhook(WebhookTestParams(url=url, name=name)), fmt)


# ------------------------------------------------------------------------------------------------------- alerts
alerts_app = typer.Typer(help="Custom alerts on saved Insights reports.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
@handled
def alerts_list(ctx: typer.Context, fmt: Format = JSON) -> None:
    """List alerts."""
    with _ws(ctx) as ws:
        emit(ws.list_alerts(), fmt)


@alerts_app.command("get")
@handled
def alerts_get(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """Show an alert."""
    with _ws(ctx) as ws:
        emit(ws.get_alert(alert_id), fmt)


@alerts_app.command("create")
@handled
def alerts_create(ctx: typer.Context, bookmark_id: Annotated[int, typer.Option("--bookmark-id")],
                  name: Annotated[str, typer.Option("--name")],
                  condition: Annotated[str, typer.Option("--condition", help="JSON or @file.")],
                  frequency: Annotated[int, typer.Option("--frequency", help="Seconds between checks.")] = 86400,
                  subscriptions: Annotated[str, typer.Option("--subscriptions", help="JSON list or @file.")] = "[]",
                  paused: Annotated[bool, typer.Option("--paused/--active")] = False,
                  fmt: Format = JSON) -> None:
    """Create an alert on a saved Insights report."""
    from mixhouse.client.types import CreateAlertParams

    with _ws(ctx) as ws:
        emit(ws.create_alert(CreateAlertParams(
            bookmark_id=bookmark_id, name=name, condition=_json_arg(condition, "--condition"), frequency=frequency,
            paused=paused, subscriptions=_json_arg(subscriptions, "--subscriptions"))), fmt)


@alerts_app.command("delete")
@handled
def alerts_delete(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()]) -> None:
    """Delete an alert."""
    with _ws(ctx) as ws:
        ws.delete_alert(alert_id)
    typer.echo(f"Deleted alert {alert_id}", err=True)


@alerts_app.command("count")
@handled
def alerts_count(ctx: typer.Context, fmt: Format = JSON) -> None:
    """The project's alert count and limit."""
    with _ws(ctx) as ws:
        emit(ws.get_alert_count(), fmt)


@alerts_app.command("history")
@handled
def alerts_history(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                   page_size: Annotated[int | None, typer.Option("--page-size")] = None,
                   next_cursor: Annotated[str | None, typer.Option("--next-cursor")] = None,
                   fmt: Format = JSON) -> None:
    """An alert's checks, newest first."""
    with _ws(ctx) as ws:
        emit(ws.get_alert_history(alert_id, page_size=page_size, next_cursor=next_cursor), fmt)


if __name__ == "__main__":  # pragma: no cover - `python -m mixhouse.cli.mp`
    app()
