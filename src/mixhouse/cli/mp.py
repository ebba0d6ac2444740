"""``mp``: the Mixpanel-compatible client CLI (its command groups arrive with the Workspace client)."""

from __future__ import annotations

import typer

from mixhouse import __version__

app = typer.Typer(help="mp: query and manage a Mixhouse (or Mixpanel) project.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the client version."""
    typer.echo(__version__)
