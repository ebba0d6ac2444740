"""Options the ``mixhouse`` command groups share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="MIXHOUSE_DATA_DIR", help="Data directory.")]
DEFAULT_DATA_DIR = Path("./mixhouse-data")
MetaUrl = Annotated[
    str | None,
    typer.Option(
        "--meta-url",
        envvar="MIXHOUSE_META_URL",
        show_default=False,
        help="Metadata database URL, e.g. postgresql://user:password@host/db (default: DATA_DIR/meta.sqlite3).",
    ),
]
