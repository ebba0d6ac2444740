"""``mixhouse accounts`` and ``mixhouse workspaces``: service accounts with a role in a project, and a project's
data views; server running or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer

from mixhouse.cli.options import DEFAULT_DATA_DIR, DataDir, MetaUrl
from mixhouse.errors import MixhouseError

accounts_app = typer.Typer(help="Add service accounts with a role in a project.", no_args_is_help=True)
workspaces_app = typer.Typer(help="Create and list a project's workspaces (data views).", no_args_is_help=True)
ProjectId = Annotated[int, typer.Argument(help="The project id.")]
T = TypeVar("T")


def _with_store(data_dir: DataDir, meta_url: str | None, work: Callable[[Any], T]) -> T:
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            return work(store)
    except MixhouseError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None


@accounts_app.command("add")
def accounts_add(
    project_id: ProjectId,
    role: Annotated[str, typer.Option("--role", help="owner, admin, analyst or consumer.")] = "analyst",
    name: Annotated[str, typer.Option("--name", help="What the account is for.")] = "service account",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Print {"username", "secret", "project_id", "role"} (the secret is shown once)."""
    username, secret = _with_store(data_dir, meta_url, lambda store: store.add_service_account(project_id, role, name))
    typer.echo(orjson.dumps({"username": username, "secret": secret, "project_id": project_id,
                             "role": role}).decode())


@workspaces_app.command("create")
def workspaces_create(
    project_id: ProjectId,
    name: Annotated[str, typer.Argument(help="The data view's name.")],
    description: Annotated[str, typer.Option("--description", help="What it is for.")] = "",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Print the new workspace as JSON."""
    from mixhouse.services.access import workspace_json

    made = _with_store(data_dir, meta_url,
                       lambda store: store.create_workspace(project_id, name, description=description))
    typer.echo(orjson.dumps(workspace_json(made)).decode())


@workspaces_app.command("list")
def workspaces_list(project_id: ProjectId, data_dir: DataDir = DEFAULT_DATA_DIR, meta_url: MetaUrl = None) -> None:
    """The project's workspaces as JSON lines."""
    from mixhouse.services.access import workspace_json

    for workspace in _with_store(data_dir, meta_url, lambda store: store.list_workspaces(project_id)):
        typer.echo(orjson.dumps(workspace_json(workspace)).decode())
