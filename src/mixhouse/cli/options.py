"""Options the ``mixhouse`` command groups share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="MIXHOUSE_DATA_DIR", help="Data directory.")]
DEFAULT_DATA_DIR = Path("./mixhouse-data")
