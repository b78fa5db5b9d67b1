"""Background classification of a backlog: queue a job, follow it, page through its results.

The jobs themselves are run by :class:`triage.service.job_runner.JobRunner`, in the API
process or in ``triage worker``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from triage.core.errors import BatchTooLargeError, JobNotFoundError
from triage.service.job_runner import JobRunner
from triage.store.jobs import Job, JobItem, JobStore


class JobQueue:
    """Queues jobs (committed before this returns) and wakes the local runner, if any."""

    def __init__(self, store: JobStore, runner: JobRunner | None, *, max_tickets: int) -> None:
        self.store = store
        self.runner = runner
        self.max_tickets = max_tickets

    def submit(
        self,
        tickets: Sequence[Mapping[str, Any]],
        *,
        explain: bool,
        source: str,
        max_tickets: int | None = None,
    ) -> Job:
        """Queue ``tickets``; at most TRIAGE_MAX_JOB_TICKETS, or ``max_tickets`` (the key's
        own limit) when that is lower."""
        limit = min(self.max_tickets, max_tickets or self.max_tickets)
        if len(tickets) > limit:
            raise BatchTooLargeError(
                f"{len(tickets)} tickets in one job; the limit is {limit}",
                details={"limit": limit, "size": len(tickets)},
            )
        job = self.store.create(tickets, explain=explain, source=source)
        if self.runner is not None:
            self.runner.wake()
        return job

    def get(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise JobNotFoundError(f"no job {job_id!r}")
        return job

    def results(self, job: Job, *, offset: int, limit: int) -> list[JobItem]:
        """A page of an ended job's results, in submission order (none while it runs)."""
        if not job.ended or limit <= 0:
            return []
        return self.store.items(job.id, offset=offset, limit=limit)
