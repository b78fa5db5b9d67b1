"""The queue of incident links: member tickets to be linked to their incident's parent ticket
in the helpdesk they came from (TRIAGE_INCIDENT_WRITEBACK).

A link is queued in the transaction that made the ticket a member (so a membership that was
committed always has its link), claimed with a lease like a suggestion's write-back, and keeps
the steps already applied, so a retry repeats only what failed. One row per (tenant, source,
ticket) ever: a member is never linked twice.

Each row holds what should be (``parent_ticket_id``: the parent to link to, None for none) and
what is (``linked_parent_id``: the parent it is linked to in the helpdesk, as far as triage
knows). Staff decisions change what should be (:func:`want`: a dismissed incident's members to
none, a merged or split one's to their new parent) and the row falls due again; an attempt
that finishes after what should be changed under it records what it did and leaves the row due.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from triage.store.database import Database
from triage.store.deliveries import WritebackStatus
from triage.store.dialects import dialect_of
from triage.store.schema import incident_links, utcnow


@dataclass(frozen=True)
class LinkTask:
    """A due link, claimed by one worker until its lease runs out."""

    id: int
    incident_id: int
    source: str
    ticket_id: str
    parent_ticket_id: str | None  # to link to (None: unlink)
    attempts: int
    steps_done: list[str] = field(default_factory=list)
    linked_parent_id: str | None = None  # linked to now


@dataclass(frozen=True)
class LinkRecord:
    incident_id: int
    source: str
    ticket_id: str
    parent_ticket_id: str | None
    status: WritebackStatus
    attempts: int
    steps_done: list[str]
    error: str | None
    linked_parent_id: str | None = None


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
    dialect = dialect_of(connection.dialect.name == "postgresql")
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


def want(
    connection: Connection,
    *,
    incident_id: int,
    tenant: str,
    ticket_ids: Sequence[str],
    parent_ticket_id: str | None,
    source: str | None = None,
    now: datetime,
) -> int:
    """What should be, after a staff decision: ``ticket_ids`` (of ``source``, or of any
    helpdesk) linked to ``parent_ticket_id`` for ``incident_id`` (None: to none). Rows whose
    wanted parent changes fall due again from their first step; tickets without a row get one
    only when ``source`` and a parent are given. In the caller's transaction; how many rows
    changed or were added."""
    if not ticket_ids:
        return 0
    table = incident_links.c
    mine = (table.tenant == tenant) & table.ticket_id.in_(list(dict.fromkeys(ticket_ids)))
    if source is not None:
        mine &= table.source == source
    changed = (
        table.parent_ticket_id.is_not(None)
        if parent_ticket_id is None
        else (table.parent_ticket_id.is_(None) | (table.parent_ticket_id != parent_ticket_id))
    )
    result = connection.execute(
        incident_links.update()
        .where(mine & changed)
        .values(
            incident_id=incident_id,
            parent_ticket_id=parent_ticket_id,
            status=WritebackStatus.PENDING.value,
            attempts=0,
            next_at=now,
            steps=[],
            error=None,
            done_at=None,
        )
    )
    count = int(result.rowcount or 0)
    connection.execute(  # the tickets already wanting this parent now belong to this incident
        incident_links.update()
        .where(mine & ~changed & (table.incident_id != incident_id))
        .values(incident_id=incident_id)
    )
    if source is not None and parent_ticket_id is not None:
        known = set(connection.execute(sa.select(table.ticket_id).where(mine)).scalars())
        new = [t for t in dict.fromkeys(ticket_ids) if t not in known]
        queue(
            connection,
            incident_id=incident_id,
            tenant=tenant,
            source=source,
            parent_ticket_id=parent_ticket_id,
            ticket_ids=new,
            now=now,
        )
        count += len(new)
    return count


def wanted_parent_of(connection: Connection, incident_id: int) -> str | None:
    """The parent an incident's members are being linked to, once the first link is queued."""
    query = (
        sa.select(incident_links.c.parent_ticket_id)
        .where(
            incident_links.c.incident_id == incident_id,
            incident_links.c.parent_ticket_id.is_not(None),
        )
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
                            row["linked_parent_id"],
                        )
                    )
        return claimed

    def step_done(self, task: LinkTask, steps_done: list[str]) -> None:
        """Remember the steps already applied, so a retry does not repeat them (unless what
        should be changed meanwhile: then the row starts again from its first step)."""
        with self.database.begin() as connection:
            connection.execute(
                incident_links.update()
                .where(incident_links.c.id == task.id, _still_wanted(task))
                .values(steps=list(steps_done))
            )

    def finished(
        self,
        task: LinkTask,
        status: WritebackStatus,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome of an attempt: done (the ticket is now linked to the wanted
        parent, or to none), failed for good, or due again. If what should be changed while
        the attempt ran, what it did is recorded and the row stays due for the new wish."""
        values: dict[str, Any] = {"status": status.value, "error": error}
        if status is WritebackStatus.PENDING:
            assert retry_at is not None
            values["next_at"] = retry_at
        else:
            values["done_at"] = utcnow()
        row = incident_links.c.id == task.id
        with self.database.begin() as connection:
            if status is WritebackStatus.DONE:
                connection.execute(
                    incident_links.update()
                    .where(row)
                    .values(linked_parent_id=task.parent_ticket_id)
                )
            connection.execute(
                incident_links.update().where(row, _still_wanted(task)).values(**values)
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
                r["linked_parent_id"],
            )
            for r in rows
        ]


def _still_wanted(task: LinkTask) -> sa.ColumnElement[bool]:
    wanted = incident_links.c.parent_ticket_id
    if task.parent_ticket_id is None:
        return wanted.is_(None)
    return wanted == task.parent_ticket_id
