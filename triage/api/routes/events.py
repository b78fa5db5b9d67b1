"""Ticket lifecycle events sent by a helpdesk without webhooks (or a script)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, status

from triage.api.clean_request import CleanRoute
from triage.api.deps import EventRecorderDep, require_scope
from triage.api.schemas import ErrorOut
from triage.api.schemas_events import EVENT_EXAMPLE, EventIn, EventsStoredOut
from triage.core.auth import ApiKey, Scope
from triage.core.ticket_events import EventKind, TicketEvent
from triage.service.events import at_utc

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["events"],
    responses={
        400: {"model": ErrorOut},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {
            "model": ErrorOut,
            "description": "The database is unreachable; retry after Retry-After seconds "
            "(an event is stored once, however often it is sent).",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
_EVENT_BODIES = {
    "one": {"summary": "One event", "value": EVENT_EXAMPLE},
    "batch": {
        "summary": "Several events, in any order",
        "value": [
            {**EVENT_EXAMPLE, "id": "zd-88213-1", "kind": "created", "at": "2026-11-30T09:12:00Z"},
            EVENT_EXAMPLE,
        ],
    },
}
FeedbackKey = Annotated[ApiKey | None, Depends(require_scope(Scope.FEEDBACK))]


def _event(item: EventIn, key: ApiKey | None) -> TicketEvent:
    fields = item.model_dump(exclude={"kind", "at", "tenant", "predictions", "channel"})
    predictions = None
    if item.predictions is not None:
        predictions = {head: p.model_dump() for head, p in item.predictions.items()}
    return TicketEvent(
        **fields,
        kind=EventKind(item.kind),
        at=at_utc(item.at),
        tenant=key.tenant(item.tenant) if key is not None else item.tenant,
        channel=None if item.channel is None else item.channel.value,
        predictions=predictions,
    )


@router.post("/events", status_code=status.HTTP_201_CREATED, response_model=EventsStoredOut)
def add_events(
    body: Annotated[EventIn | list[EventIn], Body(openapi_examples=_EVENT_BODIES)],
    events: EventRecorderDep,
    key: FeedbackKey,
) -> EventsStoredOut:
    """Record one ticket event or a list of up to TRIAGE_MAX_BATCH (in any order)."""
    items = body if isinstance(body, list) else [body]
    done = events.record([_event(item, key) for item in items])
    return EventsStoredOut(stored=done.stored, duplicates=done.duplicates, tickets=done.tickets)
