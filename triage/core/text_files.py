"""Bytes of a ticket file as text: UTF-8 when it is, else the encoding named or detected.

Helpdesk exports from Windows are often Windows-1252; a file that is not UTF-8 is read in
the encoding the caller names (``--encoding``, a ``charset`` parameter) or, when none is
named, the one charset-normalizer detects, and the caller says which one was used.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from triage.core.errors import DataValidationError

UTF8 = "utf-8"
# Short Western texts decode alike in several single-byte code pages, and the detector may
# pick Central European cp1250 for French or German; Windows-1252 wins a tie.
_WESTERN = "cp1252"


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # the codec's canonical name: "utf-8", "cp1252", ...
    detected: bool  # True when it was guessed, not UTF-8 nor named by the caller


def decode_text(
    content: bytes, encoding: str | None = None, *, source: str = "the file"
) -> DecodedText:
    """``content`` decoded: in ``encoding`` when given, else UTF-8 (a BOM is dropped), else
    the detected encoding. DataValidationError says what failed and what to send instead."""
    if encoding is not None:
        return DecodedText(
            _decode_as(content, encoding, source), _codec_name(encoding, source), False
        )
    try:
        return DecodedText(content.decode("utf-8-sig"), UTF8, False)
    except UnicodeDecodeError as exc:
        not_utf8 = exc
    detected = _detect(content)
    if detected is None:
        raise DataValidationError(
            f"{source} is not UTF-8 ({_where(not_utf8)}) and its encoding could not be "
            "detected; save it as UTF-8, or name its encoding (e.g. cp1252)"
        )
    return DecodedText(
        content.decode(detected, errors="replace"), _codec_name(detected, source), True
    )


def _detect(content: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    western = from_bytes(content, cp_isolation=[_WESTERN]).best()
    if western is not None and (best is None or western.chaos <= best.chaos):
        return _WESTERN
    return None if best is None else str(best.encoding)


def _decode_as(content: bytes, encoding: str, source: str) -> str:
    name = _codec_name(encoding, source)
    try:
        return content.decode("utf-8-sig" if name == UTF8 else name)
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            f"{source} is not valid {encoding} ({_where(exc)}); name the encoding it was saved "
            "in, or leave it out to have it detected"
        ) from exc


def _codec_name(encoding: str, source: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise DataValidationError(
            f"unknown encoding {encoding!r} for {source}; use a name such as utf-8, cp1252 "
            "(Windows-1252), latin-1 or cp1251"
        ) from exc


def _where(exc: UnicodeDecodeError) -> str:
    return f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
