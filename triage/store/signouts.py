"""Staff page sessions ended by a sign-out, for every copy of their cookie (issue 24)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import ui_signouts, utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignoutStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def sign_out(self, token: str, expires: int) -> None:
        """End the session whose token is ``token`` (its cookie expires at Unix ``expires``);
        sign-outs of sessions that have expired since are forgotten here too."""
        dialect = dialect_of(self.database.is_postgres)
        insert = dialect.insert(ui_signouts).values(
            token_sha256=_digest(token), expires_at=datetime.fromtimestamp(expires, UTC)
        )
        with self.database.begin() as connection:
            connection.execute(ui_signouts.delete().where(ui_signouts.c.expires_at < utcnow()))
            connection.execute(insert.on_conflict_do_nothing(index_elements=["token_sha256"]))

    def signed_out(self, token: str) -> bool:
        with self.database.begin() as connection:
            found = connection.execute(
                sa.select(ui_signouts.c.token_sha256).where(
                    ui_signouts.c.token_sha256 == _digest(token)
                )
            ).first()
        return found is not None
