"""Incidents and the window of recent tickets they are found in, shared by every replica.

Everything that may open, grow or change an incident runs in :meth:`IncidentStore.locked`: a
transaction that first takes the tenant's lock row, so replicas take turns per tenant and two
never see the same free tickets at once. Reads (the list, one incident, the metrics) take no
lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import Connection

from triage.store import incident_events, incident_links
from triage.store import incident_queries as queries
from triage.store.database import Database
from triage.store.incident_queries import OPEN as OPEN  # re-exported: the service's word
from triage.store.schema import (
    incident_decisions,
    incident_tickets,
    incidents,
)


@dataclass(frozen=True)
class StoredTicket:
    """A ticket of the window as stored: its vector, bounded time and triage's answers."""

    ticket_id: str
    at: datetime
    vector: np.ndarray
    category: str | None = None
    tier: str | None = None
    language: str | None = None
    terms: tuple[str, ...] = ()
    seq: int = 0
    incident_id: int | None = None
    source: str | None = None  # the helpdesk a webhook ticket came from


@dataclass(frozen=True)
class IncidentSummaryRow:
    """The columns an incident's members decide."""

    size: int
    first_seen: datetime
    last_seen: datetime
    growth_per_10min: int
    terms: Mapping[str, list[str]]
    category: str | None
    tier: str | None
    parent_ticket_id: str | None


@dataclass(frozen=True)
class IncidentRecord:
    id: int
    tenant: str
    status: str
    confirmed: bool
    size: int
    first_seen: datetime
    last_seen: datetime
    growth_per_10min: int
    terms: dict[str, list[str]]
    category: str | None
    tier: str | None
    parent_ticket_id: str | None
    merged_into: int | None
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class LiveIncident:
    """What detection reads of an incident tickets may still join."""

    id: int
    status: str
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class DecisionRecord:
    action: str
    actor: str | None
    details: dict[str, Any]
    size: int
    at: datetime


def _incident(row: sa.RowMapping) -> IncidentRecord:
    return IncidentRecord(
        id=int(row["id"]),
        tenant=row["tenant"],
        status=row["status"],
        confirmed=bool(row["confirmed"]),
        size=int(row["size"]),
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        growth_per_10min=int(row["growth_per_10min"]),
        terms=dict(row["terms"]),
        category=row["category"],
        tier=row["tier"],
        parent_ticket_id=row["parent_ticket_id"],
        merged_into=None if row["merged_into"] is None else int(row["merged_into"]),
        opened_at=row["opened_at"],
        closed_at=row["closed_at"],
    )


def _ticket(row: sa.RowMapping) -> StoredTicket:
    return StoredTicket(
        ticket_id=row["ticket_id"],
        at=row["at"],
        vector=np.frombuffer(row["vector"], dtype=np.float32),
        category=row["category"],
        tier=row["tier"],
        language=row["language"],
        terms=tuple(row["terms"]),
        seq=int(row["seq"]),
        incident_id=None if row["incident_id"] is None else int(row["incident_id"]),
        source=row["source"],
    )


def _summary_values(summary: IncidentSummaryRow) -> dict[str, Any]:
    return {
        "size": summary.size,
        "first_seen": summary.first_seen,
        "last_seen": summary.last_seen,
        "growth_per_10min": summary.growth_per_10min,
        "terms": dict(summary.terms),
        "category": summary.category,
        "tier": summary.tier,
        "parent_ticket_id": summary.parent_ticket_id,
    }


