"""E-mail intake (issue 23): the messages received, for idempotency and reply threading.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender", sa.Text, nullable=True),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("skipped", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_mail_messages"),
        sa.UniqueConstraint("tenant", "message_id", name="uq_mail_messages_tenant_message_id"),
    )
    op.create_index("ix_mail_messages_tenant_ticket_id", "mail_messages", ["tenant", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_messages_tenant_ticket_id", table_name="mail_messages")
    op.drop_table("mail_messages")
