"""SQLite: a covering index of what the similar-ticket search reads of a row but its text.

The search looks up its candidates' rows by id, for the filters (status, tenant, category,
date) and the row's key and language. In SQLite those columns sit after the text and the
vectors, or (``language``, added by 0005) after the overflow pages holding them, so reading
them walked each row's overflow chain. Led by ``status``, which every search filters on, the
index answers ``status = ? AND row_id IN (...)`` alone. PostgreSQL keeps large values out of
line (TOAST), so its rows are small already: no index there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "ix_tickets_status_row_keys"
COLUMNS = [
    "status",
    "row_id",
    "tenant",
    "ticket_id",
    "language",
    "category",
    "resolved_at",
    "created_at",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(NAME, "tickets", COLUMNS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(NAME, table_name="tickets")
