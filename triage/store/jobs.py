"""Classification jobs for a backlog: queued in the database, so they survive a restart.

A job is a row in ``jobs`` and one row per ticket in ``job_items``. A worker claims a job
with a lease it keeps renewing; a job whose lease lapsed (its worker died) is claimed again
and resumes at the first ticket without a result. Nothing acknowledged with a 202 is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.schema import job_items, jobs, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    id: str
    status: JobStatus
    total: int
    done: int
    failed: int
    explain: bool
    source: str
    model_version: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def ended(self) -> bool:
        """Done or failed: its results are final."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


@dataclass(frozen=True)
class JobItem:
    position: int
    ticket: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None


def _without_explanations(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if not result or not isinstance(result.get("predictions"), dict):
        return result
    predictions = {
        head: {**answer, "explanation": None} if isinstance(answer, dict) else answer
        for head, answer in result["predictions"].items()
    }
    return {**result, "predictions": predictions}


def _job(row: sa.RowMapping) -> Job:
    return Job(
        id=row["id"],
        status=JobStatus(row["status"]),
        total=row["total"],
        done=row["done"],
        failed=row["failed"],
        explain=row["explain"],
        source=row["source"],
        model_version=row["model_version"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


class JobStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def create(
        self, tickets: Sequence[Mapping[str, Any]], *, explain: bool = False, source: str = "json"
    ) -> Job:
        """Queue a job; once this returns, the job and every ticket are committed."""
        with self.database.begin() as connection:
            job_id = self.insert(connection, tickets, explain=explain, source=source)
        job = self.get(job_id)
        assert job is not None
        return job

    @staticmethod
    def insert(
        connection: sa.Connection,
        tickets: Sequence[Mapping[str, Any]],
        *,
        explain: bool = False,
        source: str = "json",
        job_id: str | None = None,
    ) -> str:
        """Queue a job inside the caller's transaction (committed with the caller's own rows)."""
        job_id = job_id or uuid.uuid4().hex
        connection.execute(
            jobs.insert(),
            {
                "id": job_id,
                "status": JobStatus.QUEUED.value,
                "total": len(tickets),
                "done": 0,
                "failed": 0,
                "explain": explain,
                "source": source,
                "created_at": utcnow(),
            },
        )
        for start in range(0, len(tickets), 5_000):
            connection.execute(
                job_items.insert(),
                [
                    {"job_id": job_id, "position": start + i, "ticket": dict(ticket)}
                    for i, ticket in enumerate(tickets[start : start + 5_000])
                ],
            )
        return job_id

    def forget(self, ticket_id: str, *, job_ids: Collection[str] = ()) -> int:
        """Take a ticket's text out of every job: items whose ticket has this id, and every
        item of ``job_ids``, keep only the id; their results lose explanations (the words
        behind a label are the ticket's). Returns the items changed."""
        where = job_items.c.ticket["id"].as_string() == ticket_id
        if job_ids:
            where = where | job_items.c.job_id.in_(list(job_ids))
        changed = 0
        with self.database.begin() as connection:
            rows = connection.execute(
                sa.select(job_items.c.job_id, job_items.c.position, job_items.c.result).where(where)
            ).all()
            for job_id, position, result in rows:
                connection.execute(
                    job_items.update()
                    .where(job_items.c.job_id == job_id, job_items.c.position == position)
                    .values(ticket={"id": ticket_id}, result=_without_explanations(result))
                )
                changed += 1
        return changed

    def purge(self, older_than: datetime) -> int:
        """Delete jobs that ended before ``older_than``, with their items; returns jobs."""
        ended = sa.select(jobs.c.id).where(
            jobs.c.status.in_([JobStatus.DONE.value, JobStatus.FAILED.value]),
            jobs.c.finished_at < older_than,
        )
        with self.database.begin() as connection:
            connection.execute(job_items.delete().where(job_items.c.job_id.in_(ended)))
            return int(connection.execute(jobs.delete().where(jobs.c.id.in_(ended))).rowcount)

    def get(self, job_id: str) -> Job | None:
        with self.database.begin() as connection:
            row = connection.execute(jobs.select().where(jobs.c.id == job_id)).mappings().first()
        return _job(row) if row else None

    def items(self, job_id: str, *, offset: int = 0, limit: int = 1_000) -> list[JobItem]:
        query = (
            sa.select(
                job_items.c.position, job_items.c.ticket, job_items.c.result, job_items.c.error
            )
            .where(job_items.c.job_id == job_id)
            .order_by(job_items.c.position)
            .offset(offset)
            .limit(limit)
        )
        with self.database.begin() as connection:
            return [JobItem(*row) for row in connection.execute(query).all()]

    def claim(
        self,
        worker: str,
        *,
        lease: timedelta,
        sources: Collection[str] | None = None,
        exclude_sources: Collection[str] = (),
    ) -> Job | None:
        """Take the oldest queued job, or one whose worker stopped renewing its lease.

        ``sources`` limits the claim to jobs of those sources (e.g. only webhook deliveries),
        ``exclude_sources`` leaves those to another runner.
        """
        now = utcnow()
        claimable = (jobs.c.status == JobStatus.QUEUED.value) | (
            (jobs.c.status == JobStatus.RUNNING.value) & (jobs.c.lease_until < now)
        )
        if sources is not None:
            claimable = claimable & jobs.c.source.in_(list(sources))
        if exclude_sources:
            claimable = claimable & jobs.c.source.not_in(list(exclude_sources))
        with self.database.begin() as connection:
            candidates = connection.execute(
                sa.select(jobs.c.id).where(claimable).order_by(jobs.c.created_at).limit(5)
            ).scalars()
            for job_id in list(candidates):
                # The WHERE is checked again by the UPDATE itself: of two workers racing for
                # one job, exactly one changes the row.
                claimed = connection.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, claimable)
                    .values(
                        status=JobStatus.RUNNING.value,
                        worker=worker,
                        lease_until=now + lease,
                        started_at=sa.func.coalesce(jobs.c.started_at, now),
                    )
                )
                if claimed.rowcount == 1:
                    break
            else:
                return None
        return self.get(job_id)

    def pending(self, job_id: str, limit: int) -> list[JobItem]:
        """The next tickets of a job that have neither a result nor an error."""
        query = (
            sa.select(
                job_items.c.position, job_items.c.ticket, job_items.c.result, job_items.c.error
            )
            .where(
                job_items.c.job_id == job_id,
                job_items.c.result.is_(None),
                job_items.c.error.is_(None),
            )
            .order_by(job_items.c.position)
            .limit(limit)
        )
        with self.database.begin() as connection:
            return [JobItem(*row) for row in connection.execute(query).all()]

    def record(
        self,
        job_id: str,
        worker: str,
        outcomes: Mapping[int, tuple[dict[str, Any] | None, dict[str, Any] | None]],
        *,
        lease: timedelta,
        model_version: str,
    ) -> bool:
        """Save results (or per-ticket errors) and renew the lease, in one transaction.

        Returns False when the job is no longer this worker's (its lease lapsed and another
        worker took it); nothing is written then.
        """
        now = utcnow()
        done = sum(1 for result, _ in outcomes.values() if result is not None)
        failed = len(outcomes) - done
        with self.database.begin() as connection:
            renewed = connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.worker == worker)
                .values(
                    lease_until=now + lease,
                    done=jobs.c.done + done,
                    failed=jobs.c.failed + failed,
                    model_version=model_version,
                )
            )
            if renewed.rowcount != 1:
                return False  # nothing was written
            for position, (result, error) in outcomes.items():
                connection.execute(
                    job_items.update()
                    .where(job_items.c.job_id == job_id, job_items.c.position == position)
                    .values(result=result, error=error)
                )
        return True

    def finish(self, job_id: str, worker: str, *, error: str | None = None) -> None:
        status = JobStatus.FAILED if error else JobStatus.DONE
        with self.database.begin() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.worker == worker)
                .values(status=status.value, finished_at=utcnow(), lease_until=None, error=error)
            )

    def release(self, job_id: str, worker: str) -> None:
        """Give a running job back to the queue (its worker is shutting down)."""
        with self.database.begin() as connection:
            connection.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.worker == worker)
                .values(status=JobStatus.QUEUED.value, worker=None, lease_until=None)
            )
