"""Migration 0009: the SQLite index the similar-ticket search reads its candidates' rows from.

The search must return what it returned without the index (only the reads change), and its
lookups of rows by id must use it, with and without date filters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from triage.core.embeddings import HashingEmbedder
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Filters, Status, TicketRecord
from triage.store.schema import utcnow

INDEX = "ix_tickets_status_row_keys"
WORDS = [
    "printer",
    "paper",
    "tray",
    "toner",
    "vpn",
    "password",
    "login",
    "email",
    "outlook",
    "invoice",
    "refund",
    "laptop",
]


def _tickets(n: int, offset: int = 0) -> list[TicketRecord]:
    out = []
    for i in range(offset, offset + n):
        words = [WORDS[(i * p) % len(WORDS)] for p in (1, 3, 5, 7)]
        out.append(
            TicketRecord(
                f"T{i}",
                subject=f"{words[0]} {words[1]} problem",
                body=" ".join(words * 3) + f" case {i}",
                resolution="fixed",
                category=("hardware", "access", "billing")[i % 3],
                tenant=("", "acme")[i % 2],
                status=Status.OPEN if i % 7 == 0 else Status.RESOLVED,
                resolved_at=utcnow() - timedelta(days=i % 40),
            )
        )
    return out


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        yield database


def _answers(service: SimilarService, queries: list[TicketRecord]) -> list[Any]:
    out = []
    for i, query in enumerate(queries):
        text = service.text(query.subject, query.body)
        result = service.find(
            service.embed([text])[0],
            text=text,
            subject=query.subject,
            k=10,
            tenant=(None, "acme", "")[i % 3],
            category=(None, None, "access")[i % 3] if i % 2 else None,
            max_age=timedelta(days=20) if i % 5 == 0 else None,
            min_score=-1.0,
            exclude=("", "T3") if i % 4 == 0 else None,
        )
        out.append(
            [(m.ticket.row_id, round(m.score, 6)) for m in result.similar]
            + [(m.ticket.row_id, round(m.score, 6)) for m in result.duplicates]
        )
    return out


def test_the_search_finds_what_it_found_without_the_index(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add(_tickets(400))
    queries = _tickets(200, offset=1_000)
    with_index = _answers(service, queries)
    with database.begin() as connection:
        connection.execute(sa.text(f"DROP INDEX {INDEX}"))
    without = _answers(service, queries)
    assert sum(len(a) for a in with_index) > 1_000
    assert with_index == without


def _plans(database: Database, call: Any) -> list[str]:
    """The query plans of the row lookups by id that ``call`` makes."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "row_id IN" in statement and "ticket_fts" not in statement:
            seen.append((statement, parameters))

    sa.event.listen(database.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", record)
    with database.engine.connect() as connection:
        return [
            " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            for statement, parameters in seen
        ]


def test_rows_looked_up_by_id_are_read_from_the_index(database: Database) -> None:
    service = SimilarService.open(database, HashingEmbedder(64))
    service.add(_tickets(60))
    rows = list(range(1, 40))
    window = Filters(Status.OPEN, "acme", None, utcnow() - timedelta(days=3))
    for filters in (Filters(), Filters(Status.RESOLVED, "", "access", utcnow()), window):
        plans = _plans(database, lambda f=filters: service.store.keys(rows, f))
        assert plans
        assert all(f"COVERING INDEX {INDEX}" in plan for plan in plans), plans


def test_the_migration_adds_and_drops_the_index(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        database.upgrade()
        assert INDEX in {i["name"] for i in sa.inspect(database.engine).get_indexes("tickets")}
        command.downgrade(database.alembic_config(), "0008")
        assert INDEX not in {i["name"] for i in sa.inspect(database.engine).get_indexes("tickets")}
