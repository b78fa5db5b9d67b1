"""A helpdesk's state of a ticket, as each delivery shows it, mapped onto lifecycle events.

Every delivery carries the ticket's current status, group, priority and owner (agent): an
``updated`` event records them, and a status that means solved (per helpdesk, as its
documentation names them) adds a ``resolved`` event, an open one a ``reopened`` event (which
counts only for a ticket that was resolved).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from triage.core.ticket_events import EventKind, TicketEvent

# Lower-cased statuses: Zammad's ticket states, Zendesk's status, GLPI's status names (5
# Solved, 6 Closed), Freshdesk's codes as the adapter labels them (4 resolved, 5 closed).
SOLVED: dict[str, frozenset[str]] = {
    "zammad": frozenset({"closed", "merged"}),
    "zendesk": frozenset({"solved", "closed"}),
    "glpi": frozenset({"solved", "closed"}),
    "freshdesk": frozenset({"resolved", "closed"}),
    "generic": frozenset({"solved", "resolved", "closed"}),
}
OPEN: dict[str, frozenset[str]] = {
    "zammad": frozenset({"open"}),
    "zendesk": frozenset({"open"}),
    "glpi": frozenset({"processing (assigned)", "processing (planned)"}),
    "freshdesk": frozenset({"open"}),
    "generic": frozenset({"open", "reopened"}),
}


def _id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def delivery_events(
    source: str, ticket_id: str, current: Mapping[str, Any], *, at: datetime, key: str
) -> list[TicketEvent]:
    """The events one delivery (``key`` tells it apart) says about ticket ``ticket_id``."""
    status = (_text(current.get("status")) or "").lower()
    common: dict[str, Any] = {"ticket_id": ticket_id, "at": at, "source": source}
    events = [
        TicketEvent(
            id=_id("webhook", source, ticket_id, key, "updated"),
            kind=EventKind.UPDATED,
            group=_text(current.get("group")),
            agent=_text(current.get("owner")),
            priority=_text(current.get("priority")),
            **common,
        )
    ]
    if status in SOLVED.get(source, frozenset()):
        kind = EventKind.RESOLVED
    elif status in OPEN.get(source, frozenset()):
        kind = EventKind.REOPENED
    else:
        return events
    events.append(TicketEvent(id=_id("webhook", source, ticket_id, key, kind), kind=kind, **common))
    return events
