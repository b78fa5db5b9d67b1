"""Receive one helpdesk delivery: find its source's adapter, verify it, read its ticket.

The adapters themselves, one module per helpdesk, are in ``triage.webhooks.adapters``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from triage.core import safe_text
from triage.core.errors import (
    UnknownWebhookSourceError,
    WebhookPayloadError,
    WebhookSourceDisabledError,
)
from triage.webhooks.adapters.base import Adapter
from triage.webhooks.adapters.freshdesk import Freshdesk
from triage.webhooks.adapters.generic import Generic
from triage.webhooks.adapters.glpi import Glpi
from triage.webhooks.adapters.zammad import Zammad
from triage.webhooks.adapters.zendesk import Zendesk
from triage.webhooks.canonical import WRITEBACK_MARKER, Inbound
from triage.webhooks.config import SOURCES
from triage.webhooks.signatures import body_digest, check_age, parse_timestamp

_MAX_KEY = 200

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
    adapter = _adapter(source)
    lowered = {name.lower(): value for name, value in headers.items()}
    _check_authentic(adapter, body, lowered, secret, insecure)
    sent_at = _checked_sent_at(adapter, lowered, secret, max_age, now)
    digest = body_digest(body)
    parsed = adapter.parse(_json_object(body, source), lowered, digest)
    if not parsed.ticket.has_text:
        raise WebhookPayloadError(
            f"the {source} delivery carries no ticket text (neither subject nor body)",
            details={"ticket": parsed.ticket.external_id},
        )
    own_note = WRITEBACK_MARKER in (parsed.ticket.body or "")
    return Inbound(
        source=source,
        key=_bounded_key(parsed.key),
        body_sha256=digest,
        event=parsed.event[:200],
        ticket=parsed.ticket,
        vendor_delivery_id=parsed.vendor_delivery_id,
        sent_at=sent_at,
        ignored="the ticket text is triage's own write-back" if own_note else None,
    )


def _adapter(source: str) -> Adapter:
    adapter = ADAPTERS.get(source)
    if adapter is None:
        raise UnknownWebhookSourceError(
            f"no webhook adapter for {source!r}", details={"sources": list(SOURCES)}
        )
    return adapter


def _check_authentic(
    adapter: Adapter, body: bytes, headers: dict[str, str], secret: str | None, insecure: bool
) -> None:
    """Verify the delivery with the source's secret; without one, refuse it unless insecure."""
    if secret:
        adapter.verify(body, headers, secret)
    elif not insecure:
        source = adapter.name
        raise WebhookSourceDisabledError(
            f"deliveries from {source} are refused: no secret is configured for it "
            f'(set TRIAGE_WEBHOOK_SECRETS=\'{{"{source}": "…"}}\')',
            details={"source": source},
        )


def _checked_sent_at(
    adapter: Adapter,
    headers: dict[str, str],
    secret: str | None,
    max_age: timedelta,
    now: datetime,
) -> datetime | None:
    """When the helpdesk says it sent the delivery, refused if older than ``max_age``.

    Required of a verified delivery whose source sends a timestamp; read if present otherwise.
    """
    header = adapter.timestamp_header
    if header is None or not (secret or headers.get(header.lower())):
        return None
    sent_at = parse_timestamp(headers.get(header.lower(), "").strip(), header)
    check_age(sent_at, now, max_age, header)
    return sent_at


def _bounded_key(key: str) -> str:
    """The delivery key as is, or its digest when it is too long to store."""
    return key if len(key) <= _MAX_KEY else "sha256:" + body_digest(key.encode())


def _json_object(body: bytes, source: str) -> dict[str, Any]:
    try:
        payload = safe_text.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookPayloadError(
            f"the {source} delivery is not JSON: {exc}",
            details={"position": getattr(exc, "pos", None)},
        ) from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError(f"the {source} delivery is not a JSON object")
    return payload
