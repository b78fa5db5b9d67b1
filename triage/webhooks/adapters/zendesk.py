"""Zendesk: a webhook subscribed to ticket events, or called by a trigger."""

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
from triage.webhooks.signatures import hmac_base64, require, same


class Zendesk:
    """Webhook (event subscription or trigger). ``X-Zendesk-Webhook-Signature`` is
    base64 HMAC-SHA256 of ``X-Zendesk-Webhook-Signature-Timestamp`` + body."""

    name: ClassVar[str] = "zendesk"
    timestamp_header: ClassVar[str | None] = "X-Zendesk-Webhook-Signature-Timestamp"

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        presented = require(headers, "X-Zendesk-Webhook-Signature", self.name)
        timestamp = require(headers, "X-Zendesk-Webhook-Signature-Timestamp", self.name)
        if not same(presented, hmac_base64(secret, timestamp.encode() + body)):
            raise WebhookSignatureError(
                "the X-Zendesk-Webhook-Signature does not match the timestamp, the body and "
                "the zendesk signing secret",
                details={"header": "X-Zendesk-Webhook-Signature"},
            )

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        kind = text_of(payload.get("type")) or ""
        if kind.startswith("zen:event-type:ticket") or isinstance(payload.get("detail"), dict):
            return self._event(payload, kind)
        return self._trigger(payload, digest)

    def _event(self, payload: dict[str, Any], kind: str) -> Parsed:
        """The fixed envelope of an event-subscribed webhook: {type, id, detail, event, ...}."""
        detail = required_object(payload, "detail", self.name)
        event_id = required_text(payload.get("id"), "id (the event id)", self.name)
        subject_ref = text_of(payload.get("subject")) or ""  # "zen:ticket:35436"
        external_id = text_of(detail.get("id")) or subject_ref.rpartition(":")[2] or None
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=required_text(external_id, "detail.id", self.name),
                subject=text_of(detail.get("subject")),
                body=text_of(detail.get("description")),
                requester=text_of(detail.get("requester_id")),
                category=text_of(detail.get("type")),
                priority=text_of(detail.get("priority")),
                group=text_of(detail.get("group_id")),
                status=text_of(detail.get("status")),
                owner=text_of(detail.get("assignee_id")),
                created_at=moment_of(detail.get("created_at")),
            ),
            event=kind or "event",
            key=event_id,
            vendor_delivery_id=event_id,
        )

    def _trigger(self, payload: dict[str, Any], digest: str) -> Parsed:
        """The body of our published trigger template (docs/integrations/zendesk.md)."""
        nested = payload.get("ticket")
        fields = nested if isinstance(nested, dict) else payload
        external_id = required_text(
            fields.get("ticket_id") if "ticket_id" in fields else fields.get("id"),
            "ticket_id",
            self.name,
        )
        event = text_of(payload.get("event")) or "trigger"
        updated = text_of(fields.get("updated_at"))
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                subject=text_of(fields.get("subject")) or text_of(fields.get("title")),
                body=text_of(fields.get("description")) or text_of(fields.get("latest_comment")),
                requester=text_of(fields.get("requester_email"))
                or name_of(fields.get("requester")),
                category=text_of(fields.get("type")),
                priority=text_of(fields.get("priority")),
                group=name_of(fields.get("group")),
                status=text_of(fields.get("status")),
                owner=name_of(fields.get("assignee")) or text_of(fields.get("assignee_email")),
                created_at=moment_of(fields.get("created_at")),
            ),
            event=event,
            key=delivery_key(external_id, event, updated or digest),
        )
