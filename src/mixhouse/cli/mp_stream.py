"""``mp stream events`` / ``mp stream profiles``: ``Workspace.stream_events`` (export) and ``stream_profiles``
(engage, page by page) on stdout.

``jsonl`` (the default) and ``plain`` write each record as it arrives; ``json``, ``csv`` and ``table`` collect them
and render once. A progress line on stderr counts the records (a bar against ``--limit`` when given) while the
stream runs, when ``mp_output.progress_allowed`` lets it: stderr is a terminal, no ``mp --quiet``, and stdout is
not that same terminal receiving lines meanwhile. Stdout is the same with or without it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from mixhouse.cli.mp_common import OutputFormat, _ws, handled, quiet_requested
from mixhouse.cli.mp_output import RecordProgress, emit, progress_allowed, render

stream_app = typer.Typer(help="Stream raw events (export) or user profiles (engage).", no_args_is_help=True)

StreamFormat = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format (jsonl streams).")]
_LINE_FORMATS = ("jsonl", "plain")


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def _write(records: Iterator[dict[str, Any]], fmt: str, label: str, total: int | None) -> None:
    streaming = fmt in _LINE_FORMATS
    enabled = progress_allowed(fmt, quiet=quiet_requested(), writes_while_running=streaming)
    collected: list[dict[str, Any]] = []
    with RecordProgress(label, total=total, enabled=enabled) as progress:
        for record in records:
            if streaming:
                text = render(record, fmt)
                if text:
                    sys.stdout.write(text + "\n")
            else:
                collected.append(record)
            progress.advance()
    if not streaming:
        emit(collected, fmt)


@stream_app.command("events")
@handled
def stream_events(ctx: typer.Context, from_date: Annotated[str, typer.Option("--from-date", "--from")],
                  to_date: Annotated[str, typer.Option("--to-date", "--to")],
                  events: Annotated[str | None, typer.Option("--events", "-e", help="Comma-separated names.")] = None,
                  where: Annotated[str | None, typer.Option("--where", help="An expression on properties.")] = None,
                  limit: Annotated[int | None, typer.Option("--limit", "-l")] = None,
                  raw: Annotated[bool, typer.Option("--raw", help="Export lines as the server sends them.")] = False,
                  fmt: StreamFormat = OutputFormat.jsonl) -> None:
    """Raw events between two days (inclusive), one per line."""
    with _ws(ctx) as ws:
        records = ws.stream_events(from_date=from_date, to_date=to_date, events=_split(events), where=where,
                                   limit=limit, raw=raw)
        _write(records, fmt.value, "Streaming events", limit)


@stream_app.command("profiles")
@handled
def stream_profiles(ctx: typer.Context,
                    where: Annotated[str | None, typer.Option("--where", help="A selector on properties.")] = None,
                    cohort_id: Annotated[str | None, typer.Option("--cohort-id", "-c")] = None,
                    output_properties: Annotated[str | None, typer.Option(
                        "--output-properties", "-o", help="Comma-separated property names.")] = None,
                    distinct_id: Annotated[str | None, typer.Option("--distinct-id")] = None,
                    group_id: Annotated[str | None, typer.Option("--group-id")] = None,
                    raw: Annotated[bool, typer.Option("--raw", help="Profiles as the server sends them.")] = False,
                    fmt: StreamFormat = OutputFormat.jsonl) -> None:
    """User (or group) profiles, page by page, one per line."""
    with _ws(ctx) as ws:
        records = ws.stream_profiles(where=where, cohort_id=cohort_id, output_properties=_split(output_properties),
                                     distinct_id=distinct_id, group_id=group_id, raw=raw)
        _write(records, fmt.value, "Streaming profiles", None)
