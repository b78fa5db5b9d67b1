"""E-mail intake: one message (``message/rfc822``) triaged, or set aside, and queued."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from triage.api.clean_request import CleanRoute
from triage.api.deps import (
    MailStoreDep,
    MetricsDep,
    ServiceDep,
    SimilarDep,
    TriagedStoreDep,
    get_app_settings,
    key_tenant,
    require_scope,
)
from triage.api.routes.classify import classification_out
from triage.api.routes.similar import match_lists, may_see_internal
from triage.api.schemas import ClassificationOut, ErrorOut
from triage.api.schemas_email import AttachmentOut, EmailCleanedOut, EmailOut
from triage.api.schemas_similar import DuplicateOut, MatchOut
from triage.core.auth import ApiKey, Scope
from triage.core.errors import UnsupportedMediaTypeError
from triage.service.ticket_triage import TicketTriage

if TYPE_CHECKING:
    from triage.service.mail_intake import MailOutcome

router = APIRouter(route_class=CleanRoute, prefix="/v1", tags=["email"])

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "One e-mail message, RFC 5322 bytes as received (an .eml file).",
    "content": {
        "message/rfc822": {
            "schema": {"type": "string", "format": "binary"},
            "example": (
                "From: Budi Santoso <budi@example.co.id>\r\nTo: helpdesk@example.com\r\n"
                "Subject: VPN tidak bisa connect\r\nMessage-ID: <CAF=abc123@mail.gmail.com>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\nVPN saya tidak bisa connect "
                "sejak pagi, muncul error authentication failed.\r\n\r\nSalam,\r\nBudi\r\n"
            ),
        }
    },
}


def email_out(outcome: MailOutcome, similar_backend: str | None, *, internal: bool) -> EmailOut:
    found: list[MatchOut] = []
    duplicates: list[DuplicateOut] = []
    classification = None
    degraded: list[str] = []
    if outcome.triage is not None:
        found, duplicates = match_lists(outcome.triage.similar, internal=internal)
        classification = classification_out(outcome.triage.classification)
        degraded = list(outcome.triage.degraded)
    elif outcome.recorded is not None:
        classification = ClassificationOut.model_validate(outcome.recorded)
    return EmailOut(
        ticket_id=outcome.ticket_id,
        joined=outcome.joined,
        duplicate=outcome.duplicate,
        skipped=outcome.skipped,
        email=EmailCleanedOut(
            message_id=outcome.message_id,
            subject=outcome.subject,
            text=outcome.text,
            attachments=[
                AttachmentOut(name=a.name, content_type=a.content_type, size=a.size)
                for a in outcome.attachments
            ],
            attachments_omitted=outcome.attachments_omitted,
        ),
        classification=classification,
        similar=found,
        duplicates=duplicates,
        backend=similar_backend if outcome.triage is not None else None,
        degraded=degraded,
    )


@router.post(
    "/email",
    response_model=EmailOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        200: {"model": EmailOut, "description": "Received before (same Message-ID)."},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        413: {"model": ErrorOut, "description": "Over TRIAGE_MAIL_MAX_BYTES."},
        415: {"model": ErrorOut, "description": "Not message/rfc822."},
        422: {"model": ErrorOut},
    },
)
async def receive_email(
    request: Request,
    response: Response,
    service: ServiceDep,
    similar: SimilarDep,
    triaged: TriagedStoreDep,
    mail: MailStoreDep,
    metrics: MetricsDep,
    key: Annotated[ApiKey | None, Depends(require_scope(Scope.CLASSIFY))],
    tenant: Annotated[
        str | None, Query(description="Tenant of the ticket.", examples=["acme"])
    ] = None,
) -> EmailOut:
    """Triage one e-mail (message/rfc822): cleaned, threaded by In-Reply-To, queued."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "message/rfc822":
        raise UnsupportedMediaTypeError(
            f"unsupported content type {content_type!r}: send message/rfc822"
        )
    # Here, not at import: the mail parsing behind it (the e-mail package, the reply and
    # signature rules) is no part of a worker's start (tests/api/test_lean_start.py).
    from triage.service.mail_intake import MailIntake

    raw = await request.body()
    settings = get_app_settings(request)
    intake = MailIntake.from_settings(TicketTriage(service, similar, triaged), mail, settings)
    outcome = await run_in_threadpool(intake.receive, raw, tenant=key_tenant(key, tenant))
    if outcome.triage is not None:
        metrics.observe(outcome.triage.classification)
    if outcome.duplicate:
        response.status_code = status.HTTP_200_OK
    return email_out(outcome, similar.backend, internal=may_see_internal(key))
