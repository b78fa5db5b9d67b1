"""Triage a ticket: classify it, find similar resolved tickets, remember it and queue it.

One embedding of the ticket serves both the heads and the search. The classification needs
only the loaded model; what needs the database (the search, remembering the ticket as open
for duplicate detection, the staff page's queue) is done when it can be, and what could not
be done is named in ``degraded`` rather than failing the whole triage.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import numpy as np

from triage.core.errors import StoreUnavailableError
from triage.core.text import ticket_text
from triage.service.classification import TriageService
from triage.service.events import EventRecorder, created_event, triaged_event
from triage.service.incidents import IncidentRef, IncidentTracker, ObservedTicket
from triage.service.results import Classification, Ticket, route_dict
from triage.similar.results import SimilarResult
from triage.similar.service import SimilarService
from triage.store.events import EventStore
from triage.store.records import Status, TicketRecord
from triage.store.triaged import TriagedStore

Degraded = Literal["similar", "queue", "incidents"]
# The channel a ticket queued from each source arrived by, for the reports.
QUEUE_CHANNELS = {"ui": "web", "api": "api", "email": "email"}


@dataclass(frozen=True)
class SimilarQuery:
    """Which similar resolved tickets to look for."""

    k: int = 5
    category: str | None = None
    max_age: timedelta | None = None
    min_score: float = 0.0


@dataclass(frozen=True)
class TriageOutcome:
    """A triaged ticket: its classification, its similar tickets and what could not be done."""

    classification: Classification
    similar: SimilarResult
    degraded: list[Degraded] = field(default_factory=list)
    queue_entry: int | None = None  # the staff page's row, when the ticket was queued
    incident: IncidentRef | None = None  # the incident the ticket is in, if any


def find_similar(
    similar: SimilarService,
    ticket: Ticket,
    vector: np.ndarray,
    *,
    tenant: str = "",
    query: SimilarQuery | None = None,
    remember: bool = False,
) -> SimilarResult:
    """The ticket's similar resolved tickets and likely duplicates (never the ticket itself);
    ``remember``: keep a ticket with an id as open, for later duplicate detection."""
    query = query or SimilarQuery()
    vector = np.asarray(vector, dtype=np.float32)
    result = similar.find(
        vector,
        text=ticket_text([ticket.subject, ticket.body]),
        subject=ticket.subject,
        k=query.k,
        tenant=tenant,
        category=query.category,
        max_age=query.max_age,
        min_score=query.min_score,
        exclude=(tenant, ticket.id) if ticket.id else None,
    )
    if remember:
        _remember_open(similar, ticket, vector, tenant)
    return result


def _remember_open(
    similar: SimilarService, ticket: Ticket, vector: np.ndarray, tenant: str
) -> None:
    if ticket.id:
        record = TicketRecord(
            ticket_id=ticket.id,
            subject=ticket.subject,
            body=ticket.body,
            tenant=tenant,
            status=Status.OPEN,
        )
        similar.remember_open(record, vector)


def observed_ticket(
    ticket: Ticket, vector: np.ndarray, classification: Classification
) -> ObservedTicket:
    """What incident detection keeps of a triaged ticket (it needs an id)."""
    assert ticket.id
    predictions = classification.predictions
    language = classification.language
    return ObservedTicket(
        ticket_id=ticket.id,
        vector=np.asarray(vector, dtype=np.float32),
        text=ticket_text([ticket.subject, ticket.body]),
        at=ticket.created_at,
        category=predictions["category"].label if "category" in predictions else None,
        tier=predictions["tier"].label if "tier" in predictions else None,
        language=None if language is None else language.code,
    )


class TicketTriage:
    """The "triage a ticket" use case, for every edge (the API and the staff page alike).

    ``similar`` is None where the similar-ticket store cannot serve the model's embedder:
    the ticket is then classified and queued, without similar tickets. A queued ticket is
    recorded as created and triaged for the reports (in ``events``, by default the queue's
    database).
    """

    def __init__(
        self,
        classifier: TriageService,
        similar: SimilarService | None,
        queue: TriagedStore,
        incidents: IncidentTracker | None = None,
        events: EventRecorder | None = None,
    ) -> None:
        self.classifier = classifier
        self.similar = similar
        self.queue = queue
        self.incidents = incidents
        self.events = events or EventRecorder(EventStore(queue.database))

    def triage(
        self,
        ticket: Ticket,
        *,
        tenant: str = "",
        query: SimilarQuery | None = SimilarQuery(),
        explain: bool = False,
        remember: bool = False,
        queue_source: str | None = None,
    ) -> TriageOutcome:
        """Classify ``ticket`` and, with ``query``, find its similar tickets.

        ``remember``: keep the ticket (it needs an id) as open, for duplicate detection.
        ``queue_source``: put it in the staff page's queue, marked with this source (a
        ticket without an id gets one made from the source). An invalid ticket raises
        before anything is done.
        """
        texts = self.classifier.texts([ticket])
        vectors = self.classifier.embed(texts)
        classification = self.classifier.classify_many(
            [ticket], explain=explain, embeddings=vectors, tenant=tenant
        )[0]
        degraded: list[Degraded] = []
        result = SimilarResult(similar=[], duplicates=[])
        # The classification stands without the database; what needs it is marked as missing.
        try:
            if self.similar is not None and query is not None:
                result = find_similar(
                    self.similar, ticket, vectors[0], tenant=tenant, query=query, remember=remember
                )
            elif self.similar is not None and remember:
                _remember_open(self.similar, ticket, np.asarray(vectors[0], np.float32), tenant)
        except StoreUnavailableError:
            degraded.append("similar")
        entry = None
        if queue_source is not None:
            if degraded:  # the same database: do not wait for it a second time
                degraded.append("queue")
            else:
                ticket_id = ticket.id or f"{queue_source}-{secrets.token_hex(6)}"
                entry = self._queue(
                    ticket, ticket_id, tenant, classification, queue_source, degraded
                )
                if entry is not None:
                    self._record(ticket_id, tenant, classification, queue_source, result)
        incident = None
        if remember and ticket.id and self.incidents is not None:
            if degraded:
                degraded.append("incidents")
            else:
                incident = self._incident(ticket, vectors[0], classification, tenant, degraded)
        return TriageOutcome(classification, result, degraded, entry, incident)

    def _incident(
        self,
        ticket: Ticket,
        vector: np.ndarray,
        classification: Classification,
        tenant: str,
        degraded: list[Degraded],
    ) -> IncidentRef | None:
        assert self.incidents is not None
        assert ticket.id
        try:
            return self.incidents.observe(
                observed_ticket(ticket, vector, classification), tenant=tenant
            )
        except StoreUnavailableError:
            degraded.append("incidents")
            return None

    def _record(
        self,
        ticket_id: str,
        tenant: str,
        classification: Classification,
        source: str,
        result: SimilarResult,
    ) -> None:
        best = max((match.score for match in result.similar), default=None)
        channel = QUEUE_CHANNELS.get(source)
        created = created_event(
            ticket_id, tenant=tenant, source=source, channel=channel, key="queued"
        )
        triaged = triaged_event(
            classification, ticket_id=ticket_id, tenant=tenant, source=source, match_score=best
        )
        self.events.record_quietly([created, triaged])

    def _queue(
        self,
        ticket: Ticket,
        ticket_id: str,
        tenant: str,
        classification: Classification,
        source: str,
        degraded: list[Degraded],
    ) -> int | None:
        try:
            return self.queue.record(
                ticket_id=ticket_id,
                tenant=tenant,
                subject=ticket.subject,
                body=ticket.body,
                model_version=classification.model_version,
                predictions=classification.predictions,
                source=source,
                route=None if classification.route is None else route_dict(classification.route),
            )
        except StoreUnavailableError:
            degraded.append("queue")
            return None

    def review(self, ticket: Ticket, *, tenant: str = "", k: int = 5) -> TriageOutcome:
        """A queued ticket triaged again, live, with explanations, for staff to decide on:
        not counted again in the drift window, not remembered or queued again."""
        vectors = self.classifier.embed(self.classifier.texts([ticket]))
        classification = self.classifier.classify_many(
            [ticket], explain=True, embeddings=vectors, observe=False, tenant=tenant
        )[0]
        result = SimilarResult(similar=[], duplicates=[])
        if self.similar is not None:
            query = SimilarQuery(k=k)
            result = find_similar(self.similar, ticket, vectors[0], tenant=tenant, query=query)
        return TriageOutcome(classification, result)
