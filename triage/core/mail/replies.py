"""A message's own words: quoted history, signatures and disclaimers cut, forwards kept.

The splitting is mail-parser-reply's (its header, quote and separator patterns). What it
lacks is added here: Bahasa Indonesia ("Pada … menulis:", "Dari:/Dikirim:", "Salam,",
"Hormat saya,", "Terima kasih,", "Dikirim dari iPhone saya"), closing words that end a
message only when they stand alone on their line (its English "Thanks," also cuts "Thanks,
the printer works" short), multi-line legal disclaimers, and forwarded mail, whose
forwarded message is the content and is kept.
"""

from __future__ import annotations

import re

from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE
from mailparser_reply.parser import EmailMessage

_LANGUAGE = "triage-en-id"
_CLOSINGS = (
    r"(?:(?:best|kind|warm|many)\s+)?regards",
    r"thanks(?: (?:and|&) regards| (?:a lot|again|in advance))?",
    r"thank you(?: (?:very much|in advance))?",
    r"best(?: wishes)?",
    r"cheers",
    r"sincerely(?: yours)?",
    r"yours(?: sincerely| truly| faithfully)",
    r"salam(?: hangat| sejahtera| hormat)?",
    r"hormat (?:saya|kami)",
    r"terima ?kasih(?: banyak| atas bantuannya| sebelumnya)?",
    r"trims",
    r"wassalam",
    r"regards",
)
_SENT_FROM = (
    r"Sent from|Get Outlook for|Dikirim dari|Dapatkan Outlook untuk|Diketik dari|"
    r"Sent with|Sent via|Dikirim melalui"
)
MAIL_LANGUAGES[_LANGUAGE] = {
    "wrote_header": (
        r"^(?!On[.\s]*On\s(.+?\s?.+?)\swrote:)("
        + QUOTED_MATCH_INCLUDE
        + r"(?:On|Pada|Tanggal)\s(?:.+?\s?.+?)\s?(?:wrote|menulis|mengirim|escribió):)$"
    ),
    "from_header": (
        r"((?:(?:^|\n|\n"
        + QUOTED_MATCH_INCLUDE
        + r")[* ]*(?:From|Sent|To|Subject|Date|Cc|Dari|Dikirim|Kepada|Untuk|Subjek|Perihal|"
        r"Tanggal|Terkirim|Tembusan):[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})"
    ),
    "signatures": [rf"(?:{c})[ \t]*[,.!]?[ \t]*$" for c in _CLOSINGS],
    "sent_from": _SENT_FROM,
}

_FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|balas)\s*:\s*)*(?:fwd?|fw|tr|wg|terusan)\s*:", re.I)
_FORWARD_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}|_{2,})?\s*(?:Forwarded message|Forwarded Message|Pesan yang diteruskan|"
    r"Pesan terusan|Original Message|Pesan Asli)\s*(?:-{2,}|_{2,})?\s*$|"
    r"^[ \t>]*(?:Begin forwarded message|Awal pesan yang diteruskan|Pesan diteruskan):\s*$",
    re.I | re.M,
)
_DISCLAIMER = re.compile(
    r"^\W*(?:disclaimer|confidentiality|confidential|caution|privileged|important notice|"
    r"this (?:e-?mail|message|communication)(?: and any| is| may| contains| including)|"
    r"the information (?:contained )?in this (?:e-?mail|message)|"
    r"penafian|perhatian|pemberitahuan|informasi (?:dalam|yang terdapat dalam) (?:e-?mail|surel)|"
    r"(?:e-?mail|surel|pesan) ini (?:dan|bersifat|beserta|hanya|berisi|mungkin))",
    re.I,
)
# A disclaimer speaks of the message itself; "Perhatian: printer lantai 2 rusak" is a ticket.
_ABOUT_MAIL = re.compile(r"e-?mail|surel|message|pesan|communication|transmission", re.I)
# Microsoft 365 and gateways put a warning above the text of mail from outside.
_EXTERNAL_BANNER = re.compile(
    r"^\W*(?:caution|warning|external|perhatian|peringatan)\b[^\n]{0,80}"
    r"(?:outside|external|luar organisasi|luar perusahaan|di luar)",
    re.I,
)
_MOBILE = re.compile(rf"^\s*(?:{_SENT_FROM})\b.{{0,60}}$", re.I | re.M)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.M)
_SEPARATOR_LINE = re.compile(r"^[ \t]*(?:[-_=*]{3,}|--)[ \t]*$\n?", re.M)
_BLANKS = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _replies(text: str) -> list[tuple[str, str]]:
    """(body, headers) of each reply in ``text``, newest first: signature cut from the body."""
    message = EmailMessage(
        text=text, languages=[_LANGUAGE], include_english=False, keep_hyphen_lists=True
    ).read()
    replies = []
    for reply in message.replies:
        # Not ``reply.body``: it takes the disclaimers out first, and then no longer finds
        # a signature that ran on into a disclaimer, so it leaves both in.
        body = reply.content.replace(reply.signatures, "") if reply.signatures else reply.content
        headers = reply.headers or ""
        replies.append((body.replace(headers, "").strip() if headers else body.strip(), headers))
    return replies


