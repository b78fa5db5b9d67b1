"""Reports (issue 21): the automation report read from one covering index, in its groups' order.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = ["head", "source", "tenant", "triaged_at", "decision", "written_back", "kept", "final"]


def upgrade() -> None:
    op.create_index("ix_ticket_head_facts_by_head", "ticket_head_facts", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_ticket_head_facts_by_head", table_name="ticket_head_facts")
