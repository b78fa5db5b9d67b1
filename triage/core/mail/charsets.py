"""Mail text as Unicode, whatever charset a part declares (or fails to declare).

Mail often lies about its charset: Outlook labels Windows-1252 text ISO-8859-1, old clients
send 8-bit text with no charset at all, and a relay may cut a UTF-8 sequence in two. Like
browsers (the WHATWG Encoding Standard), ISO-8859-1 and US-ASCII are read as Windows-1252,
its superset; text that is valid UTF-8 is read as UTF-8 whatever the label; and a byte that
is not UTF-8 inside UTF-8 text is read as Windows-1252 rather than lost.
"""

from __future__ import annotations

import codecs

_FALLBACK = "triage-cp1252-fallback"
_LATIN = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "cp1252"}
_LATIN |= {"windows-1252", "iso-8859-15", "iso8859-15", "l1", "cp819", "ansi_x3.4-1968"}
_UTF8 = {"utf-8", "utf8", "utf_8", "unicode-1-1-utf-8", "x-unknown", "unknown-8bit"}


def _cp1252_for_bad_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", errors="replace"), error.end


codecs.register_error(_FALLBACK, _cp1252_for_bad_bytes)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_text(data: bytes, declared: str | None) -> str:
    """``data`` as text: its declared charset when that reads it, else the likely one."""
    name = (declared or "").strip().strip('"').lower()
    if not name or name in _UTF8:
        return data.decode("utf-8", errors=_FALLBACK)
    if name in _LATIN:
        # Valid multi-byte UTF-8 is almost never Windows-1252 text by chance.
        if not data.isascii() and _is_utf8(data):
            return data.decode("utf-8")
        return data.decode("cp1252", errors="replace")
    try:
        return data.decode(name)
    except (LookupError, UnicodeDecodeError):
        return data.decode("utf-8", errors=_FALLBACK)


def header_text(value: str) -> str:
    """A decoded header whose raw 8-bit bytes (undeclared) arrived as surrogate escapes."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_text(value.encode("utf-8", errors="surrogateescape"), None)
