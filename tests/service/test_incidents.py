"""Incidents kept in the database: opening, growing, closing, staff decisions, replicas racing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.clock import Clock
from triage.core.errors import IncidentConflictError, IncidentNotFoundError
from triage.core.incident_detector import IncidentConfig
from triage.service.incident_actions import Actor, IncidentActions
from triage.service.incidents import IncidentTracker, ObservedTicket
from triage.store.database import Database
from triage.store.incidents import IncidentStore

DIM = 32
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
STAFF = Actor("staff")


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SQLite; both backends for the tests that ask for ``database_url`` (a fresh PostgreSQL
    database costs about a second)."""
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    if "database_url" in request.fixturenames:
        url = request.getfixturevalue("database_url")
    with Database(url) as db:
        db.upgrade()
        yield db


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def tracker(database: Database, clock: Clock) -> IncidentTracker:
    return IncidentTracker(IncidentStore(database), IncidentConfig(), clock=clock)


def _topic(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DIM)
    return vector / np.linalg.norm(vector)


def _ticket(
    ticket_id: str, topic: np.ndarray, seed: int, minutes: float, text: str = ""
) -> ObservedTicket:
    noise = np.random.default_rng(seed).normal(size=DIM) * 0.15 / np.sqrt(DIM)
    return ObservedTicket(
        ticket_id,
        (topic + noise).astype(np.float32),
        text or f"VPN gateway down {ticket_id}",
        at=START + timedelta(minutes=minutes),
        category="network",
        tier="L2",
        language="en",
    )


def _surge(
    tracker: IncidentTracker, clock: Clock, prefix: str, topic: np.ndarray, n: int, start: float = 0
) -> list:
    refs = []
    for i in range(n):
        clock.now = START + timedelta(minutes=start + i * 2)
        refs.append(
            tracker.observe(
                _ticket(f"{prefix}{i}", topic, hash((prefix, i)) % 10_000, start + i * 2)
            )
        )
    return refs


def test_a_surge_opens_one_incident_that_grows_and_then_closes(
    database_url: str, tracker: IncidentTracker, clock: Clock
) -> None:
    refs = _surge(tracker, clock, "vpn", _topic(1), 7)
    assert refs[:4] == [None] * 4
    opened = refs[4]
    assert opened is not None
    assert opened.opened
    assert opened.size == 5
    assert opened.status == "open"
    assert refs[5] is not None
    assert refs[5].id == opened.id
    assert refs[5].size == 6
    assert refs[6] is not None
    assert refs[6].size == 7
    assert not refs[6].opened
    detail = tracker.detail(opened.id)
    assert [m.ticket_id for m in detail.members] == [f"vpn{i}" for i in range(7)]
    assert detail.incident.terms["en"][:3] == ["down", "gateway", "vpn"]
    assert detail.incident.category == "network"
    assert detail.incident.parent_ticket_id
    # Seen again (a retried request): nothing changes, the answer names the incident.
    again = tracker.observe(_ticket("vpn3", _topic(1), 3, 6))
    assert again is not None
    assert again.id == opened.id
    assert again.size == 7
    clock.now += timedelta(minutes=31)
    assert tracker.detail(opened.id).incident.status == "closed"
    assert tracker.counts() == (0, 1)
    tracker.observe(_ticket("unrelated", _topic(99), 5, 45))  # closes it in the database too
    assert tracker.store.get(opened.id).status == "closed"  # type: ignore[union-attr]


def test_a_ticket_from_the_future_counts_at_now_plus_the_allowed_skew(
    tracker: IncidentTracker, clock: Clock
) -> None:
    ticket = _ticket("future", _topic(1), 1, 0)
    future = ObservedTicket(**{**ticket.__dict__, "at": START + timedelta(days=2)})
    tracker.observe(future)
    refs = _surge(tracker, clock, "vpn", _topic(1), 4)
    detail = tracker.detail(refs[-1].id)  # type: ignore[union-attr]
    by_id = {m.ticket_id: m.at for m in detail.members}
    assert by_id["future"] == START + timedelta(minutes=5)  # now (09:00) + 5 minutes


def test_dismissing_twice_and_merging_into_itself_are_409s(
    tracker: IncidentTracker, clock: Clock
) -> None:
    incident = _surge(tracker, clock, "vpn", _topic(1), 5)[-1]
    assert incident is not None
    actions = IncidentActions(tracker)
    with pytest.raises(IncidentConflictError, match="cannot be merged into itself"):
        actions.merge(incident.id, incident.id, STAFF)
    dismissed = actions.dismiss(incident.id, STAFF)
    assert dismissed.incident.status == "dismissed"
    with pytest.raises(IncidentConflictError, match="already dismissed"):
        actions.dismiss(incident.id, STAFF)
    # A dismissed incident absorbs its own kind quietly instead of reopening.
    later = _surge(tracker, clock, "more", _topic(1), 3, start=10)
    assert all(ref is not None and ref.id == incident.id for ref in later)
    assert [d.action for d in tracker.detail(incident.id).decisions] == ["dismiss"]
    with pytest.raises(IncidentNotFoundError):
        actions.confirm(incident.id + 100, STAFF)


