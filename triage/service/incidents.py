"""Incident detection as a use case: each triaged ticket joins, opens or passes by an incident.

The state lives in the database (:mod:`triage.store.incidents`), so every replica sees the
same incidents; each process keeps a copy of its tenants' windows in memory
(:class:`IncidentDetector`) and, under the tenant's lock, first replays the tickets other
replicas stored since, then decides, then writes what it decided. The ticket's vector is the
one triage already computed: detection embeds nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from triage.core import incident_feedback as feedback
from triage.core.errors import IncidentNotFoundError
from triage.core.incident_detector import (
    ActiveIncident,
    IncidentConfig,
    IncidentDetector,
    IncidentSummary,
    bounded_time,
)
from triage.core.incident_terms import ticket_terms
from triage.core.incident_window import WindowTicket
from triage.service.incident_links import relink_members
from triage.settings import Settings
from triage.store.database import Database
from triage.store.incidents import (
    OPEN,
    DecisionRecord,
    IncidentRecord,
    IncidentSession,
    IncidentStore,
    IncidentSummaryRow,
    StoredTicket,
)
from triage.store.schema import utcnow

Clock = Callable[[], datetime]
SUMMARY_MEMBERS = 200  # the latest members a join recomputes the summary from


@dataclass(frozen=True)
class IncidentRef:
    """The incident a ticket is in, as a triage answer names it."""

    id: int
    status: str
    size: int
    opened: bool = False  # this ticket's arrival opened it


@dataclass(frozen=True)
class IncidentMember:
    ticket_id: str
    at: datetime


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with its members and the decisions staff took on it."""

    incident: IncidentRecord
    members: list[IncidentMember] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ObservedTicket:
    """What incident detection needs of a triaged ticket."""

    ticket_id: str
    vector: np.ndarray
    text: str
    at: datetime | None = None  # the ticket's own time, if the caller knows it
    category: str | None = None
    tier: str | None = None
    language: str | None = None
    source: str | None = None  # the helpdesk whose webhook delivered it (None: not a webhook)


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _window_ticket(ticket: StoredTicket) -> WindowTicket:
    return WindowTicket(
        ticket.ticket_id,
        _epoch(ticket.at),
        ticket.vector,
        ticket.category,
        ticket.tier,
        ticket.language,
        ticket.terms,
    )


def _summary_row(summary: IncidentSummary) -> IncidentSummaryRow:
    return IncidentSummaryRow(
        size=len(summary.members),
        first_seen=_moment(summary.first_seen),
        last_seen=_moment(summary.last_seen),
        growth_per_10min=summary.growth_per_10min,
        terms=summary.terms,
        category=summary.category,
        tier=summary.tier,
        parent_ticket_id=summary.parent_ticket_id,
    )


def incident_payload(record: IncidentRecord) -> dict[str, object]:
    """An incident as the outbound webhook's ``data`` (and the API's list) shows it."""
    return {
        "id": record.id,
        "tenant": record.tenant or None,
        "status": record.status,
        "confirmed": record.confirmed,
        "size": record.size,
        "first_seen": record.first_seen.isoformat(),
        "last_seen": record.last_seen.isoformat(),
        "growth_per_10min": record.growth_per_10min,
        "terms": record.terms,
        "category": record.category,
        "tier": record.tier,
        "parent_ticket_id": record.parent_ticket_id,
    }


@dataclass
class _Window:
    detector: IncidentDetector
    seq: int = 0  # the last stored ticket replayed into it
    forgets: int = 0  # the tenant's forgotten tickets when it was built


