"""``mp``: the Mixpanel-compatible client CLI on the Workspace library (a Mixhouse server or Mixpanel itself).

Global options pick the account, project, workspace or target (each also from ``MP_*`` environment variables, as
the library resolves them), and ``--quiet/-q`` turns off spinners and progress bars on stderr; every command takes
``--format/-f json|jsonl|table|csv|plain``. Errors go to stderr with what to fix, and exit codes 1 (general),
2 (authentication), 3 (invalid request), 4 (not found), 5 (rate limited).

This module builds ``app`` from the command groups: ``mp_common`` (shared helpers), ``mp_config`` (login, account,
project, workspace, target), ``mp_session`` (session, help, account export-bridge/remove-bridge),
``mp_unsupported`` (the groups the server has no API for: they fail naming the command),
``mp_queries`` (inspect, query), ``mp_stream`` (stream events and profiles),
``mp_entities`` (dashboards, reports, cohorts, annotations), ``mp_dashboards`` (blueprints, RCA, ERF and card
edits of dashboards), ``mp_flags`` (flags, experiments), ``mp_alerts`` (webhooks, alerts) and
``mp_custom_properties`` (custom-properties).
"""

from __future__ import annotations

from typing import Annotated

import typer

from mixhouse import __version__
from mixhouse.cli.mp_alerts import alerts_app, webhooks_app
from mixhouse.cli.mp_common import set_quiet
from mixhouse.cli.mp_config import account_app, login, project_app, target_app, workspace_app
from mixhouse.cli.mp_custom_properties import custom_properties_app
from mixhouse.cli.mp_dashboards import dashboards_app
from mixhouse.cli.mp_entities import annotations_app, cohorts_app, reports_app
from mixhouse.cli.mp_flags import experiments_app, flags_app
from mixhouse.cli.mp_queries import inspect_app, query_app
from mixhouse.cli.mp_session import help_command, session
from mixhouse.cli.mp_stream import stream_app
from mixhouse.cli.mp_unsupported import register_unsupported

app = typer.Typer(help="mp: query and manage a Mixhouse (or Mixpanel) project.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", "-a", help="Account name (env MP_ACCOUNT).")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project id (env MP_PROJECT_ID).")] = None,
    workspace: Annotated[int | None, typer.Option("--workspace", "-w", help="Workspace id (MP_WORKSPACE_ID).")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Target name (env MP_TARGET).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No spinner or progress bar on stderr.")] = False,
) -> None:
    ctx.obj = {"account": account, "project": project, "workspace": workspace, "target": target, "quiet": quiet}
    set_quiet(quiet)


app.command()(login)
app.command("session")(session)
app.command("help")(help_command)


@app.command()
def version() -> None:
    """Print the client version."""
    typer.echo(__version__)


app.add_typer(account_app, name="account")
app.add_typer(project_app, name="project")
app.add_typer(workspace_app, name="workspace")
app.add_typer(target_app, name="target")
app.add_typer(inspect_app, name="inspect")
app.add_typer(query_app, name="query")
app.add_typer(stream_app, name="stream")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(reports_app, name="reports")
app.add_typer(cohorts_app, name="cohorts")
app.add_typer(flags_app, name="flags")
app.add_typer(experiments_app, name="experiments")
app.add_typer(annotations_app, name="annotations")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(alerts_app, name="alerts")
app.add_typer(custom_properties_app, name="custom-properties")
register_unsupported(app)


if __name__ == "__main__":  # pragma: no cover - `python -m mixhouse.cli.mp`
    app()
