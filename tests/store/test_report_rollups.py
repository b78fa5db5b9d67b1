"""The per-day rollups give the reports the figures the facts give, whatever the events'
order: a randomized stream with duplicates, late and out-of-order events, reopenings and
tier changes, added in batches, on SQLite and PostgreSQL. After every batch each report read
through the rollups equals the same report read from the facts alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from triage.core.ticket_events import EventKind, TicketEvent
from triage.service.reports import ReportQuery, ReportService
from triage.store.database import Database
from triage.store.events import EventStore
from triage.store.report_rollups import durations_of, rebuild
from triage.store.schema import report_day_rollups

K = EventKind
START = datetime(2026, 11, 2, tzinfo=UTC)
# Whole days (the rollups alone), and hours cut anywhere (the facts at either end).
WINDOWS = [
    (START, START + timedelta(days=12)),
    (START + timedelta(days=3), START + timedelta(days=4)),
    (START + timedelta(hours=7, minutes=13), START + timedelta(days=9, hours=17)),
    (START + timedelta(hours=30), START + timedelta(hours=40)),  # within a day and the next
]
QUERIES: list[tuple[str, str | None]] = [
    ("volume", None),
    ("volume", "agent"),
    ("volume", "tier,category"),
    ("resolution", None),
    ("resolution", "tier,category"),
    ("resolution", "category,tier,tenant"),
    ("resolution", "channel"),
    ("escalation", "category"),
    ("escalation", "tenant,priority"),
    ("escalation", None),
    ("staff", "agent"),
    ("staff", "group,agent"),
    ("staff", "agent,tier,category"),  # three dimensions: the facts, both ways
]


def _history(rng: random.Random, tickets: int) -> list[TicketEvent]:
    events: list[TicketEvent] = []
    for n in range(tickets):
        t, tenant = f"T{n}", rng.choice(["", "acme"])
        at = START + timedelta(minutes=rng.randrange(10 * 24 * 60))
        tier = rng.choice(["L1", "L1", "L2", None])

        def add(
            kind: EventKind,
            when: datetime,
            suffix: str,
            t: str = t,
            tenant: str = tenant,
            **kw: Any,
        ) -> None:
            events.append(TicketEvent(f"{t}{suffix}", kind, t, when, tenant=tenant, **kw))

        if rng.random() < 0.9:  # some tickets are never created as far as triage knows
            add(
                K.CREATED,
                at,
                "c",
                tier=tier,
                category=rng.choice(["network", "email", "access"]),
                channel=rng.choice(["web", "email"]),
                priority=rng.choice(["low", "high"]),
            )
        if rng.random() < 0.7:
            add(
                K.TRIAGED,
                at + timedelta(seconds=30),
                "t",
                predictions={"tier": {"label": rng.choice(["L1", "L2"]), "decision": "auto"}},
            )
        if rng.random() < 0.8:
            add(
                K.ASSIGNED,
                at + timedelta(minutes=rng.randrange(1, 600)),
                "a",
                agent=rng.choice(["ani", "budi", "citra"]),
                group=rng.choice(["desk", "infra"]),
            )
        if rng.random() < 0.3:
            add(
                K.ESCALATED,
                at + timedelta(hours=rng.uniform(0, 30)),
                "e",
                tier=rng.choice(["L2", "L3"]),
            )
        if rng.random() < 0.75:
            resolved = at + timedelta(hours=rng.uniform(0, 60))
            add(K.RESOLVED, resolved, "r")
            if rng.random() < 0.3:  # reopened, sometimes resolved again days later
                add(K.REOPENED, resolved + timedelta(hours=2), "o")
                if rng.random() < 0.6:
                    add(K.RESOLVED, resolved + timedelta(hours=rng.uniform(3, 80)), "r2")
    return events


def _batches(rng: random.Random, events: list[TicketEvent]) -> list[list[TicketEvent]]:
    """The events shuffled into batches, with repeats of events already sent."""
    shuffled = rng.sample(events, len(events))
    batches, sent = [], []
    while shuffled:
        batch = [shuffled.pop() for _ in range(min(len(shuffled), rng.randrange(1, 25)))]
        batch += rng.sample(sent, min(len(sent), rng.randrange(0, 4)))  # duplicates
        sent += batch
        batches.append(batch)
    return batches


def _all_reports(service: ReportService) -> list[Any]:
    return [
        service.run(
            name, ReportQuery(since=since, until=until, group_by=group_by, tenants=tenants)
        ).rows
        for name, group_by in QUERIES
        for since, until in WINDOWS
        for tenants in (None, ("acme",))
    ]


def _rollup_rows(database: Database) -> list[Any]:
    """The rollup rows as the reports read them: durations taken away cancelled, rows whose
    tickets all left them left out."""
    with database.begin() as connection:
        query = sa.select(report_day_rollups).order_by(*report_day_rollups.primary_key)
        return [
            (*row[:-1], sorted(durations_of(row.durations).tolist()))
            for row in connection.execute(query)
            if row.c0
        ]


@pytest.mark.parametrize("seed", [1, 2])
def test_reports_from_rollups_equal_reports_from_facts(database_url: str, seed: int) -> None:
    rng = random.Random(seed)
    with Database(database_url) as database:
        database.upgrade()
        store = EventStore(database)
        rolled, facts = ReportService(database), ReportService(database, use_rollups=False)
        assert (
            rolled.queries.rolled(
                rolled.window("resolution", ReportQuery(START, START + timedelta(days=2))),
                "resolved",
            )
            is not None
        ), "the reports tested here must be read from the rollups"
        batches = _batches(rng, _history(rng, 40))
        for i, batch in enumerate(batches):
            store.add(batch)
            if i % 4 == 0 or i == len(batches) - 1:
                assert _all_reports(rolled) == _all_reports(facts), f"after batch {i}"
        # Kept in step, the rollups hold what a rebuild from the facts writes.
        kept = _rollup_rows(database)
        with database.begin() as connection:
            rebuild(connection)
        assert kept
        assert _rollup_rows(database) == kept


def test_the_migration_fills_the_rollups_of_events_stored_before_it(database_url: str) -> None:
    with Database(database_url) as database:
        database.upgrade()
        EventStore(database).add(_history(random.Random(3), 30))
        kept = _rollup_rows(database)
        command.downgrade(database.alembic_config(), "0019")
        command.upgrade(database.alembic_config(), "head")
        assert kept
        assert _rollup_rows(database) == kept
        rolled, facts = ReportService(database), ReportService(database, use_rollups=False)
        assert _all_reports(rolled) == _all_reports(facts)
