"""One adapter per helpdesk: check the delivery's signature, map its payload to one ticket.

Every adapter answers three questions about a raw delivery: is it authentic (signature, or the
shared secret for Freshdesk, which signs nothing), which ticket is it (mapped onto
``CanonicalTicket``), and which key makes a retry of it recognisable (the helpdesk's own
delivery id where it sends one, else ticket id + event + timestamp, else the body's digest).
The field mapping and the vendor documentation behind it are in docs/integrations/.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage.core.errors import (
    UnknownWebhookSourceError,
    WebhookPayloadError,
    WebhookSignatureError,
    WebhookSourceDisabledError,
)
from triage.webhooks.canonical import WRITEBACK_MARKER, CanonicalTicket, Inbound
from triage.webhooks.config import SOURCES
from triage.webhooks.signatures import (
    body_digest,
    check_age,
    hmac_base64,
    hmac_hex,
    parse_timestamp,
    require,
    same,
)

_MAX_KEY = 200


@dataclass(frozen=True)
class Parsed:
    """What an adapter reads from a verified payload."""

    ticket: CanonicalTicket
    event: str
    key: str
    vendor_delivery_id: str | None = None


class Adapter(Protocol):
    name: ClassVar[str]
    timestamp_header: ClassVar[str | None]

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        """Raise ``WebhookSignatureError`` unless the delivery is authentic."""

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        """Map the payload onto a ticket; raise ``WebhookPayloadError`` if it is not one."""


# --- reading loosely typed payloads ---------------------------------------------------------


def _text(value: Any) -> str | None:
    """A scalar as text; None, "" and whitespace (unrendered placeholders) are absent."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _name(value: Any) -> str | None:
    """A reference as text: ``{"id": 3, "name": "Service Desk"}`` → its name, else the value."""
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _object(payload: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise WebhookPayloadError(
            f"a {source} delivery needs a {key!r} object", details={"field": key}
        )
    return value


def _required(value: Any, field: str, source: str) -> str:
    text = _text(value)
    if text is None:
        raise WebhookPayloadError(f"the {source} delivery has no {field}", details={"field": field})
    return text


def _key(*parts: str | None) -> str:
    return ":".join(part or "" for part in parts)


# --- the adapters ----------------------------------------------------------------------------


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
        ticket = _object(payload, "ticket", self.name)
        article = payload.get("article") if isinstance(payload.get("article"), dict) else {}
        assert isinstance(article, dict)
        external_id = _required(ticket.get("id"), "ticket.id", self.name)
        customer = ticket.get("customer")
        requester = _text(customer.get("email")) if isinstance(customer, dict) else None
        content_type = _text(article.get("content_type")) or "text/plain"
        event = _text(headers.get("x-zammad-trigger")) or "webhook"
        delivery = _text(headers.get("x-zammad-delivery"))
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                number=_text(ticket.get("number")),
                subject=_text(ticket.get("title")),
                body=_text(article.get("body")),
                body_format="html" if "html" in content_type else "text",
                requester=requester or _text(article.get("from")),
                category=_name(ticket.get("category")),  # a custom object attribute, if any
                priority=_name(ticket.get("priority")),
                group=_name(ticket.get("group")),
                status=_name(ticket.get("state")),
            ),
            event=event,
            key=delivery or _key(external_id, event, _text(ticket.get("updated_at")) or digest),
            vendor_delivery_id=delivery,
        )


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
        kind = _text(payload.get("type")) or ""
        if kind.startswith("zen:event-type:ticket") or isinstance(payload.get("detail"), dict):
            return self._event(payload, kind)
        return self._trigger(payload, digest)

    def _event(self, payload: dict[str, Any], kind: str) -> Parsed:
        """The fixed envelope of an event-subscribed webhook: {type, id, detail, event, ...}."""
        detail = _object(payload, "detail", self.name)
        event_id = _required(payload.get("id"), "id (the event id)", self.name)
        subject_ref = _text(payload.get("subject")) or ""  # "zen:ticket:35436"
        external_id = _text(detail.get("id")) or subject_ref.rpartition(":")[2] or None
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=_required(external_id, "detail.id", self.name),
                subject=_text(detail.get("subject")),
                body=_text(detail.get("description")),
                requester=_text(detail.get("requester_id")),
                category=_text(detail.get("type")),
                priority=_text(detail.get("priority")),
                group=_text(detail.get("group_id")),
                status=_text(detail.get("status")),
            ),
            event=kind or "event",
            key=event_id,
            vendor_delivery_id=event_id,
        )

    def _trigger(self, payload: dict[str, Any], digest: str) -> Parsed:
        """The body of our published trigger template (docs/integrations/zendesk.md)."""
        nested = payload.get("ticket")
        fields = nested if isinstance(nested, dict) else payload
        external_id = _required(
            fields.get("ticket_id") if "ticket_id" in fields else fields.get("id"),
            "ticket_id",
            self.name,
        )
        event = _text(payload.get("event")) or "trigger"
        updated = _text(fields.get("updated_at"))
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                subject=_text(fields.get("subject")) or _text(fields.get("title")),
                body=_text(fields.get("description")) or _text(fields.get("latest_comment")),
                requester=_text(fields.get("requester_email")) or _name(fields.get("requester")),
                category=_text(fields.get("type")),
                priority=_text(fields.get("priority")),
                group=_name(fields.get("group")),
                status=_text(fields.get("status")),
            ),
            event=event,
            key=_key(external_id, event, updated or digest),
        )


