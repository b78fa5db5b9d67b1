"""Classification of tickets by every head of the served model."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from triage.api.clean_request import CleanRoute
from triage.api.deps import MetricsDep, ServiceDep, SettingsDep, require_scope
from triage.api.responses import json_response
from triage.api.schemas import BatchIn, BatchOut, ClassificationOut, ErrorOut, TicketIn
from triage.core.auth import Scope
from triage.core.errors import BatchTooLargeError
from triage.service import Classification, Ticket, classification_dict

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["classify"],
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)


def classification_out(result: Classification) -> ClassificationOut:
    return ClassificationOut.model_validate(classification_dict(result))


@router.post(
    "/classify",
    response_model=ClassificationOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def classify(ticket: TicketIn, service: ServiceDep, metrics: MetricsDep) -> Response:
    """Classify one ticket: label, calibrated probability and distribution per head."""
    result = service.classify(
        Ticket(subject=ticket.subject, body=ticket.body, id=ticket.id, metadata=ticket.metadata),
        explain=ticket.explain,
    )
    metrics.observe(result)
    return json_response(classification_out(result))


@router.post(
    "/classify/batch",
    response_model=BatchOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
def classify_batch(
    batch: BatchIn, service: ServiceDep, settings: SettingsDep, metrics: MetricsDep
) -> Response:
    """Classify up to TRIAGE_MAX_BATCH tickets in one call, in order."""
    if len(batch.tickets) > settings.max_batch:
        raise BatchTooLargeError(
            f"{len(batch.tickets)} tickets in one batch; the limit is {settings.max_batch}",
            details={"limit": settings.max_batch, "size": len(batch.tickets)},
        )
    results = service.classify_many(
        [
            Ticket(subject=t.subject, body=t.body, id=t.id, metadata=t.metadata)
            for t in batch.tickets
        ],
        explain=batch.explain or any(t.explain for t in batch.tickets),
    )
    for result in results:
        metrics.observe(result)
    return json_response(
        BatchOut(
            model_version=service.model.version, results=[classification_out(r) for r in results]
        )
    )
