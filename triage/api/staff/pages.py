"""The staff page's pages: triage a ticket, one ticket with its answers and similar solved
ones, the decision form, and the queue with the week's live quality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from triage.api.clean_request import CleanRoute
from triage.api.deps import (
    EventRecorderDep,
    FeedbackStoreDep,
    MetricsDep,
    OptionalIncidentsDep,
    ServiceDep,
    TriagedStoreDep,
    get_similar,
)
from triage.api.schemas_feedback import FeedbackIn
from triage.api.staff.cookie import UiSession
from triage.api.staff.i18n import age, translator
from triage.api.staff.responses import posting_staff, redirect, refuse, render, to_signin
from triage.api.staff.session import FormDep, SessionDep, Staff, field, staff_of
from triage.api.staff.views import heads_view, incident_view, similar_view, week_view
from triage.core.auth import Scope
from triage.core.errors import (
    InvalidTicketError,
    StoreUnavailableError,
    TicketTooLargeError,
    TriageError,
)
from triage.service import Ticket
from triage.service.live_quality import week_quality
from triage.service.staff_decisions import store_feedback
from triage.service.ticket_triage import TicketTriage
from triage.similar.service import SimilarService
from triage.store.feedback import Feedback
from triage.store.schema import utcnow
from triage.store.triaged import DECISIONS, QueueFilter, TriagedStore

_PAGE = 50
_SIMILAR_K = 5

router = APIRouter(route_class=CleanRoute, prefix="/ui", include_in_schema=False)
# A queue entry's id: a 64-bit row id (a longer number would overflow the database driver).
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _similar_service(request: Request) -> tuple[SimilarService | None, str | None]:
    try:
        return get_similar(request), None
    except TriageError as exc:
        return None, exc.message


def _home(
    request: Request,
    session: UiSession,
    staff: Staff,
    triaged: TriagedStore,
    *,
    status: int = 200,
    error: str | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    t = translator(session.lang)
    now = utcnow()
    recent = [(entry, age(entry.triaged_at, now, t)) for entry in triaged.recent(limit=8)]
    return render(
        request,
        session,
        staff,
        "ticket.html",
        status=status,
        nav="ticket",
        entry=None,
        recent=recent,
        error=error,
        values=values or {},
    )


@router.get("/")
def home(request: Request, session: SessionDep, triaged: TriagedStoreDep) -> Response:
    """Paste a ticket to triage, or pick a recently triaged one."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    return _home(request, session, staff, triaged)


@router.post("/triage")
def triage_ticket(
    request: Request,
    session: SessionDep,
    form: FormDep,
    service: ServiceDep,
    metrics: MetricsDep,
    triaged: TriagedStoreDep,
    incidents: OptionalIncidentsDep,
) -> Response:
    """Triage a pasted ticket, keep it in the queue, show it."""
    staff = posting_staff(request, session, form)
    if isinstance(staff, Response):
        return staff
    t = translator(session.lang)
    subject, body = field(form, "subject"), field(form, "body")
    ticket_id = field(form, "ticket_id")[:200]
    values = {"subject": subject, "body": body, "ticket_id": ticket_id}
    ticket = Ticket(subject=subject or None, body=body or None, id=ticket_id or None)
    try:
        service.texts([ticket])
    except InvalidTicketError:
        return _home(
            request, session, staff, triaged, status=422, error=t("empty_ticket"), values=values
        )
    except TicketTooLargeError as exc:
        error = t("too_large", **exc.details)
        return _home(request, session, staff, triaged, status=413, error=error, values=values)
    similar, _ = _similar_service(request)
    outcome = TicketTriage(service, similar, triaged, incidents).triage(
        ticket, query=None, remember=True, queue_source="ui"
    )
    metrics.observe(outcome.classification)
    if outcome.queue_entry is None:  # the page shows queued tickets only: nothing to show
        raise StoreUnavailableError("the database is unavailable: the ticket was not queued")
    entry_id = outcome.queue_entry
    return redirect(request, session, f"/ui/tickets/{entry_id}")


