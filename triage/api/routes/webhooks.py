"""Helpdesk webhooks: a delivery is verified, stored and answered 202; triaged in the background.

The signature is the authentication of ``POST /v1/webhooks/{source}`` (helpdesks cannot send
our API keys); reading a delivery's result needs the ``classify`` scope like any other result.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from triage.api.clean_request import CleanRoute
from triage.api.deps import (
    DeliveryStoreDep,
    WebhookRunnerDep,
    get_app_settings,
    require_scope,
)
from triage.api.openapi import error_response
from triage.api.schemas import ErrorOut
from triage.api.schemas_webhooks import (
    CurrentFieldsOut,
    DeliveryOut,
    WebhookTicketOut,
    WritebackOut,
)
from triage.core.auth import Scope
from triage.core.errors import DeliveryNotFoundError
from triage.store.deliveries import Delivery
from triage.store.schema import utcnow
from triage.webhooks.sources import receive

router = APIRouter(route_class=CleanRoute, prefix="/v1/webhooks", tags=["webhooks"])


_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "The helpdesk's own payload, byte for byte as it signed it: Zammad's trigger payload, "
        "a Zendesk event or our trigger template, GLPI's {event, item}, Freshdesk's rule "
        "content, or (source `generic`) triage's canonical ticket below. See "
        "docs/integrations/<source>.md for headers and templates."
    ),
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GenericTicket"}}},
}


def delivery_url(request: Request, delivery_id: str) -> str:
    return str(request.url_for("get_delivery", delivery_id=delivery_id))


def delivery_out(
    delivery: Delivery, request: Request, *, duplicate: bool = False, url: str | None = None
) -> DeliveryOut:
    ticket = delivery.ticket
    writeback = delivery.writeback
    return DeliveryOut(
        id=delivery.id,
        source=delivery.source,
        event=delivery.event,
        status=delivery.status.value,
        duplicate=duplicate,
        ignored=delivery.ignored,
        vendor_delivery_id=delivery.vendor_delivery_id,
        sent_at=delivery.sent_at,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
        ticket=WebhookTicketOut(
            source=ticket.source,
            external_id=ticket.external_id,
            number=ticket.number,
            subject=ticket.subject,
            body=ticket.body,
            body_format=ticket.body_format,
            requester=ticket.requester,
            current=CurrentFieldsOut(
                category=ticket.category,
                priority=ticket.priority,
                group=ticket.group,
                status=ticket.status,
            ),
        ),
        result=delivery.result,  # a dict, validated into the model
        error=delivery.error,
        writeback=WritebackOut(
            status=writeback.status.value,
            attempts=writeback.attempts,
            next_attempt_at=writeback.next_attempt_at,
            last_error=writeback.last_error,
            steps_done=writeback.steps_done,
            done_at=writeback.done_at,
        )
        if writeback is not None
        else None,
        links={"self": url or delivery_url(request, delivery.id)},
    )


@router.post(
    "/{source}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses={
        200: {"model": DeliveryOut, "description": "A retry: the first delivery's state."},
        401: {"model": ErrorOut, "description": "Missing, wrong or stale signature."},
        403: {"model": ErrorOut, "description": "No secret is configured for this source."},
        404: error_response(
            "unknown_source",
            "no webhook adapter for 'servicenow'",
            "Not one of the supported helpdesks.",
        ),
        413: {"model": ErrorOut},
        422: {"model": ErrorOut, "description": "Signed, but not a ticket of this source."},
    },
)
async def receive_delivery(
    source: Annotated[str, Path(examples=["zammad"])],
    request: Request,
    response: Response,
    deliveries: DeliveryStoreDep,
    runner: WebhookRunnerDep,
) -> DeliveryOut:
    """Accept a helpdesk's signed webhook (zammad, zendesk, glpi, freshdesk, generic) to triage."""
    # async with a single threadpool hop (the insert): under load every hop to a thread
    # waits for the scheduler, and this answer has a 50 ms budget. Verifying and mapping
    # take a fraction of a millisecond, so they run here.
    body = await request.body()  # the exact bytes the signature covers
    settings = get_app_settings(request)
    secret = settings.webhook_secrets.get(source)
    inbound = receive(
        source,
        body,
        request.headers,
        secret=secret.get_secret_value() if secret is not None else None,
        insecure=source in settings.webhook_insecure_sources,
        max_age=timedelta(seconds=settings.webhook_max_age(source)),
        now=utcnow(),
    )
    delivery, created = await run_in_threadpool(
        deliveries.accept, inbound, writeback=source in settings.webhook_writeback
    )
    if created and runner is not None:
        runner.wake()
    if not created:
        response.status_code = status.HTTP_200_OK
    url = delivery_url(request, delivery.id)
    response.headers["Location"] = url
    return delivery_out(delivery, request, duplicate=not created, url=url)


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryOut,
    dependencies=[Depends(require_scope(Scope.CLASSIFY))],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: error_response("delivery_not_found", "no webhook delivery '0c5e2f4a9b7d4e21'"),
    },
)
def get_delivery(
    delivery_id: Annotated[str, Path(examples=["0c5e2f4a9b7d4e21"])],
    request: Request,
    deliveries: DeliveryStoreDep,
) -> DeliveryOut:
    """A delivery's state: its ticket, the classification once done, and the write-back."""
    delivery = deliveries.get(delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(f"no webhook delivery {delivery_id!r}")
    return delivery_out(delivery, request)
