"""Personal data out of ticket text that triage keeps: e-mail addresses, phone numbers,
Indonesian identity and tax numbers, bank account numbers and the names in signatures become
``[email]``, ``[phone]``, ``[nik]``, ``[npwp]``, ``[account]`` and ``[name]``.

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
NIK = "[nik]"
NPWP = "[npwp]"
ACCOUNT = "[account]"

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

# NIK (Nomor Induk Kependudukan): 16 digits, region (6), birth date DDMMYY (a woman's day + 40),
# serial (4). Bare: only when the date part is a date; after "NIK"/"KTP": any 16 digits.
_NIK = re.compile(r"(?<![\w.+/-])\d{6}(?P<day>\d{2})(?P<month>\d{2})\d{6}(?![\w]|[.,/-]\d)")
_NIK_LABELLED = re.compile(
    r"(?i)(?<![\w-])(?P<label>(?:nik|no\.? ?ktp|ktp|nomor ktp)\.?\s?:?\s?)(?P<number>\d{16})(?!\d)"
)
# NPWP: 15 digits written 12.345.678.9-012.345, or 15/16 digits after "NPWP".
_NPWP = re.compile(r"(?<![\w.])\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}(?![\w]|[.-]\d)")
_NPWP_LABELLED = re.compile(
    r"(?i)(?<![\w-])(?P<label>npwp\.?\s?:?\s?)(?P<number>\d[\d.-]{13,20}\d)(?![\w])"
)
# A bank account number only after a label that says bank ("rekening", "no. rek", "bank
# account", "a/c"): bare, it cannot be told from an order, asset or ticket number, and a plain
# "account 81469651" in real tickets is an ERP ledger or customer account (benchmarks/redaction.py).
_ACCOUNT = re.compile(
    r"(?i)(?<![\w-])(?P<label>(?:no\.?\s?|nomor\s)?(?:rekening|rek|norek)|"
    r"(?:bank\s(?:account|acct|acc)|a/c)(?:\s?(?:no|number|nr|#)\.?)?)"
    r"(?P<sep>\.?\s?:?\s?(?:(?:bca|bni|bri|mandiri|bsi|cimb|btn|permata)\s)?)"
    r"(?P<number>\d[\d .-]{6,22}\d)(?![\w]|[.,/-]\d)"
)


def _nik(match: re.Match[str]) -> str:
    day, month = int(match.group("day")), int(match.group("month"))
    return NIK if (1 <= day <= 31 or 41 <= day <= 71) and 1 <= month <= 12 else match.group(0)


def _account(match: re.Match[str]) -> str:
    if not 8 <= _digits(match.group("number")) <= 18:
        return match.group(0)
    return match.group("label") + match.group("sep") + ACCOUNT


def _identity_numbers(text: str) -> str:
    text = _NPWP_LABELLED.sub(
        lambda m: m.group("label") + NPWP if 15 <= _digits(m.group("number")) <= 16 else m.group(0),
        text,
    )
    text = _NPWP.sub(NPWP, text)
    text = _NIK_LABELLED.sub(lambda m: m.group("label") + NIK, text)
    text = _NIK.sub(_nik, text)
    return _ACCOUNT.sub(_account, text)


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
_CLOSINGS = (
    "regards",
    "rgds",
    "regard",
    "thanks",
    "thank you",
    "thanks a lot",
    "thank you very much",
    "many thanks",
    "cheers",
    "sincerely",
    "yours sincerely",
    "yours truly",
    "best wishes",
    "best",
    "salam",
    "salam hangat",
    "wassalam",
    "hormat saya",
    "hormat kami",
    "terima kasih",
    "terima kasih banyak",
    "terimakasih",
    "makasih",
    "trims",
    "tks",
    "thx",
)
# Closing lines after which the next line is a signature's name. Longest phrase first: the
# alternation takes the first that matches, and "Salam" must not stop "Salam hangat," short.
_CLOSING = re.compile(
    r"(?i)^\s*(?:[-–—]+\s*)?(?:(?:best|kind|warm|many|with)\s+)?(?:"
    + "|".join(sorted(_CLOSINGS, key=len, reverse=True)).replace(" ", r"\s+")
    + r")\b\s*[,.!:;-]*\s*"
)
_UPPER = "A-ZÀ-ÖØ-Þ"
_NAME_WORD = rf"(?:[{_UPPER}][\w'’.-]*|bin|binti|van|von|de|der|da|al)"
# Degrees after a name: ", M.T.", ", S.Kom.", ", Ph.D." (Indonesian and English).
_DEGREES = r"(?:\s*,\s*[A-Z][A-Za-z]{0,4}\.?(?:\s?[A-Za-z]{1,4}\.?){0,2})"
_NAME_LINE = re.compile(
    rf"^[-–—~]*\s*{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,5}}{_DEGREES}{{0,3}}\s*[,.]?\s*$"
)
# Lines: plain newlines and the HTML breaks of a ticket body that is still HTML.
_LINE_BREAK = re.compile(r"(\r\n|\r|\n|<br\s*/?>|</?(?:p|div)(?:\s[^<>]*)?>)", re.IGNORECASE)


def _is_name(line: str) -> bool:
    return len(line) <= 80 and bool(_NAME_LINE.match(line))  # short first: no long backtrack


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
    """``text`` with e-mail addresses, identity, tax and account numbers, phone numbers and
    signature names replaced by their placeholders; everything else is left as it was."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _identity_numbers(text)
    text = _phones(text)
    return _signature_names(text)
