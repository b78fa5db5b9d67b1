"""A full-text index of each ticket's subject and body, beside the vectors (hybrid search).

SQLite: an FTS5 table over ``tickets`` (external content: the text is not stored twice),
tokenised by ``unicode61 remove_diacritics 2`` — Unicode word boundaries, case and diacritics
folded, no stemming, so English and Bahasa Indonesia are split alike and neither is mangled
by the other's stemmer. Triggers keep it in step with every insert, update and delete of
``tickets``, inside the same transaction. PostgreSQL: a generated ``tsvector`` column (the
``simple`` configuration: lower-cased words, no stemming, no stop words; the subject weighted
``A``, the body ``B``) with a GIN index; the database computes it with the row itself.

Both back-fill the rows already stored.

A later migration that rebuilds ``tickets`` on SQLite (Alembic's batch mode copies the
table) drops these triggers with the old table: it must create them again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE ticket_fts USING fts5(subject, body, content='tickets', "
    "content_rowid='row_id', tokenize='unicode61 remove_diacritics 2')",
    # Document frequencies of the indexed words: a query leaves out the most common ones.
    "CREATE VIRTUAL TABLE ticket_fts_vocab USING fts5vocab(ticket_fts, 'row')",
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO ticket_fts(rowid, subject, body) VALUES (new.row_id, new.subject, new.body); "
    "END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, subject, body) "
    "VALUES ('delete', old.row_id, old.subject, old.body); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, subject, body) "
    "VALUES ('delete', old.row_id, old.subject, old.body); "
    "INSERT INTO ticket_fts(rowid, subject, body) VALUES (new.row_id, new.subject, new.body); "
    "END",
    "INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')",  # the back-fill
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS tickets_fts_update",
    "DROP TRIGGER IF EXISTS tickets_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_fts_insert",
    "DROP TABLE IF EXISTS ticket_fts_vocab",
    "DROP TABLE IF EXISTS ticket_fts",
]
# Adding a stored generated column rewrites the table, computing it for every existing row.
_POSTGRES_UP = [
    "ALTER TABLE tickets ADD COLUMN lexical tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(subject, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'B')) STORED",
    "CREATE INDEX ix_tickets_lexical ON tickets USING gin (lexical)",
]
_POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_tickets_lexical",
    "ALTER TABLE tickets DROP COLUMN IF EXISTS lexical",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_UP if postgres else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_DOWN if postgres else _SQLITE_DOWN:
        op.execute(statement)
