"""Mixhouse: self-hosted product analytics that speaks Mixpanel's HTTP APIs.

The public surface is curated here; server-only pieces live in subpackages that need the ``server`` extra.
"""

from __future__ import annotations

from mixhouse.errors import (
    AuthenticationError,
    ConfigError,
    MixhouseError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueryError,
    RateLimitError,
    ServerError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "MixhouseError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitError",
    "ServerError",
    "ValidationError",
    "__version__",
]
