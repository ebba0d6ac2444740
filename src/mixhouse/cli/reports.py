"""``mixhouse reports``: save and list reports (bookmarks) in a data directory, server running or not."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from mixhouse.cli.options import DEFAULT_DATA_DIR, DataDir, MetaUrl
from mixhouse.errors import MixhouseError, ValidationError

reports_app = typer.Typer(help="Save and list reports (saved funnels, Insights, retention, flows).",
                          no_args_is_help=True)

ProjectId = Annotated[int, typer.Option("--project-id", help="The project's id.")]
Name = Annotated[str, typer.Option("--name", help="The report's name.")]


def _save(data_dir: Path, meta_url: str | None, project_id: int, report_type: str, name: str,
          params: dict[str, Any]) -> None:
    from mixhouse.meta.store import MetaStore
    from mixhouse.services.funnel_definition import classic_definition

    try:
        if report_type == "funnels":
            classic_definition(params, "UTC")  # refuse a funnel that /funnels could not run (any timezone will do)
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            report = store.create_report(project_id, report_type, name, params)
    except MixhouseError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    body: dict[str, Any] = {"id": report.id, "type": report.type, "name": report.name}
    if report.type == "funnels":
        body["funnel_id"] = report.id
    typer.echo(orjson.dumps(body).decode())


@reports_app.command("create")
def create(
    project_id: ProjectId,
    name: Name,
    report_type: Annotated[str, typer.Option("--type", help="insights, funnels, retention or flows.")],
    params: Annotated[str, typer.Option("--params", help="Bookmark params as JSON, or @FILE.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Save a report from its bookmark params; prints its id as JSON."""
    text = Path(params[1:]).read_text() if params.startswith("@") else params
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        typer.echo(f"error: --params is not JSON: {exc}", err=True)
        raise typer.Exit(code=2) from None
    _save(data_dir, meta_url, project_id, report_type, name, parsed)

@reports_app.command("create-funnel")
def create_funnel(
    project_id: ProjectId,
    name: Name,
    step: Annotated[list[str], typer.Option("--step", help="A step's event name (repeat, in order).")],
    window: Annotated[int, typer.Option("--window", help="Conversion window length.")] = 14,
    window_unit: Annotated[str, typer.Option("--window-unit", help="second … month.")] = "day",
    data_dir: DataDir = DEFAULT_DATA_DIR,
    meta_url: MetaUrl = None,
) -> None:
    """Save a funnel over the given steps; prints its funnel_id as JSON."""
    from mixhouse.services.funnel_definition import funnel_params

    try:
        params = funnel_params(step, window=window, unit=window_unit)
    except ValidationError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    _save(data_dir, meta_url, project_id, "funnels", name, params)

@reports_app.command("list")
def list_reports(project_id: ProjectId, data_dir: DataDir = DEFAULT_DATA_DIR, meta_url: MetaUrl = None) -> None:
    """The project's saved reports as JSON lines."""
    from mixhouse.meta.store import MetaStore

    try:
        with MetaStore.for_data_dir(data_dir, meta_url) as store:
            store.migrate()
            reports = store.list_reports(project_id)
    except MixhouseError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    for report in reports:
        typer.echo(orjson.dumps({"id": report.id, "type": report.type, "name": report.name}).decode())
