"""Routing tables, versioned (issue 20), and the route of each triaged ticket.

Every routing table served is kept as one row, newest the highest version: a PUT adds a
version, a rollback adds a copy of the one before, so the history stays whole.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_tables",
        sa.Column("version", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_routing_tables"),
    )
    with op.batch_alter_table("triaged") as batch:
        batch.add_column(sa.Column("route", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("triaged") as batch:
        batch.drop_column("route")
    op.drop_table("routing_tables")
