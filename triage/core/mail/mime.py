"""One message, read from its bytes: headers, the body as text, and what is attached.

The standard library's ``email`` package does the MIME work; this module picks the body
(plain text before HTML), reads its charset (:mod:`.charsets`), converts HTML
(:mod:`.html_text`) and lists attachments by name, type and size — an attachment's bytes
are never decoded, stored or opened (its size is worked out from the encoded length).
"""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime

from triage.core.mail.charsets import decode_text, header_text
from triage.core.mail.html_text import html_to_text

MAX_ATTACHMENTS = 50
# Triage reads a few thousand characters; a part's first 300,000 hold the sender's own words
# (they come first) and bound the work HTML and reply splitting do on a hostile message.
MAX_PART_CHARS = 300_000
# Real clients nest a handful of multiparts; the parser's work grows with the square of the
# nesting, so a message declaring more boundaries than this is not parsed.
MAX_MULTIPARTS = 100
_NAME_CHARS = 200
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,400}>")


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int  # bytes: decoded for base64, as sent otherwise


@dataclass(frozen=True)
class ParsedMail:
    """A message's headers of interest and its body as plain text (history included)."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: str
    subject: str
    date: datetime | None
    content_type: str
    headers: dict[str, str]  # lower-cased names; the first of each
    text: str
    html_only: bool = False
    attachments: tuple[Attachment, ...] = ()
    attachments_omitted: int = 0  # past the limit: counted, not listed
    forwarded: tuple[str, ...] = field(default=())  # bodies of attached messages (message/rfc822)
    unreadable: str | None = None  # why the MIME structure could not be read


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError, AttributeError):  # a header email cannot parse
        value = None
        for key, raw in message.raw_items() if isinstance(message, EmailMessage) else ():
            if key.lower() == name.lower():
                value = raw
                break
    return " ".join(header_text(str(value)).split()) if value is not None else ""


def _ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MESSAGE_ID.findall(value)))


def _date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    text = decode_text(data, part.get_content_charset())[:MAX_PART_CHARS]
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _encoded_size(part: Message) -> int:
    payload = part.get_payload(decode=False)
    if isinstance(payload, list):  # an attached message
        return sum(_encoded_size(p) for p in payload if isinstance(p, Message))
    raw = str(payload or "")
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        compact = "".join(raw.split())
        return max(0, len(compact) * 3 // 4 - compact[-2:].count("="))
    return len(raw.encode("utf-8", errors="surrogateescape"))


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _body_parts(message: Message) -> list[Message]:
    """The parts that make the body: in each alternative, plain text if there is one."""
    if message.is_multipart():
        parts = [p for p in message.get_payload() if isinstance(p, Message)]
        if message.get_content_subtype() == "alternative":
            texts = [p for p in parts if not _is_attachment(p)]
            plain = [p for p in texts if p.get_content_type() == "text/plain"]
            chosen = plain[:1] or texts[-1:]
            return [b for p in chosen for b in _body_parts(p)]
        return [b for p in parts if not _is_attachment(p) for b in _body_parts(p)]
    if message.get_content_type() in ("text/plain", "text/html"):
        return [message]
    return []


def parse_mail(raw: bytes, *, max_attachments: int = MAX_ATTACHMENTS) -> ParsedMail:
    """Read one RFC 5322 message (as received: CRLF or LF line ends); at most
    ``max_attachments`` attachments are listed, the others counted. A structure nested too
    deeply to read gives its headers only, with ``unreadable`` saying so."""
    try:
        if raw.lower().count(b"boundary") <= MAX_MULTIPARTS:
            return _parse(raw, max_attachments)
    except RecursionError:
        pass
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    return ParsedMail(
        message_id=(_ids(_header(headers, "Message-ID")) or (None,))[0],
        in_reply_to=(),
        references=(),
        sender=_header(headers, "From"),
        subject=_header(headers, "Subject"),
        date=None,
        content_type="multipart/mixed",
        headers={},
        text="",
        unreadable=f"more than {MAX_MULTIPARTS} MIME multiparts, or nested too deeply to read",
    )


def _parse(raw: bytes, max_attachments: int) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    bodies = _body_parts(message)
    body_ids = {id(p) for p in bodies}
    attachments: list[Attachment] = []
    forwarded: list[str] = []
    omitted = 0
    for part in message.walk():
        if id(part) in body_ids or part is message:
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                if len(forwarded) < 3:
                    forwarded.append("\n\n".join(_part_text(p) for p in _body_parts(inner[0])))
                body_ids.update(id(p) for p in inner[0].walk())
        elif part.is_multipart():
            continue
        if not _is_attachment(part) and part.get_content_maintype() == "text":
            continue
        if len(attachments) >= max_attachments:
            omitted += 1
            continue
        name = header_text(part.get_filename() or "") or "(unnamed)"
        attachments.append(
            Attachment(name[:_NAME_CHARS], part.get_content_type(), _encoded_size(part))
        )
    headers: dict[str, str] = {}
    for key in message:
        headers.setdefault(key.lower(), _header(message, key))
    return ParsedMail(
        message_id=(_ids(_header(message, "Message-ID")) or (None,))[0],
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        sender=_header(message, "From"),
        subject=_header(message, "Subject"),
        date=_date(_header(message, "Date")),
        content_type=message.get_content_type(),
        headers=headers,
        text="\n\n".join(_part_text(p) for p in bodies).strip(),
        html_only=bool(bodies) and all(p.get_content_type() == "text/html" for p in bodies),
        attachments=tuple(attachments),
        attachments_omitted=omitted,
        forwarded=tuple(forwarded),
    )
