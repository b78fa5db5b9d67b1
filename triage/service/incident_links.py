"""Write-back of incidents (TRIAGE_INCIDENT_WRITEBACK, off by default): each member ticket
that came from a Zammad or Zendesk webhook is linked to the incident's parent ticket there.

:class:`~triage.service.incidents.IncidentTracker` queues the links with the membership;
this sends them beside the suggestions' write-back (in the webhook runner's thread), through
the same helpdesk clients, steps and backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from triage.service.writeback_steps import run_steps
from triage.settings import Settings
from triage.store.database import Database
from triage.store.deliveries import WritebackStatus
from triage.store.incident_links import IncidentLinkStore, LinkTask
from triage.webhooks.writeback import IncidentLinkClient, WritebackClient

log = logging.getLogger(__name__)


class IncidentLinker:
    """Sends the due incident links, each a few named requests, retried with backoff."""

    def __init__(
        self,
        store: IncidentLinkStore,
        clients: Mapping[str, IncidentLinkClient],
        *,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=30),
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.store = store
        self.clients = dict(clients)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.lease = lease

    @classmethod
    def from_settings(
        cls, database: Database, settings: Settings, clients: Mapping[str, WritebackClient]
    ) -> IncidentLinker:
        """With the write-back clients of the helpdesks links are on for."""
        linking = settings.incident_link_sources()
        return cls(
            IncidentLinkStore(database),
            {
                source: client
                for source, client in clients.items()
                if source in linking and isinstance(client, IncidentLinkClient)
            },
            max_attempts=settings.webhook_writeback_max_attempts,
            backoff=timedelta(seconds=settings.webhook_writeback_backoff_seconds),
        )

    def link_due(self) -> bool:
        """Send every due link once; whether there were any."""
        tasks = self.store.claim(self.clients, lease=self.lease)
        for task in tasks:
            self._link(task)
        return bool(tasks)

    def _link(self, task: LinkTask) -> None:
        client = self.clients[task.source]
        failure = run_steps(
            lambda: client.link_steps(task.ticket_id, task.parent_ticket_id),
            task.steps_done,
            lambda done: self.store.step_done(task.id, done),
            attempts=task.attempts,
            max_attempts=self.max_attempts,
            backoff=self.backoff,
        )
        what = f"link of {task.source} ticket {task.ticket_id} to {task.parent_ticket_id}"
        if failure is None:
            self.store.finished(task.id, WritebackStatus.DONE)
            log.info("%s (incident %d) done", what, task.incident_id)
        elif failure.retry_at is not None:
            log.warning(
                "%s failed (attempt %d), retrying at %s: %s",
                what,
                task.attempts,
                failure.retry_at.isoformat(),
                failure.error,
            )
            self.store.finished(
                task.id, WritebackStatus.PENDING, error=failure.error, retry_at=failure.retry_at
            )
        else:
            log.error(
                "%s failed for good after %d attempt(s): %s", what, task.attempts, failure.error
            )
            self.store.finished(task.id, WritebackStatus.FAILED, error=failure.error)
