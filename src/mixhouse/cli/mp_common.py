"""Shared pieces of the ``mp`` CLI: the ``--format`` option, exit codes, the error handler and small helpers.

Every command module imports from here (never from ``mp.py``, which ``python -m mixhouse.cli.mp`` runs as
``__main__``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import orjson
import typer

from mixhouse.cli.mp_output import emit, progress_allowed
from mixhouse.errors import (
    AuthenticationError,
    ConfigError,
    MixhouseError,
    NotSupportedError,
    RateLimitError,
    ValidationError,
    WorkspaceScopeError,
)

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    table = "table"
    csv = "csv"
    plain = "plain"


Format = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
JSON, TABLE = OutputFormat.json, OutputFormat.table


class Exit:
    GENERAL = 1
    AUTH = 2
    INVALID = 3
    NOT_FOUND = 4
    RATE_LIMIT = 5


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Fix: {hint}\n")
    raise typer.Exit(code)


def handled(func: F) -> F:
    """Turn library errors into a message on stderr, a hint and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AuthenticationError as exc:
            _fail(exc.message, "check the account's username and secret (or token): `mp account show NAME`, "
                  "or MP_USERNAME/MP_SECRET/MP_OAUTH_TOKEN", Exit.AUTH)
        except RateLimitError as exc:
            _fail(exc.message, f"wait {exc.retry_after:g} s and run the command again", Exit.RATE_LIMIT)
        except WorkspaceScopeError as exc:
            _fail(exc.message, "pass --workspace/-w N (`mp workspace list` shows them)", Exit.GENERAL)
        except NotSupportedError as exc:
            _fail(exc.message, None, Exit.GENERAL)
        except ConfigError as exc:
            _fail(exc.message, "see `mp account --help`; the config file is ~/.mp/config.toml or MP_CONFIG_PATH",
                  Exit.GENERAL)
        except ValidationError as exc:
            status = exc.details.get("status_code")
            if status == 404:
                _fail(exc.message, "check the id (list them with the group's `list` command)", Exit.NOT_FOUND)
            if status == 403:
                _fail(exc.message, "this account is not allowed to do that in this project", Exit.INVALID)
            _fail(exc.message, None, Exit.INVALID)
        except MixhouseError as exc:
            _fail(exc.message, None, Exit.GENERAL)
        except ValueError as exc:
            _fail(str(exc), None, Exit.INVALID)
        return None

    return wrapper  # type: ignore[return-value]


def _ws(ctx: typer.Context) -> Any:
    from mixhouse.client.workspace import Workspace

    root = ctx.find_root()
    opts = root.obj or {}
    return Workspace(account=opts.get("account"), project=opts.get("project"), workspace=opts.get("workspace"),
                     target=opts.get("target"), _entry="cli")


_QUIET = {"on": False}


def set_quiet(on: bool) -> None:
    """``mp --quiet`` (set by the root callback on every invocation)."""
    _QUIET["on"] = on


def quiet_requested() -> bool:
    """``mp --quiet``: no spinner or progress bar on stderr."""
    return _QUIET["on"]


class _Busy:
    """A spinner on stderr while a request runs (only on a terminal, and not with ``--quiet``; the result is
    printed after it ends, so any format may have one)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._status: Any = None

    def __enter__(self) -> _Busy:
        if progress_allowed(None, quiet=quiet_requested(), writes_while_running=False):
            from rich.console import Console

            self._status = Console(stderr=True).status(self.label)
            self._status.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


def _json_arg(value: str | None, name: str) -> Any:
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


def _ids(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"ids must be comma-separated integers, not {value!r}") from None


def _result(result: Any, fmt: str) -> None:
    """A query result: its fields as JSON, its DataFrame rows as a table or CSV."""
    if fmt in ("table", "csv") and hasattr(result, "_frame_rows"):
        rows, _ = result._frame_rows()
        emit(rows, fmt)
    else:
        emit(result, fmt)


def _config() -> Any:
    from mixhouse.client.config import ConfigManager

    return ConfigManager()