class IncidentSession:
    """The tenant's incidents inside one locked transaction; ``forgets``: how many of its
    tickets were forgotten so far (a window in memory that saw fewer is out of date)."""

    def __init__(self, connection: Connection, tenant: str, forgets: int = 0) -> None:
        self.connection = connection
        self.tenant = tenant
        self.forgets = forgets

    def find_ticket(self, ticket_id: str) -> StoredTicket | None:
        found = self.connection.execute(
            queries.FIND_TICKET, {"tenant": self.tenant, "ticket_id": ticket_id}
        )
        row = found.mappings().first()
        return None if row is None else _ticket(row)

    def insert_ticket(self, ticket: StoredTicket) -> int:
        values = {
            "tenant": self.tenant,
            "ticket_id": ticket.ticket_id,
            "at": ticket.at,
            "category": ticket.category,
            "tier": ticket.tier,
            "language": ticket.language,
            "terms": list(ticket.terms),
            "vector": np.asarray(ticket.vector, dtype=np.float32).tobytes(),
            "source": ticket.source,
        }
        return int(self.connection.execute(queries.INSERT_TICKET, values).scalar_one())

    def tickets_between(
        self, after_seq: int, before_seq: int, since: datetime
    ) -> list[StoredTicket]:
        """Tickets stored after ``after_seq`` and before ``before_seq``, not older than
        ``since``, in the order they were stored."""
        values = {
            "tenant": self.tenant,
            "after_seq": after_seq,
            "before_seq": before_seq,
            "since": since,
        }
        found = self.connection.execute(queries.TICKETS_BETWEEN, values)
        return [_ticket(row) for row in found.mappings()]

    def sources(self, ticket_ids: Sequence[str]) -> dict[str, str | None]:
        """The helpdesk each of the tenant's window tickets came from (None: not a webhook)."""
        query = sa.select(incident_tickets.c.ticket_id, incident_tickets.c.source).where(
            incident_tickets.c.tenant == self.tenant,
            incident_tickets.c.ticket_id.in_(list(ticket_ids)),
        )
        return {str(t): s for t, s in self.connection.execute(query).all()}

    def link_parent(self, incident_id: int) -> str | None:
        """The parent ticket the incident's members are linked to, once one link is queued."""
        return incident_links.wanted_parent_of(self.connection, incident_id)

    def queue_links(
        self,
        incident_id: int,
        source: str,
        parent_ticket_id: str,
        ticket_ids: Sequence[str],
        now: datetime,
    ) -> None:
        """Queue the helpdesk links of members to the parent, with this transaction's change."""
        incident_links.queue(
            self.connection,
            incident_id=incident_id,
            tenant=self.tenant,
            source=source,
            parent_ticket_id=parent_ticket_id,
            ticket_ids=ticket_ids,
            now=now,
        )

    def want_links(
        self,
        incident_id: int,
        ticket_ids: Sequence[str],
        parent_ticket_id: str | None,
        now: datetime,
        *,
        source: str | None = None,
    ) -> int:
        """After a staff decision: members linked to ``parent_ticket_id`` (None: to none),
        with this transaction's change (``incident_links.want``)."""
        return incident_links.want(
            self.connection,
            incident_id=incident_id,
            tenant=self.tenant,
            ticket_ids=ticket_ids,
            parent_ticket_id=parent_ticket_id,
            source=source,
            now=now,
        )

    def live(self, since: datetime) -> list[LiveIncident]:
        """Incidents tickets may still join: live, and seen at or after ``since``."""
        found = self.connection.execute(queries.LIVE_SINCE, {"tenant": self.tenant, "since": since})
        return [LiveIncident(int(i), status, first, last) for i, status, first, last in found]

    def verdicts(self, since: datetime) -> dict[str | None, tuple[int, int]]:
        """(dismissals, confirmations) since ``since`` per category of the tenant's incidents."""
        found = self.connection.execute(queries.VERDICTS, {"tenant": self.tenant, "since": since})
        counts: dict[str | None, list[int]] = {}
        for category, action, n in found.all():
            counts.setdefault(category, [0, 0])[action == "confirm"] += int(n)
        return {category: (d, c) for category, (d, c) in counts.items()}

    def memberships(self, start: datetime, end: datetime) -> dict[str, int]:
        """The incident of each ticket in an incident, of those timed in [start, end]."""
        values = {"tenant": self.tenant, "start": start, "end": end}
        found = self.connection.execute(queries.MEMBERSHIPS, values)
        return {str(t): int(i) for t, i in found.all()}

    def members(self, incident_id: int) -> list[StoredTicket]:
        """The incident's tickets by time."""
        query = (
            incident_tickets.select()
            .where(incident_tickets.c.incident_id == incident_id)
            .order_by(incident_tickets.c.at, incident_tickets.c.ticket_id)
        )
        return [_ticket(row) for row in self.connection.execute(query).mappings()]

    def member_sources(self, incident_id: int) -> dict[str, str | None]:
        """The incident's tickets by time, each with the helpdesk it came from (None: not a
        webhook); no vectors read."""
        query = (
            sa.select(incident_tickets.c.ticket_id, incident_tickets.c.source)
            .where(incident_tickets.c.incident_id == incident_id)
            .order_by(incident_tickets.c.at, incident_tickets.c.ticket_id)
        )
        return {str(t): s for t, s in self.connection.execute(query).all()}

    def count(self, incident_id: int) -> int:
        query = sa.select(sa.func.count()).where(incident_tickets.c.incident_id == incident_id)
        return int(self.connection.execute(query.select_from(incident_tickets)).scalar_one())

    def assign(
        self, incident_id: int, ticket_ids: Sequence[str], *, from_incident: int | None = None
    ) -> int:
        """Put tickets that are in no incident (or in ``from_incident``) into one; returns
        how many moved."""
        current = (
            incident_tickets.c.incident_id.is_(None)
            if from_incident is None
            else incident_tickets.c.incident_id == from_incident
        )
        statement = (
            incident_tickets.update()
            .where(
                incident_tickets.c.tenant == self.tenant,
                incident_tickets.c.ticket_id.in_(list(ticket_ids)),
                current,
            )
            .values(incident_id=incident_id)
        )
        return int(self.connection.execute(statement).rowcount)

    def move_all(self, source: int, target: int) -> None:
        statement = (
            incident_tickets.update()
            .where(incident_tickets.c.incident_id == source)
            .values(incident_id=target)
        )
        self.connection.execute(statement)

    def create(self, summary: IncidentSummaryRow, now: datetime, *, status: str = "open") -> int:
        statement = (
            incidents.insert()
            .values(
                tenant=self.tenant,
                status=status,
                confirmed=status == "confirmed",
                opened_at=now,
                updated_at=now,
                **_summary_values(summary),
            )
            .returning(incidents.c.id)
        )
        return int(self.connection.execute(statement).scalar_one())

    def update(self, incident_id: int, now: datetime, **values: Any) -> None:
        statement = (
            incidents.update().where(incidents.c.id == incident_id).values(updated_at=now, **values)
        )
        self.connection.execute(statement)

    def set_summary(self, incident_id: int, summary: IncidentSummaryRow, now: datetime) -> None:
        self.update(incident_id, now, **_summary_values(summary))

    def get(self, incident_id: int) -> IncidentRecord | None:
        query = incidents.select().where(
            incidents.c.id == incident_id, incidents.c.tenant == self.tenant
        )
        row = self.connection.execute(query).mappings().first()
        return None if row is None else _incident(row)

    def close_quiet(self, before: datetime, now: datetime) -> list[int]:
        """Close the open incidents last seen before ``before``; returns their ids."""
        found = self.connection.execute(queries.QUIET, {"tenant": self.tenant, "before": before})
        ids = [int(i) for i in found.scalars()]
        if ids:
            self.connection.execute(
                incidents.update()
                .where(incidents.c.id.in_(ids))
                .values(status="closed", closed_at=now, updated_at=now)
            )
        return ids

    def forget_before(self, before: datetime) -> None:
        """Drop the window's tickets older than the history (incidents keep their summary)."""
        self.connection.execute(
            incident_tickets.delete().where(
                incident_tickets.c.tenant == self.tenant, incident_tickets.c.at < before
            )
        )

    def emit(self, incident_id: int, event: str, payload: Mapping[str, Any], now: datetime) -> None:
        """Queue an outbound event with this transaction's change."""
        incident_events.emit(self.connection, incident_id, event, payload, now)

    def decide(
        self,
        incident_id: int,
        action: str,
        actor: str | None,
        details: Mapping[str, Any],
        size: int,
        now: datetime,
    ) -> None:
        self.connection.execute(
            incident_decisions.insert().values(
                incident_id=incident_id,
                action=action,
                actor=actor,
                details=dict(details),
                size=size,
                at=now,
            )
        )


