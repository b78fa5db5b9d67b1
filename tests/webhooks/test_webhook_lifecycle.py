"""A helpdesk's state changes, in its own documented payloads, become ticket lifecycle events;
through the webhook runner they reach the reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.webhooks.webhook_signing import SECRETS, fixture, sign
from triage.core.ticket_events import EventKind
from triage.service import TriageService
from triage.service.reports import ReportQuery, ReportService
from triage.service.webhook_runner import WebhookRunner
from triage.store.database import Database
from triage.store.deliveries import DeliveryStore
from triage.store.events import EventStore
from triage.store.jobs import JobStore
from triage.webhooks.canonical import Inbound
from triage.webhooks.lifecycle import delivery_events
from triage.webhooks.sources import receive

AT = datetime(2026, 11, 29, 16, tzinfo=UTC)


def arrive(source: str, body: bytes) -> Inbound:
    return receive(
        source,
        body,
        sign(source, body),
        secret=SECRETS[source],
        max_age=timedelta(minutes=5),
        now=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("source", "name", "ticket", "agent", "group"),
    [
        ("zammad", "zammad_ticket_closed.json", "1207", "Rina Wijaya", "2nd Level"),
        (
            "zendesk",
            "zendesk_ticket_status_changed_event.json",
            "5512",
            "391120777",
            "360004455667",
        ),
        ("glpi", "glpi_ticket_solved.json", "482", "a.sari", "Field support"),
        ("freshdesk", "freshdesk_ticket_resolved.json", "909", "77000999111", "77000004321"),
    ],
)
def test_a_solved_status_in_each_helpdesk_is_a_resolution(
    source: str, name: str, ticket: str, agent: str, group: str
) -> None:
    inbound = arrive(source, fixture(name))
    current = inbound.ticket.as_dict()["current"]
    events = delivery_events(source, inbound.ticket.external_id, current, at=AT, key=inbound.key)
    assert [(e.kind, e.ticket_id, e.agent, e.group) for e in events] == [
        (EventKind.UPDATED, ticket, agent, group),
        (EventKind.RESOLVED, ticket, None, None),
    ]


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("zammad", "zammad_ticket_created.json"),
        ("zendesk", "zendesk_ticket_created_event.json"),
        ("glpi", "glpi_ticket_new.json"),
        ("freshdesk", "freshdesk_ticket_object.json"),
    ],
)
def test_a_new_ticket_is_only_an_update(source: str, name: str) -> None:
    inbound = arrive(source, fixture(name))
    current = inbound.ticket.as_dict()["current"]
    events = delivery_events(source, inbound.ticket.external_id, current, at=AT, key=inbound.key)
    assert [e.kind for e in events] in (
        [EventKind.UPDATED],
        [EventKind.UPDATED, EventKind.REOPENED],
    )


def test_deliveries_through_the_runner_reach_the_reports(
    tmp_path: Path, service: TriageService
) -> None:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        jobs, deliveries = JobStore(database), DeliveryStore(database)
        runner = WebhookRunner(jobs, deliveries, lambda: service)
        created = json.loads(fixture("generic_ticket.json"))
        for step, status in enumerate(("new", "resolved", "open", "resolved")):
            current = {**created["current"], "status": status}
            body = json.dumps({**created, "event": f"update-{step}", "current": current})
            deliveries.accept(arrive("generic", body.encode()), writeback=False)
            assert runner.run_once()
        events = EventStore(database).events_of("OST-204611")
        kinds = [e.kind for e in events if e.kind is not EventKind.UPDATED]
        # Created and triaged once (repeats of the same ticket and model are one event each).
        assert kinds[:2] == [EventKind.CREATED, EventKind.TRIAGED]
        now = datetime.now(UTC)
        query = ReportQuery(since=now - timedelta(hours=1), until=now + timedelta(hours=1))
        [staff] = ReportService(database).run("staff", query).rows
        # Resolved, reopened, resolved again: one resolved ticket, reopened once.
        assert (staff["resolved"], staff["reopened"]) == (1, 1)
