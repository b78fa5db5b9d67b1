"""Resolved and open tickets for similarity search, their change log, and store facts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("row_id", _ID, nullable=False, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("row_id", name="pk_tickets"),
        sa.UniqueConstraint("tenant", "ticket_id", name="uq_tickets_tenant_ticket_id"),
    )
    op.create_index("ix_tickets_status_created_at", "tickets", ["status", "created_at"])
    op.create_table(
        "ticket_changes",
        sa.Column("seq", _ID, nullable=False, autoincrement=True),
        sa.Column("row_id", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ticket_changes"),
    )
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_meta"),
    )


def downgrade() -> None:
    op.drop_table("store_meta")
    op.drop_table("ticket_changes")
    op.drop_index("ix_tickets_status_created_at", table_name="tickets")
    op.drop_table("tickets")
