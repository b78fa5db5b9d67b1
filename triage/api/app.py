"""The FastAPI application: the model loads once, at start-up, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import triage
from triage.api.errors import install_error_handlers
from triage.api.limits import BodySizeLimit
from triage.api.metrics import Metrics, RequestMetrics
from triage.api.routes import classify, health, model, models
from triage.api.routes import metrics as metrics_route
from triage.service import TriageService
from triage.settings import Settings, get_settings

log = logging.getLogger("triage")


def create_app(
    settings: Settings | None = None, *, service: TriageService | None = None
) -> FastAPI:
    """Build the app. Pass ``service`` to serve an already loaded model (tests, notebooks)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = service or TriageService.from_settings(settings)
        metrics.set_model(app.state.service.model.version)
        log.info("serving model %s", app.state.service.model.version)
        yield
        app.state.service = None

    app = FastAPI(
        title="triage",
        version=triage.__version__,
        summary="Helpdesk ticket triage: category and support tier with calibrated confidence.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: sees every status
    app.include_router(health.router)
    app.include_router(classify.router)
    app.include_router(model.router)
    app.include_router(models.router)
    app.include_router(metrics_route.router)
    return app
