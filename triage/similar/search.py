"""Nearest stored tickets to a query vector, by one of two backends.

- :class:`EmbeddedSearch`: an in-process :class:`VectorIndex` loaded from the database (or
  from a snapshot file beside it) and kept in step by replaying ``ticket_changes``, so every
  process sharing the database sees every write at its next search.
- :class:`PgVectorSearch`: PostgreSQL with the ``vector`` extension searches its own HNSW
  index; nothing is held in the process. For several replicas against one database.

Both return (row_id, cosine similarity) pairs that pass the filters, best first; with
``subject=True`` they search the tickets' subject vectors instead (see
:mod:`triage.store.tickets`), which the embedded backend holds in a second index.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from triage.core.checksums import sha256_file
from triage.core.errors import StoreUnavailableError
from triage.similar.vector_index import DEFAULT_HNSW_THRESHOLD, VectorIndex
from triage.store.history import change_mark, store_id
from triage.store.records import Filters, Status
from triage.store.schema import tickets
from triage.store.tickets import TicketStore

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
Hits = list[tuple[int, float]]


class VectorSearch(Protocol):
    def refresh(self) -> None:
        """Catch up with writes made by this or any other process."""

    def search(self, query: FloatArray, k: int, filters: Filters, *, subject: bool = False) -> Hits:
        """Best matches among what the last ``refresh`` saw (``subject``: by subject vector)."""
        ...

    def scores(self, query: FloatArray, row_ids: Sequence[int]) -> dict[int, float]:
        """Cosine similarity of the query to each given stored row that has a vector."""
        ...

    def close(self) -> None: ...


class EmbeddedSearch:
    """The in-process index; exact below ``hnsw_threshold`` vectors, HNSW above."""

    # Candidates asked of the index per round when filters drop some: k × this, then × 10.
    # Each candidate's row is read to apply the filters (200 of them: ~1 ms at 100,000
    # tickets); resolved tickets are most of a store, so twice k is usually enough.
    OVERSAMPLE = 2
    # A filter that leaves this few rows, once the first round falls short, is answered by
    # an exact scan of them at once (the open-ticket search of every ``find``, with few or
    # no open tickets, used to widen the graph search twice first); counting stops there.
    EXACT_SCAN_ROWS = 2_000
    # After the widened rounds, a filter this selective is still scanned exactly.
    EXACT_FALLBACK_ROWS = 20_000

    def __init__(
        self,
        store: TicketStore,
        dim: int,
        *,
        snapshot: Path | None = None,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    ) -> None:
        self.store = store
        self.dim = dim
        self.snapshot = snapshot
        self.hnsw_threshold = hnsw_threshold
        self.index = VectorIndex(dim, hnsw_threshold=hnsw_threshold)
        self.subjects = VectorIndex(dim, hnsw_threshold=hnsw_threshold)
        self.seq = 0
        self._sync = threading.Lock()
        self._load()

    def _sidecar(self) -> Path | None:
        return (
            None if self.snapshot is None else self.snapshot.with_name(self.snapshot.name + ".json")
        )

    def _subject_snapshot(self) -> Path:
        assert self.snapshot is not None
        return self.snapshot.with_name(self.snapshot.name + ".subject")

    def _load(self) -> None:
        """The snapshot if it belongs to this database at a change it still has; else (or if
        it cannot be read) every vector from the database."""
        sidecar = self._sidecar()
        if self.snapshot is None or sidecar is None:
            self.rebuild()
            return
        if self.snapshot.exists() and sidecar.exists():
            try:
                facts = json.loads(sidecar.read_text(encoding="utf-8"))
                stale = self._stale(facts)
                if stale is None:
                    self._load_snapshot(int(facts["seq"]))
                    return
                log.warning("vector snapshot %s not used: %s; rebuilding", self.snapshot, stale)
            except Exception as exc:  # an unreadable snapshot only costs a rebuild
                log.warning("vector snapshot %s unusable (%s); rebuilding", self.snapshot, exc)
        self.rebuild()

    def _stale(self, facts: dict[str, object]) -> str | None:
        """Why a snapshot with these facts must not be loaded (None: it may)."""
        seq = int(str(facts["seq"]))
        if facts.get("dim") != self.dim or not facts.get("subject"):
            return "another dimension, or made before subject vectors"
        database = self.store.database
        if "store" not in facts:  # written before snapshots named their database
            latest = self.store.last_change()
            return None if seq <= latest else f"change {seq} is ahead of the database's {latest}"
        if facts["store"] != store_id(database):
            return "it was made from another database"
        if facts.get("mark") != change_mark(database, seq):
            return f"the database's change {seq} is not the one it was made at (restored?)"
        return self._damaged(facts)

    def _damaged(self, facts: dict[str, object]) -> str | None:
        """Why the snapshot files are not the bytes the sidecar was written for (None: they
        are). A flipped byte inside a file that still parses would otherwise be searched."""
        assert self.snapshot is not None
        for name, path in (("index", self.snapshot), ("subject", self._subject_snapshot())):
            expected = facts.get(f"{name}_sha256")
            if expected is None:
                return "written before snapshots carried checksums"
            if sha256_file(path) != expected:
                return f"its {name} file does not match its checksum (damaged or replaced)"
        return None

    def _load_snapshot(self, seq: int) -> None:
        assert self.snapshot is not None
        self.index = VectorIndex.load(self.snapshot, hnsw_threshold=self.hnsw_threshold)
        self.subjects = VectorIndex.load(
            self._subject_snapshot(), hnsw_threshold=self.hnsw_threshold
        )
        self.seq = seq
        log.info("vector index: %d from snapshot (change %d)", len(self.index), self.seq)
        self.refresh()

    def rebuild(self) -> None:
        """Load every stored vector from the database."""
        with self._sync:
            seq = self.store.last_change()
            index = VectorIndex(self.dim, hnsw_threshold=self.hnsw_threshold)
            subjects = VectorIndex(self.dim, hnsw_threshold=self.hnsw_threshold)
            for target, subject in ((index, False), (subjects, True)):
                keys, vectors = self.store.vectors(subject=subject)
                if len(keys):
                    target.upsert(keys, vectors)
            self.index, self.subjects, self.seq = index, subjects, seq
        log.info("vector index: %d from the database (change %d)", len(self.index), seq)
        self.refresh()

    def refresh(self) -> None:
        with self._sync:
            while True:
                changes = self.store.changes_since(self.seq)
                if not changes:
                    return
                # The latest change of each row decides: a row added then deleted is gone.
                latest: dict[int, bool] = {}
                for _, row_id, deleted in changes:
                    latest[row_id] = deleted
                removed = [r for r, deleted in latest.items() if deleted]
                upserted = [r for r, deleted in latest.items() if not deleted]
                for index, subject in ((self.index, False), (self.subjects, True)):
                    if removed:
                        index.remove(removed)
                    if upserted:
                        keys, vectors = self.store.vectors(upserted, subject=subject)
                        if len(keys):
                            index.upsert(keys, vectors)
                self.seq = changes[-1][0]

    def search(self, query: FloatArray, k: int, filters: Filters, *, subject: bool = False) -> Hits:
        # The caller refreshes once per request (SimilarService.find), not once per search.
        index = self.subjects if subject else self.index
        size = len(index)
        if size == 0:
            return []
        if filters.status is Status.OPEN and self._at_most(filters, self.EXACT_SCAN_ROWS):
            # Open tickets are kept for the duplicate window only: few, scanned exactly.
            return self._exact(query, k, filters, subject)
        first = want = min(size, max(k * self.OVERSAMPLE, 20))
        while True:
            keys, scores = index.search(query[None, :], want)
            candidates = [
                (int(key), float(s)) for key, s in zip(keys[0], scores[0], strict=True) if key >= 0
            ]
            admitted = self.store.keys([key for key, _ in candidates], filters)
            hits = [(key, score) for key, score in candidates if key in admitted]
            if len(hits) >= k or want >= size:
                return hits[:k]
            if want == first and self._at_most(filters, self.EXACT_SCAN_ROWS):
                return self._exact(query, k, filters, subject)
            if want >= k * self.OVERSAMPLE * 10:
                if self._at_most(filters, self.EXACT_FALLBACK_ROWS):
                    return self._exact(query, k, filters, subject)
                return hits[:k]
            want = min(size, want * 10)

    def _at_most(self, filters: Filters, rows: int) -> bool:
        """The filters admit at most ``rows`` rows (counting stops just past them)."""
        return self.store.count_matching(filters, limit=rows + 1) <= rows

    def _exact(self, query: FloatArray, k: int, filters: Filters, subject: bool) -> Hits:
        """Filters that leave few rows: score exactly those rows."""
        keys, vectors = self.store.vectors(filters=filters, subject=subject)
        if not len(keys):
            return []
        scores = _cosines(vectors, query)
        top = np.argsort(-scores)[:k]
        return [(int(keys[i]), float(scores[i])) for i in top]

    def scores(self, query: FloatArray, row_ids: Sequence[int]) -> dict[int, float]:
        if not row_ids:
            return {}
        keys, vectors = self.store.vectors(row_ids)
        if not len(keys):
            return {}
        return dict(zip(keys.tolist(), _cosines(vectors, query).tolist(), strict=True))

    def save(self) -> None:
        """Write a snapshot so the next start loads it instead of every row.

        A failed write (a full disk) raises and leaves the previous snapshot as it was. A
        sidecar older than the index is safe: its changes are replayed again on load.
        """
        if self.snapshot is None:
            return
        with self._sync:
            database = self.store.database
            # Read from the database first: unreachable, nothing is written at all.
            facts = {
                "seq": self.seq,
                "dim": self.dim,
                "subject": True,
                "store": store_id(database),
                "mark": change_mark(database, self.seq),
            }
            self.index.save(self.snapshot)
            self.subjects.save(self._subject_snapshot())
            facts["index_sha256"] = sha256_file(self.snapshot)
            facts["subject_sha256"] = sha256_file(self._subject_snapshot())
            sidecar = self._sidecar()
            assert sidecar is not None
            tmp = sidecar.with_name(sidecar.name + ".tmp")
            try:
                tmp.write_text(json.dumps(facts), encoding="utf-8")
                os.replace(tmp, sidecar)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

    def close(self) -> None:
        # The snapshot only saves the next start a rebuild: failing to write it must not
        # fail a shutdown or a model swap.
        try:
            self.save()
        except (OSError, StoreUnavailableError) as exc:
            log.warning("vector snapshot %s not written (%s); kept the last", self.snapshot, exc)


def _vector_type(dim: int) -> Any:
    """pgvector's column type, imported on the PostgreSQL backend's first use: the embedded
    backend (the default) never needs it, and it cost a worker ~35 ms of its start."""
    from pgvector.sqlalchemy import Vector

    return Vector(dim)


class PgVectorSearch:
    """PostgreSQL searches its own HNSW index (pgvector, cosine distance)."""

    def __init__(self, store: TicketStore, dim: int, *, ef_search: int = 100) -> None:
        self.store = store
        self.dim = dim
        self.ef_search = ef_search
        ensure_pgvector(store, dim)

    def refresh(self) -> None:
        pass  # the database is the index

    def search(self, query: FloatArray, k: int, filters: Filters, *, subject: bool = False) -> Hits:
        vec = sa.literal_column("subject_vec" if subject else "vec", type_=_vector_type(self.dim))
        distance = vec.cosine_distance(np.asarray(query, dtype=np.float32))
        statement = (
            sa.select(tickets.c.row_id, (1 - distance).label("score"))
            .where(vec.is_not(None), *filters.clauses())
            .order_by(distance)
            .limit(k)
        )
        with self.store.database.begin() as connection:
            # ef_search bounds the candidates the HNSW scan visits; at least k of them.
            connection.execute(sa.text(f"SET LOCAL hnsw.ef_search = {max(self.ef_search, k)}"))
            rows = connection.execute(statement).all()
        return [(int(r), float(s)) for r, s in rows]

    def scores(self, query: FloatArray, row_ids: Sequence[int]) -> dict[int, float]:
        if not row_ids:
            return {}
        vec = sa.literal_column("vec", type_=_vector_type(self.dim))
        distance = vec.cosine_distance(np.asarray(query, dtype=np.float32))
        statement = sa.select(tickets.c.row_id, (1 - distance).label("score")).where(
            vec.is_not(None), tickets.c.row_id.in_([int(r) for r in row_ids])
        )
        with self.store.database.begin() as connection:
            return {int(r): float(s) for r, s in connection.execute(statement).all()}

    def close(self) -> None:
        pass


def _cosines(vectors: FloatArray, query: FloatArray) -> FloatArray:
    norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
    return np.asarray(vectors @ query / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def pgvector_available(store: TicketStore) -> bool:
    """The database is PostgreSQL and the ``vector`` extension is installed or installable."""
    if not store.database.is_postgres:
        return False
    with store.database.engine.connect() as connection:
        return bool(
            connection.execute(
                sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
            ).scalar_one()
        )


def ensure_pgvector(store: TicketStore, dim: int) -> None:
    """The extension, ``vec`` and ``subject_vec`` columns (``vector(dim)``) and their HNSW
    indexes (idempotent)."""
    with store.database.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7402316)"))
        connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
        for column in ("vec", "subject_vec"):
            connection.execute(
                sa.text(f"ALTER TABLE tickets ADD COLUMN IF NOT EXISTS {column} vector({int(dim)})")
            )
            _warn_if_the_graph_outgrows_memory(connection, column, dim)
            connection.execute(
                sa.text(
                    f"CREATE INDEX IF NOT EXISTS ix_tickets_{column} ON tickets USING hnsw "
                    f"({column} vector_cosine_ops) WITH (m = 16, ef_construction = 100)"
                )
            )
        # Rows stored before subject vectors: their own vector until embedded again.
        connection.execute(
            sa.text(
                "UPDATE tickets SET subject_vec = vec WHERE subject_vec IS NULL AND vec IS NOT NULL"
            )
        )


# HNSW graph bytes a vector beyond the vector itself (measured: 2.7 KB a 512-dim vector).
_GRAPH_OVERHEAD_BYTES = 700


def hnsw_build_bytes(rows: int, dim: int) -> int:
    """About the ``maintenance_work_mem`` an HNSW build over ``rows`` vectors needs to stay in
    memory (m 16): pgvector builds many times slower once the graph outgrows it."""
    return rows * (4 * dim + _GRAPH_OVERHEAD_BYTES)


def _warn_if_the_graph_outgrows_memory(connection: sa.Connection, column: str, dim: int) -> None:
    """A warning before an HNSW build that will not fit ``maintenance_work_mem`` (measured at
    1 M vectors: 2,307 CPU-s with the graph in memory, unfinished after 18 min with 2 GB)."""
    exists = connection.execute(
        sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :name"),
        {"name": f"ix_tickets_{column}"},
    ).first()
    if exists:
        return
    rows = connection.execute(
        sa.text(f"SELECT count(*) FROM tickets WHERE {column} IS NOT NULL")
    ).scalar_one()
    memory = connection.execute(
        sa.text(
            "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'"
        )
    ).scalar_one()
    needed = hnsw_build_bytes(int(rows), dim)
    if needed > int(memory):
        log.warning(
            "building the HNSW index of %s over %d vectors needs about %d MB of "
            "maintenance_work_mem to build in memory; the server gives it %d MB, so the build "
            "will be many times slower (ALTER SYSTEM SET maintenance_work_mem = '%dMB' on the "
            "database server before a large index build)",
            column,
            rows,
            needed // 2**20 + 1,
            int(memory) // 2**20,
            needed // 2**20 + 64,
        )


def drop_hnsw(store: TicketStore) -> None:
    """Drop the HNSW indexes before a bulk load (:func:`ensure_pgvector` builds them again):
    one build over the loaded rows is far cheaper than inserting each row into the graph."""
    with store.database.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7402316)"))
        for column in ("vec", "subject_vec"):
            connection.execute(sa.text(f"DROP INDEX IF EXISTS ix_tickets_{column}"))
