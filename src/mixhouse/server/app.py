"""The ASGI application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mixhouse import __version__
from mixhouse.config import Settings
from mixhouse.server.responses import json_response
from mixhouse.server.routes import engage_query, export, ingestion
from mixhouse.services.runtime import Runtime

log = logging.getLogger("mixhouse.server")
TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime (which owns the data directory) starts with the app and stops with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        app.state.runtime = rt
        try:
            yield
        finally:
            rt.close()

    app = FastAPI(
        title="Mixhouse",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's built-in OpenTelemetry spans cost more than a /track request itself; off unless asked for
        telemetry=TELEMETRY_OFF,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    routes: list[Route] = [Route("/healthz", healthz, methods=["GET"])]
    routes += ingestion.routes() + export.routes() + engage_query.routes()
    for route in routes:
        app.router.routes.append(route)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return json_response({"error": "internal server error", "status": 0}, 500)

    return app
