"""The ASGI application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from mixhouse import __version__
from mixhouse.config import Settings
from mixhouse.server.front_door import FrontDoor, cors
from mixhouse.server.responses import json_response
from mixhouse.server.routes import (
    app_access,
    app_alerts,
    app_annotations,
    app_blueprints,
    app_cohorts,
    app_custom_properties,
    app_dashboards,
    app_experiments,
    app_feature_flags,
    app_reports,
    app_webhooks,
    discovery,
    engage_query,
    event_queries,
    export,
    flags,
    flows,
    funnels,
    ingestion,
    insights,
    oauth,
    segmentation,
)
from mixhouse.services.runtime import Runtime

log = logging.getLogger("mixhouse.server")


def cors_middleware(app: ASGIApp) -> ASGIApp:
    return cors(app)


TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok", "version": __version__})


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> FrontDoor:
    """Build the app; the runtime (which owns the data directory) starts with the app and stops with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings)
        app.state.runtime = rt
        rt.start_alerts()
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
    app.add_middleware(cors_middleware)
    routes: list[Route] = [Route("/healthz", healthz, methods=["GET"])]
    routes += export.routes() + engage_query.routes() + discovery.routes()
    routes += segmentation.routes() + event_queries.routes() + funnels.routes() + insights.routes()
    routes += flows.routes() + app_access.routes() + app_annotations.routes()
    routes += app_webhooks.routes() + app_reports.routes() + app_dashboards.routes()
    routes += app_cohorts.routes() + app_feature_flags.routes() + flags.routes() + app_blueprints.routes()
    routes += oauth.routes() + app_experiments.routes() + app_alerts.routes()
    routes += app_custom_properties.routes()
    for route in routes:
        app.router.routes.append(route)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return json_response({"error": "internal server error", "status": 0}, 500)

    return FrontDoor(app, ingestion.routes())
