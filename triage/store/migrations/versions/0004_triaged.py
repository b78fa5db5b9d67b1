"""Tickets triage has answered, for the staff page's queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "triaged",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("predictions", sa.JSON, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(100), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("triaged_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_triaged"),
        sa.UniqueConstraint("tenant", "ticket_id", name="uq_triaged_tenant_ticket_id"),
    )
    op.create_index("ix_triaged_triaged_at", "triaged", ["triaged_at"])
    op.create_index("ix_triaged_decision_triaged_at", "triaged", ["decision", "triaged_at"])


def downgrade() -> None:
    op.drop_index("ix_triaged_decision_triaged_at", table_name="triaged")
    op.drop_index("ix_triaged_triaged_at", table_name="triaged")
    op.drop_table("triaged")