def _cut_disclaimers(text: str) -> str:
    paragraphs = re.split(r"\n[ \t]*\n", text)
    if paragraphs and _EXTERNAL_BANNER.match(paragraphs[0].strip()):
        paragraphs = paragraphs[1:]
    for index, paragraph in enumerate(paragraphs):
        found = paragraph.strip()
        if index and _DISCLAIMER.match(found) and _ABOUT_MAIL.search(found):
            return "\n\n".join(paragraphs[:index])
    return "\n\n".join(paragraphs)


def _tidy(text: str) -> str:
    text = _INVISIBLE.sub("", text.replace("\u00a0", " "))
    text = _QUOTED_LINE.sub("", text)
    text = _MOBILE.sub("", text)
    text = _cut_disclaimers(text)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and _SEPARATOR_LINE.fullmatch(lines[-1] + "\n"):
        lines.pop()
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _cut_signed_name(text: str, names: tuple[str, ...]) -> str:
    """Cut a signature with no closing words: one of the last paragraphs that opens with the
    sender's name (full or first) on a line of its own."""
    wanted = {n.casefold() for n in names if n}
    if not wanted:
        return text
    paragraphs = re.split(r"\n[ \t]*\n", text)
    for index in range(max(1, len(paragraphs) - 3), len(paragraphs)):
        first = paragraphs[index].strip().split("\n")[0].strip(" ,.-–—").casefold()
        if first in wanted:
            return "\n\n".join(paragraphs[:index])
    return text


def sender_names(sender: str) -> tuple[str, ...]:
    """The display name of a From header, whole and its first word ("" if it has none)."""
    name = re.sub(r"\s*<[^>]*>\s*$", "", sender).strip().strip('"').strip()
    if not name or "@" in name:
        return ()
    return (name, name.split()[0])


def own_words(text: str, names: tuple[str, ...] = ()) -> str:
    """The newest reply of ``text``: no quoted history, signature, disclaimer or footer
    (``names``: the sender's, to find a signature that has no closing words)."""
    replies = _replies(text)
    return _cut_signed_name(_tidy(replies[0][0]), names).strip() if replies else ""


def _forwarded(text: str, subject: str) -> tuple[str, str] | None:
    """(the forwarder's note, the forwarded part) of a forward, None if ``text`` is not one."""
    marker = _FORWARD_MARKER.search(text)
    # "-----Original Message-----" also opens the history of an Outlook reply.
    word = marker.group(0).lower() if marker is not None else ""
    if ("original" in word or "asli" in word) and not _FORWARD_SUBJECT.match(subject):
        return None
    if marker is not None:
        return text[: marker.start()], text[marker.end() :]
    if not _FORWARD_SUBJECT.match(subject):
        return None
    replies = _replies(text)
    if len(replies) < 2:
        return None
    head = text.find(replies[1][1]) if replies[1][1] else -1
    return (text[:head], text[head:]) if head >= 0 else None


def _strip_header_block(text: str) -> str:
    """The forwarded part without the From:/Date:/Subject:/To: lines that open it."""
    lines = text.lstrip("\n").split("\n")
    header = re.compile(
        r"^[ \t>*]*(?:From|Sent|Date|Subject|To|Cc|Reply-To|Dari|Dikirim|Tanggal|Subjek|"
        r"Perihal|Kepada|Untuk|Tembusan|Terkirim)[ *]*:.*$",
        re.I,
    )
    index = 0
    while index < len(lines) and (header.match(lines[index]) or not lines[index].strip()):
        index += 1
    return "\n".join(lines[index:])


def clean_body(text: str, subject: str = "", sender: str = "") -> str:
    """The words of a message worth triaging: its own, and a forwarded message's."""
    names = sender_names(sender)
    forward = _forwarded(text, subject)
    if forward is None:
        return own_words(text, names)
    note, forwarded = forward
    parts = [
        own_words(note, names) if note.strip() else "",
        own_words(_strip_header_block(forwarded)),
    ]
    return "\n\n".join(p for p in parts if p)
