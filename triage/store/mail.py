"""E-mail received: each message once per tenant (by Message-ID), and the ticket it belongs to.

Messages older than the keep period (``TRIAGE_RETENTION_DAYS``) lose their text as new ones
are stored; their ids stay, so a late copy is still recognised and a late reply still finds
its ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.schema import mail_messages, utcnow

if TYPE_CHECKING:
    from triage.settings import Settings

_EMPTIED: dict[str, Any] = {
    "sender": None,
    "subject": None,
    "text": None,
    "attachments": [],
    "result": None,
}


@dataclass(frozen=True)
class MailRecord:
    message_id: str
    ticket_id: str | None
    channel: str
    sender: str | None
    subject: str | None
    text: str | None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    result: dict[str, Any] | None = None
    tenant: str = ""
    received_at: datetime | None = None


def _record(row: sa.RowMapping) -> MailRecord:
    return MailRecord(
        message_id=row["message_id"],
        ticket_id=row["ticket_id"],
        channel=row["channel"],
        sender=row["sender"],
        subject=row["subject"],
        text=row["text"],
        attachments=list(row["attachments"] or []),
        skipped=row["skipped"],
        result=row["result"],
        tenant=row["tenant"],
        received_at=row["received_at"],
    )


class MailStore:
    def __init__(self, database: Database, *, keep: timedelta = timedelta(days=90)) -> None:
        self.database = database
        self.keep = keep

    @classmethod
    def from_settings(cls, database: Database, settings: Settings) -> MailStore:
        return cls(database, keep=timedelta(days=settings.retention_days))

    def get(self, message_id: str, *, tenant: str = "") -> MailRecord | None:
        query = sa.select(mail_messages).where(
            mail_messages.c.tenant == tenant, mail_messages.c.message_id == message_id[:500]
        )
        with self.database.begin() as connection:
            row = connection.execute(query).mappings().first()
        return _record(row) if row else None

    def ticket_of(self, message_ids: Sequence[str], *, tenant: str = "") -> str | None:
        """The ticket of the newest known message among ``message_ids`` (a reply's parents)."""
        if not message_ids:
            return None
        query = (
            sa.select(mail_messages.c.ticket_id)
            .where(
                mail_messages.c.tenant == tenant,
                mail_messages.c.message_id.in_([m[:500] for m in message_ids]),
                mail_messages.c.ticket_id.is_not(None),
            )
            .order_by(mail_messages.c.received_at.desc(), mail_messages.c.id.desc())
            .limit(1)
        )
        with self.database.begin() as connection:
            found = connection.execute(query).scalar()
        return str(found) if found is not None else None

    def thread(self, ticket_id: str, *, tenant: str = "") -> list[MailRecord]:
        """A ticket's messages, oldest first."""
        query = (
            sa.select(mail_messages)
            .where(mail_messages.c.tenant == tenant, mail_messages.c.ticket_id == ticket_id)
            .order_by(mail_messages.c.received_at, mail_messages.c.id)
        )
        with self.database.begin() as connection:
            return [_record(row) for row in connection.execute(query).mappings()]

    def add(self, record: MailRecord) -> tuple[MailRecord, bool]:
        """Store a message; if its Message-ID is known already, the first copy and False."""
        values = {
            "tenant": record.tenant,
            "message_id": record.message_id[:500],
            "ticket_id": record.ticket_id,
            "channel": record.channel,
            "sender": record.sender,
            "subject": record.subject,
            "text": record.text,
            "attachments": record.attachments,
            "skipped": record.skipped,
            "result": record.result,
            "received_at": record.received_at or utcnow(),
        }
        dialect = dialect_of(self.database.is_postgres)
        statement = (
            dialect.insert(mail_messages)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(mail_messages.c.id)
        )
        old = (mail_messages.c.received_at < utcnow() - self.keep) & (
            mail_messages.c.text.is_not(None) | mail_messages.c.sender.is_not(None)
        )
        with self.database.begin() as connection:
            inserted = connection.execute(statement).first() is not None
            connection.execute(mail_messages.update().where(old).values(**_EMPTIED))
        if inserted:
            return record, True
        first = self.get(record.message_id, tenant=record.tenant)
        assert first is not None, "a conflicting message must exist"
        return first, False

    def forget(self, ticket_id: str, *, tenant: str | None = None) -> int:
        """Take a ticket's text out of its messages (in every tenant unless one is given):
        each keeps its Message-ID and ticket id, so a copy delivered again is still known.
        Returns how many messages were changed."""
        where = [mail_messages.c.ticket_id == ticket_id[:200]]
        if tenant is not None:
            where.append(mail_messages.c.tenant == tenant)
        with self.database.begin() as connection:
            return int(
                connection.execute(mail_messages.update().where(*where).values(**_EMPTIED)).rowcount
            )
