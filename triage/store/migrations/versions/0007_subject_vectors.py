"""The subject's own vector beside the ticket's (similar-ticket search on long tickets).

A long ticket's vector averages every word of its body, so the few words that say what it is
about (the subject) weigh little in it; the subject is embedded apart as well and searched as
a ranking of its own (``triage.similar.hybrid``). Null for tickets stored before, until they
are embedded again: the upgrade empties their text digest, which makes the next ``add`` of
them, or ``triage index build``, embed them again; until then each is searched by its vector.
Both dialects add the column in place (no table copy, so SQLite's full-text triggers stay).
With pgvector the subject vectors go to a ``subject_vec`` column that
``triage.similar.search.ensure_pgvector`` adds, as it adds ``vec``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("subject_embedding", sa.LargeBinary, nullable=True))
    # Tickets with a subject and a body lack their subject's vector: an empty digest is what
    # marks a ticket's vectors as missing, so the next ``add`` or index build embeds them.
    op.execute(
        "UPDATE tickets SET text_sha256 = '' WHERE trim(coalesce(subject, '')) <> '' "
        "AND trim(coalesce(body, '')) <> ''"
    )


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) drops it in place: no batch copy of the
    # table, which would lose the full-text triggers of migration 0006.
    op.drop_column("tickets", "subject_embedding")
