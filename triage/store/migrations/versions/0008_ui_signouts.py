"""Staff page sign-outs that end a session everywhere (issue 24).

The staff page's session is a signed cookie; signing out used to only replace the browser's
cookie, so a copy of it stayed valid until it expired. A sign-out now records the session's
token (its sha256) until the session would have expired; a cookie naming it is signed out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from triage.store.schema import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ui_signouts",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_ui_signouts"),
    )


def downgrade() -> None:
    op.drop_table("ui_signouts")
