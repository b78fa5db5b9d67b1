"""Every migration together creates exactly the tables the code declares, on SQLite and
PostgreSQL (each revision writes its tables out, so later edits of the schema show here)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from triage.store.database import Database
from triage.store.schema import metadata

# Made by migrations on purpose outside the declared schema, on one backend only: SQLite's
# FTS5 tables (0006) and covering index (0009); PostgreSQL's full-text column and index (0006).
OUTSIDE_THE_SCHEMA = {"ix_tickets_status_row_keys", "ix_tickets_lexical", "lexical"}


def _name(diff: Any) -> str:
    if not isinstance(diff, tuple):
        return ""
    if diff[0] == "remove_column":  # ("remove_column", schema, table, column)
        return str(diff[3].name)
    return str(getattr(diff[1], "name", ""))


def _expected(diff: Any) -> bool:
    name = _name(diff)
    return name in OUTSIDE_THE_SCHEMA or (
        diff[0] == "remove_table" and name.startswith("ticket_fts")
    )


def test_the_migrations_create_what_the_schema_declares(database_url: str) -> None:
    with Database(database_url) as database:
        database.upgrade()
        with database.engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [diff for diff in diffs if not _expected(diff)] == []
