"""How fast each report answers over a million ticket events, on SQLite and PostgreSQL.

A year of synthetic helpdesk history (about five events a ticket: created, triaged, assigned,
sometimes escalated, a staff decision, resolved, sometimes reopened) goes in through
``EventStore.add`` in batches, as ``triage events import`` sends it, so the per-ticket facts
the reports read are kept in step as in service. Then every report is asked for over the
whole year and over its last 30 days, ``--repeat`` times each: wall-clock p50 and p90 and this
process's CPU time (PostgreSQL's own work is in the wall time only). The machine is shared
with other work: the load average is recorded beside the figures.

    .venv/bin/python -m benchmarks.reports_speed   # -> benchmarks/results/reports_speed.json
    .venv/bin/python -m benchmarks.reports_speed --events 100000 --backend sqlite
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS
from benchmarks.harness.machine import brief, loadavg
from benchmarks.harness.results import command, now, read_json, write_json
from benchmarks.harness.stats import percentile
from triage.core.ticket_events import EventKind, TicketEvent
from triage.service.reports import REPORTS, ReportQuery, ReportService
from triage.store.database import Database
from triage.store.events import EventStore

OUTPUT = RESULTS / "reports_speed.json"
PG_ADMIN = os.environ.get(
    "TRIAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
END = datetime(2026, 12, 1, tzinfo=UTC)
START = END - timedelta(days=365)
CATEGORIES = ["accounts", "network", "hardware", "email", "printing", "software", "access"]
AGENTS = [f"agent{i:02d}" for i in range(40)]
GROUPS = ["desk", "infra", "apps", "security"]
CHANNELS = ["web", "email", "phone", "chat", "api"]
SOURCES = ["api", "ui", "zammad", "zendesk", "glpi", "freshdesk"]
DECISIONS = ["auto", "auto", "suggest", "review"]
BATCH = 20_000
QUERIES: dict[str, dict[str, Any]] = {
    "volume": {"bucket": "day"},
    "resolution": {"group_by": "tier,category"},
    "escalation": {"group_by": "category"},
    "backlog": {"group_by": "group"},
    "staff": {"group_by": "agent"},
    "automation": {"group_by": "head,source"},
    "deflection": {"group_by": "channel"},
}


def ticket_events(rng: random.Random, n: int) -> list[TicketEvent]:
    """One synthetic ticket's events (ids unique by ticket number ``n``)."""
    t = f"T{n:07d}"
    created = START + timedelta(seconds=rng.uniform(0, 365 * 86400))
    tier = "L1" if rng.random() < 0.7 else "L2"
    category = rng.choice(CATEGORIES)
    source = rng.choice(SOURCES)
    at = created
    events = [
        TicketEvent(
            f"{t}c",
            EventKind.CREATED,
            t,
            at,
            tier=tier,
            category=category,
            channel=rng.choice(CHANNELS),
            priority=rng.choice(["low", "normal", "high"]),
            language=rng.choice(["en", "id"]),
            source=source,
        ),
        TicketEvent(
            f"{t}t",
            EventKind.TRIAGED,
            t,
            at + timedelta(seconds=5),
            source=source,
            decision=rng.choice(DECISIONS),
            match_score=round(rng.random(), 3),
            predictions={
                "category": {"label": category, "decision": "auto"},
                "tier": {"label": rng.choice(["L1", "L2"]), "decision": "suggest"},
            },
        ),
        TicketEvent(
            f"{t}a",
            EventKind.ASSIGNED,
            t,
            at + timedelta(minutes=rng.uniform(1, 120)),
            agent=rng.choice(AGENTS),
            group=rng.choice(GROUPS),
        ),
    ]
    at = events[-1].at
    if rng.random() < 0.2:
        at += timedelta(hours=rng.expovariate(1 / 6))
        events.append(
            TicketEvent(f"{t}e", EventKind.ESCALATED, t, at, tier="L3" if tier == "L2" else "L2")
        )
    if rng.random() < 0.3:
        events.append(
            TicketEvent(
                f"{t}d",
                EventKind.DECIDED,
                t,
                at + timedelta(minutes=5),
                head="category",
                predicted=category,
                final=category if rng.random() < 0.8 else rng.choice(CATEGORIES),
            )
        )
    resolved = at + timedelta(hours=rng.expovariate(1 / 30))
    if resolved < END:
        events.append(TicketEvent(f"{t}r", EventKind.RESOLVED, t, resolved))
        if rng.random() < 0.05:
            events.append(
                TicketEvent(f"{t}o", EventKind.REOPENED, t, resolved + timedelta(hours=2))
            )
    return events


