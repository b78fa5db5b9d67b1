"""Tickets from an uploaded file (CSV or JSON lines), read without pandas: the serving path
stays light, and a 10 MB upload is parsed as it is read."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from triage.core import safe_text
from triage.core.errors import DataValidationError
from triage.core.text_files import decode_text

TICKET_FIELDS = ("id", "subject", "body")
FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class Upload:
    """The tickets of an uploaded file, and the encoding its bytes were read in."""

    tickets: list[dict[str, Any]]
    encoding: str
    detected: bool  # the encoding was guessed: the file was not UTF-8 and named none


def tickets_from_bytes(content: bytes, fmt: str) -> list[dict[str, Any]]:
    """Tickets from an uploaded CSV or JSON-lines file (see :func:`read_upload`)."""
    return read_upload(content, fmt).tickets


def read_upload(content: bytes, fmt: str, charset: str | None = None) -> Upload:
    """Tickets from an uploaded CSV or JSON-lines file: id, subject, body; other columns ignored.

    Read in ``charset`` when given, else UTF-8, else the encoding detected. A row without
    text is kept (it fails on its own when classified); a file without a ``subject`` or
    ``body`` column, or that cannot be parsed, is refused whole.
    """
    if fmt not in FORMATS:
        raise DataValidationError(f"unsupported upload format {fmt!r}; use csv or jsonl")
    decoded = decode_text(content, charset, source=f"the {fmt} upload")
    try:
        rows = list(_csv_rows(decoded.text) if fmt == "csv" else _json_rows(decoded.text))
    except (ValueError, csv.Error) as exc:
        raise DataValidationError(f"the {fmt} upload cannot be parsed: {exc}") from exc
    if not rows:
        raise DataValidationError(f"the {fmt} upload contains no tickets")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if "subject" not in columns and "body" not in columns:
        raise DataValidationError(
            f"the {fmt} upload needs a 'subject' or 'body' column; it has {', '.join(columns)}"
        )
    tickets = [{name: _value(row.get(name)) for name in TICKET_FIELDS} for row in rows]
    return Upload(tickets, decoded.encoding, decoded.detected)


def _value(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _csv_rows(text: str) -> Iterator[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise ValueError("no columns to parse from the file")
    names = [name.strip().lower() for name in header]
    for number, fields in enumerate(reader, start=2):
        if not fields:
            continue  # a blank line
        if len(fields) > len(names):
            raise ValueError(f"expected {len(names)} fields in line {number}, saw {len(fields)}")
        yield dict(zip(names, map(safe_text.clean_string, fields), strict=False))


def _json_rows(text: str) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = safe_text.loads(line)
        if not isinstance(row, dict):
            raise ValueError(f"line {number} is not a JSON object")
        yield {str(key).strip().lower(): value for key, value in row.items()}
