"""Incident links follow staff decisions: a dismissed incident's members are unlinked, a
merged or split one's moved to their new parent. ``parent_ticket_id`` becomes the parent a
member should be linked to (none after a dismiss) and ``linked_parent_id`` records the parent it
is linked to in the helpdesk; links already done are recorded as linked.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_links") as batch:
        batch.add_column(sa.Column("linked_parent_id", sa.String(200), nullable=True))
        batch.alter_column("parent_ticket_id", existing_type=sa.String(200), nullable=True)
    op.execute(
        "UPDATE incident_links SET linked_parent_id = parent_ticket_id WHERE status = 'done'"
    )


def downgrade() -> None:
    # A wanted "no parent" has no form before 0021: those rows keep the parent they were
    # linked to (or are dropped if they never were).
    op.execute(
        "UPDATE incident_links SET parent_ticket_id = linked_parent_id "
        "WHERE parent_ticket_id IS NULL"
    )
    op.execute("DELETE FROM incident_links WHERE parent_ticket_id IS NULL")
    with op.batch_alter_table("incident_links") as batch:
        batch.drop_column("linked_parent_id")
        batch.alter_column("parent_ticket_id", existing_type=sa.String(200), nullable=False)
