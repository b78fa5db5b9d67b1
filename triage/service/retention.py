"""How long webhook deliveries and finished jobs are kept (``TRIAGE_RETENTION_DAYS``).

Both hold ticket text (a delivery its ticket and requester, a job its tickets and answers),
so they are deleted once older than the retention period: deliveries whose write-back is not
still pending, and jobs that ended. The staff page's queue keeps ``TRIAGE_TRIAGED_KEEP_DAYS``,
at most the retention period. The job runner calls :meth:`Retention.run_if_due` between jobs,
at most once an hour per process.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from triage.store.deliveries import DeliveryStore
from triage.store.jobs import JobStore
from triage.store.schema import utcnow

log = logging.getLogger(__name__)


class Retention:
    def __init__(
        self,
        jobs: JobStore,
        deliveries: DeliveryStore,
        keep: timedelta,
        *,
        every: timedelta = timedelta(hours=1),
    ) -> None:
        self.jobs = jobs
        self.deliveries = deliveries
        self.keep = keep
        self.every = every.total_seconds()
        self._last = -float("inf")

    def run_if_due(self) -> None:
        if time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.run()

    def run(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete what is past the period; returns (deliveries, jobs) deleted."""
        older_than = (now or utcnow()) - self.keep
        deliveries = self.deliveries.purge(older_than)
        jobs = self.jobs.purge(older_than)
        if deliveries or jobs:
            log.info(
                "retention: deleted %d webhook deliveries and %d jobs from before %s",
                deliveries,
                jobs,
                older_than.isoformat(timespec="seconds"),
            )
        return deliveries, jobs
