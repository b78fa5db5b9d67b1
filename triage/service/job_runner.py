"""Works through queued classification jobs in the background, a chunk of tickets at a time.

Runs as a thread inside the API process (the default) or as its own process
(``triage worker``). Each chunk's results are committed with a renewed lease, so a job cut
short by a restart resumes where it stopped, and the short chunks leave the CPU to
interactive requests in between.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any, Literal

from triage.core.errors import TicketFailedError, TriageError
from triage.core.ticket_events import TicketEvent
from triage.service import Classification, Ticket, TriageService, classification_dict
from triage.service.events import EventRecorder, result_events
from triage.service.retention import Retention
from triage.settings import Settings
from triage.store.deliveries import DeliveryStore
from triage.store.jobs import Job, JobItem, JobStore
from triage.webhooks.config import WEBHOOK_JOB_SOURCE
from triage.webhooks.lifecycle import delivery_events

log = logging.getLogger(__name__)


class JobRunner:
    """Claims jobs from the store and classifies their tickets with the current service."""

    thread_name = "triage-jobs"

    def __init__(
        self,
        store: JobStore,
        service: Callable[[], TriageService | None],
        *,
        chunk_size: int = 64,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 1.0,
        pause_seconds: float = 0.01,
        sources: Collection[str] | None = None,
        exclude_sources: Collection[str] = (),
        retention: Retention | None = None,
        events: EventRecorder | None = None,
    ) -> None:
        self.store = store
        # What the jobs triage is recorded for the reports, in the jobs' database by default.
        self.events = events or EventRecorder.for_database(store.database)
        self.service = service
        self.chunk_size = chunk_size
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.pause_seconds = pause_seconds
        # Which jobs this runner takes, by source: a runner of its own for webhook deliveries
        # means a long backlog job never delays a helpdesk waiting for its answer.
        self.sources = sources
        self.exclude_sources = exclude_sources
        self.retention = retention
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_backlog(
        cls, store: JobStore, service: Callable[[], TriageService | None], settings: Settings
    ) -> JobRunner:
        """The backlog runner: every job but webhook deliveries, which have a runner of their
        own (:class:`triage.service.webhook_runner.WebhookRunner`)."""
        return cls(
            store,
            service,
            chunk_size=settings.job_chunk_size,
            exclude_sources=(WEBHOOK_JOB_SOURCE,),
            retention=Retention(
                store, DeliveryStore(store.database), timedelta(days=settings.retention_days)
            ),
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the loop must outlive a bad moment (e.g. the database restarting)
                log.exception("job runner error; retrying in %.1f s", self.poll_seconds)
                worked = False
            if not worked:
                self._tidy()
                self._wake.wait(self.poll_seconds)
                self._wake.clear()

    def _tidy(self) -> None:
        """Between jobs: delete what is past the retention period (hourly at most)."""
        if self.retention is None:
            return
        try:
            self.retention.run_if_due()
        except Exception:  # a failed clean-up is retried at the next due time
            log.exception("retention clean-up failed")

    def run_once(self) -> bool:
        """Claim one job and work it to the end; False when there was nothing to do."""
        service = self.service()
        if service is None:
            return False
        job = self.store.claim(
            self.name, lease=self.lease, sources=self.sources, exclude_sources=self.exclude_sources
        )
        if job is None:
            return False
        log.info("job %s: %d tickets, %d done before", job.id, job.total, job.done + job.failed)
        try:
            state = self._work(job)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            self.store.finish(job.id, self.name, error=f"{type(exc).__name__}: {exc}")
            return True
        if state == "done":
            self.store.finish(job.id, self.name)
            log.info("job %s done", job.id)
        elif state == "stopped":
            self.store.release(job.id, self.name)  # queued again, for the next start
        return True

    def _work(self, job: Job) -> Literal["done", "lost", "stopped"]:
        while not self._stop.is_set():
            chunk = self.store.pending(job.id, self.chunk_size)
            if not chunk:
                return "done"
            service = self.service() or self._no_service()
            outcomes = self._classify(service, chunk, explain=job.explain)
            if not self.store.record(
                job.id, self.name, outcomes, lease=self.lease, model_version=service.model.version
            ):
                log.warning("job %s: lease lost to another worker; leaving it", job.id)
                return "lost"
            self.events.record_quietly(self._events_of(job, chunk, outcomes))
            self._stop.wait(self.pause_seconds)
        return "stopped"

    @staticmethod
    def _events_of(
        job: Job,
        chunk: list[JobItem],
        outcomes: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]],
        *,
        created: bool = False,
    ) -> list[TicketEvent]:
        """Each classified ticket with an id, as a triaged event (and a created one, for a
        webhook delivery: it arrived when its job was made)."""
        source = job.source
        events: list[TicketEvent] = []
        for item in chunk:
            result = outcomes.get(item.position, (None, None))[0]
            metadata = item.ticket.get("metadata") or {}
            if created:
                source = str(metadata.get("source") or job.source)
            at = job.created_at if created else None
            events += result_events(item.ticket, result, source=source, created=at)
            current = metadata.get("current")
            if created and isinstance(current, dict) and item.ticket.get("id"):
                events += delivery_events(
                    source, str(item.ticket["id"]), current, at=job.created_at, key=job.id
                )
        return events

    @staticmethod
    def _no_service() -> TriageService:
        raise RuntimeError("no model is loaded")

    @staticmethod
    def _each(
        service: TriageService, chunk: list[JobItem], *, explain: bool
    ) -> list[Classification | TriageError]:
        """Each ticket's outcome; a ticket that raises fails alone, whatever it raised."""
        try:
            return service.classify_each(
                [Ticket.from_dict(item.ticket) for item in chunk], explain=explain
            )
        except Exception:
            if len(chunk) == 1:
                log.exception("job ticket %d could not be classified", chunk[0].position)
                return [TicketFailedError("this ticket could not be classified (internal error)")]
        return [out for item in chunk for out in JobRunner._each(service, [item], explain=explain)]

    @staticmethod
    def _classify(
        service: TriageService, chunk: list[JobItem], *, explain: bool
    ) -> dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        results = JobRunner._each(service, chunk, explain=explain)
        outcomes: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        for item, outcome in zip(chunk, results, strict=True):
            if isinstance(outcome, Classification):
                outcomes[item.position] = (classification_dict(outcome), None)
            else:
                assert isinstance(outcome, TriageError)
                error = {"code": outcome.code, "message": outcome.message}
                outcomes[item.position] = (None, error)
        return outcomes
