"""GLPI 11: a webhook sent (and resent) by GLPI's cron."""

from __future__ import annotations

from typing import Any, ClassVar

from triage.core.errors import WebhookSignatureError
from triage.core.text import unescape_html
from triage.webhooks.adapters.base import Parsed
from triage.webhooks.adapters.fields import (
    delivery_key,
    labelled,
    name_of,
    required_object,
    required_text,
    text_of,
)
from triage.webhooks.canonical import CanonicalTicket
from triage.webhooks.signatures import hmac_hex, require, same

_PRIORITY = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high", 6: "major"}


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
        item = required_object(payload, "item", self.name)
        external_id = required_text(item.get("id"), "item.id", self.name)
        event = text_of(payload.get("event")) or "webhook"
        itemtype = text_of(payload.get("itemtype")) or "Ticket"
        team = [m for m in item.get("team") or [] if isinstance(m, dict)]
        return Parsed(
            ticket=CanonicalTicket(
                source=self.name,
                external_id=external_id,
                subject=text_of(item.get("name")),
                body=_unescaped_content(text_of(item.get("content"))),
                body_format="html",
                requester=_member(team, "User", "requester"),
                category=name_of(item.get("category")),
                priority=labelled(item.get("priority"), _PRIORITY),
                group=_member(team, "Group", "assigned"),
                status=name_of(item.get("status")),
                owner=_member(team, "User", "assigned"),
            ),
            event=event,
            # GLPI sends no delivery id; its timestamp is fixed at queueing and resent as is.
            key=delivery_key(
                itemtype, external_id, event, text_of(headers.get("x-glpi-timestamp"))
            ),
        )


def _member(team: list[dict[str, Any]], kind: str, role: str) -> str | None:
    for member in team:
        if (text_of(member.get("type")) or "").lower() == kind.lower() and (
            text_of(member.get("role")) or ""
        ).lower() == role:
            return text_of(member.get("name"))
    return None


def _unescaped_content(content: str | None) -> str | None:
    # GLPI has stored ticket content HTML-escaped ("&lt;p&gt;…"); unescape it once so the
    # HTML reduction sees tags, not text that looks like tags.
    if content and "&lt;" in content and "<" not in content:
        return unescape_html(content)
    return content
