"""Ticket records to and from database rows: the columns written, the row read back, the
digest that tells whether a ticket's text changed, and pgvector's text form of a vector."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from triage.store.records import Status, StoredTicket, TicketRecord, Visibility
from triage.store.schema import tickets


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def vector_literal(vector: npt.ArrayLike) -> str:
    """A vector as pgvector's text form, '[0.1,0.2,...]'."""
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def stored_ticket(row: sa.RowMapping) -> StoredTicket:
    return StoredTicket(
        row_id=int(row["row_id"]),
        record=TicketRecord(
            ticket_id=row["ticket_id"],
            subject=row["subject"],
            body=row["body"],
            resolution=row["resolution"],
            category=row["category"],
            tier=row["tier"],
            resolved_at=row["resolved_at"],
            tenant=row["tenant"],
            visibility=Visibility(row["visibility"]),
            status=Status(row["status"]),
            language=row["language"],
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


RECORD_COLUMNS = [
    c for c in tickets.c if c.name not in ("embedding", "subject_embedding", "text_sha256")
]
# Rows by id: one bound list, expanded when executed (a list of literals would be coerced
# value by value each time the statement is built: ~1 ms for 200 ids).
ROW_IDS = tickets.c.row_id.in_(sa.bindparam("row_ids", expanding=True))
KEYS = sa.tuple_(tickets.c.tenant, tickets.c.ticket_id).in_(sa.bindparam("keys", expanding=True))
UPSERT_COLUMNS = [
    "tenant",
    "ticket_id",
    "status",
    "visibility",
    "subject",
    "body",
    "resolution",
    "category",
    "tier",
    "language",
    "resolved_at",
    "text_sha256",
    "created_at",
    "updated_at",
]


def row_values(record: TicketRecord, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "tenant": record.tenant,
        "ticket_id": record.ticket_id,
        "status": record.status.value,
        "visibility": record.visibility.value,
        "subject": record.subject,
        "body": record.body,
        "resolution": record.resolution,
        "category": record.category,
        "tier": record.tier,
        "language": record.language,
        "resolved_at": record.resolved_at,
        "text_sha256": digest,
        "created_at": now,
        "updated_at": now,
    }
