"""Ticket lifecycle events and the per-ticket facts the reports read (issue 21).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The tables as this revision made them, written out (not created from triage.store.schema,
# whose later edits would otherwise change what an old revision creates).


def upgrade() -> None:
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_events"),
    )
    op.create_index("ix_ticket_events_tenant_ticket_id", "ticket_events", ["tenant", "ticket_id"])
    op.create_table(
        "ticket_facts",
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=True),
        sa.Column("created_day", sa.Integer, nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("resolved_day", sa.Integer, nullable=True),
        sa.Column("resolve_seconds", sa.Float, nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("priority", sa.String(64), nullable=True),
        sa.Column("group_name", sa.String(200), nullable=True),
        sa.Column("agent", sa.String(200), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("first_tier", sa.String(64), nullable=True),
        sa.Column("first_tier_level", sa.Integer, nullable=True),
        sa.Column("max_tier_level", sa.Integer, nullable=True),
        sa.Column("reached_l2", sa.Boolean, nullable=False),
        sa.Column("escalations", sa.Integer, nullable=False),
        sa.Column("escalated_at", UtcDateTime, nullable=True),
        sa.Column("escalate_seconds", sa.Float, nullable=True),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("predicted_tier", sa.String(64), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("triaged_at", UtcDateTime, nullable=True),
        sa.Column("match_score", sa.Float, nullable=True),
        sa.Column("reviewed", sa.Boolean, nullable=False),
        sa.Column("written_back", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "ticket_id", name="pk_ticket_facts"),
    )
    op.create_index(
        "ix_ticket_facts_created_at_created_day", "ticket_facts", ["created_at", "created_day"]
    )
    op.create_index(
        "ix_ticket_facts_resolved_at_resolved_day_created_at",
        "ticket_facts",
        ["resolved_at", "resolved_day", "created_at"],
    )
    op.create_index("ix_ticket_facts_status_created_at", "ticket_facts", ["status", "created_at"])
    op.create_index("ix_ticket_facts_triaged_at", "ticket_facts", ["triaged_at"])
    op.create_table(
        "ticket_head_facts",
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("predicted", sa.String(200), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("triaged_at", UtcDateTime, nullable=True),
        sa.Column("written_back", sa.Boolean, nullable=False),
        sa.Column("final", sa.String(200), nullable=True),
        sa.Column("kept", sa.Boolean, nullable=True),
        sa.PrimaryKeyConstraint("tenant", "ticket_id", "head", name="pk_ticket_head_facts"),
    )
    op.create_index("ix_ticket_head_facts_triaged_at", "ticket_head_facts", ["triaged_at"])


def downgrade() -> None:
    for table in ("ticket_head_facts", "ticket_facts", "ticket_events"):
        op.drop_table(table)
