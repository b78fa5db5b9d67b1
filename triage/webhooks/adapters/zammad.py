"""Zammad: trigger → webhook."""

from __future__ import annotations

from typing import Any, ClassVar

from triage.core.errors import WebhookSignatureError
from triage.webhooks.adapters.base import Parsed
from triage.webhooks.adapters.fields import (
    delivery_key,
    moment_of,
    name_of,
    required_object,
    required_text,
    text_of,
)
from triage.webhooks.canonical import CanonicalTicket
from triage.webhooks.signatures import hmac_hex, require, same


class Zammad:
    """Trigger → webhook. ``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>``, no timestamp;
    ``X-Zammad-Delivery`` is the job id, the same on each of Zammad's retries."""

    name: ClassVar[str] = "zammad"
    timestamp_header: ClassVar[str | None] = None

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        presented = require(headers, "X-Hub-Signature", self.name)
        if not same(presented.lower(), "sha1=" + hmac_hex(secret, body, "sha1")):
            raise WebhookSignatureError(
                "the X-Hub-Signature does not match the body and the zammad secret",
                details={"header": "X-Hub-Signature"},
            )

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        ticket = required_object(payload, "ticket", self.name)
        article = payload.get("article") if isinstance(payload.get("article"), dict) else {}
        assert isinstance(article, dict)
        external_id = required_text(ticket.get("id"), "ticket.id", self.name)
        customer = ticket.get("customer")
        requester = text_of(customer.get("email")) if isinstance(customer, dict) else None
        content_type = text_of(article.get("content_type")) or "text/plain"
        event = text_of(headers.get("x-zammad-trigger")) or "webhook"
        delivery = text_of(headers.get("x-zammad-delivery"))
        updated = text_of(ticket.get("updated_at"))
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                number=text_of(ticket.get("number")),
                subject=text_of(ticket.get("title")),
                body=text_of(article.get("body")),
                body_format="html" if "html" in content_type else "text",
                requester=requester or text_of(article.get("from")),
                category=name_of(ticket.get("category")),  # a custom object attribute, if any
                priority=name_of(ticket.get("priority")),
                group=name_of(ticket.get("group")),
                status=name_of(ticket.get("state")),
                owner=_agent(ticket.get("owner")),
                created_at=moment_of(ticket.get("created_at")),
            ),
            event=event,
            key=delivery or delivery_key(external_id, event, updated or digest),
            vendor_delivery_id=delivery,
        )


def _agent(owner: Any) -> str | None:
    """The owner's name; Zammad's placeholder user (id 1, login "-") is nobody."""
    if not isinstance(owner, dict) or owner.get("id") == 1:
        return None
    name = " ".join(
        n for n in (text_of(owner.get("firstname")), text_of(owner.get("lastname"))) if n
    )
    return name or text_of(owner.get("login")) or text_of(owner.get("email"))
