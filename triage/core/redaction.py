"""Personal data out of ticket text that triage keeps: e-mail addresses, phone numbers and
the names in signatures become ``[email]``, ``[phone]`` and ``[name]``.

With ``TRIAGE_REDACT_PII`` on, :func:`redact_pii` is applied before ticket text is stored for
similar-ticket search, kept in the staff page's queue, or logged. It never changes what the
classifier sees: classification runs on the original text.

The rules favour ordinary ticket text over recall: IP addresses, version numbers, dates, times,
error codes and ticket ids are left alone, so a phone number written without separators is
caught only in the shapes phones take (``+62…``, ``08…``, ``62 8…``) or after a label such as
"Tel:" or "HP:".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import overload

EMAIL = "[email]"
PHONE = "[phone]"
NAME = "[name]"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# A number must not be glued to a word, a path, an address or another number.
_BEFORE = r"(?<![\w+#/.:@-])"
_AFTER = r"(?![\w@]|[.,:/-]\w)"
_SEP = r"[ \u00a0.-]"  # one separator between digit groups

# One run of digits and separators, checked afterwards: nested repeats here would backtrack
# for seconds on a long run of digits (a request could hold many).
_INTERNATIONAL = re.compile(_BEFORE + r"\+\d{1,3}[\d \u00a0().-]{5,24}\d" + _AFTER)
# Indonesian mobiles written with the country code but no plus: 62 812 3456 7890.
_INDONESIAN = re.compile(
    _BEFORE + r"62" + _SEP + r"?8\d{1,3}(?:" + _SEP + r"?\d{2,5}){1,3}" + _AFTER
)
# A trunk 0 and an area or mobile prefix: 0812-3456-7890, (021) 555 1234, 030 1234567.
_NATIONAL = re.compile(
    _BEFORE + r"(?:\(0[1-9]\d{0,3}\)|0[1-9]\d{0,3})(?:" + _SEP + r"?\d{2,8}){1,4}" + _AFTER
)
_NORTH_AMERICAN = re.compile(
    _BEFORE + r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}" + _AFTER
)
# A label with a colon, or before a number starting with + or 0: "Tel: 5551234", "HP 0812…".
# ("HP 1020" is a printer, so a bare label needs the number to look like a phone's.)
_LABELLED = re.compile(
    r"(?i)(?<![\w-])(?P<label>(?:tel|telp|telepon|phone|mobile|cell|hp|no\.? ?hp|wa|"
    r"whatsapp|fax)\.?(?P<colon>\s?:)?\s?)"
    r"(?P<number>\+?\(?\d[\d \u00a0().-]{5,22}\d)" + _AFTER
)

_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")
_MAC = re.compile(r"^\d{2}([-:])\d{2}(?:\1\d{2}){4}$")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _not_a_phone(number: str, low: int, high: int) -> bool:
    return not low <= _digits(number) <= high or bool(_DATE.search(number) or _MAC.match(number))


def _phone_between(low: int, high: int) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return match.group(0) if _not_a_phone(match.group(0), low, high) else PHONE

    return replace


def _labelled(match: re.Match[str]) -> str:
    number = match.group("number")
    if _not_a_phone(number, 7, 15):
        return match.group(0)
    if match.group("colon") is None and number.lstrip("(")[:1] not in ("+", "0"):
        return match.group(0)
    return match.group("label") + PHONE


def _national(match: re.Match[str]) -> str:
    number = match.group(0)
    if _not_a_phone(number, 9, 13):
        return number
    # Without separators or brackets only mobiles (08…) are common enough to be sure.
    if number.isdigit() and not number.startswith("08"):
        return number
    return PHONE


def _phones(text: str) -> str:
    text = _LABELLED.sub(_labelled, text)
    text = _INTERNATIONAL.sub(_phone_between(8, 15), text)
    text = _INDONESIAN.sub(_phone_between(10, 14), text)
    text = _NATIONAL.sub(_national, text)
    return _NORTH_AMERICAN.sub(_phone_between(10, 11), text)


# Closing lines after which the next line is a signature's name.
_CLOSING = re.compile(
    r"(?i)^\s*(?:[-–—]+\s*)?(?:(?:best|kind|warm|many|with)\s+)?(?:regards|rgds|regard|thanks|"
    r"thank you|thanks a lot|cheers|sincerely|yours sincerely|yours truly|best wishes|best|"
    r"salam|salam hangat|wassalam|hormat saya|hormat kami|terima kasih|terimakasih|makasih|"
    r"trims|tks|thx)\b\s*[,.!:;-]*\s*"
)
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"(?:[{_UPPER}][\w'’.-]*|bin|binti|van|von|de|der|da|al)"
_NAME_LINE = re.compile(rf"^[-–—~]*\s*{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}\s*[,.]?\s*$")
# Lines: plain newlines and the HTML breaks of a ticket body that is still HTML.
_LINE_BREAK = re.compile(r"(\r\n|\r|\n|<br\s*/?>|</?(?:p|div)(?:\s[^<>]*)?>)", re.IGNORECASE)


def _is_name(line: str) -> bool:
    return len(line) <= 60 and bool(_NAME_LINE.match(line))  # short first: no long backtrack


def _signature_names(text: str) -> str:
    parts = _LINE_BREAK.split(text)
    lines = parts[0::2]  # the odd parts are the line breaks themselves
    after_closing = False
    for index, line in enumerate(lines):
        if after_closing:
            if not line.strip():
                continue  # blank lines between the closing and the name
            if _is_name(line):
                lines[index] = _name_placeholder(line)
            after_closing = False
            continue
        closing = _CLOSING.match(line)
        if closing is None:
            continue
        rest = line[closing.end() :]
        if not rest.strip():
            after_closing = True
        elif _is_name(rest) and closing.group(0).rstrip()[-1:] in ",-–—":
            lines[index] = line[: closing.end()] + _name_placeholder(rest)
    parts[0::2] = lines
    return "".join(parts)


def _name_placeholder(line: str) -> str:
    stripped = line.strip()
    start = line.index(stripped)
    return line[:start] + NAME + line[start + len(stripped) :]


@overload
def redact_pii(text: str) -> str: ...
@overload
def redact_pii(text: None) -> None: ...
def redact_pii(text: str | None) -> str | None:
    """``text`` with e-mail addresses, phone numbers and signature names replaced by
    ``[email]``, ``[phone]`` and ``[name]``; everything else is left as it was."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _phones(text)
    return _signature_names(text)
