"""The queue of incident links: member tickets to be linked to their incident's parent ticket
in the helpdesk they came from (TRIAGE_INCIDENT_WRITEBACK).

A link is queued in the transaction that made the ticket a member (so a membership that was
committed always has its link), claimed with a lease like a suggestion's write-back, and keeps
the steps already applied, so a retry repeats only what failed. One row per (tenant, source,
ticket) ever: a member is never linked twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from triage.store.database import Database
from triage.store.deliveries import WritebackStatus
from triage.store.schema import incident_links, utcnow


@dataclass(frozen=True)
class LinkTask:
    """A due link, claimed by one worker until its lease runs out."""

    id: int
    incident_id: int
    source: str
    ticket_id: str
    parent_ticket_id: str
    attempts: int
    steps_done: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LinkRecord:
    incident_id: int
    source: str
    ticket_id: str
    parent_ticket_id: str
    status: WritebackStatus
    attempts: int
    steps_done: list[str]
    error: str | None


def queue(
    connection: Connection,
    *,
    incident_id: int,
    tenant: str,
    source: str,
    parent_ticket_id: str,
    ticket_ids: Sequence[str],
    now: datetime,
) -> None:
    """Queue links of ``ticket_ids`` to the parent, in the caller's transaction; a ticket
    queued before (for this incident or another) is left as it is."""
    if not ticket_ids:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    rows = [
        {
            "incident_id": incident_id,
            "tenant": tenant,
            "source": source,
            "ticket_id": ticket_id,
            "parent_ticket_id": parent_ticket_id,
            "status": WritebackStatus.PENDING.value,
            "attempts": 0,
            "next_at": now,
            "steps": [],
            "created_at": now,
        }
        for ticket_id in dict.fromkeys(ticket_ids)
    ]
    statement = dialect.insert(incident_links).on_conflict_do_nothing()
    connection.execute(statement, rows)


def parent_of(connection: Connection, incident_id: int) -> str | None:
    """The parent an incident's members are being linked to, once the first link is queued."""
    query = (
        sa.select(incident_links.c.parent_ticket_id)
        .where(incident_links.c.incident_id == incident_id)
        .order_by(incident_links.c.id)
        .limit(1)
    )
    found = connection.execute(query).scalar()
    return None if found is None else str(found)


class IncidentLinkStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(
        self, sources: Collection[str], *, lease: timedelta, limit: int = 20
    ) -> list[LinkTask]:
        """Due links to ``sources``, each pushed ``lease`` ahead for this worker (a worker
        that dies holding one leaves it due again when the lease runs out)."""
        if not sources:
            return []
        now = utcnow()
        due = (
            (incident_links.c.status == WritebackStatus.PENDING.value)
            & (incident_links.c.next_at <= now)
            & incident_links.c.source.in_(list(sources))
        )
        claimed: list[LinkTask] = []
        with self.database.begin() as connection:
            rows = connection.execute(
                incident_links.select().where(due).order_by(incident_links.c.id).limit(limit)
            ).mappings()
            for row in list(rows):
                taken = connection.execute(
                    incident_links.update()
                    .where(incident_links.c.id == row["id"], due)
                    .values(next_at=now + lease, attempts=incident_links.c.attempts + 1)
                )
                if taken.rowcount == 1:
                    claimed.append(
                        LinkTask(
                            int(row["id"]),
                            int(row["incident_id"]),
                            row["source"],
                            row["ticket_id"],
                            row["parent_ticket_id"],
                            int(row["attempts"]) + 1,
                            list(row["steps"] or []),
                        )
                    )
        return claimed

    def step_done(self, link_id: int, steps_done: list[str]) -> None:
        """Remember the steps already applied, so a retry does not repeat them."""
        with self.database.begin() as connection:
            connection.execute(
                incident_links.update()
                .where(incident_links.c.id == link_id)
                .values(steps=list(steps_done))
            )

    def finished(
        self,
        link_id: int,
        status: WritebackStatus,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome of an attempt: done, failed for good, or due again."""
        values: dict[str, Any] = {"status": status.value, "error": error}
        if status is WritebackStatus.PENDING:
            assert retry_at is not None
            values["next_at"] = retry_at
        else:
            values["done_at"] = utcnow()
        with self.database.begin() as connection:
            connection.execute(
                incident_links.update().where(incident_links.c.id == link_id).values(**values)
            )

    def links(self, incident_id: int) -> list[LinkRecord]:
        """An incident's links, in the order they were queued."""
        query = (
            incident_links.select()
            .where(incident_links.c.incident_id == incident_id)
            .order_by(incident_links.c.id)
        )
        with self.database.begin() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            LinkRecord(
                int(r["incident_id"]),
                r["source"],
                r["ticket_id"],
                r["parent_ticket_id"],
                WritebackStatus(r["status"]),
                int(r["attempts"]),
                list(r["steps"] or []),
                r["error"],
            )
            for r in rows
        ]