class IncidentTracker:
    """Finds incidents among triaged tickets and applies staff decisions to them."""

    def __init__(
        self,
        store: IncidentStore,
        config: IncidentConfig | None = None,
        *,
        clock: Clock = utcnow,
        events: bool = False,
        link_sources: Collection[str] = (),
    ) -> None:
        self.store = store
        self.config = config or IncidentConfig()
        self.clock = clock
        self.events = events  # queue outbound events (the incident webhook is configured)
        # Helpdesks whose member tickets are linked to the parent (TRIAGE_INCIDENT_WRITEBACK).
        self.link_sources = frozenset(link_sources)
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()  # one thread of this process in a window at a time

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> IncidentTracker:
        return cls(
            IncidentStore(database),
            settings.incident_config(),
            events=bool(settings.incident_webhook_url),
            link_sources=settings.incident_link_sources(),
        )

    # --- detection ---------------------------------------------------------------------

    def observe(self, ticket: ObservedTicket, *, tenant: str = "") -> IncidentRef | None:
        """Add a triaged ticket to its tenant's window; the incident it is then in, if any.
        A ticket seen before changes nothing (its incident, if any, is answered)."""
        now = self.clock()
        at = bounded_time(
            None if ticket.at is None else _epoch(ticket.at), _epoch(now), self.config
        )
        vector = np.asarray(ticket.vector, dtype=np.float32).ravel()
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        with self._lock:
            try:
                return self._observe(ticket, tenant, vector, at, now)
            except BaseException:
                self._windows.pop(tenant, None)  # it may hold what was rolled back
                raise

    def _observe(
        self, ticket: ObservedTicket, tenant: str, vector: np.ndarray, at: float, now: datetime
    ) -> IncidentRef | None:
        with self.store.locked(tenant) as session:
            for closed in session.close_quiet(now - timedelta(seconds=self.config.quiet), now):
                self._emit(session, closed, "incident.closed", now)
            seen = session.find_ticket(ticket.ticket_id)
            if seen is not None:
                return self._ref(session, seen.incident_id)
            stored = StoredTicket(
                ticket.ticket_id,
                _moment(at),
                vector,
                ticket.category,
                ticket.tier,
                ticket.language,
                ticket_terms(ticket.text),
                source=ticket.source,
            )
            seq = session.insert_ticket(stored)
            if seq % 256 == 0:  # now and then: older tickets no longer count for anything
                session.forget_before(now - timedelta(seconds=self.config.history * 2))
            window = self._replay(session, vector.shape[0], seq, now)
            window.detector.add(_window_ticket(stored))
            window.seq = seq
            self._load_membership(session, window.detector, at)
            return self._decide(session, window.detector, ticket.ticket_id, now)

    def _replay(self, session: IncidentSession, dim: int, before: int, now: datetime) -> _Window:
        """The tenant's window, with every ticket stored before ``before`` added (built
        again from the database when a ticket was forgotten since it was built)."""
        window = self._windows.get(session.tenant)
        if window is None or window.detector.window.dim != dim or window.forgets != session.forgets:
            window = _Window(IncidentDetector(self.config, dim), forgets=session.forgets)
            self._windows[session.tenant] = window
        since = now - timedelta(seconds=self.config.history + self.config.max_skew)
        for stored in session.tickets_between(window.seq, before, since):
            if stored.vector.shape == (dim,) and stored.ticket_id not in window.detector.window:
                window.detector.add(_window_ticket(stored))
        return window

    def _load_membership(
        self, session: IncidentSession, detector: IncidentDetector, at: float
    ) -> None:
        span = self.config.window
        live = session.live(_moment(at - self.config.quiet - span))
        detector.set_membership(
            [
                ActiveIncident(i.id, _epoch(i.first_seen), _epoch(i.last_seen), i.status)
                for i in live
            ],
            session.memberships(_moment(at - span), _moment(at + span)),
        )
        since = _moment(at) - timedelta(days=feedback.DAYS)
        detector.size_raises = feedback.size_raises(session.verdicts(since), self.config.min_size)

    def _decide(
        self, session: IncidentSession, detector: IncidentDetector, ticket_id: str, now: datetime
    ) -> IncidentRef | None:
        found = detector.assess(ticket_id)
        if found.kind == "joined" and found.incident_id is not None:
            session.assign(found.incident_id, [ticket_id])
            window = detector.window
            window.incident[window.rows[ticket_id]] = found.incident_id
            self._summarise(session, detector, found.incident_id, now)
            self._emit(session, found.incident_id, "incident.grew", now)
            self._queue_links(session, found.incident_id, [ticket_id], now)
            return self._ref(session, found.incident_id)
        if found.kind == "opened":
            rows = [detector.window.row(m) for m in found.members]
            members = [detector.window.tickets[r] for r in rows if r is not None]
            incident_id = session.create(_summary_row(detector.summary(members)), now)
            if session.assign(incident_id, found.members) != len(found.members):
                raise RuntimeError("incident members were taken concurrently")  # the lock forbids
            record = session.get(incident_id)
            assert record is not None
            self._emit(session, incident_id, "incident.opened", now)
            self._queue_links(session, incident_id, found.members, now)
            return IncidentRef(incident_id, record.status, record.size, opened=True)
        return None

    def _summarise(
        self, session: IncidentSession, detector: IncidentDetector, incident_id: int, now: datetime
    ) -> None:
        """Its summary after a ticket joined, from its members within the window around the
        ticket (in memory, the latest 200: a join reads no vectors back and costs the same at
        20 members as at 2,000); size, first and last seen stay exact."""
        window = detector.window
        rows = np.flatnonzero(window.incident[: len(window)] == incident_id)
        latest = sorted((window.tickets[r] for r in rows), key=lambda t: (t.at, t.ticket_id))
        record = session.get(incident_id)
        if not latest or record is None:
            return
        row = _summary_row(detector.summary(latest[-SUMMARY_MEMBERS:]))
        row = replace(
            row,
            size=session.count(incident_id),
            first_seen=min(record.first_seen, row.first_seen),
            last_seen=max(record.last_seen, row.last_seen),
        )
        session.set_summary(incident_id, row, now)

    def summary_row(self, tenant: str, members: Sequence[StoredTicket]) -> IncidentSummaryRow:
        """An incident's summary columns from its members (terms weighed against the
        tenant's window when this process has one)."""
        tickets = [_window_ticket(t) for t in members]
        window = self._windows.get(tenant)
        detector = window.detector if window is not None else None
        if detector is None or detector.window.dim != tickets[0].vector.shape[0]:
            detector = IncidentDetector(self.config, tickets[0].vector.shape[0])
        return _summary_row(detector.summary(tickets))

    def _queue_links(
        self, session: IncidentSession, incident_id: int, members: Sequence[str], now: datetime
    ) -> None:
        """Queue helpdesk links of new members to the incident's parent ticket: only members
        from the parent's own helpdesk (and tenant), never for a dismissed incident; the parent
        stays the one the first links named. Until an incident has one, every member so far is
        considered (an incident suggested an API ticket as parent gets a helpdesk one)."""
        if not self.link_sources:
            return
        record = session.get(incident_id)
        if record is None or record.status == "dismissed":
            return
        parent = session.link_parent(incident_id)
        if parent is None:
            relink_members(session, incident_id, self.link_sources, now)
            return
        sources = session.sources([parent, *members])
        source = sources.get(parent)
        if source is None or source not in self.link_sources:
            return
        same = [m for m in members if m != parent and sources.get(m) == source]
        session.queue_links(incident_id, source, parent, same, now)

    def _emit(self, session: IncidentSession, incident_id: int, event: str, now: datetime) -> None:
        record = session.get(incident_id) if self.events else None
        if record is not None and record.status != "dismissed":
            session.emit(incident_id, event, incident_payload(record), now)

    def _ref(self, session: IncidentSession, incident_id: int | None) -> IncidentRef | None:
        if incident_id is None:
            return None
        record = session.get(incident_id)
        if record is None:
            return None
        return IncidentRef(record.id, self._status(record), record.size)

    def _status(self, record: IncidentRecord) -> str:
        """Closed once quiet for the quiet period, even before a ticket arrives to close it."""
        quiet = timedelta(seconds=self.config.quiet)
        if record.status in OPEN and record.last_seen < self.clock() - quiet:
            return "closed"
        return record.status

    # --- reading -----------------------------------------------------------------------

    def recent(
        self,
        *,
        tenant: str | None = None,
        status: Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[IncidentRecord]:
        """Incidents, the most recently seen first (status as of now)."""
        stored = (
            None
            if status is None
            else [*status, *(["open", "confirmed"] if "closed" in status else [])]
        )
        found = [
            self.current(r)
            for r in self.store.recent(tenant=tenant, status=stored, limit=limit, offset=offset)
        ]
        return [r for r in found if status is None or r.status in status]

    def current(self, record: IncidentRecord) -> IncidentRecord:
        status = self._status(record)
        if status == record.status:
            return record
        closed_at = record.last_seen + timedelta(seconds=self.config.quiet)
        return IncidentRecord(**{**record.__dict__, "status": status, "closed_at": closed_at})

    def detail(self, incident_id: int, *, tenants: Sequence[str] | None = None) -> IncidentDetail:
        """One incident with its members and decisions; 404 outside ``tenants``."""
        record = self.store.get(incident_id)
        if record is None or (tenants is not None and record.tenant not in tenants):
            raise IncidentNotFoundError(f"no incident {incident_id}")
        members = [IncidentMember(t, at) for t, at in self.store.member_ids(incident_id)]
        return IncidentDetail(self.current(record), members, self.store.decisions(incident_id))

    def counts(self) -> tuple[int, int]:
        """(incidents open now, incidents opened in the last hour), for the metrics."""
        now = self.clock()
        live = [r for r in self.store.recent(status=OPEN, limit=10_000) if self._status(r) in OPEN]
        _, opened = self.store.counts(now - timedelta(hours=1))
        return len(live), opened
