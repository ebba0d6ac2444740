"""Mixhouse: self-hosted product analytics that speaks Mixpanel's HTTP APIs.

The public surface is curated here; server-only pieces live in subpackages that need the ``server`` extra.
"""

from __future__ import annotations

from typing import Any

from mixhouse.errors import (
    AuthenticationError,
    BookmarkValidationError,
    ConfigError,
    MixhouseError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueryError,
    RateLimitError,
    ServerError,
    ValidationError,
    WorkspaceScopeError,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``mixhouse.Workspace`` and the client's params/result types, imported on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    import importlib

    client = importlib.import_module("mixhouse.client")
    if name in client.__all__:
        return getattr(client, name)
    raise AttributeError(f"module 'mixhouse' has no attribute {name!r}")

__all__ = [
    "AuthenticationError",
    "BookmarkValidationError",
    "ConfigError",
    "MixhouseError",
    "NotFoundError",
    "NotSupportedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "Workspace",
    "WorkspaceScopeError",
    "__version__",
]
