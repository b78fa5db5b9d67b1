"""Record ticket lifecycle events: sent by a helpdesk, imported from a file, or seen by the
service itself (triage, staff feedback, webhooks and jobs) on the way.

What the service records on its own paths is secondary to what those paths do: a database
that cannot take the event is logged, and the triage or feedback stands.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from triage.core.errors import BatchTooLargeError, InvalidEventError, StoreUnavailableError
from triage.core.ticket_events import EventKind, TicketEvent, utc
from triage.service.results import Classification
from triage.store.database import Database
from triage.store.events import EventStore, StoredEvents
from triage.store.schema import utcnow
from triage.store.triaged import ticket_decision

log = logging.getLogger(__name__)


def event_id(*parts: object) -> str:
    """A stable id for an event the service makes up: the same facts give the same id, so
    a retried call or a re-imported file is stored once."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


def triaged_event(
    classification: Classification,
    *,
    ticket_id: str,
    tenant: str = "",
    source: str,
    match_score: float | None = None,
    at: datetime | None = None,
) -> TicketEvent:
    """The model's prediction of a ticket as an event."""
    language = classification.language
    heads = classification.predictions
    return predicted_event(
        {head: {"label": p.label, "decision": p.decision.value} for head, p in heads.items()},
        model_version=classification.model_version,
        ticket_id=ticket_id,
        tenant=tenant,
        source=source,
        match_score=match_score,
        at=at,
        language=None if language is None else language.code,
    )


def predicted_event(
    predictions: Mapping[str, Mapping[str, Any]],
    *,
    model_version: str,
    ticket_id: str,
    tenant: str = "",
    source: str,
    match_score: float | None = None,
    at: datetime | None = None,
    language: str | None = None,
) -> TicketEvent:
    """A prediction (each head's ``label`` and ``decision``) as a triaged event."""
    heads = {
        head: {"label": p.get("label"), "decision": p.get("decision")}
        for head, p in predictions.items()
    }
    decisions = [str(p["decision"]) for p in heads.values() if p["decision"]]
    return TicketEvent(
        id=event_id("triaged", tenant, ticket_id, model_version, source),
        kind=EventKind.TRIAGED,
        ticket_id=ticket_id,
        at=at or utcnow(),
        tenant=tenant,
        source=source,
        decision=ticket_decision(decisions) if decisions else None,
        predictions=heads,
        match_score=match_score,
        language=language,
    )


def result_events(
    ticket: Mapping[str, Any],
    result: Mapping[str, Any] | None,
    *,
    source: str,
    created: datetime | None = None,
) -> list[TicketEvent]:
    """A job's ticket (with an id) and its classification (``classification_dict``'s shape)
    as events: created at ``created`` when given, and triaged when it was classified."""
    ticket_id = ticket.get("id")
    if not ticket_id or result is None:
        return []
    events = []
    if created is not None:
        events.append(
            TicketEvent(
                id=event_id("created", "", ticket_id, source, "job"),
                kind=EventKind.CREATED,
                ticket_id=str(ticket_id),
                at=created,
                source=source,
            )
        )
    language = result.get("language") or {}
    events.append(
        predicted_event(
            result.get("predictions") or {},
            model_version=str(result.get("model_version")),
            ticket_id=str(ticket_id),
            source=source,
            language=language.get("code"),
        )
    )
    return events


def created_event(
    ticket_id: str, *, tenant: str = "", source: str, channel: str | None, key: str
) -> TicketEvent:
    """A ticket the service saw arrive (``key``: what makes its arrival unique)."""
    return TicketEvent(
        id=event_id("created", tenant, ticket_id, source, key),
        kind=EventKind.CREATED,
        ticket_id=ticket_id,
        at=utcnow(),
        tenant=tenant,
        source=source,
        channel=channel,
    )


def written_back_event(ticket_id: str, *, source: str, tenant: str = "") -> TicketEvent:
    """The suggestion written back to the helpdesk ``source``."""
    return TicketEvent(
        id=event_id("written_back", tenant, ticket_id, source),
        kind=EventKind.WRITTEN_BACK,
        ticket_id=ticket_id,
        at=utcnow(),
        tenant=tenant,
        source=source,
    )


class EventRecorder:
    """The "record ticket events" use case."""

    def __init__(self, store: EventStore, *, max_batch: int = 1000) -> None:
        self.store = store
        self.max_batch = max_batch

    @classmethod
    def for_database(cls, database: Database, *, max_batch: int = 1000) -> EventRecorder:
        return cls(EventStore(database), max_batch=max_batch)

    def record(self, events: Sequence[TicketEvent]) -> StoredEvents:
        """Store ``events`` (committed before this returns); a repeated id is stored once."""
        if len(events) > self.max_batch:
            raise BatchTooLargeError(
                f"{len(events)} events in one batch; the limit is {self.max_batch}",
                details={"limit": self.max_batch, "size": len(events)},
            )
        return self.store.add([_checked(event) for event in events])

    def record_quietly(self, events: Sequence[TicketEvent]) -> None:
        """Record what the service saw on another path: a failure is logged, not raised."""
        if not events:
            return
        try:
            self.store.add([_checked(event) for event in events])
        except (StoreUnavailableError, InvalidEventError) as exc:
            log.warning("%d ticket event(s) not recorded: %s", len(events), exc.message)

    def import_events(self, events: Iterable[TicketEvent], *, chunk: int = 5000) -> StoredEvents:
        """Store a file's events in chunks (``triage events import``)."""
        stored = duplicates = tickets = 0
        batch: list[TicketEvent] = []
        for event in events:
            batch.append(_checked(event))
            if len(batch) >= chunk:
                done = self.store.add(batch)
                stored, duplicates = stored + done.stored, duplicates + done.duplicates
                tickets += done.tickets
                batch = []
        done = self.store.add(batch)
        return StoredEvents(
            stored + done.stored, duplicates + done.duplicates, tickets + done.tickets
        )


def _checked(event: TicketEvent) -> TicketEvent:
    if not event.id or not event.ticket_id:
        raise InvalidEventError("an event needs an id and a ticket_id", details={"id": event.id})
    if event.at.tzinfo is None:
        raise InvalidEventError(
            f"event {event.id!r}: its time has no zone", details={"id": event.id}
        )
    return event


def decided_events(
    items: Iterable[Mapping[str, Any]], *, tenant: str = "", source: str = "staff"
) -> list[TicketEvent]:
    """Staff decisions (feedback items: ticket_id, head, predicted, final, model_version)."""
    now = utcnow()
    events = []
    for item in items:
        ticket_id, head = str(item["ticket_id"]), str(item["head"])
        events.append(
            TicketEvent(
                id=event_id(
                    "decided", tenant, ticket_id, head, item.get("model_version"), item.get("final")
                ),
                kind=EventKind.DECIDED,
                ticket_id=ticket_id,
                at=now,
                tenant=tenant,
                source=source,
                head=head,
                predicted=item.get("predicted"),
                final=item.get("final"),
            )
        )
    return events


def at_utc(value: datetime) -> datetime:
    """An event time as stored: a time without a zone is the server's local time."""
    return utc(value if value.tzinfo else value.astimezone())
