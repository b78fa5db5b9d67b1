"""The helpdesk's agents: groups, skills and open-ticket counts (issue 20, optional part).

``PUT /v1/agents`` replaces a tenant's roster; a route then suggests the least-loaded agent of
its group with the skills it needs.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("open_tickets", sa.Integer, nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "agent_id", name="pk_agents"),
    )


def downgrade() -> None:
    op.drop_table("agents")
