"""Reports (issue 21): per-day rollups of the ticket facts, kept in step with them, so a year
of the volume, resolution, escalation and staff reports reads a few thousand rows rather than
sorting every ticket. Filled here from the facts already stored.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.report_rollups import rebuild

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_day_rollups",
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("grouping", sa.String(64), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        *(sa.Column(f"c{i}", sa.Integer, nullable=False) for i in range(8)),
        sa.Column("durations", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint(
            "family", "grouping", "key", "day", "tenant", name="pk_report_day_rollups"
        ),
    )
    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_day_rollups")