_GLPI_PRIORITY = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high", 6: "major"}


class Glpi:
    """GLPI 11 webhook. ``X-GLPI-signature`` is hex HMAC-SHA256 of body + ``X-GLPI-timestamp``
    (Unix seconds, fixed when the event is queued: GLPI's cron sends it, and resends it, later)."""

    name: ClassVar[str] = "glpi"
    timestamp_header: ClassVar[str | None] = "X-GLPI-timestamp"

    def verify(self, body: bytes, headers: dict[str, str], secret: str) -> None:
        presented = require(headers, "X-GLPI-signature", self.name)
        timestamp = require(headers, "X-GLPI-timestamp", self.name)
        if not same(presented.lower(), hmac_hex(secret, body + timestamp.encode())):
            raise WebhookSignatureError(
                "the X-GLPI-signature does not match the body, the timestamp and the glpi secret",
                details={"header": "X-GLPI-signature"},
            )

    def parse(self, payload: dict[str, Any], headers: dict[str, str], digest: str) -> Parsed:
        item = _object(payload, "item", self.name)
        external_id = _required(item.get("id"), "item.id", self.name)
        event = _text(payload.get("event")) or "webhook"
        itemtype = _text(payload.get("itemtype")) or "Ticket"
        team = [m for m in item.get("team") or [] if isinstance(m, dict)]
        priority = item.get("priority")
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                subject=_text(item.get("name")),
                body=_glpi_content(_text(item.get("content"))),
                body_format="html",
                requester=_member(team, "User", "requester"),
                category=_name(item.get("category")),
                priority=_GLPI_PRIORITY.get(priority, _text(priority))
                if isinstance(priority, int)
                else _text(priority),
                group=_member(team, "Group", "assigned"),
                status=_name(item.get("status")),
            ),
            event=event,
            # GLPI sends no delivery id; its timestamp is fixed at queueing and resent as is.
            key=_key(itemtype, external_id, event, _text(headers.get("x-glpi-timestamp"))),
        )


def _member(team: list[dict[str, Any]], kind: str, role: str) -> str | None:
    for member in team:
        if (_text(member.get("type")) or "").lower() == kind.lower() and (
            _text(member.get("role")) or ""
        ).lower() == role:
            return _text(member.get("name"))
    return None


def _glpi_content(content: str | None) -> str | None:
    # GLPI has stored ticket content HTML-escaped ("&lt;p&gt;…"); unescape it once so the
    # HTML reduction sees tags, not text that looks like tags.
    if content and "&lt;" in content and "<" not in content:
        return html.unescape(content)
    return content


