"""``mp session`` (what the commands would talk as, and why), ``mp account export-bridge|remove-bridge`` and
``mp help`` (the offline API reference of :class:`~mixhouse.client.workspace.Workspace`).

None of these calls the server.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from mixhouse.cli.mp_common import JSON, TABLE, Format, _config, handled
from mixhouse.cli.mp_config import account_app
from mixhouse.cli.mp_output import emit
from mixhouse.errors import ConfigError


def _bridge_row(bridge: Any) -> dict[str, Any]:
    return {"path": str(bridge.path), "account": {"name": bridge.account.name, "type": bridge.account.type,
                                                  "region": bridge.account.region},
            "project": bridge.project, "workspace": bridge.workspace, "headers": sorted(bridge.headers)}


@handled
def session(ctx: typer.Context,
            bridge: Annotated[bool, typer.Option("--bridge", help="Show the bridge file instead.")] = False,
            fmt: Format = JSON) -> None:
    """The resolved account, project and workspace, and where each came from (env, argument, target, bridge file,
    config); no request is made. With --bridge, the bridge file that would be read (or null)."""
    from mixhouse.client.bridge import load_bridge
    from mixhouse.client.config import resolve_session

    if bridge:
        found = load_bridge()
        emit({"bridge": _bridge_row(found) if found else None}, fmt)
        return
    opts = ctx.find_root().obj or {}
    resolved = resolve_session(account=opts.get("account"), project=opts.get("project"),
                               workspace=opts.get("workspace"), target=opts.get("target"))
    sources = resolved.sources
    emit({"account": {"name": resolved.account.name, "type": resolved.account.type,
                      "region": resolved.account.region, "source": sources.get("account")},
          "project": {"id": resolved.project.id, "source": sources.get("project")},
          "workspace": {"id": resolved.workspace.id if resolved.workspace else None,
                        "source": sources.get("workspace")},
          "headers": sorted(resolved.headers)}, fmt)


@account_app.command("export-bridge")
@handled
def account_export_bridge(
    account: Annotated[str | None, typer.Option("--account", help="Account to export (the active one by "
                                                "default).")] = None,
    to: Annotated[Path, typer.Option("--to", help="Where to write the bridge file.")] = Path("mixpanel_auth.json"),
    project: Annotated[str | None, typer.Option("--project", help="Pin a project id in the bridge.")] = None,
    workspace: Annotated[int | None, typer.Option("--workspace", help="Pin a workspace id in the bridge.")] = None,
) -> None:
    """Write the account, with its secret (or OAuth tokens) inline, as a bridge file (mode 0600) that a process
    with no config file reads (MP_AUTH_FILE, ~/.claude/mixpanel/auth.json or ./mixpanel_auth.json)."""
    from mixhouse.client.bridge import export_bridge

    config = _config()
    name = account or config.get_active().get("account")
    if not name:
        raise ConfigError("no account to export: pass --account NAME or run `mp account use NAME`")
    custom = config.custom_header()  # [settings].custom_header travels with the account
    written = export_bridge(config.get_account(name), to, project=project, workspace=workspace,
                            headers={custom[0]: custom[1]} if custom else None)
    typer.echo(f"Wrote the bridge file {written} (it holds the account's secret: keep it private)", err=True)


@account_app.command("remove-bridge")
@handled
def account_remove_bridge(
    at: Annotated[Path | None, typer.Option("--at", help="Bridge file (default: the one that would be "
                                            "read).")] = None,
) -> None:
    """Delete the bridge file; succeeds (exit 0) when there is none."""
    from mixhouse.client.bridge import remove_bridge

    removed = remove_bridge(at)
    typer.echo(f"Removed the bridge file {removed}" if removed else "No bridge file to remove", err=True)


# ------------------------------------------------------------------------------------------------------ mp help


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _parameters(member: Any) -> str:
    """The parameter list without ``self`` and annotations: ``(event, *, from_date=None)``."""
    if isinstance(member, property):
        return ""
    try:
        params = list(inspect.signature(member).parameters.values())[1:]
    except (TypeError, ValueError):
        return ""
    parts: list[str] = []
    star = False
    for param in params:
        if param.kind is param.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = "*" if param.kind is param.VAR_POSITIONAL else "**" if param.kind is param.VAR_KEYWORD else ""
        text = prefix + param.name
        if param.kind is param.VAR_POSITIONAL:
            star = True
        if param.default is not param.empty:
            text += f"={param.default!r}"
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def api_reference() -> list[dict[str, Any]]:
    """Every public Workspace method (with its one-line doc), then the ones this server does not support."""
    from mixhouse.client.workspace import NOT_SUPPORTED, Workspace

    rows: list[dict[str, Any]] = []
    for name, member in inspect.getmembers(Workspace):
        if name.startswith("_") or not (callable(member) or isinstance(member, property)):
            continue
        kind = "property" if isinstance(member, property) else "method"
        rows.append({"name": name, "kind": kind, "supported": True, "parameters": _parameters(member),
                     "summary": _summary(member)})
    known = {row["name"] for row in rows}
    rows.extend({"name": name, "kind": "method", "supported": False, "parameters": "",
                 "summary": f"not supported by this server yet ({area})"}
                for name, area in sorted(NOT_SUPPORTED.items()) if name not in known)
    return rows


@handled
def help_command(name: Annotated[str | None, typer.Argument(help="A Workspace method for its full doc.")] = None,
                 fmt: Format = TABLE) -> None:
    """The Workspace API reference, offline: every method with a one-line summary, or one method in full."""
    rows = api_reference()
    if name is None:
        emit(rows, fmt)
        return
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        raise ValueError(f"Workspace has no method {name!r} (`mp help` lists them)")
    from mixhouse.client.workspace import Workspace

    member = inspect.getattr_static(Workspace, name, None)
    signature = ""
    if row["supported"] and callable(member):
        signature = f"{name}{inspect.signature(member)}"
    doc = inspect.getdoc(member) if row["supported"] else row["summary"]
    if fmt in ("table", "plain"):
        typer.echo(f"{signature or name}\n\n{doc or '(no documentation)'}")
    else:
        emit({**row, "signature": signature, "doc": doc or ""}, fmt)
