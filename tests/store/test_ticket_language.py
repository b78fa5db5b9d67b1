"""The ticket store keeps each ticket's detected language (migration 0005), on both databases."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from triage.core.embeddings import HashingEmbedder
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Status, TicketRecord
from triage.store.schema import tickets


def test_added_and_open_tickets_get_their_language(database_url: str) -> None:
    with Database(database_url) as database:
        database.upgrade()
        columns = {c["name"] for c in sa.inspect(database.engine).get_columns("tickets")}
        assert "language" in columns
        similar = SimilarService.open(database, HashingEmbedder(64), backend="embedded")
        similar.add(
            [
                TicketRecord("R-1", subject="Printer di lantai tiga macet terus"),
                TicketRecord("R-2", subject="The printer on the third floor keeps jamming"),
            ]
        )
        opened = TicketRecord("O-1", body="Outlook minta password terus sejak pagi")
        similar.remember_open(opened, similar.embed([similar.text(None, opened.body)])[0])
        stored = {t.record.ticket_id: t.record for t in similar.store.records()}
        assert {k: r.language for k, r in stored.items()} == {"R-1": "id", "R-2": "en", "O-1": "id"}
        assert stored["O-1"].status is Status.OPEN
        similar.close()


def test_rows_stored_before_the_migration_keep_null_and_it_reverts(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'triage.db'}") as database:
        config = database.alembic_config()
        command.upgrade(config, "0004")
        with database.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO tickets (tenant, ticket_id, status, visibility, text_sha256,"
                    " created_at, updated_at) VALUES ('', 'OLD', 'resolved', 'public', '',"
                    " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        command.upgrade(config, "0005")
        with database.begin() as connection:
            assert connection.execute(sa.select(tickets.c.language)).scalar_one() is None
        command.downgrade(config, "0004")
        columns = {c["name"] for c in sa.inspect(database.engine).get_columns("tickets")}
        assert "language" not in columns
        with database.begin() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM tickets")).scalar_one()
        assert count == 1
