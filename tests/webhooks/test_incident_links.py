"""Incident write-back: the members of an incident that came from a Zammad or Zendesk webhook
are linked to the incident's parent ticket there, against the local fake helpdesk, with the
request bodies of the vendors' documentation (fixtures/README.md). Off by default; retried
after a failure; a member is never linked twice."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.clock import Clock
from tests.webhooks.conftest import INCIDENTS_START
from tests.webhooks.fake_helpdesk import FakeHelpdesk
from tests.webhooks.webhook_signing import fixture_json, sign
from triage.api.app import create_app
from triage.core.incident_detector import IncidentConfig
from triage.service import TriageService
from triage.service.incident_links import IncidentLinker
from triage.service.incidents import IncidentTracker, ObservedTicket
from triage.service.results import Classification, Ticket
from triage.service.webhook_runner import WebhookRunner
from triage.settings import Settings
from triage.store.database import Database
from triage.store.deliveries import DeliveryStore, WritebackStatus
from triage.store.incident_links import IncidentLinkStore
from triage.store.incidents import IncidentStore
from triage.store.jobs import JobStore
from triage.webhooks.config import WritebackTarget
from triage.webhooks.writeback import ZammadClient, ZendeskClient

FIXTURES = Path(__file__).parent / "fixtures"
ZAMMAD_TOKEN = "zammad-access-token-8c1e"
ZENDESK_EMAIL, ZENDESK_TOKEN = "triage-bot@example.com", "zendesk-api-token-44f0"
DIM = 32
START = INCIDENTS_START  # before the real now: links fall due


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _tracker(database: Database, clock: Clock, sources: tuple[str, ...]) -> IncidentTracker:
    return IncidentTracker(
        IncidentStore(database), IncidentConfig(), clock=clock, link_sources=sources
    )


def _linker(database: Database, helpdesk: FakeHelpdesk, source: str) -> IncidentLinker:
    if source == "zammad":
        target = WritebackTarget(url=helpdesk.url, token=SecretStr(ZAMMAD_TOKEN))
        helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
        client: ZammadClient | ZendeskClient = ZammadClient(target)
    else:
        target = WritebackTarget(
            url=helpdesk.url, token=SecretStr(ZENDESK_TOKEN), email=ZENDESK_EMAIL
        )
        user = f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()
        helpdesk.expected_auth = "Basic " + base64.b64encode(user).decode()
        client = ZendeskClient(target)
    # No wait before a retry: the test runs the next round at once.
    return IncidentLinker(
        IncidentLinkStore(database), {source: client}, backoff=timedelta(0), max_attempts=3
    )


_TOPIC = np.random.default_rng(1).normal(size=DIM)


def _observe(
    tracker: IncidentTracker, clock: Clock, ticket_id: str, i: int, source: str | None
) -> Any:
    clock.now = START + timedelta(minutes=2 * i)
    noise = np.random.default_rng(i).normal(size=DIM) * 0.15 / np.sqrt(DIM)
    vector = (_TOPIC / np.linalg.norm(_TOPIC) + noise).astype(np.float32)
    ticket = ObservedTicket(
        ticket_id,
        vector,
        f"VPN gateway down {ticket_id}",
        at=clock.now,
        category="network",
        tier="L2",
        language="en",
        source=source,
    )
    return tracker.observe(ticket)


def _surge(
    tracker: IncidentTracker, clock: Clock, ids: list[str], source: str | None, first: int = 0
) -> Any:
    ref = None
    for i, ticket_id in enumerate(ids, start=first):
        ref = _observe(tracker, clock, ticket_id, i, source) or ref
    return ref


def _parent(tracker: IncidentTracker, incident_id: int) -> str:
    record = tracker.store.get(incident_id)
    assert record is not None
    assert record.parent_ticket_id is not None
    return record.parent_ticket_id


def test_zammad_members_are_linked_to_the_parent_on_open_and_on_growth(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zammad", "zendesk"))
    linker = _linker(database, helpdesk, "zammad")
    opened = _surge(tracker, clock, [str(1101 + i) for i in range(5)], "zammad")
    assert opened is not None
    assert opened.opened
    parent = _parent(tracker, opened.id)
    shown = {**_fixture("zammad_ticket_show.json"), "id": int(parent), "number": "31001"}
    helpdesk.replies[("GET", f"/api/v1/tickets/{parent}")] = shown

    assert linker.link_due()
    members = sorted(str(1101 + i) for i in range(5) if str(1101 + i) != parent)
    posted = helpdesk.calls("POST", "/api/v1/links/add")
    documented = _fixture("zammad_link_add.json")
    assert [p.body for p in posted] == [
        {**documented, "link_object_target_value": int(m)} for m in members
    ]
    assert all(set(p.body) == set(documented) for p in posted)
    assert all(p.headers["authorization"] == helpdesk.expected_auth for p in posted)
    assert len(helpdesk.calls("GET", f"/api/v1/tickets/{parent}")) == 1  # the number, once

    grew = _observe(tracker, clock, "1106", 5, "zammad")
    assert grew is not None
    assert (grew.id, grew.opened) == (opened.id, False)
    assert linker.link_due()
    posted = helpdesk.calls("POST", "/api/v1/links/add")
    assert [p.body["link_object_target_value"] for p in posted] == [*map(int, members), 1106]
    assert not linker.link_due()  # nothing left: no member linked twice
    links = IncidentLinkStore(database).links(opened.id)
    assert [link.status for link in links] == [WritebackStatus.DONE] * 5
    assert {link.parent_ticket_id for link in links} == {parent}


def test_zendesk_members_become_incidents_of_the_parent_problem(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zammad", "zendesk"))
    linker = _linker(database, helpdesk, "zendesk")
    opened = _surge(tracker, clock, [str(5501 + i) for i in range(5)], "zendesk")
    parent = _parent(tracker, opened.id)
    assert linker.link_due()
    problem = helpdesk.calls("PUT", f"/api/v2/tickets/{parent}")
    assert [p.body for p in problem] == [_fixture("zendesk_ticket_problem_update.json")]
    documented = _fixture("zendesk_ticket_incident_update.json")
    for member in (str(5501 + i) for i in range(5)):
        if member == parent:
            continue
        [update] = helpdesk.calls("PUT", f"/api/v2/tickets/{member}")
        assert update.body == {"ticket": {**documented["ticket"], "problem_id": int(parent)}}


def test_a_failed_link_is_retried_and_repeats_only_the_step_that_failed(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    tracker = _tracker(database, clock, ("zendesk",))
    linker = _linker(database, helpdesk, "zendesk")
    ids = [str(5501 + i) for i in range(5)]
    # Which ticket becomes the parent is the detector's choice: fail a request to the first
    # member that is not the parent, whichever it is.
    opened = _surge(tracker, clock, ids[:4], "zendesk")
    assert opened is None
    helpdesk.script[("PUT", "/api/v2/tickets/5505")] = [503]
    opened = _observe(tracker, clock, "5505", 4, "zendesk")
    parent = _parent(tracker, opened.id)
    if parent == "5505":
        pytest.skip("the parent is the ticket scripted to fail")  # not the case with this seed

    assert linker.link_due()
    links = {link.ticket_id: link for link in IncidentLinkStore(database).links(opened.id)}
    failed = links["5505"]
    assert failed.status is WritebackStatus.PENDING
    assert failed.steps_done == ["problem"]
    assert "HTTP 503" in (failed.error or "")
    assert all(links[m].status is WritebackStatus.DONE for m in links if m != "5505")

    assert linker.link_due()  # the retry, due at once here
    assert len(helpdesk.calls("PUT", "/api/v2/tickets/5505")) == 2  # 503, then done
    assert len(helpdesk.calls("PUT", f"/api/v2/tickets/{parent}")) == 1  # problem: once
    retried = {link.ticket_id: link for link in IncidentLinkStore(database).links(opened.id)}
    assert retried["5505"].status is WritebackStatus.DONE
    assert retried["5505"].attempts == 2
    assert not linker.link_due()


def test_links_are_off_by_default(
    database: Database, clock: Clock, helpdesk: FakeHelpdesk, settings: Settings
) -> None:
    configured = settings.model_copy(
        update={
            "webhook_writeback": {
                "zammad": WritebackTarget(url=helpdesk.url, token=SecretStr(ZAMMAD_TOKEN))
            }
        }
    )
    assert Settings.model_fields["incident_writeback"].default is False
    assert configured.incident_link_sources() == frozenset()
    on = configured.model_copy(update={"incident_writeback": True})
    assert on.incident_link_sources() == frozenset({"zammad"})  # only where a target is set

    tracker = _tracker(database, clock, tuple(configured.incident_link_sources()))
    opened = _surge(tracker, clock, [str(1101 + i) for i in range(5)], "zammad")
    assert opened is not None
    assert opened.opened
    assert IncidentLinkStore(database).links(opened.id) == []
    assert not _linker(database, helpdesk, "zammad").link_due()
    assert helpdesk.requests == []

    jobs, deliveries = JobStore(database), DeliveryStore(database)
    tracker_off = IncidentTracker.from_settings(database, configured)
    runner = WebhookRunner.from_settings(
        jobs, deliveries, lambda: None, configured, incidents=tracker_off
    )
    assert runner.links is None
    tracker_on = IncidentTracker.from_settings(database, on)
    runner = WebhookRunner.from_settings(jobs, deliveries, lambda: None, on, incidents=tracker_on)
    assert runner.links is not None
    assert set(runner.links.clients) == {"zammad"}
    runner.stop()


def test_only_members_from_the_parents_helpdesk_are_linked_and_never_twice(
    database_url: str, clock: Clock, helpdesk: FakeHelpdesk
) -> None:
    with Database(database_url) as database:
        database.upgrade()
        tracker = _tracker(database, clock, ("zammad", "zendesk"))
        opened = _surge(tracker, clock, [str(1101 + i) for i in range(5)], "zammad")
        parent = _parent(tracker, opened.id)
        # Joining: a Zendesk ticket, an API ticket (no helpdesk), a retried Zammad ticket.
        assert _observe(tracker, clock, "7001", 5, "zendesk").id == opened.id
        assert _observe(tracker, clock, "API-1", 6, None).id == opened.id
        assert _observe(tracker, clock, "1101", 7, "zammad").id == opened.id  # seen before
        links = IncidentLinkStore(database).links(opened.id)
        assert sorted(link.ticket_id for link in links) == sorted(
            str(1101 + i) for i in range(5) if str(1101 + i) != parent
        )
        assert {link.source for link in links} == {"zammad"}
        helpdesk.replies[("GET", f"/api/v1/tickets/{parent}")] = {"id": 1, "number": "31001"}
        linker = _linker(database, helpdesk, "zammad")
        assert linker.link_due()
        assert not linker.link_due()
        targets = [
            p.body["link_object_target_value"] for p in helpdesk.calls("POST", "/api/v1/links/add")
        ]
        assert sorted(targets) == sorted(int(link.ticket_id) for link in links)


def test_a_webhook_ticket_is_observed_with_its_helpdesk() -> None:
    seen: list[ObservedTicket] = []

    class Tracker:
        def observe(self, ticket: ObservedTicket) -> None:
            seen.append(ticket)

    runner = WebhookRunner.__new__(WebhookRunner)
    runner.incidents = Tracker()  # type: ignore[assignment]
    classification = Classification("1101", "v1", {})
    vector = np.ones(DIM, dtype=np.float32)
    delivered = Ticket.from_dict(
        {"id": "1101", "subject": "VPN down", "metadata": {"source": "zammad"}}
    )
    runner._observe_incident(delivered, classification, vector)
    runner._observe_incident(
        Ticket.from_dict({"id": "API-1", "subject": "VPN down"}), classification, vector
    )
    assert [t.source for t in seen] == ["zammad", None]
    assert [t.ticket_id for t in seen] == ["zammad:1101", "API-1"]


def test_a_zendesk_ticket_numbered_like_a_zammad_one_is_another_ticket(
    database: Database, clock: Clock
) -> None:
    """Both helpdesks number their tickets from 1 and their webhooks feed one tenant. Before,
    Zendesk's ticket 1 was taken for Zammad's ticket 1 seen again: it answered the Zammad
    incident, and a surge of Zendesk tickets numbered like Zammad's never opened its own."""
    tracker = _tracker(database, clock, ())
    runner = WebhookRunner.__new__(WebhookRunner)
    runner.incidents = tracker
    topics = {"zammad": _TOPIC, "zendesk": np.random.default_rng(2).normal(size=DIM)}
    for start, (source, topic) in zip((0, 20), topics.items(), strict=True):
        for i in range(5):
            clock.now = START + timedelta(minutes=start + 2 * i)
            noise = np.random.default_rng(i).normal(size=DIM) * 0.15 / np.sqrt(DIM)
            vector = (topic / np.linalg.norm(topic) + noise).astype(np.float32)
            delivered = Ticket.from_dict(
                {"id": str(i + 1), "subject": "trouble", "metadata": {"source": source}}
            )
            runner._observe_incident(delivered, Classification(str(i + 1), "v1", {}), vector)
    members = sorted(
        sorted(m.ticket_id for m in tracker.detail(record.id).members)
        for record in tracker.recent()
    )
    assert members == [[f"{source}:{i}" for i in range(1, 6)] for source in topics]


