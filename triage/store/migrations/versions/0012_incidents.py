"""Incident detection: the window of recent tickets, incidents, staff decisions, locks, and
the outbound events of the incident webhook.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "incident_tickets",
        sa.Column("seq", _ID, nullable=False, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("incident_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_incident_tickets"),
        sa.UniqueConstraint("tenant", "ticket_id", name="uq_incident_tickets_tenant_ticket_id"),
    )
    op.create_index("ix_incident_tickets_tenant_at", "incident_tickets", ["tenant", "at"])
    op.create_index("ix_incident_tickets_incident_id", "incident_tickets", ["incident_id"])
    op.create_table(
        "incidents",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("growth_per_10min", sa.Integer, nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("parent_ticket_id", sa.String(200), nullable=True),
        sa.Column("merged_into", sa.BigInteger, nullable=True),
        sa.Column("opened_at", UtcDateTime, nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index(
        "ix_incidents_tenant_status_last_seen", "incidents", ["tenant", "status", "last_seen"]
    )
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])
    op.create_table(
        "incident_decisions",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(100), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_decisions"),
    )
    op.create_index("ix_incident_decisions_incident_id", "incident_decisions", ["incident_id"])
    op.create_table(
        "incident_locks",
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant", name="pk_incident_locks"),
    )

    op.create_table(
        "incident_events",
        sa.Column("id", _ID, nullable=False, autoincrement=True),
        sa.Column("incident_id", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", UtcDateTime, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
    )
    op.create_index("ix_incident_events_status_next_at", "incident_events", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_events_status_next_at", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_table("incident_locks")
    op.drop_index("ix_incident_decisions_incident_id", table_name="incident_decisions")
    op.drop_table("incident_decisions")
    op.drop_index("ix_incidents_opened_at", table_name="incidents")
    op.drop_index("ix_incidents_tenant_status_last_seen", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_incident_tickets_incident_id", table_name="incident_tickets")
    op.drop_index("ix_incident_tickets_tenant_at", table_name="incident_tickets")
    op.drop_table("incident_tickets")
