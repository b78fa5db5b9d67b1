"""Helpdesk webhook deliveries, with their idempotency keys and write-back state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("vendor_delivery_id", sa.String(200), nullable=True),
        sa.Column("ticket", sa.JSON, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True),
        sa.Column("ignored", sa.Text, nullable=True),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("writeback_status", sa.String(16), nullable=True),
        sa.Column("writeback_attempts", sa.Integer, nullable=False),
        sa.Column("writeback_next_at", UtcDateTime, nullable=True),
        sa.Column("writeback_steps", sa.JSON, nullable=True),
        sa.Column("writeback_error", sa.Text, nullable=True),
        sa.Column("writeback_done_at", UtcDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("source", "key", name="uq_webhook_deliveries_source_key"),
        sa.UniqueConstraint(
            "source", "body_sha256", name="uq_webhook_deliveries_source_body_sha256"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_writeback_status_writeback_next_at",
        "webhook_deliveries",
        ["writeback_status", "writeback_next_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_writeback_status_writeback_next_at",
        table_name="webhook_deliveries",
    )
    op.drop_table("webhook_deliveries")