_FRESHDESK_PRIORITY = {1: "low", 2: "medium", 3: "high", 4: "urgent"}
_FRESHDESK_STATUS = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}


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
            fields = payload["freshdesk_webhook"]  # the rule's "simple" content, or ours
            ticket = CanonicalTicket(
                source=self.name,
                external_id=_required(fields.get("ticket_id"), "ticket_id", self.name),
                subject=_text(fields.get("ticket_subject")),
                body=_text(fields.get("ticket_description")),
                body_format="html",
                requester=_text(fields.get("requester_email"))
                or _text(fields.get("ticket_contact_email")),
                category=_text(fields.get("ticket_type")),
                priority=_text(fields.get("ticket_priority")),
                group=_text(fields.get("ticket_group_name")),
                status=_text(fields.get("ticket_status")),
            )
            event = _text(fields.get("triggered_event")) or "webhook"
        else:
            fields = _object(payload, "ticket", self.name)  # the API's ticket object
            priority, status = fields.get("priority"), fields.get("status")
            ticket = CanonicalTicket(
                source=self.name,
                external_id=_required(fields.get("id"), "ticket.id", self.name),
                subject=_text(fields.get("subject")),
                body=_text(fields.get("description")) or _text(fields.get("description_text")),
                body_format="html",
                requester=_text(fields.get("requester_id")),
                category=_text(fields.get("type")),
                priority=_FRESHDESK_PRIORITY.get(priority, _text(priority))
                if isinstance(priority, int)
                else _text(priority),
                group=_text(fields.get("group_id")),
                status=_FRESHDESK_STATUS.get(status, _text(status))
                if isinstance(status, int)
                else _text(status),
            )
            event = _text(payload.get("event")) or "webhook"
        # Freshdesk sends neither a delivery id nor a timestamp: a resend is the same body.
        return Parsed(ticket=ticket, event=event, key=_key(ticket.external_id, event, digest))


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
        try:
            data = GenericTicket.model_validate(payload)
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
        external_id = _required(data.id, "id", self.name)
        delivery = _text(headers.get("x-triage-delivery")) or _text(data.delivery_id)
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                number=_text(data.number),
                subject=_text(data.subject),
                body=_text(data.body),
                body_format=data.body_format,
                requester=_text(data.requester),
                category=_text(data.current.get("category")),
                priority=_text(data.current.get("priority")),
                group=_text(data.current.get("group")),
                status=_text(data.current.get("status")),
            ),
            event=data.event,
            key=delivery
            or _key(external_id, data.event, _text(headers.get("x-triage-timestamp")) or digest),
            vendor_delivery_id=delivery,
        )


ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter for adapter in (Zammad(), Zendesk(), Glpi(), Freshdesk(), Generic())
}
assert tuple(ADAPTERS) == SOURCES


def receive(
    source: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None,
    insecure: bool = False,
    max_age: timedelta,
    now: datetime,
) -> Inbound:
    """Verify and read one delivery. Nothing is parsed before the signature is checked.

    ``secret`` None refuses the source unless ``insecure`` (then nothing is verified).
    Raises ``UnknownWebhookSourceError``, ``WebhookSourceDisabledError``,
    ``WebhookSignatureError`` (or ``StaleDeliveryError``) and ``WebhookPayloadError``.
    """
    adapter = ADAPTERS.get(source)
    if adapter is None:
        raise UnknownWebhookSourceError(
            f"no webhook adapter for {source!r}", details={"sources": list(SOURCES)}
        )
    lowered = {name.lower(): value for name, value in headers.items()}
    if secret:
        adapter.verify(body, lowered, secret)
    elif not insecure:
        raise WebhookSourceDisabledError(
            f"deliveries from {source} are refused: no secret is configured for it "
            f'(set TRIAGE_WEBHOOK_SECRETS=\'{{"{source}": "…"}}\')',
            details={"source": source},
        )
    sent_at = None
    header = adapter.timestamp_header
    if header is not None and (secret or lowered.get(header.lower())):
        sent_at = parse_timestamp(lowered.get(header.lower(), "").strip(), header)
        check_age(sent_at, now, max_age, header)
    digest = body_digest(body)
    parsed = adapter.parse(_json_object(body, source), lowered, digest)
    if not parsed.ticket.has_text:
        raise WebhookPayloadError(
            f"the {source} delivery carries no ticket text (neither subject nor body)",
            details={"ticket": parsed.ticket.external_id},
        )
    key = (
        parsed.key if len(parsed.key) <= _MAX_KEY else "sha256:" + body_digest(parsed.key.encode())
    )
    own_note = WRITEBACK_MARKER in (parsed.ticket.body or "")
    return Inbound(
        source=source,
        key=key,
        body_sha256=digest,
        event=parsed.event[:200],
        ticket=parsed.ticket,
        vendor_delivery_id=parsed.vendor_delivery_id,
        sent_at=sent_at,
        ignored="the ticket text is triage's own write-back" if own_note else None,
    )


def _json_object(body: bytes, source: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(
            f"the {source} delivery is not JSON: {exc}",
            details={"position": getattr(exc, "pos", None)},
        ) from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError(f"the {source} delivery is not a JSON object")
    return payload