def history(total: int, seed: int = 0) -> Iterator[list[TicketEvent]]:
    """Batches of about BATCH events until ``total`` (whole tickets; shuffled in a batch, so
    a ticket's events arrive out of order)."""
    rng = random.Random(seed)
    made = n = 0
    batch: list[TicketEvent] = []
    while made < total:
        events = ticket_events(rng, n)
        n += 1
        batch += events
        made += len(events)
        if len(batch) >= BATCH or made >= total:
            rng.shuffle(batch)
            yield batch
            batch = []


def fill(database: Database, total: int) -> dict[str, Any]:
    store = EventStore(database)
    wall, cpu = time.perf_counter(), time.process_time()
    stored = tickets = 0
    batches: list[float] = []  # each batch's seconds: a slowdown as the tables grow shows here
    for batch in history(total):
        started = time.perf_counter()
        done = store.add(batch)
        batches.append(round(time.perf_counter() - started, 1))
        stored, tickets = stored + done.stored, tickets + done.tickets
    seconds = time.perf_counter() - wall
    return {
        "events": stored,
        "tickets": tickets,
        "load_seconds": round(seconds, 1),
        "load_cpu_seconds": round(time.process_time() - cpu, 1),
        "events_per_second": round(stored / seconds),
        "batch_seconds": batches,
    }


def bulk_fill(database: Database, total: int) -> dict[str, Any]:
    """The same history written straight into the tables (events, and the facts folded from
    each ticket's events, as ``EventStore.add`` folds them), in large multi-row inserts: the
    quick way to a million events on PostgreSQL, where the batched ``add`` ran at about
    300–700 events a second on this loaded machine."""
    import sqlalchemy as sa

    from triage.core.ticket_events import fold
    from triage.store.events import _event_row, _facts_row, _head_rows
    from triage.store.report_rollups import rebuild
    from triage.store.schema import ticket_events as events_table
    from triage.store.schema import ticket_facts, ticket_head_facts, utcnow

    rng = random.Random(0)
    wall, cpu = time.perf_counter(), time.process_time()
    made = n = 0
    now = utcnow()
    while made < total:
        events, facts, heads = [], [], []
        while made < total and len(events) < BATCH:
            ticket = ticket_events(rng, n)
            folded = fold("", f"T{n:07d}", ticket)
            events += [_event_row(event, now) for event in ticket]
            facts.append(_facts_row(folded))
            heads += _head_rows(folded)
            made, n = made + len(ticket), n + 1
        with database.begin() as connection:
            connection.execute(sa.insert(events_table), events)
            connection.execute(sa.insert(ticket_facts), facts)
            connection.execute(sa.insert(ticket_head_facts), heads)
    loaded = time.perf_counter() - wall, time.process_time() - cpu
    # The per-day rollups, as the migration that made them fills them from the facts.
    with database.begin() as connection:
        rebuild(connection)
    return {
        "events": made,
        "tickets": n,
        "bulk_load_seconds": round(loaded[0], 1),
        "bulk_load_cpu_seconds": round(loaded[1], 1),
        "rollup_rebuild_seconds": round(time.perf_counter() - wall - loaded[0], 1),
        "rollup_rebuild_cpu_seconds": round(time.process_time() - cpu - loaded[1], 1),
    }


