"""A count of forgotten tickets per tenant on the incident lock row, so that every replica
drops a forgotten ticket from the window it keeps in memory. Before it, only the database
forgot: each process's window kept the ticket's vector and content words until they aged out,
could put it in a new incident's summary (its words written back to the database), and failed
the ticket that opened that incident (its member was no longer there to assign).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_locks") as batch:
        batch.add_column(
            sa.Column("forgets", sa.BigInteger, nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_locks") as batch:
        batch.drop_column("forgets")
