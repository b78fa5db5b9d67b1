"""triage's own canonical JSON, for helpdesks and scripts without a native adapter."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.core.errors import WebhookPayloadError, WebhookSignatureError
from triage.webhooks.adapters.base import Parsed
from triage.webhooks.adapters.fields import delivery_key, required_text, text_of
from triage.webhooks.canonical import CanonicalTicket
from triage.webhooks.signatures import hmac_hex, require, same


class GenericTicket(BaseModel):
    """triage's own canonical ticket, for helpdesks and scripts without a native adapter."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "INC-1042",
                    "event": "created",
                    "subject": "Printer on 3rd floor jams",
                    "body": "Every job since this morning stops with a paper jam.",
                    "requester": "emily@example.com",
                    "current": {"priority": "normal", "group": "Service Desk"},
                }
            ]
        },
    )

    id: str | int = Field(description="The helpdesk's ticket id.")
    event: str = Field("created", max_length=200, description="What happened to the ticket.")
    delivery_id: str | None = Field(
        None, max_length=200, description="Unique per delivery; a resend repeats it."
    )
    number: str | None = None
    subject: str | None = None
    body: str | None = None
    body_format: Literal["text", "html"] = "text"
    requester: str | None = None
    current: dict[str, str | None] = Field(
        default_factory=dict, description="The ticket's category, priority, group and status."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)


class Generic:
    """triage's canonical JSON. ``X-Triage-Signature: sha256=<hex HMAC-SHA256 of
    "<X-Triage-Timestamp>." + body>``; ``X-Triage-Delivery`` (optional) names the delivery."""

    name: ClassVar[str] = "generic"
    timestamp_header: ClassVar[str | None] = "X-Triage-Timestamp"

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        presented = require(headers, "X-Triage-Signature", self.name)
        timestamp = require(headers, "X-Triage-Timestamp", self.name)
        expected = "sha256=" + hmac_hex(secret, timestamp.encode() + b"." + body)
        if not same(presented.lower(), expected):
            raise WebhookSignatureError(
                "the X-Triage-Signature does not match the timestamp, the body and the "
                "generic secret",
                details={"header": "X-Triage-Signature"},
            )

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        data = _validated(payload)
        external_id = required_text(data.id, "id", self.name)
        delivery = text_of(headers.get("x-triage-delivery")) or text_of(data.delivery_id)
        sent_at = text_of(headers.get("x-triage-timestamp"))
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                number=text_of(data.number),
                subject=text_of(data.subject),
                body=text_of(data.body),
                body_format=data.body_format,
                requester=text_of(data.requester),
                category=text_of(data.current.get("category")),
                priority=text_of(data.current.get("priority")),
                group=text_of(data.current.get("group")),
                status=text_of(data.current.get("status")),
                owner=text_of(data.current.get("owner")),
            ),
            event=data.event,
            key=delivery or delivery_key(external_id, data.event, sent_at or digest),
            vendor_delivery_id=delivery,
        )


def _validated(payload: dict[str, Any]) -> GenericTicket:
    """The payload as a ``GenericTicket``; its first error names the field that is wrong."""
    try:
        return GenericTicket.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookPayloadError(
            f"{where}: {first['msg']}",
            details=[
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_url=False)
            ],
        ) from exc