def time_reports(database: Database, repeat: int) -> dict[str, Any]:
    service = ReportService(database)
    # Whole days (read from the rollups alone), and a year cut at 13:37, whose first and
    # last part-days the reports read from the facts.
    cut = timedelta(hours=13, minutes=37)
    windows = {
        "year": (START, END),
        "last_30_days": (END - timedelta(days=30), END),
        "year_from_13:37": (START + cut, END - timedelta(days=1) + cut),
    }
    found: dict[str, Any] = {}
    for name in REPORTS:
        for label, (since, until) in windows.items():
            query = ReportQuery(since=since, until=until, **QUERIES[name])
            service.run(name, query)  # warm: the statement cache, the pages
            walls, cpus = [], []
            for _ in range(repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                rows = len(service.run(name, query).rows)
                walls.append(1000 * (time.perf_counter() - wall))
                cpus.append(1000 * (time.process_time() - cpu))
            walls.sort()
            cpus.sort()
            found[f"{name} ({label})"] = {
                "query": QUERIES[name],
                "rows": rows,
                "p50_ms": round(percentile(walls, 0.5), 1),
                "p90_ms": round(percentile(walls, 0.9), 1),
                "cpu_p50_ms": round(percentile(cpus, 0.5), 1),
            }
    return found


def time_single_adds(database: Database, tickets: int) -> dict[str, Any]:
    """``EventStore.add`` of one event at a time (a webhook's or ``POST /v1/events``'s way),
    created, assigned and resolved for ``tickets`` new tickets (ids new on every run)."""
    store, rng, run = EventStore(database), random.Random(), uuid.uuid4().hex[:8]
    walls, cpus = [], []
    for n in range(tickets):
        t = f"S{run}-{n}"
        at = END - timedelta(minutes=rng.randrange(30 * 24 * 60))
        for event in (
            TicketEvent(f"{t}c", EventKind.CREATED, t, at, tier="L1", category="network"),
            TicketEvent(f"{t}a", EventKind.ASSIGNED, t, at + timedelta(minutes=5), agent=AGENTS[0]),
            TicketEvent(f"{t}r", EventKind.RESOLVED, t, at + timedelta(hours=3)),
        ):
            wall, cpu = time.perf_counter(), time.process_time()
            store.add([event])
            walls.append(1000 * (time.perf_counter() - wall))
            cpus.append(1000 * (time.process_time() - cpu))
    walls.sort()
    cpus.sort()
    return {
        "events": len(walls),
        "p50_ms": round(percentile(walls, 0.5), 1),
        "p90_ms": round(percentile(walls, 0.9), 1),
        "cpu_p50_ms": round(percentile(cpus, 0.5), 1),
    }


def _postgres() -> Iterator[str]:
    import sqlalchemy as sa

    name = "triage_bench_reports"
    engine = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def run_backend(
    backend: str,
    total: int,
    repeat: int,
    keep: Path | None = None,
    bulk: bool = False,
    single_adds: int = 0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        if backend == "sqlite":
            urls = iter([f"sqlite:///{keep or Path(folder) / 'reports.db'}"])
        else:
            urls = _postgres()
        url = next(urls)
        try:
            with Database(url) as database:
                database.upgrade()
                kept = EventStore(database).count()
                # A kept file is filled once: its load time is that of the run that filled it.
                loader = bulk_fill if bulk else fill
                filled = loader(database, total) if not kept else {"events": kept, "reused": True}
                print(f"{backend}: {filled}", flush=True)
                if database.is_postgres:
                    with database.begin() as connection:
                        connection.exec_driver_sql("ANALYZE")
                load_before = loadavg()
                reports = time_reports(database, repeat)
                found = {**filled, "load_before": load_before, "reports": reports}
                if single_adds:
                    found["single_event_adds"] = time_single_adds(database, single_adds)
                return {**found, "load_after": loadavg()}
        finally:
            for _ in urls:  # the PostgreSQL database is dropped
                pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, help="SQLite: fill this file once and reuse it on later runs."
    )
    parser.add_argument(
        "--bulk",
        action="store_true",
        help="Write the history straight into the tables rather than through EventStore.add.",
    )
    parser.add_argument(
        "--single-adds",
        type=int,
        default=0,
        metavar="TICKETS",
        help="After the reports, time EventStore.add of one event at a time for this many new "
        "tickets (three events each; they stay in a kept file).",
    )
    args = parser.parse_args()
    results = read_json(OUTPUT)
    for backend in args.backend.split(","):
        found = run_backend(
            backend, args.events, args.repeat, args.keep, args.bulk, args.single_adds
        )
        for name, figures in found["reports"].items():
            print(
                f"{backend:10} {name:28} p50 {figures['p50_ms']:8.1f} ms  "
                f"p90 {figures['p90_ms']:8.1f} ms  cpu {figures['cpu_p50_ms']:8.1f} ms"
            )
        how = "bulk" if args.bulk else "EventStore.add"
        results[f"{backend} ({args.events:,} events, {how})"] = {
            **found,
            "measured_at": now(),
            "machine": brief(),
            "command": command("reports_speed"),
        }
        write_json(OUTPUT, results)


if __name__ == "__main__":
    main()
