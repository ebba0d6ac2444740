"""Request-level helpers shared by route modules."""

from __future__ import annotations

from typing import cast

from starlette.requests import Request

from mixhouse.services.runtime import Runtime


def runtime(request: Request) -> Runtime:
    return cast(Runtime, request.app.state.runtime)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def full_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
