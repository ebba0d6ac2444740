"""One error tree for the whole project, with stable codes.

::

    MixhouseError                      code "error"
    ├── ConfigError                    "config_error"       bad settings, missing data dir, locked data dir
    ├── AuthenticationError            "unauthenticated"    missing or wrong credentials        (HTTP 401)
    ├── PermissionDeniedError          "forbidden"          authenticated but not allowed       (HTTP 403)
    ├── NotFoundError                  "not_found"          unknown project, route or entity    (HTTP 404)
    ├── ValidationError                "invalid_request"    malformed body, bad params          (HTTP 400)
    │   ├── DecodeError                "invalid_payload"    undecodable ``data`` / body
    │   ├── QueryError                 "query_error"        a query the engine cannot answer
    │   │   └── ExpressionError        "expression_error"   syntax/type error in an expression, with position
    │   └── OAuthError                 "oauth_error"        a refused OAuth request (RFC 6749 ``error`` in details)
    ├── PayloadTooLargeError           "payload_too_large"  over the record or byte limits      (HTTP 413)
    ├── RateLimitError                 "rate_limited"       over a rate limit                   (HTTP 429)
    ├── ServerError                    "server_error"       a failure on our side               (HTTP 5xx)
    │   └── StorageError               "storage_error"      the storage engine failed
    ├── WorkspaceScopeError            "workspace_scope"    client: no workspace to scope an App API call to
    └── NotSupportedError              "not_supported"      client: the server has no route for this method yet

Client-only: ``BookmarkValidationError`` ("bookmark_validation", a ``ValidationError``) for typed-query params
refused before any request, naming the rule.

The server maps ``code`` to an HTTP status and to the error body of the API family that was called; the client
maps it back to the same class.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MixhouseError(Exception):
    """Root of every error Mixhouse raises on purpose."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(MixhouseError):
    code = "config_error"
    http_status = 500


class AuthenticationError(MixhouseError):
    code = "unauthenticated"
    http_status = 401


class PermissionDeniedError(MixhouseError):
    code = "forbidden"
    http_status = 403


class NotFoundError(MixhouseError):
    code = "not_found"
    http_status = 404


class ValidationError(MixhouseError):
    code = "invalid_request"
    http_status = 400


class DecodeError(ValidationError):
    code = "invalid_payload"


class QueryError(ValidationError):
    code = "query_error"


class ExpressionError(QueryError):
    """A syntax or type error in a segmentation expression; ``position`` is a 0-based character offset."""

    code = "expression_error"

    def __init__(self, message: str, *, position: int | None = None, expression: str | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where}", details={"position": position, "expression": expression})
        self.reason = message
        self.position = position
        self.expression = expression


class PayloadTooLargeError(MixhouseError):
    code = "payload_too_large"
    http_status = 413


class RateLimitError(MixhouseError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float = 1.0, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ServerError(MixhouseError):
    code = "server_error"
    http_status = 500


class StorageError(ServerError):
    code = "storage_error"
    http_status = 503


class WorkspaceScopeError(MixhouseError):
    """The client needed a workspace (data view) and found none it may use (``NO_WORKSPACES``...)."""

    code = "workspace_scope"
    http_status = 400


class NotSupportedError(MixhouseError):
    """The client method exists but the server it talks to has no route for it yet (e.g. data governance)."""

    code = "not_supported"
    http_status = 501


class BookmarkValidationError(ValidationError):
    """Typed-query params refused before any request; ``rule`` names the broken rule."""

    code = "bookmark_validation"

    def __init__(self, message: str, *, rule: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"rule": rule, **(details or {})})
        self.rule = rule


ERROR_CLASSES: dict[str, type[MixhouseError]] = {
    cls.code: cls
    for cls in (
        MixhouseError,
        ConfigError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ValidationError,
        DecodeError,
        QueryError,
        ExpressionError,
        PayloadTooLargeError,
        RateLimitError,
        ServerError,
        StorageError,
        WorkspaceScopeError,
        NotSupportedError,
        BookmarkValidationError,
    )
}


class OAuthError(ValidationError):
    """A refused OAuth request; ``oauth_error`` is RFC 6749's ``error`` (``invalid_grant``, ``invalid_client``...)."""

    code = "oauth_error"

    def __init__(self, oauth_error: str, message: str) -> None:
        super().__init__(message, details={"error": oauth_error})
        self.oauth_error = oauth_error
