"""The events the service records on its own paths: a webhook delivery once triaged and once
written back, and the tickets of a classification job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.webhooks.webhook_signing import SECRETS, fixture, sign
from triage.core.ticket_events import EventKind
from triage.service import TriageService
from triage.service.job_runner import JobRunner
from triage.service.webhook_runner import WebhookRunner
from triage.store.database import Database
from triage.store.deliveries import DeliveryStore
from triage.store.events import EventStore
from triage.store.jobs import JobStore
from triage.webhooks.sources import receive
from triage.webhooks.writeback import Step, Suggestion


class NoteTaker:
    """A helpdesk that takes every note."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def steps(self, ticket_id: str, suggestion: Suggestion) -> list[Step]:
        return [("note", lambda: self.notes.append(ticket_id))]

    def close(self) -> None:
        pass


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        yield database


def test_a_delivery_is_recorded_created_triaged_and_written_back(
    database: Database, service: TriageService
) -> None:
    body = fixture("generic_ticket.json")
    arrival = receive(
        "generic",
        body,
        sign("generic", body, delivery="d-9"),
        secret=SECRETS["generic"],
        max_age=timedelta(minutes=5),
        now=datetime.now(UTC),
    )
    jobs, deliveries = JobStore(database), DeliveryStore(database)
    delivery, _ = deliveries.accept(arrival, writeback=True)
    helpdesk = NoteTaker()
    runner = WebhookRunner(jobs, deliveries, lambda: service, clients={"generic": helpdesk})
    assert runner.run_once()
    assert helpdesk.notes == ["OST-204611"]
    recorded = EventStore(database).events_of("OST-204611")
    # The helpdesk's state of the ticket (group, priority) is an update event beside them.
    [update] = [e for e in recorded if e.kind is EventKind.UPDATED]
    assert (update.group, update.priority) == ("Support", "normal")
    events = [e for e in recorded if e.kind is not EventKind.UPDATED]
    assert [(e.kind, e.source) for e in events] == [
        (EventKind.CREATED, "generic"),
        (EventKind.TRIAGED, "generic"),
        (EventKind.WRITTEN_BACK, "generic"),
    ]
    job = jobs.get(str(delivery.job_id))
    assert job is not None
    assert events[0].at == job.created_at  # arrived when the delivery was accepted
    assert set(events[1].predictions or {}) == set(service.model.heads)
    # Run again: nothing new is due, and nothing is recorded twice.
    runner.run_once()
    assert len(EventStore(database).events_of("OST-204611")) == 4


def test_a_jobs_tickets_with_an_id_are_recorded_triaged(
    database: Database, service: TriageService
) -> None:
    jobs = JobStore(database)
    jobs.create(
        [{"id": "J-1", "subject": "VPN drops"}, {"subject": "no id: not a ticket to follow"}],
        source="upload",
    )
    assert JobRunner(jobs, lambda: service).run_once()
    store = EventStore(database)
    assert [(e.kind, e.source) for e in store.events_of("J-1")] == [(EventKind.TRIAGED, "upload")]
    assert store.count() == 1
