"""Freshdesk: an automation rule's "Trigger webhook" action."""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar

from triage.core.errors import WebhookSignatureError
from triage.webhooks.adapters.base import Parsed
from triage.webhooks.adapters.fields import (
    delivery_key,
    labelled,
    required_object,
    required_text,
    text_of,
)
from triage.webhooks.canonical import CanonicalTicket
from triage.webhooks.signatures import same

_PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
_STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}


class Freshdesk:
    """Automation rule → "Trigger webhook". Freshdesk signs nothing: the secret travels in a
    custom header ``X-Triage-Token`` or as HTTP Basic credentials (the rule's
    "Requires authentication"), and is compared in constant time."""

    name: ClassVar[str] = "freshdesk"
    timestamp_header: ClassVar[str | None] = None

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        token = headers.get("x-triage-token", "").strip()
        user, password = _basic_credentials(headers.get("authorization", ""))
        # Every candidate is compared, so the time taken says nothing about which matched.
        matches = [same(token, secret), same(user, secret), same(password, secret)]
        if not any(matches):
            raise WebhookSignatureError(
                "the freshdesk delivery carries no valid secret: send it in an X-Triage-Token "
                "header or as the rule's authentication",
                details={"header": "X-Triage-Token"},
            )

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        if isinstance(payload.get("freshdesk_webhook"), dict):
            fields = payload["freshdesk_webhook"]
            ticket = self._rule_ticket(fields)
            event = text_of(fields.get("triggered_event")) or "webhook"
        else:
            ticket = self._api_ticket(required_object(payload, "ticket", self.name))
            event = text_of(payload.get("event")) or "webhook"
        # Freshdesk sends neither a delivery id nor a timestamp: a resend is the same body.
        return Parsed(
            ticket=ticket, event=event, key=delivery_key(ticket.external_id, event, digest)
        )

    def _rule_ticket(self, fields: dict[str, Any]) -> CanonicalTicket:
        """The rule's "simple" content, or our published template: placeholders by name."""
        return CanonicalTicket(
            source=self.name,
            external_id=required_text(fields.get("ticket_id"), "ticket_id", self.name),
            subject=text_of(fields.get("ticket_subject")),
            body=text_of(fields.get("ticket_description")),
            body_format="html",
            requester=text_of(fields.get("requester_email"))
            or text_of(fields.get("ticket_contact_email")),
            category=text_of(fields.get("ticket_type")),
            priority=text_of(fields.get("ticket_priority")),
            group=text_of(fields.get("ticket_group_name")),
            status=text_of(fields.get("ticket_status")),
            owner=text_of(fields.get("ticket_agent_name")),
        )

    def _api_ticket(self, fields: dict[str, Any]) -> CanonicalTicket:
        """The API's ticket object: numeric priority and status codes."""
        return CanonicalTicket(
            source=self.name,
            external_id=required_text(fields.get("id"), "ticket.id", self.name),
            subject=text_of(fields.get("subject")),
            body=text_of(fields.get("description")) or text_of(fields.get("description_text")),
            body_format="html",
            requester=text_of(fields.get("requester_id")),
            category=text_of(fields.get("type")),
            priority=labelled(fields.get("priority"), _PRIORITY),
            group=text_of(fields.get("group_id")),
            status=labelled(fields.get("status"), _STATUS),
            owner=text_of(fields.get("responder_id")),
        )


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password
