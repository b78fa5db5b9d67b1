"""Incident write-back: the helpdesk each window ticket came from, and the queue of links of
member tickets to their incident's parent ticket (TRIAGE_INCIDENT_WRITEBACK).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("incident_tickets", sa.Column("source", sa.String(32), nullable=True))
    op.create_table(
        "incident_links",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("parent_ticket_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", UtcDateTime, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("done_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_links"),
        sa.UniqueConstraint(
            "tenant", "source", "ticket_id", name="uq_incident_links_tenant_source_ticket_id"
        ),
    )
    op.create_index("ix_incident_links_status_next_at", "incident_links", ["status", "next_at"])
    op.create_index("ix_incident_links_incident_id", "incident_links", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_links")
    with op.batch_alter_table("incident_tickets") as batch:
        batch.drop_column("source")
