"""Feedback from staff, and the live quality it measures."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from triage.api.clean_request import CleanRoute
from triage.api.deps import (
    EventRecorderDep,
    FeedbackStoreDep,
    ServiceDep,
    SettingsDep,
    require_scope,
)
from triage.api.schemas import ErrorOut
from triage.api.schemas_feedback import (
    FeedbackBatchIn,
    FeedbackIn,
    FeedbackStoredOut,
    HeadQualityOut,
    QualityOut,
    QualityReportOut,
)
from triage.core.auth import Scope
from triage.core.errors import BatchTooLargeError
from triage.service import TriageService
from triage.service.events import EventRecorder
from triage.service.feedback_check import check_feedback
from triage.service.staff_decisions import store_feedback
from triage.settings import Settings
from triage.store.feedback import Feedback, FeedbackStore

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["feedback"],
    dependencies=[Depends(require_scope(Scope.FEEDBACK))],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {
            "model": ErrorOut,
            "description": "The database is unreachable; retry after the seconds in the "
            "Retry-After header (the same feedback is stored once, however often it is sent).",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)


def _stored(
    store: FeedbackStore,
    events: EventRecorder,
    items: list[FeedbackIn],
    service: TriageService,
    settings: Settings,
) -> FeedbackStoredOut:
    feedback = [Feedback(**item.model_dump()) for item in items]
    check_feedback(feedback, service.model, settings.models_dir)  # 422 before anything is kept
    # Committed before this returns: a 201 means the feedback is on disk.
    return FeedbackStoredOut(stored=store_feedback(store, events, feedback, source="api"))


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackStoredOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def add_feedback(
    item: FeedbackIn,
    store: FeedbackStoreDep,
    events: EventRecorderDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> FeedbackStoredOut:
    """Record the label staff finally chose for one head of a ticket (``head`` and
    ``predicted`` must be the model's: 422 otherwise; ``final`` may be a new label)."""
    return _stored(store, events, [item], service, settings)


@router.post(
    "/feedback/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackStoredOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def add_feedback_batch(
    batch: FeedbackBatchIn,
    store: FeedbackStoreDep,
    events: EventRecorderDep,
    service: ServiceDep,
    settings: SettingsDep,
) -> FeedbackStoredOut:
    """Record up to TRIAGE_MAX_BATCH feedback items in one transaction."""
    if len(batch.items) > settings.max_batch:
        raise BatchTooLargeError(
            f"{len(batch.items)} items in one batch; the limit is {settings.max_batch}",
            details={"limit": settings.max_batch, "size": len(batch.items)},
        )
    return _stored(store, events, batch.items, service, settings)


@router.get("/metrics/quality", response_model=QualityReportOut)
def quality(
    store: FeedbackStoreDep,
    since: Annotated[
        datetime | None,
        Query(
            description="Only feedback given at or after this time (ISO 8601).",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    model_version: Annotated[
        str | None,
        Query(
            description="Only feedback on this model version.",
            examples=["20261128-093000-3f2a9c1e"],
        ),
    ] = None,
) -> QualityReportOut:
    """Live precision, coverage and abstain rate per head and predicted class, from feedback."""
    if since is not None and since.tzinfo is None:
        since = since.astimezone()  # a time without a zone is the server's local time
    report = store.quality(since=since, model_version=model_version)
    return QualityReportOut(
        since=since,
        model_version=model_version,
        heads={
            head: HeadQualityOut(
                overall=QualityOut.model_validate(q.overall, from_attributes=True),
                classes={
                    label: QualityOut.model_validate(c, from_attributes=True)
                    for label, c in q.classes.items()
                },
            )
            for head, q in report.items()
        },
    )
