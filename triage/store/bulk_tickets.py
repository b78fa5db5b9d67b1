"""Bulk loading of embedded tickets: a chunk at a time, each chunk one transaction.

On PostgreSQL with pgvector a chunk goes through ``COPY`` (binary format: the vectors as
float4 arrays, never formatted as text; ~0.4 ms a 512-dim vector in Python) into a temporary
table, then one ``INSERT … SELECT … ON CONFLICT`` moves it into ``tickets`` and logs it in
``ticket_changes``: no statement per row, which is what makes millions of rows loadable
(benchmarks/scale_throughput.py measures the rate). Anywhere else (SQLite, PostgreSQL
without the extension) a chunk is written by :meth:`TicketStore.upsert`, as ``triage index
build`` always did. Either way the rows are those ``TicketStore.upsert`` writes: the same
columns, the same float32 vectors (exactly; the text form the one-process path sends rounds
to 7 digits, < 1e-7), a ticket without a subject vector searched by its
own, so a bulk-loaded store holds what the one-process path stores.

A chunk committed stays committed: a run that is killed and started again finds those
tickets by (tenant, ticket id) and text digest (:meth:`TicketStore.digests`) and does not
embed them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from pgvector.psycopg import register_vector

from triage.store.records import TicketRecord
from triage.store.schema import utcnow
from triage.store.ticket_rows import UPSERT_COLUMNS, row_values
from triage.store.tickets import TicketStore

FloatArray = npt.NDArray[np.float32]

_VECTOR_COLUMNS = ("vec", "subject_vec")
_COPY_COLUMNS = (*UPSERT_COLUMNS, *_VECTOR_COLUMNS)
_KEEP_ON_UPDATE = ("created_at", "tenant", "ticket_id")


@dataclass(frozen=True)
class EmbeddedChunk:
    """Records as stored (their language set), their text digests, their vectors and, by
    position, the subject's own vector where it has one (None: searched by its vector)."""

    records: Sequence[TicketRecord]
    digests: Sequence[str]
    vectors: FloatArray
    subject_vectors: Sequence[FloatArray | None]


class BulkTicketLoader:
    """Writes embedded chunks into the ticket store: by ``COPY`` where the store is pgvector."""

    def __init__(self, store: TicketStore) -> None:
        self.store = store

    @property
    def method(self) -> str:
        """How chunks are written: ``copy`` (PostgreSQL + pgvector) or ``upsert``."""
        return "copy" if self.store.pgvector and self.store.database.is_postgres else "upsert"

    def load(self, chunk: EmbeddedChunk) -> int:
        """Store one chunk in one transaction; returns how many tickets it wrote (a ticket
        given twice in a chunk is written once, as its last)."""
        if not chunk.records:
            return 0
        if self.method == "upsert":
            vectors = {i: chunk.vectors[i] for i in range(len(chunk.records))}
            subjects = {i: v for i, v in enumerate(chunk.subject_vectors) if v is not None}
            return len(set(self.store.upsert(chunk.records, chunk.digests, vectors, subjects)))
        return self._copy(chunk)

    def _copy(self, chunk: EmbeddedChunk) -> int:
        now = utcnow()
        latest: dict[tuple[str, str], tuple[Any, ...]] = {}
        for position, (record, digest) in enumerate(zip(chunk.records, chunk.digests, strict=True)):
            values = row_values(record, digest, now)
            vector = chunk.vectors[position]
            subject = chunk.subject_vectors[position]
            row = (
                *[_copy_value(values[c]) for c in UPSERT_COLUMNS],
                _float4(vector),
                _float4(vector if subject is None else subject),
            )
            latest.pop((record.tenant, record.ticket_id), None)
            latest[(record.tenant, record.ticket_id)] = row
        with self.store.database.begin() as connection:
            connection.execute(_STAGING)
            raw = connection.connection.driver_connection
            assert raw is not None
            register_vector(raw)  # pgvector's binary dumper for NumPy arrays
            with raw.cursor() as cursor:  # psycopg 3: COPY on the transaction's connection
                copy_sql = (
                    f"COPY ticket_load ({', '.join(_COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
                )
                with cursor.copy(copy_sql) as copy:
                    copy.set_types(_COPY_TYPES)
                    for row in latest.values():
                        copy.write_row(row)
            connection.execute(_MOVE, {"now": now})
        return len(latest)


def _float4(vector: FloatArray) -> FloatArray:
    return np.ascontiguousarray(vector, dtype=np.float32)


def _copy_value(value: Any) -> Any:
    """A row value as COPY takes it: aware datetimes in UTC (what ``UtcDateTime`` binds)."""
    if hasattr(value, "astimezone") and getattr(value, "tzinfo", None) is not None:
        return value.astimezone(UTC)
    return value


_TIMES = ("resolved_at", "created_at", "updated_at")
_TEXTS = ("subject", "body", "resolution")
_COPY_TYPES = [
    "timestamptz" if c in _TIMES else "text" if c in _TEXTS else "varchar" for c in UPSERT_COLUMNS
] + ["vector", "vector"]

_STAGING = sa.text(
    "CREATE TEMP TABLE IF NOT EXISTS ticket_load ON COMMIT DELETE ROWS AS "
    f"SELECT {', '.join(_COPY_COLUMNS)} FROM tickets WITH NO DATA"
)
_MOVE = sa.text(
    f"WITH moved AS (INSERT INTO tickets ({', '.join(_COPY_COLUMNS)}) "
    f"SELECT {', '.join(_COPY_COLUMNS)} FROM ticket_load "
    "ON CONFLICT (tenant, ticket_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COPY_COLUMNS if c not in _KEEP_ON_UPDATE)
    + " RETURNING row_id) "
    "INSERT INTO ticket_changes (row_id, deleted, at) SELECT row_id, false, :now FROM moved"
)
