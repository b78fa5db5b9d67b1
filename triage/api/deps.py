"""Typed dependencies handed to routes; tests swap them with ``app.dependency_overrides``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from triage.api.metrics import Metrics
from triage.core.auth import ApiKey, Scope, find_key, presented_key
from triage.core.errors import (
    ForbiddenError,
    IncidentNotFoundError,
    ModelNotFoundError,
    TriageError,
    UnauthorizedError,
)
from triage.service import TriageService
from triage.service.agents import AgentBook
from triage.service.events import EventRecorder
from triage.service.incidents import IncidentTracker
from triage.service.job_runner import JobRunner
from triage.service.jobs import JobQueue
from triage.service.lifecycle import ModelLifecycle
from triage.service.reports import ReportService
from triage.service.routing import RoutingBook
from triage.service.webhook_runner import WebhookRunner
from triage.settings import Settings, get_settings
from triage.similar.service import SimilarService
from triage.store.deliveries import DeliveryStore
from triage.store.feedback import FeedbackStore
from triage.store.jobs import JobStore
from triage.store.mail import MailStore
from triage.store.triaged import TriagedStore


# The dependencies every request resolves only read app state: async, so FastAPI runs them
# on the event loop instead of sending each to the threadpool and back (a thread hop each).
async def get_service(request: Request) -> TriageService:
    service: TriageService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise ModelNotFoundError("no model is loaded")
    return service


def get_app_settings(request: Request) -> Settings:
    """The settings the app was built with (the process-wide ones by default)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    return settings or get_settings()


async def _settings(request: Request) -> Settings:
    return get_app_settings(request)


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_feedback_store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


def get_job_store(request: Request) -> JobStore:
    store: JobStore = request.app.state.jobs
    return store


def get_similar(request: Request) -> SimilarService:
    similar: SimilarService | None = getattr(request.app.state, "similar", None)
    if similar is None:
        error: TriageError | None = getattr(request.app.state, "similar_error", None)
        raise error or ModelNotFoundError("no model is loaded")
    return similar


def get_lifecycle(request: Request) -> ModelLifecycle:
    lifecycle: ModelLifecycle | None = getattr(request.app.state, "lifecycle", None)
    if lifecycle is None:
        raise ModelNotFoundError("no model is loaded")
    return lifecycle


def get_job_runner(request: Request) -> JobRunner | None:
    runner: JobRunner | None = getattr(request.app.state, "job_runner", None)
    return runner


def get_job_queue(request: Request) -> JobQueue:
    return JobQueue(
        get_job_store(request),
        get_job_runner(request),
        max_tickets=get_app_settings(request).max_job_tickets,
    )


def get_triaged_store(request: Request) -> TriagedStore:
    return TriagedStore.from_settings(request.app.state.database, get_app_settings(request))


def get_incidents(request: Request) -> IncidentTracker | None:
    tracker: IncidentTracker | None = getattr(request.app.state, "incidents", None)
    return tracker


def require_incidents(request: Request) -> IncidentTracker:
    tracker = get_incidents(request)
    if tracker is None:
        raise IncidentNotFoundError("incident detection is off (TRIAGE_INCIDENTS=false)")
    return tracker


def get_routing_book(request: Request) -> RoutingBook:
    book: RoutingBook | None = getattr(request.app.state, "routing", None)
    if book is None:
        raise ModelNotFoundError("no model is loaded")
    return book


def get_agent_book(request: Request) -> AgentBook:
    book: AgentBook | None = getattr(request.app.state, "agents", None)
    if book is None:
        raise ModelNotFoundError("no model is loaded")
    return book


def get_event_recorder(request: Request) -> EventRecorder:
    return EventRecorder.for_database(
        request.app.state.database, max_batch=get_app_settings(request).max_batch
    )


def get_report_service(request: Request) -> ReportService:
    return ReportService(request.app.state.database)


def get_mail_store(request: Request) -> MailStore:
    return MailStore.from_settings(request.app.state.database, get_app_settings(request))


# async (trivial) so the webhook 202 path resolves them without a threadpool hop each.
async def get_delivery_store(request: Request) -> DeliveryStore:
    store: DeliveryStore = request.app.state.deliveries
    return store


async def get_webhook_runner(request: Request) -> WebhookRunner | None:
    runner: WebhookRunner | None = getattr(request.app.state, "webhook_runner", None)
    return runner


ServiceDep = Annotated[TriageService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SettingsDep = Annotated[Settings, Depends(_settings)]
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
SimilarDep = Annotated[SimilarService, Depends(get_similar)]
LifecycleDep = Annotated[ModelLifecycle, Depends(get_lifecycle)]
JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]
TriagedStoreDep = Annotated[TriagedStore, Depends(get_triaged_store)]
DeliveryStoreDep = Annotated[DeliveryStore, Depends(get_delivery_store)]
JobStoreDep = Annotated[JobStore, Depends(get_job_store)]
IncidentsDep = Annotated[IncidentTracker, Depends(require_incidents)]
OptionalIncidentsDep = Annotated[IncidentTracker | None, Depends(get_incidents)]
RoutingDep = Annotated[RoutingBook, Depends(get_routing_book)]
AgentsDep = Annotated[AgentBook, Depends(get_agent_book)]
EventRecorderDep = Annotated[EventRecorder, Depends(get_event_recorder)]
ReportServiceDep = Annotated[ReportService, Depends(get_report_service)]
MailStoreDep = Annotated[MailStore, Depends(get_mail_store)]
WebhookRunnerDep = Annotated[WebhookRunner | None, Depends(get_webhook_runner)]


def _presented_key(request: Request) -> str | None:
    return presented_key(request.headers.get("authorization", ""), request.headers.get("x-api-key"))


class RequireScope:
    """A dependency that admits a request with a configured key holding ``scope``.

    With no keys configured the API is open (``triage serve`` then binds loopback only). A
    class, not a closure, so the OpenAPI document can read which scope an operation needs.
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, request: Request) -> ApiKey | None:  # no thread hop (above)
        keys = get_app_settings(request).api_keys
        if not keys:
            return None
        presented = _presented_key(request)
        if presented is None:
            raise UnauthorizedError(
                "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
            )
        key = find_key(presented, keys)
        if key is None:
            raise UnauthorizedError("the API key is not valid")
        if self.scope not in key.scopes and Scope.ADMIN not in key.scopes:
            raise ForbiddenError(
                f"the key {key.name!r} lacks the {self.scope.value!r} scope",
                details={"needed": self.scope.value, "scopes": sorted(s.value for s in key.scopes)},
            )
        return key


def require_scope(scope: Scope) -> RequireScope:
    """A dependency that admits a request with a configured key holding ``scope``."""
    return RequireScope(scope)


def key_tenant(key: ApiKey | None, requested: str | None) -> str:
    """The tenant a request works in: the one it names (None: the default ''), which a key
    bound to tenants must hold (403 otherwise)."""
    return key.tenant(requested) if key is not None else requested or ""
