"""``mixhouse``: run the server and manage its data directory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from mixhouse import __version__
from mixhouse.cli.access import accounts_app, workspaces_app
from mixhouse.cli.options import DEFAULT_DATA_DIR, DataDir, MetaUrl
from mixhouse.cli.reports import reports_app
from mixhouse.cli.tokens import tokens_app
from mixhouse.errors import MixhouseError

app = typer.Typer(help="Mixhouse server: Mixpanel-compatible product analytics on ClickHouse.", no_args_is_help=True)
projects_app = typer.Typer(help="Create and list projects.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")
console = Console()

app.add_typer(reports_app, name="reports")
app.add_typer(tokens_app, name="tokens")
app.add_typer(accounts_app, name="accounts")
app.add_typer(workspaces_app, name="workspaces")


def _fail(exc: MixhouseError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(code=2)


def _created_json(created: Any) -> dict[str, Any]:
    return {
        "project_id": created.project.id,
        "token": created.project.token,
        "api_secret": created.api_secret,
        "service_account": {
            "username": created.service_account_username,
            "secret": created.service_account_secret,
        },
    }


@app.command()
def serve(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate: serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key for --tls-cert.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Create a demo project with data if none exists.")] = False,
    demo_events: Annotated[int, typer.Option("--demo-events", help="Events in the demo project.")] = 100_000,
    fsync: Annotated[bool, typer.Option("--fsync", help="fsync every insert (power-loss durability).")] = False,
    geoip_db: Annotated[Path | None, typer.Option("--geoip-db", envvar="MIXHOUSE_GEOIP_DB")] = None,
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Start the server on embedded storage (chDB in DATA_DIR; metadata in DATA_DIR/meta.sqlite3 or --meta-url)."""
    import uvicorn

    from mixhouse.config import Settings
    from mixhouse.server.app import create_app
    from mixhouse.services.runtime import Runtime

    if (tls_cert is None) != (tls_key is None):
        console.print("[red]error:[/red] --tls-cert and --tls-key go together")
        raise typer.Exit(code=2)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_env(
        data_dir=data_dir, meta_url=meta_url, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key,
        fsync_after_insert=fsync or None, geoip_db=geoip_db,
    )
    try:
        runtime = Runtime(settings)
    except MixhouseError as exc:
        _fail(exc)
        return
    if demo and not runtime.meta.list_projects():
        from mixhouse.services.demo_loader import load_demo

        summary = load_demo(runtime, events=demo_events)
        typer.echo(f"demo project created: {orjson.dumps(_created_json(summary.created)).decode()}")
    scheme = "https" if tls_cert else "http"
    logging.getLogger("mixhouse").info(
        "mixhouse %s listening on %s://%s:%d data_dir=%s meta=%s", __version__, scheme, host, port,
        data_dir.resolve(), runtime.meta.url.render_as_string(hide_password=True),
    )
    uvicorn.run(
        create_app(settings, runtime=runtime),
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


@projects_app.command("create")
def projects_create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA timezone for reports.")] = "UTC",
    identity_mode: Annotated[str, typer.Option("--identity-mode", help="simplified or original.")] = "simplified",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a project with a token, an API secret and an owner service account (server may be running)."""
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            created = store.create_project(name, timezone=timezone, identity_mode=identity_mode)
    except MixhouseError as exc:
        _fail(exc)
        return
    body = _created_json(created)
    if as_json:
        typer.echo(orjson.dumps(body).decode())
    else:
        for key, value in body.items():
            console.print(f"{key}: {value}")


def _rotate(project_id: int, data_dir: Path, meta_url: str | None, what: str) -> None:
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            value = store.rotate_api_secret(project_id) if what == "api_secret" else store.rotate_token(project_id)
    except MixhouseError as exc:
        _fail(exc)
        return
    typer.echo(orjson.dumps({"project_id": project_id, what: value}).decode())


@projects_app.command("rotate-secret")
def projects_rotate_secret(
    project_id: Annotated[int, typer.Argument(help="The project's id.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Print {"project_id", "api_secret"}: a new API secret; the old one stops working (a running server: within
    10 s)."""
    _rotate(project_id, data_dir, meta_url, "api_secret")


@projects_app.command("rotate-token")
def projects_rotate_token(
    project_id: Annotated[int, typer.Argument(help="The project's id.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Print {"project_id", "token"}: a new project token for SDKs; events with the old one are refused (a running
    server: within 10 s)."""
    _rotate(project_id, data_dir, meta_url, "token")


@projects_app.command("list")
def projects_list(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List projects."""
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            projects = store.list_projects()
    except MixhouseError as exc:
        _fail(exc)
        return
    rows: list[dict[str, Any]] = [
        {"project_id": p.id, "name": p.name, "timezone": p.timezone, "token": p.token,
         "identity_mode": p.identity_mode}
        for p in projects
    ]
    if as_json:
        typer.echo(orjson.dumps(rows).decode())
        return
    table = Table("project_id", "name", "timezone", "identity_mode", "token")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("project_id", "name", "timezone", "identity_mode", "token")))
    console.print(table)


@app.command()
def demo(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
    events: Annotated[int, typer.Option("--events", help="How many events to generate.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed (same seed, same data).")] = 42,
    name: Annotated[str, typer.Option("--name", help="Project name.")] = "Demo",
) -> None:
    """Create a project filled with realistic synthetic data through the ingestion pipeline."""
    from mixhouse.config import Settings
    from mixhouse.services.demo_loader import load_demo
    from mixhouse.services.runtime import Runtime

    try:
        runtime = Runtime(Settings.from_env(data_dir=data_dir, meta_url=meta_url))
    except MixhouseError as exc:
        _fail(exc)
        return
    try:
        summary = load_demo(runtime, name=name, events=events, seed=seed)
    finally:
        runtime.close()
    body = _created_json(summary.created) | {
        "events": summary.events, "profiles": summary.profiles, "groups": summary.groups,
    }
    typer.echo(orjson.dumps(body).decode())


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