def test_merge_moves_every_member_and_split_moves_some_out(
    database_url: str, tracker: IncidentTracker, clock: Clock
) -> None:
    vpn = _surge(tracker, clock, "vpn", _topic(1), 5)[-1]
    mail = _surge(tracker, clock, "mail", _topic(2), 5, start=1)[-1]
    assert vpn is not None
    assert mail is not None
    assert vpn.id != mail.id
    actions = IncidentActions(tracker)
    confirmed = actions.confirm(vpn.id, STAFF)
    assert confirmed.incident.status == "confirmed"
    assert confirmed.incident.confirmed
    with pytest.raises(IncidentConflictError, match="already confirmed"):
        actions.confirm(vpn.id, STAFF)
    merged = actions.merge(mail.id, vpn.id, STAFF)
    assert merged.incident.id == vpn.id
    assert merged.incident.size == 10
    source = tracker.detail(mail.id)
    assert source.incident.status == "merged"
    assert source.incident.merged_into == vpn.id
    with pytest.raises(IncidentConflictError, match=f"merged into incident {vpn.id}"):
        actions.dismiss(mail.id, STAFF)
    with pytest.raises(IncidentConflictError, match="not members"):
        actions.split(vpn.id, ["mail0", "nobody"], STAFF)
    split = actions.split(vpn.id, [f"mail{i}" for i in range(5)], STAFF)
    assert split.incident.id not in (vpn.id, mail.id)
    assert sorted(m.ticket_id for m in split.members) == [f"mail{i}" for i in range(5)]
    assert tracker.detail(vpn.id).incident.size == 5
    with pytest.raises(IncidentConflictError, match="empty"):
        actions.split(split.incident.id, [f"mail{i}" for i in range(5)], STAFF)
    actions_kept = [d.action for d in tracker.detail(vpn.id).decisions]
    assert actions_kept == ["confirm", "split"]
    assert [d.action for d in tracker.detail(mail.id).decisions] == ["merge"]


def test_a_tenant_sees_only_its_own_incidents(tracker: IncidentTracker, clock: Clock) -> None:
    incident = _surge(tracker, clock, "vpn", _topic(1), 5)[-1]
    assert incident is not None
    with pytest.raises(IncidentNotFoundError):
        tracker.detail(incident.id, tenants=["acme"])
    with pytest.raises(IncidentNotFoundError):
        IncidentActions(tracker).dismiss(incident.id, Actor("acme-key", ["acme"]))
    assert tracker.recent(tenant="acme") == []


