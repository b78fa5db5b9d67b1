"""The incident webhook: open, growth and close events POSTed to TRIAGE_INCIDENT_WEBHOOK_URL,
signed in the Standard Webhooks format, retried with exponential backoff.

Events wait in the database (written with the change that caused them), so a restart, a
replica's death or the receiver being down never loses one; the ``webhook-id`` stays the same
across retries (receivers deduplicate on it), the timestamp and signature are fresh each time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from triage.service.writeback_steps import backoff_delay
from triage.settings import Settings
from triage.store.database import Database
from triage.store.incident_events import IncidentEvent, IncidentEventStore
from triage.store.schema import utcnow
from triage.webhooks.signatures import standard_webhook_signature

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class IncidentWebhookSender:
    """A thread sending the due incident events, one at a time, in order."""

    thread_name = "triage-incident-webhook"

    def __init__(
        self,
        events: IncidentEventStore,
        url: str,
        secret: str,
        *,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=30),
        lease: timedelta = timedelta(minutes=2),
        poll_seconds: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        import httpx

        self.events = events
        self.url = url
        self.secret = secret
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.http = httpx.Client(timeout=10.0, transport=transport)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> IncidentWebhookSender | None:
        """The configured sender; None without TRIAGE_INCIDENT_WEBHOOK_URL."""
        if not settings.incident_webhook_url or settings.incident_webhook_secret is None:
            return None
        return cls(
            IncidentEventStore(database),
            settings.incident_webhook_url,
            settings.incident_webhook_secret.get_secret_value(),
            max_attempts=settings.incident_webhook_max_attempts,
            backoff=timedelta(seconds=settings.incident_webhook_backoff_seconds),
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.send_due()
            except Exception:
                log.exception("incident webhook round failed")
                sent = 0
            if not sent:
                self._stop.wait(self.poll_seconds)

    def send_due(self) -> int:
        """Send every due event once; returns how many were tried."""
        due = self.events.claim(self.clock(), lease=self.lease)
        for event in due:
            self._send(event)
        return len(due)

    def _send(self, event: IncidentEvent) -> None:
        body = json.dumps(
            {"type": event.event, "timestamp": event.created_at.isoformat(), "data": event.payload},
            separators=(",", ":"),
        ).encode()
        message_id = f"incident_event_{event.id}"
        now = self.clock()
        timestamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhook_signature(
                self.secret, message_id, timestamp, body
            ),
        }
        try:
            response = self.http.post(self.url, content=body, headers=headers)
            error = None if response.is_success else f"HTTP {response.status_code}"
        except Exception as exc:  # any transport failure is worth a retry
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            self.events.finish(event.id, "sent", now)
        elif event.attempts < self.max_attempts:
            retry_at = now + backoff_delay(event.attempts, self.backoff)
            log.warning("incident event %s failed (%s); retrying at %s", event.id, error, retry_at)
            self.events.finish(event.id, "pending", now, error=error, retry_at=retry_at)
        else:
            log.error(
                "incident event %s failed for good after %d attempts: %s",
                event.id,
                event.attempts,
                error,
            )
            self.events.finish(event.id, "failed", now, error=error)
