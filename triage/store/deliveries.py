"""Webhook deliveries: accepted once per idempotency key, triaged by a job, written back.

``accept`` is the whole of the 202 path's database work: one transaction that inserts the
delivery (or finds that it is a retry) and queues its one-ticket classification job. The
delivery's status is read from its job, so there is nothing to keep in step.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.jobs import JobStatus, JobStore
from triage.store.schema import job_items, jobs, utcnow, webhook_deliveries
from triage.webhooks.canonical import CanonicalTicket, Inbound
from triage.webhooks.config import WEBHOOK_JOB_SOURCE


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    IGNORED = "ignored"


class WritebackStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class WritebackState:
    status: WritebackStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    steps_done: list[str]
    done_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    id: str
    source: str
    event: str
    key: str
    ticket: CanonicalTicket
    status: DeliveryStatus
    created_at: datetime
    vendor_delivery_id: str | None = None
    sent_at: datetime | None = None
    ignored: str | None = None
    job_id: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    finished_at: datetime | None = None
    writeback: WritebackState | None = None


@dataclass(frozen=True)
class WritebackTask:
    """A due write-back, claimed by one worker until ``lease`` runs out."""

    delivery_id: str
    source: str
    external_id: str
    result: dict[str, Any] | None
    attempts: int
    steps_done: list[str] = field(default_factory=list)


_COLUMNS = (
    webhook_deliveries,
    jobs.c.status.label("job_status"),
    jobs.c.error.label("job_error"),
    jobs.c.finished_at.label("job_finished_at"),
    job_items.c.result.label("item_result"),
    job_items.c.error.label("item_error"),
)
_JOINED = webhook_deliveries.outerjoin(jobs, jobs.c.id == webhook_deliveries.c.job_id).outerjoin(
    job_items, (job_items.c.job_id == webhook_deliveries.c.job_id) & (job_items.c.position == 0)
)


def _delivery(row: sa.RowMapping) -> Delivery:
    result, error = row["item_result"], row["item_error"]
    if row["job_id"] is None:
        status = DeliveryStatus.IGNORED
    elif row["job_status"] == JobStatus.FAILED.value:
        status = DeliveryStatus.FAILED
        error = error or {"code": "job_failed", "message": row["job_error"] or "the job failed"}
    elif row["job_status"] == JobStatus.DONE.value:
        status = DeliveryStatus.DONE if result is not None else DeliveryStatus.FAILED
    else:
        status = DeliveryStatus(row["job_status"] or DeliveryStatus.QUEUED.value)
    writeback = None
    if row["writeback_status"] is not None:
        writeback = WritebackState(
            status=WritebackStatus(row["writeback_status"]),
            attempts=row["writeback_attempts"],
            next_attempt_at=row["writeback_next_at"]
            if row["writeback_status"] == WritebackStatus.PENDING.value
            else None,
            last_error=row["writeback_error"],
            steps_done=list(row["writeback_steps"] or []),
            done_at=row["writeback_done_at"],
        )
    return Delivery(
        id=row["id"],
        source=row["source"],
        event=row["event"],
        key=row["key"],
        ticket=CanonicalTicket.from_dict(row["ticket"]),
        status=status,
        created_at=row["created_at"],
        vendor_delivery_id=row["vendor_delivery_id"],
        sent_at=row["sent_at"],
        ignored=row["ignored"],
        job_id=row["job_id"],
        result=result,
        error=error,
        finished_at=row["job_finished_at"],
        writeback=writeback,
    )


class DeliveryStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        dialect = dialect_of(database.is_postgres)
        # Built once (the 202 path runs it for every delivery). No conflict target: a clash
        # on either unique constraint (key, or body digest) is a repeat; PostgreSQL waits for
        # a racing insert of the same key to commit first. RETURNING tells which happened
        # (rowcount is not reliable for this statement on psycopg).
        self._insert = (
            dialect.insert(webhook_deliveries)
            .on_conflict_do_nothing()
            .returning(webhook_deliveries.c.id)
        )

    def accept(self, inbound: Inbound, *, writeback: bool) -> tuple[Delivery, bool]:
        """Store a delivery and queue its triage, or find the first one if this is a retry.

        Returns the delivery and whether it is new. One transaction: a delivery acknowledged
        as accepted is committed with its job, and two racing copies make one row.
        """
        delivery_id = uuid.uuid4().hex
        job_id = None if inbound.ignored else uuid.uuid4().hex
        now = utcnow()
        wants_writeback = writeback and inbound.ignored is None
        row: dict[str, Any] = {
            "id": delivery_id,
            "source": inbound.source,
            "key": inbound.key,
            "body_sha256": inbound.body_sha256,
            "event": inbound.event,
            "external_id": inbound.ticket.external_id[:200],
            "vendor_delivery_id": (inbound.vendor_delivery_id or "")[:200] or None,
            "ticket": inbound.ticket.as_dict(),
            "job_id": job_id,
            "ignored": inbound.ignored,
            "sent_at": inbound.sent_at,
            "created_at": now,
            "writeback_status": WritebackStatus.PENDING.value if wants_writeback else None,
            "writeback_attempts": 0,
            "writeback_next_at": now if wants_writeback else None,
        }
        with self.database.begin() as connection:
            if connection.execute(self._insert, row).first() is None:
                first = self._first(connection, inbound)
                return first, False
            if job_id is not None:
                JobStore.insert(
                    connection,
                    [inbound.ticket.job_ticket()],
                    source=WEBHOOK_JOB_SOURCE,
                    job_id=job_id,
                )
        status = DeliveryStatus.IGNORED if inbound.ignored else DeliveryStatus.QUEUED
        return (
            Delivery(
                id=delivery_id,
                source=inbound.source,
                event=inbound.event,
                key=inbound.key,
                ticket=inbound.ticket,
                status=status,
                created_at=now,
                vendor_delivery_id=row["vendor_delivery_id"],
                sent_at=inbound.sent_at,
                ignored=inbound.ignored,
                job_id=job_id,
                writeback=WritebackState(WritebackStatus.PENDING, 0, now, None, [], None)
                if wants_writeback
                else None,
            ),
            True,
        )

    @staticmethod
    def _first(connection: sa.Connection, inbound: Inbound) -> Delivery:
        found = (
            connection.execute(
                sa.select(*_COLUMNS)
                .select_from(_JOINED)
                .where(
                    webhook_deliveries.c.source == inbound.source,
                    (webhook_deliveries.c.key == inbound.key)
                    | (webhook_deliveries.c.body_sha256 == inbound.body_sha256),
                )
                .order_by(webhook_deliveries.c.created_at)
                .limit(1)
            )
            .mappings()
            .first()
        )
        assert found is not None, "a conflicting delivery must exist"
        return _delivery(found)

    def get(self, delivery_id: str) -> Delivery | None:
        with self.database.begin() as connection:
            row = (
                connection.execute(
                    sa.select(*_COLUMNS)
                    .select_from(_JOINED)
                    .where(webhook_deliveries.c.id == delivery_id)
                )
                .mappings()
                .first()
            )
        return _delivery(row) if row else None

    def forget(self, external_id: str) -> tuple[int, list[str]]:
        """Take a helpdesk ticket's text out of its deliveries: each keeps its source and id
        (so a retry is still recognised) but no subject, body, requester or fields. Returns
        the deliveries' job ids, whose items hold the same text (:meth:`JobStore.forget`)."""
        where = webhook_deliveries.c.external_id == external_id[:200]
        with self.database.begin() as connection:
            rows = connection.execute(
                sa.select(
                    webhook_deliveries.c.id,
                    webhook_deliveries.c.source,
                    webhook_deliveries.c.job_id,
                ).where(where)
            ).all()
            for delivery_id, source, _ in rows:
                empty = CanonicalTicket(source=source, external_id=external_id)
                connection.execute(
                    webhook_deliveries.update()
                    .where(webhook_deliveries.c.id == delivery_id)
                    .values(ticket=empty.as_dict())
                )
        return len(rows), [job_id for _, _, job_id in rows if job_id is not None]

    def purge(self, older_than: datetime) -> int:
        """Delete deliveries received before ``older_than`` whose write-back is not pending;
        returns how many. (Their jobs go by :meth:`JobStore.purge`.)"""
        pending = webhook_deliveries.c.writeback_status == WritebackStatus.PENDING.value
        with self.database.begin() as connection:
            return int(
                connection.execute(
                    webhook_deliveries.delete().where(
                        webhook_deliveries.c.created_at < older_than,
                        sa.or_(webhook_deliveries.c.writeback_status.is_(None), ~pending),
                    )
                ).rowcount
            )

    # --- write-back ---------------------------------------------------------------------

    def claim_writebacks(
        self, sources: Collection[str], *, lease: timedelta, limit: int = 10
    ) -> list[WritebackTask]:
        """Due write-backs of finished deliveries, each pushed ``lease`` ahead for this worker.

        A worker that dies holding one leaves it due again when the lease runs out.
        """
        if not sources:
            return []
        now = utcnow()
        due = (
            (webhook_deliveries.c.writeback_status == WritebackStatus.PENDING.value)
            & (webhook_deliveries.c.writeback_next_at <= now)
            & webhook_deliveries.c.source.in_(list(sources))
        )
        finished = jobs.c.status.in_([JobStatus.DONE.value, JobStatus.FAILED.value])
        claimed: list[WritebackTask] = []
        with self.database.begin() as connection:
            rows = connection.execute(
                sa.select(
                    webhook_deliveries.c.id,
                    webhook_deliveries.c.source,
                    webhook_deliveries.c.external_id,
                    webhook_deliveries.c.writeback_attempts,
                    webhook_deliveries.c.writeback_steps,
                    job_items.c.result,
                )
                .select_from(_JOINED)
                .where(due, finished)
                .order_by(webhook_deliveries.c.writeback_next_at)
                .limit(limit)
            ).all()
            for delivery_id, source, external_id, attempts, steps, result in rows:
                taken = connection.execute(
                    webhook_deliveries.update()
                    .where(webhook_deliveries.c.id == delivery_id, due)
                    .values(
                        writeback_next_at=now + lease,
                        writeback_attempts=webhook_deliveries.c.writeback_attempts + 1,
                    )
                )
                if taken.rowcount == 1:
                    claimed.append(
                        WritebackTask(
                            delivery_id, source, external_id, result, attempts + 1, steps or []
                        )
                    )
        return claimed

    def writeback_step_done(self, delivery_id: str, steps_done: list[str]) -> None:
        """Remember the steps already applied, so a retry never posts the same note twice."""
        with self.database.begin() as connection:
            connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == delivery_id)
                .values(writeback_steps=list(steps_done))
            )

    def writeback_finished(
        self,
        delivery_id: str,
        status: WritebackStatus,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome of an attempt: done, skipped, failed for good, or due again."""
        values: dict[str, Any] = {"writeback_status": status.value, "writeback_error": error}
        if status is WritebackStatus.PENDING:
            values["writeback_next_at"] = retry_at
        else:
            values["writeback_next_at"] = None
            values["writeback_done_at"] = utcnow()
        with self.database.begin() as connection:
            connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.id == delivery_id)
                .values(**values)
            )
