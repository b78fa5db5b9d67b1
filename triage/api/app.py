"""The FastAPI application: the model loads once, at start-up, in the lifespan."""

from __future__ import annotations

import gc

# The cyclic collector waits while the app's imports run (FastAPI, every route and schema:
# ~1.6 x 10^5 objects that live as long as the process), which are then frozen (set aside
# from its passes, as Python's gc.freeze is for). Its passes over them, over and over as the
# heap grew and again over the model's objects, cost ~0.09 s of a worker's ~1.3 s start
# (benchmarks/cold_start.py). The ~1,200 objects that were garbage among them stay.
_COLLECTING = gc.isenabled()
gc.disable()
try:
    import logging
    from collections.abc import AsyncIterator, Sequence
    from contextlib import asynccontextmanager
    from typing import Protocol

    from fastapi import APIRouter, FastAPI

    import triage
    from triage.api import access_log
    from triage.api.clean_request import CleanUrl
    from triage.api.errors import install_error_handlers
    from triage.api.key_gate import KeyGate, OpenModeHosts, keyed_routes
    from triage.api.landing import install_landing
    from triage.api.limits import BodySizeLimit
    from triage.api.metrics import Metrics, RequestMetrics
    from triage.api.openapi import install_openapi, operation_id
    from triage.api.routes import (
        agents,
        classify,
        email,
        events,
        feedback,
        health,
        incidents,
        jobs,
        model_versions,
        reports,
        routing,
        served_model,
        similar,
        webhooks,
    )
    from triage.api.routes import metrics as metrics_route
    from triage.api.staff.routes import router as staff_router
    from triage.core.allocator import keep_small, return_large_buffers, trim_heap
    from triage.core.auth import refuse_open
    from triage.service import DriftReport, TriageService
    from triage.service.agents import AgentBook
    from triage.service.incident_webhooks import IncidentWebhookSender
    from triage.service.incidents import IncidentTracker
    from triage.service.job_runner import JobRunner
    from triage.service.lifecycle import ModelLifecycle, Served
    from triage.service.poller import Poller
    from triage.service.routing import RoutingBook
    from triage.service.webhook_runner import WebhookRunner
    from triage.settings import Settings, get_settings
    from triage.store.database import Database
    from triage.store.deliveries import DeliveryStore
    from triage.store.feedback import FeedbackStore
    from triage.store.jobs import JobStore
    from triage.store.key_rates import KeyRateStore
finally:
    gc.freeze()
    if _COLLECTING:
        gc.enable()

log = logging.getLogger("triage")


def create_app(
    settings: Settings | None = None, *, service: TriageService | None = None
) -> FastAPI:
    """Build the app. Pass ``service`` to serve an already loaded model (tests, notebooks)."""
    settings = settings or get_settings()
    refuse_open(settings.api_keys, settings.host)  # uvicorn --factory (the image) binds it
    access_log.install()  # no key from a query string in uvicorn's access log
    if settings.return_large_buffers:
        return_large_buffers()  # this process serves: long tickets' buffers go back
        keep_small()  # two heap arenas, no huge-page advice

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = _open_stores(app, settings)
        lifecycle = ModelLifecycle(settings, database, publish=lambda served: _publish(app, served))
        app.state.lifecycle = lifecycle
        served = lifecycle.start(service)
        app.state.routing = RoutingBook.from_settings(database, settings)
        app.state.routing.start(served.service)
        app.state.agents = AgentBook.for_database(database)
        app.state.agents.start(served.service)
        log.info("serving model %s", served.service.model.version)
        _log_addresses(app)
        background = _start_background(app, settings, lifecycle)
        try:
            yield
        finally:
            for part in background:
                part.stop()
            lifecycle.close()
            app.state.service = app.state.similar = None
            database.dispose()

    app = FastAPI(
        title="triage",
        version=triage.__version__,
        summary="Helpdesk ticket triage: category and support tier with calibrated confidence.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # served from installed files by install_landing, not from a CDN
        redoc_url=None,
    )
    metrics = Metrics(drift=lambda: _drift_report(app), incidents=lambda: _incident_counts(app))
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    install_openapi(app)
    install_landing(app)
    routers = (
        health.router,
        classify.router,
        served_model.router,
        model_versions.router,
        routing.router,
        agents.router,
        feedback.router,
        events.router,
        reports.router,
        jobs.router,
        similar.router,
        email.router,
        metrics_route.router,
        staff_router,  # the staff page, /ui/
        webhooks.router,
        incidents.router,
    )
    for router in routers:
        app.include_router(router)  # whole: what keyed_routes reads
    _install_middleware(app, settings, metrics, routers)
    return app