def test_replicas_racing_never_open_the_same_incident_twice(database_url: str) -> None:
    """Two processes' trackers (two engines on one database) get a surge's tickets at once;
    each ticket goes to one of them. Exactly one incident holds all of them."""
    topic = _topic(1)
    replicas = []
    for _ in range(2):
        db = Database(database_url)
        db.upgrade()
        replicas.append((db, IncidentTracker(IncidentStore(db), IncidentConfig())))
    now = datetime.now(UTC)
    tickets = [
        ObservedTicket(f"t{i}", _ticket(f"t{i}", topic, i, 0).vector, "vpn down", at=now)
        for i in range(16)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        tracker = replicas[index][1]
        barrier.wait()
        try:
            for ticket in tickets[index::2]:
                tracker.observe(ticket)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert not errors
        found = replicas[0][1].recent()
        assert len(found) == 1
        assert found[0].size == 16
        assert {m.ticket_id for m in replicas[1][1].detail(found[0].id).members} == {
            t.ticket_id for t in tickets
        }
    finally:
        for db, _ in replicas:
            db.dispose()


def test_a_forgotten_ticket_leaves_every_replicas_window(database_url: str) -> None:
    """Replica B forgets a ticket replica A holds in its window: A's next incident neither
    fails on the missing member nor names it or its words."""
    replicas = []
    for _ in range(2):
        db = Database(database_url)
        db.upgrade()
        replicas.append(IncidentTracker(IncidentStore(db), IncidentConfig()))
    now = datetime.now(UTC)
    topic = _topic(1)
    tickets = [
        ObservedTicket(
            f"t{i}",
            _ticket(f"t{i}", topic, i, 0).vector,
            "vpn gateway down" + (" confidentialname confidentialname" if i == 1 else ""),
            at=now,
        )
        for i in range(6)
    ]
    first, second = replicas
    try:
        assert [first.observe(t) for t in tickets[:3]] == [None] * 3
        assert second.store.forget("t1") == 1
        refs = [first.observe(t) for t in tickets[3:]]  # before: RuntimeError at the 5th
        assert refs[:2] == [None, None]  # t1 no longer counts: t5 is the 5th ticket
        opened = refs[2]
        assert opened is not None
        assert opened.opened
        detail = second.detail(opened.id)
        assert sorted(m.ticket_id for m in detail.members) == ["t0", "t2", "t3", "t4", "t5"]
        assert "confidentialname" not in detail.incident.terms["en"]
        # Forgetting it again, or a ticket never seen, changes nothing.
        assert second.store.forget("t1") == 0
        assert first.observe(ObservedTicket("t6", tickets[0].vector, "vpn", at=now)) is not None
    finally:
        for tracker in replicas:
            tracker.store.database.dispose()


def test_the_migration_creates_the_tables_the_code_uses(database: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from triage.store.schema import metadata

    with database.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in diffs if "incident" in repr(d)] == []


def test_standard_webhooks_signature_matches_the_published_test_vector() -> None:
    from triage.webhooks.signatures import standard_webhook_signature

    signature = standard_webhook_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_open_growth_and_close_are_sent_signed_and_retried_with_backoff(
    database: Database, clock: Clock
) -> None:
    import base64
    import hashlib
    import hmac
    import json

    import httpx

    from triage.service.incident_webhooks import IncidentWebhookSender
    from triage.store.incident_events import IncidentEventStore

    secret = "whsec_" + base64.b64encode(b"incident-secret").decode()
    received: list[httpx.Request] = []
    down = {"left": 1}  # the receiver fails the first request

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        if down["left"]:
            down["left"] -= 1
            return httpx.Response(503)
        return httpx.Response(204)

    tracker = IncidentTracker(IncidentStore(database), IncidentConfig(), clock=clock, events=True)
    _surge(tracker, clock, "vpn", _topic(1), 6)
    clock.now += timedelta(minutes=40)
    tracker.observe(_ticket("other", _topic(50), 1, 50))  # closes the quiet incident
    events = IncidentEventStore(database)
    sender = IncidentWebhookSender(
        events,
        "https://ops.example/hook",
        secret,
        backoff=timedelta(0),
        transport=httpx.MockTransport(receiver),
        clock=clock,
    )
    try:
        while sender.send_due():
            pass
    finally:
        sender.stop()
    stored = events.all()
    assert [e["event"] for e in stored] == ["incident.opened", "incident.grew", "incident.closed"]
    assert all(e["status"] == "sent" for e in stored)
    assert stored[0]["attempts"] == 2  # the 503, then the retry
    tries = [r for r in received if r.headers["webhook-id"] == f"incident_event_{stored[0]['id']}"]
    assert len(tries) == 2  # one id across the retry (receivers deduplicate on it)
    assert len(received) == 4
    for request in received:
        signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
        digest = hmac.new(b"incident-secret", signed + request.content, hashlib.sha256).digest()
        assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    closed = [r for r in received if r.headers["webhook-id"] == f"incident_event_{stored[2]['id']}"]
    body = json.loads(closed[0].content)
    assert body["type"] == "incident.closed"
    assert body["data"]["status"] == "closed"
    assert body["data"]["size"] == 6


def test_a_large_incident_keeps_its_exact_size_and_first_seen(
    tracker: IncidentTracker, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import triage.service.incidents as incidents_module

    monkeypatch.setattr(incidents_module, "SUMMARY_MEMBERS", 3)  # summaries from the latest 3
    refs = _surge(tracker, clock, "vpn", _topic(1), 8)
    assert refs[-1] is not None
    record = tracker.detail(refs[-1].id).incident
    assert record.size == 8
    assert record.first_seen == START


def test_a_dismissal_makes_its_category_need_one_more_ticket_and_a_confirmation_undoes_it(
    tracker: IncidentTracker, clock: Clock
) -> None:
    actions = IncidentActions(tracker)
    first = _surge(tracker, clock, "vpn", _topic(1), 5)[-1]
    assert first is not None
    actions.dismiss(first.id, STAFF)
    # Another network surge, after the first closed: five no longer open an incident, six do.
    refs = _surge(tracker, clock, "mail", _topic(2), 6, start=60)
    assert refs[:5] == [None] * 5
    assert refs[5] is not None
    assert refs[5].opened
    assert refs[5].size == 6
    actions.confirm(refs[5].id, STAFF)
    again = _surge(tracker, clock, "disk", _topic(3), 5, start=120)
    assert again[-1] is not None
    assert again[-1].opened
