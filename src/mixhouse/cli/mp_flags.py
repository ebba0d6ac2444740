"""``mp`` commands for feature flags and experiments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mixhouse.cli.mp_common import JSON, Format, _json_arg, _ws, handled
from mixhouse.cli.mp_output import emit

# -------------------------------------------------------------------------------------------------------- flags
flags_app = typer.Typer(help="Feature flags.", no_args_is_help=True)


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


# -------------------------------------------------------------------------------------------------- experiments
experiments_app = typer.Typer(help="Experiments.", no_args_is_help=True)


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


@experiments_app.command("update")
@handled
def experiments_update(ctx: typer.Context, experiment_id: Annotated[str, typer.Argument()],
                       name: Annotated[str | None, typer.Option("--name")] = None,
                       description: Annotated[str | None, typer.Option("--description")] = None,
                       hypothesis: Annotated[str | None, typer.Option("--hypothesis")] = None,
                       variants: Annotated[str | None, typer.Option("--variants", help="JSON or @file.")] = None,
                       metrics: Annotated[str | None, typer.Option("--metrics", help="JSON or @file.")] = None,
                       settings: Annotated[str | None, typer.Option("--settings", help="JSON or @file.")] = None,
                       tags: Annotated[str | None, typer.Option("--tags", help="Comma-separated.")] = None,
                       fmt: Format = JSON) -> None:
    """Change an experiment; options left out stay as they are."""
    from mixhouse.client.types import UpdateExperimentParams

    params = UpdateExperimentParams(
        name=name, description=description, hypothesis=hypothesis, variants=_json_arg(variants, "--variants"),
        metrics=_json_arg(metrics, "--metrics"), settings=_json_arg(settings, "--settings"),
        tags=None if tags is None else [tag.strip() for tag in tags.split(",") if tag.strip()])
    with _ws(ctx) as ws:
        emit(ws.update_experiment(experiment_id, params), fmt)


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
