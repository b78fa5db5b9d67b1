"""``triage index build --engine ray|local``: resolved tickets embedded in batches and
bulk-loaded into the store, resumable.

The driver prepares every ticket as :meth:`SimilarService.add` does (text, subject, digest,
redaction), asks the store which (tenant, ticket id, digest) it already holds with a vector,
and sends only the others to be embedded: on Ray, ``map_batches`` over a pool of actors that
each load the body once; locally, the same :class:`TicketEmbedder` in this process. The
vectors come back in input order, a chunk at a time, and each chunk is committed on its own
(:class:`BulkTicketLoader`: ``COPY`` into pgvector). A run killed halfway keeps its
committed chunks; the next one embeds only what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from triage.scale.bodies import BodySpec, TicketEmbedder
from triage.scale.ray_engine import Engine, actor_pool, ordered_data_context, ray_session
from triage.settings import Settings
from triage.similar.search import drop_hnsw, ensure_pgvector
from triage.similar.service import PreparedTickets, SimilarService
from triage.store.bulk_tickets import BulkTicketLoader, EmbeddedChunk
from triage.store.database import Database
from triage.store.records import TicketRecord
from triage.store.tickets import TicketStore
from triage.training.data import encoding_note, read_table
from triage.training.resolved_columns import ResolvedColumns
from triage.training.resolved_file import resolved_rows

CHUNK_TICKETS = 2_000  # tickets per committed chunk (one COPY, one transaction)
BATCH_TICKETS = 256  # tickets per map_batches call on a worker
_BLOCK_TICKETS = 1_000  # rows per Ray block handed to the actors
DEFER_HNSW_FROM = 5_000  # a load of this many vectors builds the HNSW indexes after it

ChunkDone = Callable[[int, int], object]  # (chunk number from 1, tickets in it)


@dataclass(frozen=True)
class ScaleIndexReport:
    """What one run stored: tickets in the file, already stored (skipped), embedded now."""

    tickets: int
    already_stored: int
    embedded: int
    chunks: int
    database: str
    backend: str
    method: str  # copy or upsert
    engine: str
    hnsw_rebuilt: bool = False  # the HNSW indexes were dropped for the load, built after


def stale_positions(store: TicketStore, prepared: PreparedTickets) -> list[int]:
    """Positions whose (tenant, ticket id) is not stored with a vector of the same text; of a
    ticket given twice, only its last position (the one that would be stored)."""
    last: dict[tuple[str, str], int] = {}
    for position, record in enumerate(prepared.records):
        last[(record.tenant, record.ticket_id)] = position
    known = store.digests(last)
    return sorted(
        position for key, position in last.items() if known.get(key) != prepared.digests[position]
    )


def build_index(
    records: Sequence[TicketRecord],
    body: BodySpec,
    settings: Settings,
    *,
    engine: Engine = "local",
    address: str | None = None,
    workers: int | None = None,
    chunk_size: int = CHUNK_TICKETS,
    batch_size: int = BATCH_TICKETS,
    after_chunk: ChunkDone | None = None,
) -> ScaleIndexReport:
    """Store ``records`` (resolved tickets) embedded by ``body``, with ``engine``."""
    body.check()
    with Database.from_settings(settings) as database:
        similar = SimilarService.from_settings(database, body.load(), settings)
        try:
            prepared = similar.prepare(records)
            stale = stale_positions(similar.store, prepared)
            loader = BulkTicketLoader(similar.store)
            deferred = loader.method == "copy" and _defers_hnsw(similar.store, len(stale))
            if deferred:
                drop_hnsw(similar.store)
            embedded = chunks = 0
            for batch in _embedded_batches(
                prepared, stale, body, settings, engine, address, workers, chunk_size, batch_size
            ):
                chunk = _chunk(prepared, batch)
                loader.load(chunk)
                chunks += 1
                embedded += len(chunk.records)
                if after_chunk is not None:
                    after_chunk(chunks, len(chunk.records))
            if deferred:
                ensure_pgvector(similar.store, similar.embedder.dim)  # the HNSW indexes again
            similar.search_backend.refresh()
        finally:
            similar.close()
        return ScaleIndexReport(
            tickets=len(records),
            already_stored=len({(r.tenant, r.ticket_id) for r in records}) - len(stale),
            embedded=embedded,
            chunks=chunks,
            database=database.describe(),
            backend=similar.backend,
            method=loader.method,
            engine=engine,
            hnsw_rebuilt=deferred,
        )


def _defers_hnsw(store: TicketStore, new: int) -> bool:
    """Whether to build the HNSW indexes after the load instead of during it: for a load of
    at least ``DEFER_HNSW_FROM`` vectors that is at least the size of the store. Inserting
    into an HNSW graph costs ~20 ms a row here (2,000 tickets through ``SimilarService.add``:
    38 s, loaded 2-core machine); building it once over the loaded rows costs a fraction
    of that. Until it is built again, searches scan exactly (correct, slower)."""
    return new >= DEFER_HNSW_FROM and new >= store.count()


def _input_table(prepared: PreparedTickets, stale: Sequence[int]) -> pa.Table:
    return pa.table(
        {
            "pos": pa.array(stale, type=pa.int64()),
            "text": pa.array([prepared.texts[i] for i in stale], type=pa.string()),
            "subject": pa.array([prepared.subjects[i] or "" for i in stale], type=pa.string()),
        }
    )


def _embedded_batches(
    prepared: PreparedTickets,
    stale: Sequence[int],
    body: BodySpec,
    settings: Settings,
    engine: Engine,
    address: str | None,
    workers: int | None,
    chunk_size: int,
    batch_size: int,
) -> Iterator[dict[str, Any]]:
    """Embedded stale tickets, ``chunk_size`` at a time, in input order."""
    if not stale:
        return
    table = _input_table(prepared, stale)
    options: dict[str, Any] = {"languages": settings.languages, "cache_dir": settings.cache_dir}
    if engine == "local":
        embed = TicketEmbedder(body, settings.languages, settings.cache_dir)
        for start in range(0, table.num_rows, chunk_size):
            part = table.slice(start, chunk_size)
            yield embed({name: part[name].to_numpy() for name in part.column_names})
        return
    with ray_session(address, num_cpus=workers) as ray:
        ordered_data_context(ray)
        blocks = [table.slice(i, _BLOCK_TICKETS) for i in range(0, table.num_rows, _BLOCK_TICKETS)]
        dataset = ray.data.from_arrow(blocks).map_batches(
            TicketEmbedder,
            fn_constructor_kwargs={"body": body, **options},
            batch_size=batch_size,
            batch_format="numpy",
            **actor_pool(ray, workers),
        )
        yield from dataset.iter_batches(batch_size=chunk_size, batch_format="numpy")


def _chunk(prepared: PreparedTickets, batch: dict[str, Any]) -> EmbeddedChunk:
    positions = [int(p) for p in batch["pos"]]
    vectors = np.asarray(np.stack(list(batch["vec"])), dtype=np.float32)
    subjects = [
        np.asarray(v, dtype=np.float32) if has else None
        for v, has in zip(batch["subject_vec"], batch["has_subject"], strict=True)
    ]
    records = [
        replace(prepared.records[p], language=str(language))
        for p, language in zip(positions, batch["language"], strict=True)
    ]
    return EmbeddedChunk(records, [prepared.digests[p] for p in positions], vectors, subjects)


def resolved_file_records(
    path: Path,
    columns: ResolvedColumns,
    settings: Settings,
    encoding: str | None = None,
    say: Callable[[str], object] = lambda _m: None,
) -> tuple[list[TicketRecord], int]:
    """The solved tickets of a ticket file as records (as ``triage index build`` reads
    them), and how many rows were skipped as not solved."""
    frame = read_table(path, encoding)
    if note := encoding_note(frame, path):
        say(note)
    rows = resolved_rows(frame, columns, source=path, max_chars=settings.max_text_chars)
    for note in rows.notes:
        say(note)
    return rows.records, rows.skipped