class IncidentStore:
    """Incidents in the database; see the module's docstring for the locking."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def locked(self, tenant: str) -> Iterator[IncidentSession]:
        """A transaction holding the tenant's incident lock until it ends."""
        take = queries.take_lock(self._dialect)
        with self.database.begin() as connection:
            # First: a write, so SQLite takes its write lock now.
            forgets = int(connection.execute(take, {"tenant": tenant}).scalar_one())
            yield IncidentSession(connection, tenant, forgets)

    @property
    def _dialect(self) -> str:
        return "postgresql" if self.database.is_postgres else "sqlite"

    def tenant_of(self, incident_id: int) -> str | None:
        query = sa.select(incidents.c.tenant).where(incidents.c.id == incident_id)
        with self.database.begin() as connection:
            found = connection.execute(query).scalar()
        return None if found is None else str(found)

    def get(self, incident_id: int) -> IncidentRecord | None:
        with self.database.begin() as connection:
            row = (
                connection.execute(incidents.select().where(incidents.c.id == incident_id))
                .mappings()
                .first()
            )
        return None if row is None else _incident(row)

    def recent(
        self,
        *,
        tenant: str | None = None,
        status: Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[IncidentRecord]:
        """Incidents, the most recently seen first."""
        query = incidents.select()
        if tenant is not None:
            query = query.where(incidents.c.tenant == tenant)
        if status:
            query = query.where(incidents.c.status.in_(list(status)))
        query = query.order_by(incidents.c.last_seen.desc(), incidents.c.id.desc())
        with self.database.begin() as connection:
            rows = connection.execute(query.limit(limit).offset(offset)).mappings().all()
        return [_incident(row) for row in rows]

    def member_ids(self, incident_id: int) -> list[tuple[str, datetime]]:
        query = (
            sa.select(incident_tickets.c.ticket_id, incident_tickets.c.at)
            .where(incident_tickets.c.incident_id == incident_id)
            .order_by(incident_tickets.c.at, incident_tickets.c.ticket_id)
        )
        with self.database.begin() as connection:
            return [(str(t), at) for t, at in connection.execute(query).all()]

    def incident_of(self, tenant: str, ticket_id: str) -> int | None:
        query = sa.select(incident_tickets.c.incident_id).where(
            incident_tickets.c.tenant == tenant, incident_tickets.c.ticket_id == ticket_id
        )
        with self.database.begin() as connection:
            found = connection.execute(query).scalar()
        return None if found is None else int(found)

    def forget(self, ticket_id: str, *, tenant: str | None = None) -> int:
        """Remove a ticket from the window (in every tenant unless one is given), a webhook
        ticket by its helpdesk's id too (it is kept as ``<helpdesk>:<id>``). Each tenant it
        is removed from is locked first and its count of forgotten tickets goes up, so every
        replica rebuilds its window of that tenant without it before detecting again."""
        column = incident_tickets.c.ticket_id
        where = [
            sa.or_(column == ticket_id, column == incident_tickets.c.source.concat(f":{ticket_id}"))
        ]
        if tenant is not None:
            where.append(incident_tickets.c.tenant == tenant)
        find = sa.select(incident_tickets.c.tenant).where(*where).distinct()
        with self.database.begin() as connection:
            tenants = sorted(str(t) for t in connection.execute(find).scalars())
            for name in tenants:  # in one order: two forgets never wait for each other
                connection.execute(
                    queries.take_lock(self._dialect, forgetting=True), {"tenant": name}
                )
            if not tenants:
                return 0
            # Only where the lock was taken: a ticket of that id a new tenant stores meanwhile
            # came after the request to forget.
            where.append(incident_tickets.c.tenant.in_(tenants))
            return int(connection.execute(incident_tickets.delete().where(*where)).rowcount)

    def decisions(self, incident_id: int) -> list[DecisionRecord]:
        query = (
            incident_decisions.select()
            .where(incident_decisions.c.incident_id == incident_id)
            .order_by(incident_decisions.c.id)
        )
        with self.database.begin() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            DecisionRecord(r["action"], r["actor"], dict(r["details"]), int(r["size"]), r["at"])
            for r in rows
        ]

    def counts(self, since: datetime) -> tuple[int, int]:
        """(open incidents, incidents opened at or after ``since``), in every tenant."""
        open_count = sa.select(sa.func.count()).where(incidents.c.status.in_(OPEN))
        opened = sa.select(sa.func.count()).where(incidents.c.opened_at >= since)
        with self.database.begin() as connection:
            return (
                int(connection.execute(open_count.select_from(incidents)).scalar_one()),
                int(connection.execute(opened.select_from(incidents)).scalar_one()),
            )