def test_a_surge_through_the_zammad_webhook_is_linked_to_its_parent(
    helpdesk: FakeHelpdesk, webhook_settings: Settings, service: TriageService
) -> None:
    """End to end: five signed Zammad deliveries of one problem are triaged by the webhook
    runner, open an incident, and its four other members are linked to the parent."""
    helpdesk.expected_auth = f"Token token={ZAMMAD_TOKEN}"
    target = WritebackTarget(
        url=helpdesk.url, token=SecretStr(ZAMMAD_TOKEN), note=False, tags=False
    )
    settings = webhook_settings.model_copy(
        update={"webhook_writeback": {"zammad": target}, "incident_writeback": True}
    )
    ids = [2301 + i for i in range(5)]
    for ticket_id in ids:
        reply = {**_fixture("zammad_ticket_show.json"), "id": ticket_id, "number": f"9{ticket_id}"}
        helpdesk.replies[("GET", f"/api/v1/tickets/{ticket_id}")] = reply
    with TestClient(create_app(settings, service=service)) as client:
        for ticket_id in ids:
            data = fixture_json("zammad_ticket_created.json")
            data["ticket"]["id"], data["ticket"]["number"] = ticket_id, f"9{ticket_id}"
            body = json.dumps(data).encode()
            answer = client.post("/v1/webhooks/zammad", content=body, headers=sign("zammad", body))
            assert answer.status_code == 202
        deadline = time.monotonic() + 60
        while len(helpdesk.calls("POST", "/api/v1/links/add")) < 4:
            assert time.monotonic() < deadline, helpdesk.requests
            time.sleep(0.05)
        time.sleep(0.3)  # nothing more comes
    [shown] = [r for r in helpdesk.requests if r.method == "GET"]
    parent = int(shown.path.rsplit("/", 1)[1])
    posted = helpdesk.calls("POST", "/api/v1/links/add")
    assert sorted(p.body["link_object_target_value"] for p in posted) == [
        i for i in ids if i != parent
    ]
    assert {p.body["link_object_source_number"] for p in posted} == {f"9{parent}"}
    assert {p.body["link_type"] for p in posted} == {"parent"}
