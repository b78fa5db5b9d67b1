"""API key rates counted in the database, shared by every worker and replica (issue 24).

Each process used to count a key's requests itself, so N workers let a key send N times its
``rate_per_minute``. One row a rate-limited key: its theoretical arrival time (GCRA).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_rates",
        sa.Column("key_name", sa.String(200), nullable=False),
        sa.Column("tat", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("key_name", name="pk_key_rates"),
    )


def downgrade() -> None:
    op.drop_table("key_rates")
