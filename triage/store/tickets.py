"""Tickets known to the similarity search: records, their vectors, and a change log.

The database is the source of truth. Vectors live beside the records: as float32 bytes
(``embedding``) for the embedded index to load, or in a pgvector column (``vec``) that
PostgreSQL searches itself. A ticket with a subject and a body has a second vector, its
subject's (``subject_embedding``, or ``subject_vec`` with pgvector): the *subject vectors*
searched apart are those, and for any other ticket its one vector (its text is its subject,
or it has none). Every write appends to ``ticket_changes`` in the same
transaction, so an in-memory index in any process can catch up by replaying it. What a record
is lives in :mod:`triage.store.records`; its rows in :mod:`triage.store.ticket_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from triage.store.database import Database
from triage.store.dialects import dialect_of
from triage.store.records import Filters, RowKey, Status, StoredTicket, TicketRecord
from triage.store.schema import store_meta, ticket_changes, tickets, utcnow
from triage.store.ticket_rows import (
    KEYS,
    RECORD_COLUMNS,
    ROW_IDS,
    UPSERT_COLUMNS,
    row_values,
    stored_ticket,
    vector_literal,
)

FloatArray = npt.NDArray[np.float32]
# A ticket's subject vector: its own where it has one, else the ticket's vector.
SUBJECT_VECTOR = sa.func.coalesce(tickets.c.subject_embedding, tickets.c.embedding)


class TicketStore:
    """Records and vectors of the tickets the similarity search can return."""

    def __init__(self, database: Database, *, pgvector: bool = False) -> None:
        self.database = database
        self.pgvector = pgvector

    # -- facts about the store -------------------------------------------------------------

    def meta(self, key: str) -> Any:
        with self.database.begin() as connection:
            return connection.execute(
                sa.select(store_meta.c.value).where(store_meta.c.key == key)
            ).scalar_one_or_none()

    def set_meta(self, key: str, value: Any) -> None:
        dialect = dialect_of(self.database.is_postgres)
        statement = dialect.insert(store_meta).values(key=key, value=value)
        statement = statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": statement.excluded.value}
        )
        with self.database.begin() as connection:
            connection.execute(statement)

    # -- writes ----------------------------------------------------------------------------

    def digests(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The text digest stored for each (tenant, ticket_id) that exists and has a vector."""
        wanted = list(keys)
        found: dict[tuple[str, str], str] = {}
        vector_column = sa.column("vec") if self.pgvector else tickets.c.embedding
        with self.database.begin() as connection:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = connection.execute(
                    sa.select(tickets.c.tenant, tickets.c.ticket_id, tickets.c.text_sha256)
                    .select_from(tickets)
                    .where(KEYS, vector_column.is_not(None)),
                    {"keys": chunk},
                )
                for tenant, ticket_id, digest in rows:
                    found[(tenant, ticket_id)] = digest
        return found

    def upsert(
        self,
        records: Sequence[TicketRecord],
        digests: Sequence[str],
        vectors: Mapping[int, FloatArray],
        subject_vectors: Mapping[int, FloatArray] | None = None,
    ) -> list[int]:
        """Insert or update records (one transaction); ``vectors`` by position, where new.

        A record whose position has no vector keeps the one it has (its text is unchanged);
        a ticket given twice ends as if written twice in order. ``subject_vectors``: the
        subject's own vector of a position given a vector, where it has one (a new vector
        without one drops the old subject vector). Returns the row ids, in order.
        """
        now = utcnow()
        latest = _latest_rows(records, digests, vectors, subject_vectors or {}, now)
        if not latest:
            return []
        with self.database.begin() as connection:
            # Rows with a new vector and rows keeping theirs: one statement each, executed
            # for all their rows at once (a statement built per row cost ~1 ms of Python).
            for with_vector in (True, False):
                rows = [v for v in latest.values() if ("vector" in v) is with_vector]
                if rows:
                    connection.execute(
                        self._upsert_statement(with_vector and not self.pgvector),
                        [self._parameters(v) for v in rows],
                    )
            found = self._row_ids(connection, list(latest))
            new_vectors = [
                (found[key], v["vector"], v["subject_vector"])
                for key, v in latest.items()
                if "vector" in v
            ]
            if self.pgvector and new_vectors:
                connection.execute(_SET_PGVECTORS, [_pgvector_row(*row) for row in new_vectors])
            connection.execute(
                ticket_changes.insert(),
                [{"row_id": found[key], "deleted": False, "at": now} for key in latest],
            )
        return [found[(record.tenant, record.ticket_id)] for record in records]

    def _upsert_statement(self, embedding: bool) -> sa.Insert:
        dialect = dialect_of(self.database.is_postgres)
        columns = (
            [*UPSERT_COLUMNS, "embedding", "subject_embedding"] if embedding else UPSERT_COLUMNS
        )
        statement = dialect.insert(tickets).values({c: sa.bindparam(c) for c in columns})
        upsert: sa.Insert = statement.on_conflict_do_update(
            index_elements=["tenant", "ticket_id"],
            set_={
                c: statement.excluded[c]
                for c in columns
                if c not in ("created_at", "tenant", "ticket_id")
            },
        )
        return upsert

    def _parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        out = {c: values[c] for c in UPSERT_COLUMNS}
        if "vector" in values and not self.pgvector:
            out["embedding"] = values["vector"].tobytes()
            subject = values["subject_vector"]
            out["subject_embedding"] = None if subject is None else subject.tobytes()
        return out

    @staticmethod
    def _row_ids(
        connection: sa.Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        query = sa.select(tickets.c.row_id, tickets.c.tenant, tickets.c.ticket_id).where(KEYS)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            for row_id, tenant, ticket_id in connection.execute(query, {"keys": chunk}):
                found[(tenant, ticket_id)] = int(row_id)
        return found

    def delete(self, ticket_id: str, *, tenant: str | None = None) -> list[int]:
        """Remove a ticket (in every tenant, unless one is given); returns the removed rows."""
        where = [tickets.c.ticket_id == ticket_id]
        if tenant is not None:
            where.append(tickets.c.tenant == tenant)
        with self.database.begin() as connection:
            removed = [
                int(r)
                for r in connection.execute(
                    tickets.delete().where(*where).returning(tickets.c.row_id)
                )
                .scalars()
                .all()
            ]
            if removed:
                now = utcnow()
                connection.execute(
                    ticket_changes.insert(),
                    [{"row_id": r, "deleted": True, "at": now} for r in removed],
                )
        return removed

    def purge_open(self, older_than: datetime) -> int:
        """Forget open tickets created before ``older_than`` (duplicate detection is recent)."""
        with self.database.begin() as connection:
            removed = (
                connection.execute(
                    tickets.delete()
                    .where(tickets.c.status == Status.OPEN.value, tickets.c.created_at < older_than)
                    .returning(tickets.c.row_id)
                )
                .scalars()
                .all()
            )
            if removed:
                now = utcnow()
                connection.execute(
                    ticket_changes.insert(),
                    [{"row_id": int(r), "deleted": True, "at": now} for r in removed],
                )
        return len(removed)

    def forget_vectors(self) -> None:
        """Drop every vector (another embedder will make new ones); records stay."""
        with self.database.begin() as connection:
            connection.execute(
                tickets.update().values(text_sha256="", embedding=None, subject_embedding=None)
            )
            if self.pgvector:
                connection.execute(sa.text("UPDATE tickets SET vec = NULL, subject_vec = NULL"))
            rows = connection.execute(sa.select(tickets.c.row_id)).scalars().all()
            if rows:
                now = utcnow()
                connection.execute(
                    ticket_changes.insert(),
                    [{"row_id": int(r), "deleted": True, "at": now} for r in rows],
                )

    def records(self, *, after: int = 0, limit: int = 1_000) -> list[StoredTicket]:
        """Stored tickets in row order, a page at a time (``after``: the last row id seen)."""
        with self.database.begin() as connection:
            rows = connection.execute(
                sa.select(*RECORD_COLUMNS)
                .where(tickets.c.row_id > after)
                .order_by(tickets.c.row_id)
                .limit(limit)
            ).mappings()
            return [stored_ticket(row) for row in rows]

    # -- reads -----------------------------------------------------------------------------

    def count(self, status: Status | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(tickets)
        if status is not None:
            query = query.where(tickets.c.status == status.value)
        with self.database.begin() as connection:
            return int(connection.execute(query).scalar_one())

    def count_matching(self, filters: Filters, *, limit: int | None = None) -> int:
        """Rows the filters admit; with ``limit``, counting stops there (min(count, limit))."""
        rows = sa.select(tickets.c.row_id).where(*filters.clauses())
        if limit is not None:
            rows = rows.limit(limit)
        query = sa.select(sa.func.count()).select_from(rows.subquery())
        with self.database.begin() as connection:
            return int(connection.execute(query).scalar_one())

    def fetch(
        self, row_ids: Sequence[int], filters: Filters | None = None
    ) -> dict[int, StoredTicket]:
        """Records by row id, keeping only those the filters admit."""
        found: dict[int, StoredTicket] = {}
        query = sa.select(*RECORD_COLUMNS).where(ROW_IDS, *self._by_id(filters))
        with self.database.begin() as connection:
            for start in range(0, len(row_ids), 500):
                chunk = [int(r) for r in row_ids[start : start + 500]]
                rows = connection.execute(query, {"row_ids": chunk}).mappings()
                for row in rows:
                    stored = stored_ticket(row)
                    found[stored.row_id] = stored
        return found

    def keys(self, row_ids: Sequence[int], filters: Filters | None = None) -> dict[int, RowKey]:
        """(tenant, ticket_id, language) of the given rows the filters admit; no text read."""
        found: dict[int, RowKey] = {}
        columns = (tickets.c.row_id, tickets.c.tenant, tickets.c.ticket_id, tickets.c.language)
        query = sa.select(*columns).where(ROW_IDS, *self._by_id(filters))
        with self.database.begin() as connection:
            for start in range(0, len(row_ids), 500):
                chunk = [int(r) for r in row_ids[start : start + 500]]
                rows = connection.execute(query, {"row_ids": chunk})
                for row_id, tenant, ticket_id, language in rows:
                    found[int(row_id)] = RowKey(tenant, ticket_id, language)
        return found

    def _by_id(self, filters: Filters | None) -> list[sa.ColumnElement[bool]]:
        """The filters' terms for rows looked up by id (see :meth:`Filters.clauses`)."""
        return filters.clauses(indexed=self.database.is_postgres) if filters else []

    def get(self, ticket_id: str, *, tenant: str = "") -> StoredTicket | None:
        with self.database.begin() as connection:
            row = (
                connection.execute(
                    sa.select(*RECORD_COLUMNS).where(
                        tickets.c.tenant == tenant, tickets.c.ticket_id == ticket_id
                    )
                )
                .mappings()
                .first()
            )
        return stored_ticket(row) if row else None

    def last_change(self) -> int:
        with self.database.begin() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.coalesce(sa.func.max(ticket_changes.c.seq), 0))
                ).scalar_one()
            )

    def changes_since(self, seq: int, limit: int = 10_000) -> list[tuple[int, int, bool]]:
        """(seq, row_id, deleted) after ``seq``, oldest first."""
        with self.database.begin() as connection:
            rows = connection.execute(
                sa.select(ticket_changes.c.seq, ticket_changes.c.row_id, ticket_changes.c.deleted)
                .where(ticket_changes.c.seq > seq)
                .order_by(ticket_changes.c.seq)
                .limit(limit)
            ).all()
        return [(int(s), int(r), bool(d)) for s, r, d in rows]

    def vectors(
        self,
        row_ids: Sequence[int] | None = None,
        filters: Filters | None = None,
        *,
        subject: bool = False,
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Stored float32 vectors (embedded backend) of the given rows, or of all rows;
        ``subject``: their subject vectors (see the module docstring)."""
        where = (filters.clauses() if filters else []) if row_ids is None else self._by_id(filters)
        column = SUBJECT_VECTOR if subject else tickets.c.embedding
        query = sa.select(tickets.c.row_id, column).where(tickets.c.embedding.is_not(None), *where)
        keys: list[int] = []
        blobs: list[bytes] = []
        with self.database.begin() as connection:
            if row_ids is None:
                for row_id, blob in connection.execute(query.order_by(tickets.c.row_id)):
                    keys.append(int(row_id))
                    blobs.append(blob)
            else:
                for start in range(0, len(row_ids), 500):
                    chunk = [int(r) for r in row_ids[start : start + 500]]
                    for row_id, blob in connection.execute(
                        query.where(ROW_IDS), {"row_ids": chunk}
                    ):
                        keys.append(int(row_id))
                        blobs.append(blob)
        if not keys:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(keys), -1)
        return np.asarray(keys, dtype=np.int64), matrix


_SET_PGVECTORS = sa.text(
    "UPDATE tickets SET vec = CAST(:v AS vector), "
    "subject_vec = CAST(:s AS vector) WHERE row_id = :id"
)


def _pgvector_row(row: int, vector: FloatArray, subject: FloatArray | None) -> dict[str, Any]:
    """Parameters of ``_SET_PGVECTORS``: a ticket without a subject vector searches by its own."""
    return {
        "v": vector_literal(vector),
        "s": vector_literal(vector if subject is None else subject),
        "id": row,
    }


def _latest_rows(
    records: Sequence[TicketRecord],
    digests: Sequence[str],
    vectors: Mapping[int, FloatArray],
    subject_vectors: Mapping[int, FloatArray],
    now: datetime,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The row values to write per (tenant, ticket id), the last given winning; a position
    without a new vector keeps the vector an earlier position of the same ticket gave."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for position, (record, digest) in enumerate(zip(records, digests, strict=True)):
        key = (record.tenant, record.ticket_id)
        kept = latest.pop(key, None)
        values = row_values(record, digest, now)
        vector = vectors.get(position)
        if vector is not None:
            values["vector"] = np.asarray(vector, dtype=np.float32)
            subject = subject_vectors.get(position)
            values["subject_vector"] = (
                None if subject is None else np.asarray(subject, dtype=np.float32)
            )
        elif kept is not None and "vector" in kept:
            values["vector"] = kept["vector"]
            values["subject_vector"] = kept["subject_vector"]
        latest[key] = values
    return latest
