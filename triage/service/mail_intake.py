"""E-mail as tickets: the use case behind ``POST /v1/email`` and the IMAP poller.

A message is cleaned (:mod:`triage.core.mail`), recognised if it was received before (its
Message-ID, else the digest of its bytes), set aside with the reason if it is not a ticket,
and otherwise triaged like any ticket: classified, matched against similar tickets,
remembered as open and put in the staff page's queue (source ``email``). A reply — a
message whose In-Reply-To or References names a message received before — joins that
message's ticket: the ticket is triaged again on the thread's text, and its queue row
is updated rather than a new ticket opened.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from triage.core.errors import MailTooLargeError
from triage.core.mail import CleanedMail, clean_mail
from triage.core.mail.mime import Attachment
from triage.service.results import Ticket, classification_dict
from triage.service.ticket_triage import SimilarQuery, TicketTriage, TriageOutcome
from triage.settings import Settings
from triage.store.mail import MailRecord, MailStore

QUEUE_SOURCE = "email"


@dataclass(frozen=True)
class MailOutcome:
    """What became of one message."""

    message_id: str
    ticket_id: str | None  # None: not a ticket
    subject: str
    text: str  # the cleaned text of this message
    attachments: tuple[Attachment, ...]
    attachments_omitted: int
    skipped: str | None = None  # why it was not triaged
    duplicate: bool = False  # received before: nothing was done again
    joined: bool = False  # a reply, triaged with the ticket it answers
    triage: TriageOutcome | None = None  # None for a duplicate or a message set aside
    recorded: dict[str, object] | None = None  # the first copy's classification (duplicate)


def message_key(cleaned: CleanedMail, raw: bytes) -> str:
    """The message's identity: its Message-ID, else the digest of its bytes."""
    return cleaned.mail.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()


def new_ticket_id(key: str) -> str:
    return "email-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class MailIntake:
    """Receives messages for one tenant from any edge (HTTP, IMAP)."""

    def __init__(
        self,
        triage: TicketTriage,
        store: MailStore,
        *,
        max_bytes: int = 10_000_000,
        max_attachments: int = 50,
        max_text_chars: int = 20_000,
    ) -> None:
        self.triage = triage
        self.store = store
        self.max_bytes = max_bytes
        self.max_attachments = max_attachments
        self.max_text_chars = max_text_chars

    @classmethod
    def from_settings(
        cls, triage: TicketTriage, store: MailStore, settings: Settings
    ) -> MailIntake:
        return cls(
            triage,
            store,
            max_bytes=settings.mail_max_bytes,
            max_attachments=settings.mail_max_attachments,
            max_text_chars=settings.max_text_chars,
        )

    def receive(self, raw: bytes, *, tenant: str = "", channel: str = "api") -> MailOutcome:
        """Clean, recognise, set aside or triage one message (RFC 5322 bytes)."""
        if len(raw) > self.max_bytes:
            raise MailTooLargeError(
                f"the message is {len(raw)} bytes; the limit is {self.max_bytes}",
                details={"limit": self.max_bytes, "size": len(raw)},
            )
        cleaned = clean_mail(raw, max_attachments=self.max_attachments)
        key = message_key(cleaned, raw)
        known = self.store.get(key, tenant=tenant)
        if known is not None:
            return self._outcome(cleaned, key, known, duplicate=True)
        skipped = cleaned.skipped
        if skipped is None and not (cleaned.text or cleaned.mail.subject):
            skipped = "no text to triage"
        if skipped is not None:
            record = self._record(cleaned, key, None, tenant, channel, skipped=skipped)
            stored, created = self.store.add(record)
            return self._outcome(cleaned, key, stored, duplicate=not created)
        parents = [*cleaned.mail.in_reply_to, *reversed(cleaned.mail.references)]
        ticket_id = self.store.ticket_of(parents, tenant=tenant)
        joined = ticket_id is not None
        ticket_id = ticket_id or new_ticket_id(key)
        ticket = self._ticket(cleaned, ticket_id, tenant, joined)
        outcome = self.triage.triage(
            ticket, tenant=tenant, query=SimilarQuery(), remember=True, queue_source=QUEUE_SOURCE
        )
        record = self._record(
            cleaned,
            key,
            ticket_id,
            tenant,
            channel,
            result=classification_dict(outcome.classification),
        )
        stored, created = self.store.add(record)
        if not created:  # a racing copy was stored first
            return self._outcome(cleaned, key, stored, duplicate=True)
        return MailOutcome(
            message_id=key,
            ticket_id=ticket_id,
            subject=cleaned.mail.subject,
            text=cleaned.text,
            attachments=cleaned.mail.attachments,
            attachments_omitted=cleaned.mail.attachments_omitted,
            joined=joined,
            triage=outcome,
        )

    def _ticket(self, cleaned: CleanedMail, ticket_id: str, tenant: str, joined: bool) -> Ticket:
        """The ticket to triage: this message, or (a reply) its thread's messages in order."""
        subject = cleaned.subject
        texts = [cleaned.text]
        if joined:
            thread = [m for m in self.store.thread(ticket_id, tenant=tenant) if m.text]
            subject = thread[0].subject or subject if thread else subject
            texts = [m.text or "" for m in thread] + texts
        body = "\n\n".join(t for t in texts if t)
        subject = (subject or "")[: self.max_text_chars]
        room = self.max_text_chars - len(subject)
        return Ticket(subject=subject or None, body=body[:room] or None, id=ticket_id)

    @staticmethod
    def _record(
        cleaned: CleanedMail,
        key: str,
        ticket_id: str | None,
        tenant: str,
        channel: str,
        *,
        skipped: str | None = None,
        result: dict[str, object] | None = None,
    ) -> MailRecord:
        return MailRecord(
            message_id=key,
            ticket_id=ticket_id,
            channel=channel,
            sender=cleaned.mail.sender[:500] or None,
            subject=cleaned.subject or None,
            text=cleaned.text or None,
            attachments=[asdict(a) for a in cleaned.mail.attachments],
            skipped=skipped,
            result=dict(result) if result is not None else None,
            tenant=tenant,
        )

    @staticmethod
    def _outcome(
        cleaned: CleanedMail, key: str, known: MailRecord, *, duplicate: bool
    ) -> MailOutcome:
        return MailOutcome(
            message_id=key,
            ticket_id=known.ticket_id,
            subject=cleaned.mail.subject,
            text=cleaned.text,
            attachments=cleaned.mail.attachments,
            attachments_omitted=cleaned.mail.attachments_omitted,
            skipped=known.skipped,
            duplicate=duplicate,
            recorded=known.result,
        )