@router.get("/tickets/{entry_id}")
def ticket_page(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    service: ServiceDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
    saved: bool = False,
) -> Response:
    """One ticket: each head's answer and why, similar resolved tickets, the decision form."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    t = translator(session.lang)
    entry = triaged.get(entry_id)
    if entry is None:
        return refuse(request, session, staff, t("not_found"), 404)
    # Triaged again, live, with explanations: what staff accept is what the served model says.
    similar_service, similar_error = _similar_service(request)
    outcome = TicketTriage(service, similar_service, triaged).review(
        Ticket(subject=entry.subject, body=entry.body, id=entry.ticket_id),
        tenant=entry.tenant,
        k=_SIMILAR_K,
    )
    classification = outcome.classification
    now = utcnow()
    similar, duplicates = similar_view(
        outcome.similar, internal=staff.can(Scope.ADMIN), now=now, t=t
    )
    return render(
        request,
        session,
        staff,
        "ticket.html",
        nav="ticket",
        entry=entry,
        triaged_age=age(entry.triaged_at, now, t),
        model_version=classification.model_version,
        heads=heads_view(classification, service, t),
        route=classification.route,
        route_correctable=service.routing.group_head in classification.predictions,
        similar=similar,
        duplicates=duplicates,
        similar_error=similar_error,
        feedback=feedback.for_ticket(entry.ticket_id),
        may_decide=staff.can(Scope.FEEDBACK),
        saved=saved,
    )


@router.post("/tickets/{entry_id}/feedback")
def ticket_feedback(
    request: Request,
    entry_id: EntryId,
    session: SessionDep,
    form: FormDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
    events: EventRecorderDep,
) -> Response:
    """Accept the labels shown, or save the corrected ones, as feedback."""
    staff = posting_staff(request, session, form)
    if isinstance(staff, Response):
        return staff
    t = translator(session.lang)
    if not staff.can(Scope.FEEDBACK):
        return refuse(request, session, staff, t("no_feedback_scope"), 403)
    entry = triaged.get(entry_id)
    if entry is None:
        return refuse(request, session, staff, t("not_found"), 404)
    accept = field(form, "action") == "accept"
    try:
        items = [
            FeedbackIn.model_validate(
                {
                    "ticket_id": entry.ticket_id,
                    "head": head,
                    "predicted": field(form, f"predicted.{head}"),
                    "final": field(form, f"predicted.{head}" if accept else f"final.{head}"),
                    "model_version": field(form, "model_version"),
                    "decision": field(form, f"decision.{head}") or None,
                    "confidence": field(form, f"confidence.{head}") or None,
                }
            )
            for head in dict.fromkeys(form.get("head", []))
        ]
    except ValidationError as exc:
        return refuse(request, session, staff, str(exc.errors()[0]["msg"]), 422)
    if not items:
        return refuse(request, session, staff, "no head in the form", 422)
    decided = [Feedback(**item.model_dump()) for item in items]
    store_feedback(feedback, events, decided, source="ui", tenant=entry.tenant)
    return redirect(request, session, f"/ui/tickets/{entry.id}?saved=true")


def _choice(value: str | None, allowed: list[str] | tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    service: ServiceDep,
    triaged: TriagedStoreDep,
    feedback: FeedbackStoreDep,
    incidents: OptionalIncidentsDep,
    decision: str | None = None,
    category: str | None = None,
    tier: str | None = None,
    show: str = "pending",
    offset: int = 0,
) -> Response:
    """Triaged tickets by decision, category and tier, with the week's live quality."""
    staff = staff_of(request, session)
    if staff is None:
        return to_signin(request, session)
    t = translator(session.lang)
    heads = service.model.heads
    categories = service.model.labels("category") if "category" in heads else []
    tiers = service.model.labels("tier") if "tier" in heads else []
    which = QueueFilter(
        decision=_choice(decision, DECISIONS),
        category=_choice(category, categories),
        tier=_choice(tier, tiers),
        pending_only=show != "all",
    )
    offset = min(max(0, offset), 2**31)  # SQL's OFFSET is 64-bit; past the end is empty anyway
    rows = triaged.recent(which, limit=_PAGE + 1, offset=offset)
    now = utcnow()

    def link(**change: object) -> str:
        params = {
            "decision": which.decision,
            "category": which.category,
            "tier": which.tier,
            "show": "pending" if which.pending_only else "all",
            **change,
        }
        query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items() if v not in (None, 0))
        return f"/ui/queue?{query}"

    return render(
        request,
        session,
        staff,
        "queue.html",
        nav="queue",
        which=which,
        rows=[(entry, age(entry.triaged_at, now, t)) for entry in rows[:_PAGE]],
        counts=triaged.counts(which),
        categories=categories,
        tiers=tiers,
        link=link,
        older=link(offset=offset + _PAGE) if len(rows) > _PAGE else None,
        newer=link(offset=max(0, offset - _PAGE)) if offset else None,
        incidents=incident_view(incidents, now, t),
        may_decide_incidents=staff.can(Scope.ADMIN),
        weeks=week_view(week_quality(feedback, now, list(heads)), t)
        if staff.can(Scope.FEEDBACK)
        else None,
    )
