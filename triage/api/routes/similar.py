"""Similar resolved tickets, likely duplicates, and the store they come from."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, status

from triage.api.clean_request import CleanRoute
from triage.api.deps import (
    DeliveryStoreDep,
    JobStoreDep,
    MailStoreDep,
    MetricsDep,
    OptionalIncidentsDep,
    ServiceDep,
    SettingsDep,
    SimilarDep,
    TriagedStoreDep,
    key_tenant,
    require_scope,
)
from triage.api.openapi import error_response
from triage.api.routes.classify import classification_out
from triage.api.schemas import ErrorOut
from triage.api.schemas_similar import (
    RESOLVED_EXAMPLE,
    DeletedOut,
    DuplicateOut,
    IncidentRefOut,
    MatchOut,
    ResolvedBatchIn,
    ResolvedStoredOut,
    ResolvedTicketIn,
    SimilarIn,
    SimilarOut,
    TriageIn,
    TriageOut,
)
from triage.core.auth import ApiKey, Scope
from triage.core.errors import TicketNotFoundError
from triage.service import Ticket
from triage.service.forgetting import forget_ticket
from triage.service.incidents import IncidentRef
from triage.service.ingestion import ingest_resolved
from triage.service.ticket_triage import SimilarQuery, TicketTriage, find_similar
from triage.similar.results import Match, SimilarResult

router = APIRouter(
    route_class=CleanRoute,
    prefix="/v1",
    tags=["similar"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

_RESOLVED_BODIES: dict[str, Any] = {
    "one": {"summary": "One ticket", "value": RESOLVED_EXAMPLE},
    "batch": {"summary": "Several tickets", "value": {"tickets": [RESOLVED_EXAMPLE]}},
}
ClassifyKey = Annotated[ApiKey | None, Depends(require_scope(Scope.CLASSIFY))]


def may_see_internal(key: ApiKey | None) -> bool:
    # No key at all: the API is open (loopback only), its caller is the operator.
    return key is None or Scope.ADMIN in key.scopes


def _match_out(match: Match, *, internal: bool) -> MatchOut:
    record = match.ticket.record
    hidden = record.hides_resolution_from(internal=internal)
    return MatchOut(
        id=record.ticket_id,
        score=round(match.score, 4),
        duplicate=match.duplicate,
        subject=record.subject,
        resolution=None if hidden else record.resolution,
        resolution_hidden=hidden,
        category=record.category,
        tier=record.tier,
        resolved_at=record.resolved_at,
        tenant=record.tenant or None,
        visibility=record.visibility.value,
        language=record.language,
    )


def match_lists(
    result: SimilarResult, *, internal: bool
) -> tuple[list[MatchOut], list[DuplicateOut]]:
    similar = [_match_out(m, internal=internal) for m in result.similar]
    duplicates = [
        DuplicateOut(
            id=m.ticket.record.ticket_id,
            score=round(m.score, 4),
            subject=m.ticket.record.subject,
            created_at=m.ticket.created_at,
            tenant=m.ticket.record.tenant or None,
        )
        for m in result.duplicates
    ]
    return similar, duplicates


def _similar_query(query: SimilarIn) -> SimilarQuery:
    return SimilarQuery(
        k=query.k,
        category=query.category,
        max_age=timedelta(days=query.max_age_days) if query.max_age_days else None,
        min_score=query.min_score,
    )


@router.post(
    "/similar",
    response_model=SimilarOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def similar_tickets(query: SimilarIn, similar: SimilarDep, key: ClassifyKey) -> SimilarOut:
    """The k most similar resolved tickets with their resolutions, and likely duplicates."""
    vector = similar.embed([similar.text(query.subject, query.body)])[0]
    ticket = Ticket(subject=query.subject, body=query.body, id=query.id)
    result = find_similar(
        similar,
        ticket,
        vector,
        tenant=key_tenant(key, query.tenant),
        query=_similar_query(query),
        remember=bool(query.id and query.remember),
    )
    found, duplicates = match_lists(result, internal=may_see_internal(key))
    return SimilarOut(similar=found, duplicates=duplicates, backend=similar.backend)


@router.post(
    "/triage",
    response_model=TriageOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def triage_ticket(
    query: TriageIn,
    service: ServiceDep,
    similar: SimilarDep,
    metrics: MetricsDep,
    triaged: TriagedStoreDep,
    incidents: OptionalIncidentsDep,
    key: ClassifyKey,
) -> TriageOut:
    """Classification and similar tickets in one call, from one embedding of the ticket."""
    remember = bool(query.id and query.remember)
    outcome = TicketTriage(service, similar, triaged, incidents).triage(
        Ticket(subject=query.subject, body=query.body, id=query.id, created_at=query.created_at),
        tenant=key_tenant(key, query.tenant),
        query=_similar_query(query),
        explain=query.explain,
        remember=remember,
        queue_source="api" if remember else None,  # into the staff page's queue
    )
    metrics.observe(outcome.classification)
    found, duplicates = match_lists(outcome.similar, internal=may_see_internal(key))
    return TriageOut(
        classification=classification_out(outcome.classification),
        similar=found,
        duplicates=duplicates,
        backend=similar.backend,
        degraded=outcome.degraded,
        incident=_incident_ref(outcome.incident),
    )


def _incident_ref(ref: IncidentRef | None) -> IncidentRefOut | None:
    if ref is None:
        return None
    return IncidentRefOut(id=ref.id, status=ref.status, size=ref.size, opened=ref.opened)


@router.post(
    "/tickets/resolved",
    status_code=status.HTTP_201_CREATED,
    response_model=ResolvedStoredOut,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
def add_resolved(
    body: Annotated[ResolvedTicketIn | ResolvedBatchIn, Body(openapi_examples=_RESOLVED_BODIES)],
    similar: SimilarDep,
    settings: SettingsDep,
    key: Annotated[ApiKey | None, Depends(require_scope(Scope.FEEDBACK))],
) -> ResolvedStoredOut:
    """Add or update resolved tickets (one, or {"tickets": [...]} up to TRIAGE_MAX_BATCH).

    They are found by the next request, in every process, and survive a restart. A ticket
    whose text has not changed is not embedded again.
    """
    items = body.tickets if isinstance(body, ResolvedBatchIn) else [body]
    for item in items:
        key_tenant(key, item.tenant)  # a key bound to tenants stores only in them (403)
    result = ingest_resolved(similar, items, max_batch=settings.max_batch)
    return ResolvedStoredOut(stored=len(result.row_ids), embedded=result.embedded)


@router.delete(
    "/tickets/{ticket_id}",
    response_model=DeletedOut,
    responses={404: error_response("ticket_not_found", "no stored ticket 'INC-0988'")},
)
def delete_ticket(
    ticket_id: Annotated[str, Path(examples=["INC-0988"])],
    key: Annotated[ApiKey | None, Depends(require_scope(Scope.ADMIN))],
    similar: SimilarDep,
    triaged: TriagedStoreDep,
    deliveries: DeliveryStoreDep,
    jobs: JobStoreDep,
    incidents: OptionalIncidentsDep,
    mail: MailStoreDep,
    tenant: Annotated[
        str | None,
        Query(description="Only in this tenant; default: in every tenant.", examples=["acme"]),
    ] = None,
) -> DeletedOut:
    """Forget a ticket everywhere (right to be forgotten): it is never returned again, and
    its text is gone from the queue, webhook deliveries, jobs and e-mail (``tenant`` narrows
    the store, the queue and e-mail; deliveries and jobs carry none)."""
    if key is not None and key.tenants is not None:
        tenant = key.tenant(tenant)  # a bound key forgets in a tenant of its own, named
    forgotten = forget_ticket(
        ticket_id,
        tenant=tenant,
        similar=similar,
        triaged=triaged,
        deliveries=deliveries,
        jobs=jobs,
        incidents=None if incidents is None else incidents.store,
        mail=mail,
    )
    if not forgotten.found:
        raise TicketNotFoundError(f"no stored ticket {ticket_id!r}")
    return DeletedOut(
        deleted=forgotten.stored,
        queue=forgotten.queued,
        deliveries=forgotten.deliveries,
        job_items=forgotten.job_items,
        emails=forgotten.emails,
    )
