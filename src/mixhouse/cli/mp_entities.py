"""``mp`` commands for saved content: ``dashboards``, ``reports``, ``cohorts`` and ``annotations``."""

from __future__ import annotations

from typing import Annotated

import typer

from mixhouse.cli.mp_common import JSON, Format, _ids, _json_arg, _ws, handled
from mixhouse.cli.mp_output import emit

# --------------------------------------------------------------------------------------------------- dashboards
dashboards_app = typer.Typer(help="Dashboards.", no_args_is_help=True)


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


def _bulk_update(app_: typer.Typer, method: str, entry_type: str, what: str) -> None:
    def command(ctx: typer.Context, entries: Annotated[str, typer.Option(
            "--entries", "-e", help='JSON list (or @file) of {"id": N, field: value, ...}.')]) -> None:
        from mixhouse.client import types

        parsed = _json_arg(entries, "--entries")
        if not isinstance(parsed, list) or not parsed:
            raise ValueError("--entries must be a non-empty JSON list of objects with an id")
        model = getattr(types, entry_type)
        with _ws(ctx) as ws:
            getattr(ws, method)([model.model_validate(entry) for entry in parsed])
        typer.echo(f"Updated {len(parsed)} {what}", err=True)

    command.__doc__ = f"Change several {what} at once."
    app_.command("bulk-update")(handled(command))


_bulk_update(reports_app, "bulk_update_bookmarks", "BulkUpdateBookmarkEntry", "reports")
_bulk_update(cohorts_app, "bulk_update_cohorts", "BulkUpdateCohortEntry", "cohorts")


@reports_app.command("dashboard-ids")
@handled
def reports_dashboard_ids(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                          fmt: Format = JSON) -> None:
    """Ids of the dashboards a report is on."""
    with _ws(ctx) as ws:
        emit(ws.get_bookmark_dashboard_ids(bookmark_id), fmt)


@reports_app.command("linked-dashboards")
@handled
def reports_linked_dashboards(ctx: typer.Context, bookmark_id: Annotated[int, typer.Argument()],
                              fmt: Format = JSON) -> None:
    """Ids of the dashboards that link to a report."""
    with _ws(ctx) as ws:
        emit(ws.bookmark_linked_dashboard_ids(bookmark_id), fmt)


# -------------------------------------------------------------------------------------------------- annotations
annotations_app = typer.Typer(help="Annotations.", no_args_is_help=True)


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
