"""The one preprocessing function that turns ticket fields into model text.

Training and serving both call :func:`ticket_text`, so the two can never drift apart.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,500}|!--.*?--)>", re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\s*/?\s*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# A decimal character reference of 8 or more digits: Python's int() refuses over 4,300 digits
# (html.unescape then raises), and none above 7 significant digits names a character.
_LONG_DECIMAL_REFERENCE = re.compile(r"&#([0-9]{8,});?")


def _short_reference(match: re.Match[str]) -> str:
    digits = match.group(1).lstrip("0") or "0"
    return "\ufffd" if len(digits) > 7 else f"&#{digits};"


def unescape_html(text: str) -> str:
    """``html.unescape``, safe for references too long to be characters (U+FFFD for them)."""
    return html.unescape(_LONG_DECIMAL_REFERENCE.sub(_short_reference, text))


def normalise_field(value: object) -> str:
    """One field as clean plain text: HTML stripped, Unicode NFC, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from pandas
        return ""
    text = str(value)
    if "<" in text and ">" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    text = unescape_html(text)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _without_control_characters(text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def _without_control_characters(text: str) -> str:
    """``text`` without its Unicode C* characters (control, format, surrogate, private use,
    unassigned) other than newline and tab."""
    # isprintable() is False for every C* character (and for Z* separators other than the
    # space, which only send such text the long way): most tickets have none to drop.
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def ticket_text(fields: Iterable[object]) -> str:
    """Model text of a ticket: its non-empty fields (e.g. subject, body), one per line."""
    return "\n".join(part for part in (normalise_field(f) for f in fields) if part)


def subject_text(subject: object, body: object) -> str | None:
    """Model text of a ticket's subject on its own, when it has a body as well; ``None`` when
    the ticket's text is its subject alone, or it has no subject."""
    head, rest = normalise_field(subject), normalise_field(body)
    return head if head and rest else None
