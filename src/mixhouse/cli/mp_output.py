"""Output of the ``mp`` CLI: ``--format json|jsonl|table|csv|plain`` for models, lists and plain JSON."""

from __future__ import annotations

import csv
import io
import sys
from datetime import date, datetime
from enum import Enum
from typing import Any

import orjson
import typer
from pydantic import BaseModel

FORMATS = ("json", "jsonl", "table", "csv", "plain")


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _rows(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [row if isinstance(row, dict) else {"value": row} for row in data]
    if isinstance(data, dict):
        return [data]
    return [{"value": data}]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def render(value: Any, fmt: str) -> str:
    data = to_jsonable(value)
    if fmt == "json":
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    if fmt == "jsonl":
        items = data if isinstance(data, list) else [data]
        return "\n".join(orjson.dumps(item).decode() for item in items)
    if fmt == "plain":
        if isinstance(data, list):
            return "\n".join(_plain_item(item) for item in data)
        if isinstance(data, dict):
            return "\n".join(f"{k}: {_cell(v)}" for k, v in data.items())
        return _cell(data)
    rows = _rows(data)
    columns = _columns(rows)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return out.getvalue().rstrip("\n")
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*[_cell(row.get(c)) for c in columns])
        buffer = io.StringIO()
        Console(file=buffer, width=160, color_system=None).print(table)
        return buffer.getvalue().rstrip("\n")
    raise typer.BadParameter(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _plain_item(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "title", "event", "key", "id"):
            if key in item:
                ident = item.get("id")
                return f"{ident}\t{item[key]}" if ident is not None and key != "id" else _cell(item[key])
        return _cell(item)
    return _cell(item)


def emit(value: Any, fmt: str) -> None:
    text = render(value, fmt)
    if text:
        sys.stdout.write(text + "\n")


def progress_allowed(fmt: str | None, *, quiet: bool, writes_while_running: bool) -> bool:
    """Whether a progress display may go to stderr: stderr is a terminal (as Rich sees it, so ``TTY_COMPATIBLE=1``
    counts), ``--quiet`` is not given, and stdout does not receive lines on that same terminal while it runs
    (a table is printed after it ends; a line format streamed to a terminal would tear the bar)."""
    if quiet:
        return False
    from rich.console import Console

    if not Console(stderr=True).is_terminal:
        return False
    return not (writes_while_running and fmt != "table" and sys.stdout.isatty())


class RecordProgress:
    """A Rich progress line on stderr counting records (``advance``) while a stream runs: a bar when the total is
    known (``--limit``), else a spinner with the count; nothing at all when not ``enabled``. Stdout is untouched."""

    def __init__(self, label: str, *, total: int | None = None, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.count = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> RecordProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
            columns += [BarColumn(), MofNCompleteColumn()] if self.total is not None else [
                TextColumn("{task.completed} records")]
            columns.append(TimeElapsedColumn())
            self._progress = Progress(*columns, console=Console(stderr=True), transient=False,
                                      redirect_stdout=False, redirect_stderr=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
