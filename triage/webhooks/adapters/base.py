"""What an adapter is, and what it reads from a verified delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from triage.webhooks.canonical import CanonicalTicket


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
