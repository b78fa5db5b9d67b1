"""Rows of a helpdesk export turned into ticket events (``triage events import``).

Two shapes of file: one row per event (it has a ``kind`` column: created, resolved, ...),
or one row per ticket (``created_at``, and ``resolved_at`` once solved), which becomes a
created event and, for a solved ticket, a resolved one. Columns are renamed first, as
``triage train`` does (``--column FIELD=COLUMN``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from triage.core.errors import InvalidEventError
from triage.core.ticket_events import DIMENSIONS, EventKind, TicketEvent
from triage.service.events import at_utc, event_id

FIELDS = (
    "id",
    "ticket_id",
    "kind",
    "at",
    "tenant",
    "created_at",
    "resolved_at",
    *DIMENSIONS,
    "source",
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _time(value: Any, field: str, line: int) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return at_utc(datetime.fromisoformat(text.replace(" ", "T", 1)))
    except ValueError:
        raise InvalidEventError(
            f"row {line}: {field} {text!r} is not an ISO 8601 time",
            details={"row": line, "field": field, "value": text},
        ) from None


def rename(row: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """``row`` with each field read from the column ``columns`` names for it (else itself)."""
    return {name: row.get(columns.get(name, name)) for name in FIELDS}


def events_from_rows(
    rows: Iterable[Mapping[str, Any]], columns: Mapping[str, str] | None = None
) -> Iterator[TicketEvent]:
    """The events of an export's rows (numbered from 1; a bad row raises, naming it)."""
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise InvalidEventError(
            f"unknown field(s) {', '.join(unknown)}; the fields: {', '.join(FIELDS)}",
            details={"unknown": unknown},
        )
    for line, raw in enumerate(rows, start=1):
        row = rename(raw, columns)
        ticket_id = _text(row["ticket_id"]) or (None if _text(row["kind"]) else _text(row["id"]))
        if ticket_id is None:
            raise InvalidEventError(f"row {line}: no ticket_id", details={"row": line})
        if _text(row["kind"]):
            yield _event_row(row, ticket_id, line)
        else:
            yield from _ticket_row(row, ticket_id, line)


def _dims(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _text(row[name]) for name in DIMENSIONS}


def _event_row(row: Mapping[str, Any], ticket_id: str, line: int) -> TicketEvent:
    kind_text = str(_text(row["kind"])).lower()
    try:
        kind = EventKind(kind_text)
    except ValueError:
        raise InvalidEventError(
            f"row {line}: unknown kind {kind_text!r}",
            details={"row": line, "allowed": [k.value for k in EventKind]},
        ) from None
    at = _time(row["at"], "at", line)
    if at is None:
        raise InvalidEventError(f"row {line}: no time (at)", details={"row": line})
    tenant = _text(row["tenant"]) or ""
    return TicketEvent(
        id=_text(row["id"]) or event_id("import", tenant, ticket_id, kind, at.isoformat()),
        kind=kind,
        ticket_id=ticket_id,
        at=at,
        tenant=tenant,
        source=_text(row["source"]) or "import",
        **_dims(row),
    )


def _ticket_row(row: Mapping[str, Any], ticket_id: str, line: int) -> Iterator[TicketEvent]:
    created = _time(row["created_at"], "created_at", line)
    resolved = _time(row["resolved_at"], "resolved_at", line)
    if created is None and resolved is None:
        raise InvalidEventError(
            f"row {line}: neither created_at nor resolved_at (nor a kind and at)",
            details={"row": line},
        )
    tenant = _text(row["tenant"]) or ""
    source = _text(row["source"]) or "import"
    if created is not None:
        yield TicketEvent(
            id=event_id("import", tenant, ticket_id, "created"),
            kind=EventKind.CREATED,
            ticket_id=ticket_id,
            at=created,
            tenant=tenant,
            source=source,
            **_dims(row),
        )
    if resolved is not None:
        yield TicketEvent(
            id=event_id("import", tenant, ticket_id, "resolved"),
            kind=EventKind.RESOLVED,
            ticket_id=ticket_id,
            at=resolved,
            tenant=tenant,
            source=source,
            **({} if created is not None else _dims(row)),
        )
