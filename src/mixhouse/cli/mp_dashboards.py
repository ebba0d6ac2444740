"""More ``mp dashboards`` commands: blueprints, root-cause-analysis dashboards, ERF metrics and in-place card edits.

They go on ``mp_entities.dashboards_app`` (which keeps the list/get/create/... commands), so ``mp dashboards``
stays one group; ``mp.py`` imports ``dashboards_app`` from here so that these are registered.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mixhouse.cli.mp_common import JSON, Format, _json_arg, _ws, handled
from mixhouse.cli.mp_entities import dashboards_app
from mixhouse.cli.mp_output import emit

__all__ = ["dashboards_app"]


@dashboards_app.command("blueprints")
@handled
def dashboards_blueprints(ctx: typer.Context,
                          include_reports: Annotated[bool, typer.Option(
                              "--include-reports", help="Add each template's reports.")] = False,
                          fmt: Format = JSON) -> None:
    """List the dashboard blueprint templates."""
    with _ws(ctx) as ws:
        emit(ws.list_blueprint_templates(include_reports=include_reports), fmt)


@dashboards_app.command("blueprint-create")
@handled
def dashboards_blueprint_create(ctx: typer.Context,
                                template_type: Annotated[str, typer.Argument(
                                    help="Template type, as `mp dashboards blueprints` names it.")],
                                fmt: Format = JSON) -> None:
    """Create a dashboard from a blueprint template."""
    with _ws(ctx) as ws:
        emit(ws.create_blueprint(template_type), fmt)


@dashboards_app.command("rca")
@handled
def dashboards_rca(ctx: typer.Context,
                   source_id: Annotated[int, typer.Option("--source-id", help="The report to analyse.")],
                   source_data: Annotated[str, typer.Option(
                       "--source-data", help='Source data, JSON or @file, e.g. {"type": "anomaly"}.')],
                   fmt: Format = JSON) -> None:
    """Create a root-cause-analysis dashboard for a report's metric."""
    from mixhouse.client.types import CreateRcaDashboardParams

    data = _json_arg(source_data, "--source-data")
    if not isinstance(data, dict):
        raise ValueError("--source-data must be a JSON object")
    with _ws(ctx) as ws:
        emit(ws.create_rca_dashboard(CreateRcaDashboardParams.model_validate(
            {"rca_source_id": source_id, "rca_source_data": data})), fmt)


@dashboards_app.command("erf")
@handled
def dashboards_erf(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()], fmt: Format = JSON) -> None:
    """A dashboard's ERF metrics (each report's event and math)."""
    with _ws(ctx) as ws:
        emit(ws.get_dashboard_erf(dashboard_id), fmt)


@dashboards_app.command("update-text-card")
@handled
def dashboards_update_text_card(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()],
                                text_card_id: Annotated[int, typer.Argument()],
                                markdown: Annotated[str | None, typer.Option(
                                    "--markdown", help="The card's new Markdown.")] = None) -> None:
    """Change a text card's Markdown on a dashboard."""
    with _ws(ctx) as ws:
        ws.update_text_card(dashboard_id, text_card_id, {"markdown": markdown})
    typer.echo(f"Updated text card {text_card_id} on dashboard {dashboard_id}", err=True)


@dashboards_app.command("update-report-link")
@handled
def dashboards_update_report_link(ctx: typer.Context, dashboard_id: Annotated[int, typer.Argument()],
                                  report_link_id: Annotated[int, typer.Argument()],
                                  link_type: Annotated[str, typer.Option(
                                      "--type", help="link, embedded or report.")]) -> None:
    """Change how a report-link card on a dashboard shows its report."""
    with _ws(ctx) as ws:
        ws.update_report_link(dashboard_id, report_link_id, {"type": link_type})
    typer.echo(f"Updated report link {report_link_id} on dashboard {dashboard_id}", err=True)
