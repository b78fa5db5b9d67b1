"""Two events of one ticket added at once on PostgreSQL: the facts hold both afterwards; two
tickets of one day at once: the day's rollups hold both."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import triage.store.events as events_module
import triage.store.report_rollups as rollups_module
from tests.conftest import fresh_postgres_database
from triage.core.ticket_events import EventKind, TicketEvent
from triage.service.reports import ReportQuery, ReportService
from triage.store.database import Database
from triage.store.events import EventStore
from triage.store.schema import ticket_facts


@pytest.fixture
def database(postgres_server: str) -> Iterator[Database]:
    with fresh_postgres_database(postgres_server) as url, Database(url) as database:
        database.upgrade()
        yield database


def _hold_together(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """``module.name`` waits until two threads have reached it (or 1 s has passed: a writer
    held back by the other's lock never gets there)."""
    barrier = threading.Barrier(2)
    step = getattr(module, name)

    def together(*args: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.0)
        return step(*args)

    monkeypatch.setattr(module, name, together)


def _add_at_once(store: EventStore, events: list[TicketEvent]) -> None:
    """Each event added by its own thread, all at once; any thread's error fails the test."""
    failures: list[BaseException] = []

    def add(event: TicketEvent) -> None:
        try:
            store.add([event])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert failures == []


def test_concurrent_events_of_one_ticket_are_all_folded(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each add reads the ticket's events, then folds them; the folds wait for each other.
    # Unlocked, each read sees only its own event, and the facts written last lack the other.
    _hold_together(monkeypatch, events_module, "fold")
    store = EventStore(database)
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    created = TicketEvent("c", EventKind.CREATED, "T1", at, tier="L1")
    resolved = TicketEvent("r", EventKind.RESOLVED, "T1", at.replace(hour=11))
    _add_at_once(store, [created, resolved])
    query = sa.select(ticket_facts).where(ticket_facts.c.ticket_id == "T1")
    with database.begin() as connection:
        row = connection.execute(query).mappings().one()
    # Both events folded: created 09:00 at L1, resolved 11:00.
    assert (row["status"], row["tier"], row["resolve_seconds"]) == ("resolved", "L1", 7200.0)


def test_concurrent_tickets_of_one_day_are_both_in_its_rollups(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two tickets of one day added at once: both add to the same rollup rows (the day's,
    # with the same tier), each held until both have folded their facts. The second add
    # waits for the first to commit, then adds its counts to the first's.
    _hold_together(monkeypatch, rollups_module, "apply")
    store = EventStore(database)
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    events = [TicketEvent(f"c{n}", EventKind.CREATED, f"T{n}", at, tier="L1") for n in (1, 2)]
    _add_at_once(store, events)
    until = at.replace(hour=0) + timedelta(days=1)
    report = ReportService(database).run(
        "escalation", ReportQuery(since=at.replace(hour=0), until=until)
    )
    assert report.rows[0]["tickets"] == 2
