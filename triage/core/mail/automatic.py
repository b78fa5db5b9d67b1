"""Mail that is not a ticket: auto-replies, out-of-office notes, list mail and bounces.

Headers first (RFC 3834 ``Auto-Submitted``, ``Precedence``, the ``X-Autoreply`` family,
``List-Id``, RFC 3464 delivery reports), then the subjects and senders that clients without
those headers use, in English and Bahasa Indonesia. Each answer is a reason to record.
"""

from __future__ import annotations

import re

from triage.core.mail.mime import ParsedMail

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply")
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|"
    r"abwesenheitsnotiz|balasan otomatis|jawaban otomatis|di luar kantor|sedang cuti|"
    r"sedang tidak di kantor|on leave|away from (?:the )?office|vacation reply)\b",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery (?:failed|failure|subsystem)|returned mail|delivery failure|"
    r"failure notice|tidak terkirim|pengiriman gagal|gagal terkirim)\b",
    re.I,
)
_DAEMON = re.compile(r"\b(?:mailer-daemon|postmaster)@", re.I)


def not_a_ticket(mail: ParsedMail) -> str | None:
    """Why ``mail`` is not triaged (an auto-reply, list mail, a bounce), or None."""
    if mail.unreadable is not None:
        return mail.unreadable
    headers = mail.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"auto-submitted: {auto.split(';')[0]}"
    if (
        mail.content_type == "multipart/report"
        or headers.get("content-type", "").lower().find("report-type=delivery-status") >= 0
    ):
        return "delivery status notification (bounce)"
    for name in _AUTO_HEADERS:
        value = headers.get(name, "").strip().lower()
        if value and value not in ("no", "false", "0"):
            return f"{name}: {value}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"precedence: {precedence}"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return f"mailing list: {headers.get('list-id') or headers['list-unsubscribe']}"[:200]
    if _BOUNCE_SUBJECT.match(mail.subject) or _DAEMON.search(mail.sender):
        return "delivery status notification (bounce)"
    if _OUT_OF_OFFICE.match(mail.subject):
        return "out-of-office reply"
    if headers.get("x-ms-exchange-generated-message-source") or (
        headers.get("x-auto-response-suppress", "").lower() == "all"
        and headers.get("x-ms-exchange-inbox-rules-loop")
    ):
        return "automatic reply (Exchange)"
    return None
