"""The ingestion fast path: ``/track``, ``/engage``, ``/groups`` and ``/import`` skip the FastAPI stack.

Those routes take the most requests by far (one event per request from browsers and mobile SDKs), so they are
dispatched straight to a small Starlette router with only the CORS middleware; every other path goes to the FastAPI
application. Both share the application's state (the runtime).
"""

from __future__ import annotations

import logging

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mixhouse.server.responses import json_response

log = logging.getLogger("mixhouse.server")


def cors(app: ASGIApp) -> ASGIApp:
    """mixpanel-js sends credentials: echo the origin (``*`` is refused with credentials), answer preflights."""
    return CORSMiddleware(
        app,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
        max_age=600,
    )


class ExactPaths:
    """A router for fixed paths: one dict lookup instead of trying each route's pattern in turn."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = {route.path: route for route in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.routes[scope["path"]].handle(scope, receive, send)  # the method check (405) is the route's


class FrontDoor:
    """Routes the ingestion paths to their own light stack, everything else to ``main``."""

    def __init__(self, main: ASGIApp, ingestion_routes: list[Route]) -> None:
        self.main = main
        self.paths = frozenset(route.path for route in ingestion_routes)
        self.ingestion = cors(ExceptionMiddleware(ExactPaths(ingestion_routes)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.paths:
            scope["app"] = self.main  # request.app.state.runtime, as on the main stack
            try:
                await self.ingestion(scope, receive, send)
            except Exception:
                log.exception("unhandled error on %s", scope["path"])
                await json_response({"error": "internal server error", "status": 0}, 500)(scope, receive, send)
            return
        await self.main(scope, receive, send)
