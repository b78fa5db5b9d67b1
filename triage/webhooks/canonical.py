"""The one ticket shape every helpdesk's webhook payload is mapped onto."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# Starts every note triage writes back; a delivery whose text carries it is triage's own echo
# (e.g. an "article created" trigger firing on our note) and is not triaged again.
WRITEBACK_MARKER = "[triage]"


@dataclass(frozen=True)
class CanonicalTicket:
    """A helpdesk ticket as triage reads it, whatever system it came from."""

    source: str
    external_id: str
    subject: str | None = None
    body: str | None = None
    body_format: Literal["text", "html"] = "text"
    number: str | None = None
    requester: str | None = None
    category: str | None = None
    priority: str | None = None
    group: str | None = None
    status: str | None = None
    owner: str | None = None  # the agent the helpdesk assigned it to
    created_at: str | None = None  # ISO 8601 with offset: when the helpdesk created it

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "external_id": self.external_id,
            "number": self.number,
            "subject": self.subject,
            "body": self.body,
            "body_format": self.body_format,
            "requester": self.requester,
            "created_at": self.created_at,
            "current": {
                "category": self.category,
                "priority": self.priority,
                "group": self.group,
                "status": self.status,
                "owner": self.owner,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanonicalTicket:
        current = data.get("current") or {}
        return cls(
            source=data["source"],
            external_id=data["external_id"],
            subject=data.get("subject"),
            body=data.get("body"),
            body_format="html" if data.get("body_format") == "html" else "text",
            number=data.get("number"),
            requester=data.get("requester"),
            created_at=data.get("created_at"),
            category=current.get("category"),
            priority=current.get("priority"),
            group=current.get("group"),
            status=current.get("status"),
            owner=current.get("owner"),
        )

    def job_ticket(self) -> dict[str, Any]:
        """The ticket as a classification job item (what ``Ticket`` is built from)."""
        return {
            "id": self.external_id,
            "subject": self.subject,
            "body": self.body,
            "created_at": self.created_at,  # incident detection counts it at this time
            # ``current``: the helpdesk's state of the ticket, recorded as events for reports.
            "metadata": {"source": self.source, "current": self.as_dict()["current"]},
        }

    @property
    def has_text(self) -> bool:
        return bool((self.subject or "").strip() or (self.body or "").strip())


@dataclass(frozen=True)
class Inbound:
    """A verified, parsed delivery, ready to be stored (nothing is stored yet)."""

    source: str
    key: str  # idempotency key: a retry of the same delivery has the same key
    body_sha256: str
    event: str
    ticket: CanonicalTicket
    vendor_delivery_id: str | None = None
    sent_at: datetime | None = None
    ignored: str | None = None  # why this delivery is accepted but not triaged