def _install_middleware(
    app: FastAPI, settings: Settings, metrics: Metrics, routers: Sequence[APIRouter]
) -> None:
    """Outermost last: metrics see every status, URLs are cleaned before routes are matched,
    keys are checked before a body is read, and bodies over the limit are cut off."""
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        overrides={
            "/v1/jobs/classify": settings.max_upload_bytes,
            "/v1/email": settings.mail_max_bytes,
        },
        timeout=settings.body_timeout_seconds,
    )
    app.add_middleware(KeyGate, keys=settings.api_keys, routes=keyed_routes(routers))
    app.add_middleware(OpenModeHosts, open_api=not settings.api_keys, host=settings.host)
    app.add_middleware(CleanUrl)
    app.add_middleware(RequestMetrics, metrics=metrics)


def _log_addresses(app: FastAPI) -> None:
    """Where to go once the model is loaded: the staff page, the API docs and health."""
    if base_url := getattr(app.state, "base_url", None):
        log.info(
            "ready: staff page %s/ui/ · API docs %s/docs · health %s/healthz",
            base_url,
            base_url,
            base_url,
        )


def _drift_report(app: FastAPI) -> DriftReport | None:
    service: TriageService | None = getattr(app.state, "service", None)
    return None if service is None else service.drift_report()


def _incident_counts(app: FastAPI) -> tuple[int, int] | None:
    tracker: IncidentTracker | None = getattr(app.state, "incidents", None)
    return None if tracker is None else tracker.counts()


def _open_stores(app: FastAPI, settings: Settings) -> Database:
    database = Database.from_settings(settings)
    log.info("database %s at revision %s", database.describe(), database.revision())
    app.state.feedback = FeedbackStore(database)
    app.state.jobs = JobStore(database)
    app.state.deliveries = DeliveryStore(database)
    app.state.database = database
    app.state.key_rates = KeyRateStore(database)  # read by KeyGate, shared by every process
    app.state.incidents = (
        IncidentTracker.from_settings(database, settings) if settings.incidents else None
    )
    return database


class _Stoppable(Protocol):
    def stop(self) -> None: ...


def _start_background(
    app: FastAPI, settings: Settings, lifecycle: ModelLifecycle
) -> list[_Stoppable]:
    """The threads beside the requests: queued jobs and webhook deliveries (unless a separate
    ``triage worker`` runs them), the heap's trimming, and the ACTIVE watcher (unless a
    version is pinned)."""
    started: list[_Stoppable] = []
    app.state.job_runner = app.state.webhook_runner = None
    if settings.jobs_worker:
        runner = JobRunner.for_backlog(
            app.state.jobs, lambda: getattr(app.state, "service", None), settings
        )
        webhook_runner = WebhookRunner.from_settings(
            app.state.jobs,
            app.state.deliveries,
            lambda: getattr(app.state, "service", None),
            settings,
            incidents=app.state.incidents,
        )
        runner.start()
        webhook_runner.start()
        app.state.job_runner, app.state.webhook_runner = runner, webhook_runner
        started += [runner, webhook_runner]
    sender = IncidentWebhookSender.from_settings(app.state.database, settings)
    if sender is not None and settings.jobs_worker:  # one sender per process that runs jobs
        sender.start()
        started.append(sender)
    if settings.webhook_insecure_sources:
        log.warning(
            "webhooks from %s are accepted WITHOUT a signature check (insecure)",
            ", ".join(settings.webhook_insecure_sources),
        )
    if settings.routing_watch_seconds > 0:
        served = lambda: getattr(app.state, "service", None)  # noqa: E731
        started.append(app.state.routing.follow(served, settings.routing_watch_seconds))
        started.append(app.state.agents.follow(served, settings.routing_watch_seconds))
    if settings.memory_trim_seconds > 0:
        trimmer = Poller("triage-memory-trim", settings.memory_trim_seconds, trim_heap)
        trimmer.start()
        started.append(trimmer)
    if settings.model_watch_seconds > 0 and settings.model_version is None:
        # Stopped first: no model swap while the rest shuts down.
        started.insert(0, lifecycle.follow(settings.model_watch_seconds))
    return started


def _publish(app: FastAPI, served: Served) -> None:
    """What the routes' dependencies read: swapped in one step per attribute."""
    app.state.service = served.service
    app.state.similar, app.state.similar_error = served.similar, served.similar_error
    app.state.metrics.set_model(served.service.model.version)
