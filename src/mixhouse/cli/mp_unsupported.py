"""The ``mp`` command groups of the original CLI whose server side Mixhouse does not have yet.

Each takes any subcommand and arguments and fails with exit code 1 and a message naming the command — never a
fake success. ``mp GROUP --help`` says the same.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from mixhouse.cli.mp_common import Exit

#: group name → what the server lacks
UNSUPPORTED_GROUPS: dict[str, str] = {
    "lexicon": "Lexicon (event and property definitions, tags)",
    "schemas": "the schema registry and schema enforcement",
    "drop-filters": "drop filters",
    "custom-events": "custom events",
    "metrics": "saved metrics",
    "behaviors": "saved behaviors",
    "lookup-tables": "lookup tables",
    "business-context": "business context",
    "replays": "session replays",
}


def _refusal(group: str, area: str) -> Callable[[typer.Context], None]:
    def refuse(ctx: typer.Context) -> None:
        command = " ".join(["mp", group, *ctx.args])
        sys.stderr.write(f"Error: `{command}` is not supported by this server yet (it has no {area} API)\n")
        raise typer.Exit(Exit.GENERAL)

    refuse.__doc__ = f"Not supported by this server yet: {area}."
    return refuse


def register_unsupported(app: typer.Typer) -> None:
    """Add one refusing command per group of :data:`UNSUPPORTED_GROUPS` to ``app``."""
    for group, area in UNSUPPORTED_GROUPS.items():
        app.command(group, context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                    rich_help_panel="Not supported by this server yet")(_refusal(group, area))
