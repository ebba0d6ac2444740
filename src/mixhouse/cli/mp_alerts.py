"""``mp`` commands for notifications: ``webhooks`` and ``alerts``."""

from __future__ import annotations

from typing import Annotated

import typer

from mixhouse.cli.mp_common import JSON, Format, _ids, _json_arg, _ws, handled
from mixhouse.cli.mp_output import emit

# ----------------------------------------------------------------------------------------------------- webhooks
webhooks_app = typer.Typer(help="Project webhooks.", no_args_is_help=True)


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



@alerts_app.command("update")
@handled
def alerts_update(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                  name: Annotated[str | None, typer.Option("--name")] = None,
                  bookmark_id: Annotated[int | None, typer.Option("--bookmark-id")] = None,
                  condition: Annotated[str | None, typer.Option("--condition", help="JSON or @file.")] = None,
                  frequency: Annotated[int | None, typer.Option("--frequency", help="Seconds between checks.")] = None,
                  paused: Annotated[bool | None, typer.Option("--paused/--active")] = None,
                  subscriptions: Annotated[str | None, typer.Option("--subscriptions",
                                                                    help="JSON list or @file.")] = None,
                  windows: Annotated[str | None, typer.Option("--notification-windows",
                                                              help="JSON or @file.")] = None,
                  fmt: Format = JSON) -> None:
    """Change an alert; options left out stay as they are."""
    from mixhouse.client.types import UpdateAlertParams

    with _ws(ctx) as ws:
        emit(ws.update_alert(alert_id, UpdateAlertParams(
            name=name, bookmark_id=bookmark_id, condition=_json_arg(condition, "--condition"), frequency=frequency,
            paused=paused, subscriptions=_json_arg(subscriptions, "--subscriptions"),
            notification_windows=_json_arg(windows, "--notification-windows"))), fmt)


@alerts_app.command("bulk-delete")
@handled
def alerts_bulk_delete(ctx: typer.Context,
                       ids: Annotated[str, typer.Option("--ids", help="Comma-separated alert ids.")]) -> None:
    """Delete several alerts at once."""
    wanted = _ids(ids) or []
    with _ws(ctx) as ws:
        ws.bulk_delete_alerts(wanted)
    typer.echo(f"Deleted {len(wanted)} alerts", err=True)


@alerts_app.command("test")
@handled
def alerts_test(ctx: typer.Context, bookmark_id: Annotated[int, typer.Option("--bookmark-id")],
                name: Annotated[str, typer.Option("--name")],
                condition: Annotated[str, typer.Option("--condition", help="JSON or @file.")],
                frequency: Annotated[int, typer.Option("--frequency", help="Seconds between checks.")] = 86400,
                subscriptions: Annotated[str, typer.Option("--subscriptions", help="JSON list or @file.")] = "[]",
                fmt: Format = JSON) -> None:
    """Send a test notification for an alert definition, without saving the alert."""
    from mixhouse.client.types import CreateAlertParams

    with _ws(ctx) as ws:
        emit(ws.test_alert(CreateAlertParams(
            bookmark_id=bookmark_id, name=name, condition=_json_arg(condition, "--condition"), frequency=frequency,
            paused=False, subscriptions=_json_arg(subscriptions, "--subscriptions"))), fmt)


@alerts_app.command("validate")
@handled
def alerts_validate(ctx: typer.Context,
                    alert_ids: Annotated[str, typer.Option("--alert-ids", help="Comma-separated alert ids.")],
                    bookmark_type: Annotated[str, typer.Option("--bookmark-type", help="e.g. insights.")],
                    bookmark_params: Annotated[str, typer.Option("--bookmark-params", help="JSON or @file.")],
                    fmt: Format = JSON) -> None:
    """Check whether alerts still fit a report's type and params (before the report is changed)."""
    from mixhouse.client.types import ValidateAlertsForBookmarkParams

    with _ws(ctx) as ws:
        emit(ws.validate_alerts_for_bookmark(ValidateAlertsForBookmarkParams(
            alert_ids=_ids(alert_ids) or [], bookmark_type=bookmark_type,
            bookmark_params=_json_arg(bookmark_params, "--bookmark-params"))), fmt)


@alerts_app.command("screenshot")
@handled
def alerts_screenshot(ctx: typer.Context,
                      gcs_key: Annotated[str, typer.Option("--gcs-key", help="The key from `mp alerts history`.")],
                      fmt: Format = JSON) -> None:
    """A signed URL of the chart an alert check read."""
    with _ws(ctx) as ws:
        emit(ws.get_alert_screenshot_url(gcs_key), fmt)
