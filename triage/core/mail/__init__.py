"""E-mail as tickets: one cleaning for every way mail arrives (the API and the IMAP poller).

:func:`clean_mail` reads a message's bytes (:mod:`.mime`), tells whether it is a ticket at
all (:mod:`.automatic`) and keeps the words worth triaging (:mod:`.replies`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triage.core.mail.automatic import not_a_ticket
from triage.core.mail.mime import MAX_ATTACHMENTS, Attachment, ParsedMail, parse_mail
from triage.core.mail.replies import clean_body

__all__ = [
    "Attachment",
    "CleanedMail",
    "ParsedMail",
    "clean_mail",
    "not_a_ticket",
    "parse_mail",
    "thread_subject",
]


_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|fwd?|fw|tr|wg|rv|balas|terusan|bls)\s*(?:\[\d+\])?\s*:\s*)+", re.I
)


def thread_subject(subject: str) -> str:
    """A subject without its "Re:", "Fwd:", "FW:", "Balas:", "Terusan:" … prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


@dataclass(frozen=True)
class CleanedMail:
    """A message as triage reads it."""

    mail: ParsedMail
    text: str  # the body to triage: own words, and a forwarded message's
    skipped: str | None  # why it is not a ticket, or None

    @property
    def subject(self) -> str:
        """The subject to triage: the thread's, without reply and forward prefixes."""
        return thread_subject(self.mail.subject)


def clean_mail(raw: bytes, *, max_attachments: int = MAX_ATTACHMENTS) -> CleanedMail:
    """Parse, classify as ticket or not, and clean one message."""
    mail = parse_mail(raw, max_attachments=max_attachments)
    text = clean_body(mail.text, mail.subject, mail.sender)
    for inner in mail.forwarded:  # forwarded as attachments: their words are the content
        extra = clean_body(inner)
        if extra:
            text = f"{text}\n\n{extra}" if text else extra
    return CleanedMail(mail=mail, text=text, skipped=not_a_ticket(mail))
