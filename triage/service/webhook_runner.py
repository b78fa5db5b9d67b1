"""The background side of webhooks: triage queued deliveries, then write the suggestions back.

A ``JobRunner`` restricted to webhook jobs (so a long backlog job never delays a helpdesk's
ticket) that classifies deliveries in batches and, between batches, applies the write-backs
that are due. A failed write-back is retried with exponential backoff up to a limit; the
delivery and its result are kept whatever happens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np

from triage.core.errors import TriageError
from triage.core.ticket_events import TicketEvent
from triage.service import Classification, Ticket, TriageService, classification_dict
from triage.service.events import written_back_event
from triage.service.incident_links import IncidentLinker, incident_ticket_id
from triage.service.incidents import IncidentTracker
from triage.service.job_runner import JobRunner
from triage.service.ticket_triage import observed_ticket
from triage.service.writeback_steps import run_steps
from triage.settings import Settings
from triage.store.deliveries import DeliveryStore, WritebackStatus, WritebackTask
from triage.store.jobs import Job, JobStore
from triage.webhooks.config import WEBHOOK_JOB_SOURCE
from triage.webhooks.writeback import Suggestion, WritebackClient
from triage.webhooks.writeback_clients import build_clients

log = logging.getLogger(__name__)


class WebhookRunner(JobRunner):
    """Classifies webhook deliveries (only those) and writes their suggestions back."""

    thread_name = "triage-webhooks"

    def __init__(
        self,
        jobs: JobStore,
        deliveries: DeliveryStore,
        service: Callable[[], TriageService | None],
        *,
        clients: Mapping[str, WritebackClient] | None = None,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=30),
        writeback_lease: timedelta = timedelta(minutes=2),
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 0.5,
        quiet_seconds: float = 0.02,
        max_defer_seconds: float = 0.5,
        batch_size: int = 32,
        incidents: IncidentTracker | None = None,
        links: IncidentLinker | None = None,
    ) -> None:
        super().__init__(
            jobs,
            service,
            chunk_size=1,
            lease=lease,
            poll_seconds=poll_seconds,
            pause_seconds=0.0,
            sources=(WEBHOOK_JOB_SOURCE,),
        )
        self.deliveries = deliveries
        self.clients = dict(clients or {})
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.writeback_lease = writeback_lease
        self.quiet_seconds = quiet_seconds
        self.batch_size = batch_size
        self.max_defer_seconds = max_defer_seconds
        self.incidents = incidents
        self.links = links  # incident members linked to the parent (TRIAGE_INCIDENT_WRITEBACK)
        self._last_delivery = 0.0

    @classmethod
    def from_settings(
        cls,
        jobs: JobStore,
        deliveries: DeliveryStore,
        service: Callable[[], TriageService | None],
        settings: Settings,
        *,
        incidents: IncidentTracker | None = None,
    ) -> WebhookRunner:
        clients = build_clients(settings.webhook_writeback)
        links = None
        if incidents is not None and incidents.link_sources:
            links = IncidentLinker.from_settings(deliveries.database, settings, clients)
        return cls(
            jobs,
            deliveries,
            service,
            incidents=incidents,
            links=links,
            clients=clients,
            max_attempts=settings.webhook_writeback_max_attempts,
            backoff=timedelta(seconds=settings.webhook_writeback_backoff_seconds),
        )

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        for client in self.clients.values():
            client.close()

    def wake(self) -> None:
        """A delivery was accepted (by this process): triage it once the burst pauses."""
        self._last_delivery = time.monotonic()
        super().wake()

    def _yield_to_requests(self) -> bool:
        """Wait while deliveries are arriving; True if they paused, False if we gave up.

        In the API process this thread shares the GIL and the database with the 202 path:
        answers come first, but a job is never deferred for more than max_defer_seconds, so
        triage keeps moving (in small batches) under a steady stream.
        """
        deferred_since = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            quiet_for = now - self._last_delivery
            if quiet_for >= self.quiet_seconds:
                return True
            if now - deferred_since >= self.max_defer_seconds:
                return False
            self._stop.wait(self.quiet_seconds - quiet_for)
        return True

    def run_once(self) -> bool:
        """Triage a batch of queued deliveries, then apply the write-backs that are due."""
        quiet = self._yield_to_requests()
        worked = self.triage_batch(self.batch_size if quiet else max(1, self.batch_size // 8))
        if self.clients and not self._stop.is_set():
            worked = self.write_back_due() or worked
        if self.links is not None and not self._stop.is_set():
            worked = self.links.link_due() or worked
        return worked

    def triage_batch(self, size: int) -> bool:
        """Claim up to ``size`` delivery jobs and classify their tickets in one call.

        A delivery is one ticket, and a model call has a fixed cost well above one ticket's
        share of a batch: a backlog of deliveries drains many times faster in batches.
        """
        service = self.service()
        if service is None:
            return False
        claimed: list[Job] = []
        while len(claimed) < size:
            job = self.store.claim(self.name, lease=self.lease, sources=self.sources)
            if job is None:
                break
            claimed.append(job)
        if not claimed:
            return False
        if self._stop.is_set():
            for job in claimed:
                self.store.release(job.id, self.name)
            return True
        work = [(job, item) for job in claimed for item in self.store.pending(job.id, 1)]
        tickets = [Ticket.from_dict(item.ticket) for _, item in work]
        try:
            outcomes = service.classify_each_embedded(tickets)
        except Exception as exc:
            log.exception("webhook batch of %d failed", len(work))
            for job in claimed:
                self.store.finish(job.id, self.name, error=f"{type(exc).__name__}: {exc}")
            return True
        events: list[TicketEvent] = []
        for (job, item), ticket, outcome in zip(work, tickets, outcomes, strict=True):
            recorded: tuple[dict[str, Any] | None, dict[str, Any] | None]
            if not isinstance(outcome, TriageError):
                self._observe_incident(ticket, *outcome)
                recorded = (classification_dict(outcome[0]), None)
            else:
                recorded = (None, {"code": outcome.code, "message": outcome.message})
            if self.store.record(
                job.id,
                self.name,
                {item.position: recorded},
                lease=self.lease,
                model_version=service.model.version,
            ):
                self.store.finish(job.id, self.name)
                events += self._events_of(job, [item], {item.position: recorded}, created=True)
        self.events.record_quietly(events)
        worked_on = {job.id for job, _ in work}
        for job in claimed:  # a job without a pending ticket (recorded before a crash) ends too
            if job.id not in worked_on:
                self.store.finish(job.id, self.name)
        return True

    def _observe_incident(
        self, ticket: Ticket, classification: Classification, vector: np.ndarray
    ) -> None:
        """Incident detection for a delivered ticket (at the time it is triaged): a failure
        here is logged and never costs the delivery its triage."""
        if self.incidents is None or not ticket.id:
            return
        try:
            observed = observed_ticket(ticket, vector, classification)
            # A webhook job's metadata names the helpdesk (written by DeliveryStore.accept).
            source = str(ticket.metadata.get("source") or "") or None
            ticket_id = incident_ticket_id(source, observed.ticket_id)
            observed = replace(observed, ticket_id=ticket_id, source=source)
            self.incidents.observe(observed)
        except Exception:
            log.exception("incident detection failed for webhook ticket %s", ticket.id)

    def write_back_due(self) -> bool:
        tasks = self.deliveries.claim_writebacks(self.clients, lease=self.writeback_lease)
        for task in tasks:
            self._write_back(task)
        return bool(tasks)

    def _write_back(self, task: WritebackTask) -> None:
        if task.result is None:  # the ticket could not be classified: nothing to suggest
            self.deliveries.writeback_finished(task.delivery_id, WritebackStatus.SKIPPED)
            return
        client = self.clients[task.source]
        suggestion = Suggestion.from_result(task.result)
        failure = run_steps(
            lambda: client.steps(task.external_id, suggestion),
            task.steps_done,
            lambda done: self.deliveries.writeback_step_done(task.delivery_id, done),
            attempts=task.attempts,
            max_attempts=self.max_attempts,
            backoff=self.backoff,
        )
        if failure is None:
            self.deliveries.writeback_finished(task.delivery_id, WritebackStatus.DONE)
            self.events.record_quietly([written_back_event(task.external_id, source=task.source)])
            log.info("write-back of delivery %s to %s done", task.delivery_id, task.source)
        elif failure.retry_at is not None:
            log.warning(
                "write-back of delivery %s to %s failed (attempt %d), retrying at %s: %s",
                task.delivery_id,
                task.source,
                task.attempts,
                failure.retry_at.isoformat(),
                failure.error,
            )
            self.deliveries.writeback_finished(
                task.delivery_id,
                WritebackStatus.PENDING,
                error=failure.error,
                retry_at=failure.retry_at,
            )
        else:
            log.error(
                "write-back of delivery %s to %s failed for good after %d attempt(s): %s",
                task.delivery_id,
                task.source,
                task.attempts,
                failure.error,
            )
            self.deliveries.writeback_finished(
                task.delivery_id, WritebackStatus.FAILED, error=failure.error
            )
