"""Ticket lifecycle events and the per-ticket facts the reports read (issue 21).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

from triage.store.schema import ticket_events, ticket_facts, ticket_head_facts

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = (ticket_events, ticket_facts, ticket_head_facts)


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
