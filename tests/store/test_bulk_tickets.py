"""The bulk path of ``triage index build --engine local`` (chunks, ``COPY`` into pgvector,
resumable) stores what the one-process ``SimilarService.add`` stores, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from triage.core.embeddings import HashingEmbedder
from triage.scale.bodies import BodySpec
from triage.scale.index_build import build_index
from triage.service.ingestion import index_resolved, resolved_record
from triage.settings import Settings
from triage.store.records import TicketRecord
from triage.store.schema import utcnow

TICKETS = 150


def _records(sample_frame: pd.DataFrame, edit: int | None = None) -> list[TicketRecord]:
    rows = sample_frame.head(TICKETS).to_dict("records")
    now = utcnow()
    return [
        resolved_record(
            f"B{i}",
            now=now,
            subject=None if i % 5 == 0 else row["subject"],
            body=row["body"] + (" (edited)" if i == edit else ""),
            resolution="replaced the toner",
            category=row["category"],
            tenant="t1" if i % 3 == 0 else None,
        )
        for i, row in enumerate(rows)
    ]


def _contents(url: str) -> tuple[list[tuple[Any, ...]], np.ndarray]:
    pg = url.startswith("postgresql")
    vectors = "vec::text, subject_vec::text" if pg else "embedding, subject_embedding"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT tenant, ticket_id, status, visibility, subject, body, resolution, "
                    f"category, tier, language, text_sha256, {vectors} FROM tickets "
                    "ORDER BY tenant, ticket_id"
                )
            ).all()
    finally:
        engine.dispose()

    def as_array(value: Any) -> np.ndarray:
        if value is None:
            return np.zeros(128, dtype=np.float32)
        if isinstance(value, str):
            return np.fromstring(value[1:-1], sep=",").astype(np.float32)
        return np.frombuffer(value, dtype=np.float32)

    matrix = np.array([np.concatenate([as_array(r[-2]), as_array(r[-1])]) for r in rows])
    return [tuple(r[:-2]) for r in rows], matrix


def test_bulk_path_stores_what_the_one_process_path_stores(
    store_url: str, sample_frame: pd.DataFrame, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = "pgvector" if store_url.startswith("postgresql") else "embedded"
    reference_url = (
        f"sqlite:///{tmp_path / 'reference.db'}"
        if backend == "embedded"
        else request.getfixturevalue("second_pgvector_database")
    )

    def settings(url: str, name: str) -> Settings:
        return Settings(database_url=url, similar_backend=backend, data_dir=tmp_path / name)

    records = _records(sample_frame)
    index_resolved(records, HashingEmbedder(128), settings(reference_url, "ref"))
    body = BodySpec(embedder="hashing:128")
    first = build_index(records[:60], body, settings(store_url, "bulk"), chunk_size=25)
    assert (first.embedded, first.chunks) == (60, 3)
    assert first.method == ("copy" if backend == "pgvector" else "upsert")
    second = build_index(records, body, settings(store_url, "bulk"), chunk_size=25)
    assert (second.already_stored, second.embedded) == (60, TICKETS - 60)

    rows, vectors = _contents(store_url)
    want_rows, want_vectors = _contents(reference_url)
    assert rows == want_rows
    assert np.abs(vectors - want_vectors).max() <= 1e-6

    edited = build_index(_records(sample_frame, edit=7), body, settings(store_url, "bulk"))
    assert (edited.already_stored, edited.embedded) == (TICKETS - 1, 1)  # a changed text only


@pytest.fixture
def second_pgvector_database(pgvector_server: str) -> Any:
    from tests.conftest import fresh_postgres_database

    with fresh_postgres_database(pgvector_server) as url:
        yield url


def test_an_hnsw_build_that_outgrows_maintenance_work_mem_is_warned(
    pgvector_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    """pgvector builds many times slower once the graph outgrows maintenance_work_mem (1 M
    vectors: 2,307 CPU-s in memory, unfinished after 18 min without): said before the build."""
    from tests.conftest import fresh_postgres_database
    from triage.similar.search import drop_hnsw, ensure_pgvector, hnsw_build_bytes
    from triage.store.database import Database
    from triage.store.tickets import TicketStore

    with fresh_postgres_database(pgvector_server) as url:
        name = sa.make_url(url).database
        with Database(url) as database:
            database.upgrade()
            store = TicketStore(database, pgvector=True)
            ensure_pgvector(store, 512)
            drop_hnsw(store)
            with database.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO tickets (tenant, ticket_id, status, visibility, "
                        "text_sha256, created_at, updated_at, vec) SELECT '', 'T' || i, "
                        "'resolved', 'public', md5(i::text), now(), now(), "
                        "array_fill(0.1 + i, ARRAY[512])::vector FROM generate_series(1, 400) i"
                    )
                )
                connection.execute(
                    sa.text(f"ALTER DATABASE \"{name}\" SET maintenance_work_mem = '1MB'")
                )
            assert hnsw_build_bytes(400, 512) > 2**20
        with Database(url) as database, caplog.at_level("WARNING"):
            ensure_pgvector(TicketStore(database, pgvector=True), 512)  # a new session: 1 MB
        [warned] = [r for r in caplog.records if "maintenance_work_mem" in r.getMessage()]
        assert "HNSW index of vec over 400 vectors" in warned.getMessage()
        caplog.clear()
        with Database(url) as database, caplog.at_level("WARNING"):
            ensure_pgvector(TicketStore(database, pgvector=True), 512)  # built: nothing to say
        assert not [r for r in caplog.records if "maintenance_work_mem" in r.getMessage()]
