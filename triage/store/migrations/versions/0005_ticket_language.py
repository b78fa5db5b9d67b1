"""The detected language of each stored ticket (ISO 639-1 code; null for rows stored before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    # SQLite can only drop a column by copying the table: batch mode does that.
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("language")
