"""Throughput of the scale-out engine (README "Beyond one machine"): tickets per second
embedded in one process, on Ray with 1 and with 2 worker actors, Ray's overhead over the
plain path, and the bulk-load rate (binary COPY) into PostgreSQL + pgvector.

    .venv/bin/python -m benchmarks.scale_throughput --tickets 4000 --copy-rows 1000000

Embedding: the sample's tickets, repeated with a number appended until ``--tickets``, through
:class:`triage.scale.bodies.TicketEmbedder` (the body, the subject vectors and the language,
as ``triage index build --engine`` embeds them), with ``--body`` (default: the default body,
NumPy USE). Each figure is wall time from the first batch sent to the last vector back, so Ray's
figures include starting its actors (each loads the body once); CPU seconds of this process
are printed beside. The load: ``--copy-rows`` synthetic tickets with ``--dim``-dimensional
unit vectors, chunks of 5,000, into a pgserver PostgreSQL (pgvector), the HNSW indexes
dropped as a large load drops them; then the time to build one HNSW index over them, and its
size. Prints one JSON object; the machine's load average is in it (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]


def _texts(count: int) -> pa.Table:
    frame = pd.read_csv(ROOT / "data" / "tickets.csv", dtype=str, keep_default_na=False)
    rows = frame.to_dict("records")
    texts, subjects = [], []
    for i in range(count):
        row = rows[i % len(rows)]
        subjects.append(f"{row['subject']} {i}")
        texts.append(f"{row['subject']} {i}\n{row['body']}")
    return pa.table({"pos": list(range(count)), "text": texts, "subject": subjects})


def embed_local(table: pa.Table, body: Any, batch: int) -> dict[str, float]:
    from triage.scale.bodies import TicketEmbedder

    started, cpu = time.perf_counter(), time.process_time()
    embed = TicketEmbedder(body)
    loaded = time.perf_counter()
    for start in range(0, table.num_rows, batch):
        part = table.slice(start, batch)
        embed({name: part[name].to_numpy() for name in part.column_names})
    done = time.perf_counter()
    return {
        "tickets_per_s": round(table.num_rows / (done - started), 1),
        "tickets_per_s_after_load": round(table.num_rows / (done - loaded), 1),
        "wall_s": round(done - started, 2),
        "cpu_s_this_process": round(time.process_time() - cpu, 2),
    }


def embed_ray(ray: Any, table: pa.Table, body: Any, batch: int, workers: int) -> dict[str, float]:
    from triage.scale.bodies import TicketEmbedder
    from triage.scale.ray_engine import ordered_data_context

    ordered_data_context(ray)
    blocks = [table.slice(i, 1_000) for i in range(0, table.num_rows, 1_000)]
    started, cpu = time.perf_counter(), time.process_time()
    dataset = ray.data.from_arrow(blocks).map_batches(
        TicketEmbedder,
        fn_constructor_kwargs={"body": body},
        batch_size=batch,
        batch_format="numpy",
        concurrency=workers,
        num_cpus=1,
    )
    seen = sum(len(b["pos"]) for b in dataset.iter_batches(batch_size=2_000))
    done = time.perf_counter()
    assert seen == table.num_rows
    return {
        "tickets_per_s": round(table.num_rows / (done - started), 1),
        "wall_s": round(done - started, 2),
        "cpu_s_this_process": round(time.process_time() - cpu, 2),
    }


def _work_mem_for(rows: int, dim: int) -> str:
    """maintenance_work_mem that holds the whole HNSW graph while it is built: pgvector builds
    in memory until the graph outgrows it, then inserts page by page, many times slower (the
    stopped 1 M run: 2 GB for a ~2.7 GB graph). Measured 2.7 KB a 512-dim vector; scaled by
    the dimension, with a quarter's margin."""
    graph_mb = rows * (2.7 * 1024 * dim / 512) * 1.25 / 2**20
    return f"{max(64, int(graph_mb) + 256)}MB"


def _server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the PostgreSQL server's processes so far (the postmaster
    and its live backends and parallel workers; ended children are counted by the kernel in
    the postmaster's children times)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        times = root.cpu_times()
        total += times.children_user + times.children_system
    except psutil.NoSuchProcess:
        pass
    return total


def copy_rate(
    rows: int, dim: int, chunk: int = 5_000, hnsw: bool = True, work_mem: str | None = None
) -> dict[str, Any]:
    import pgserver
    import sqlalchemy as sa

    from triage.similar.search import drop_hnsw, ensure_pgvector
    from triage.store.bulk_tickets import BulkTicketLoader, EmbeddedChunk
    from triage.store.database import Database
    from triage.store.records import Status, TicketRecord, Visibility
    from triage.store.schema import utcnow
    from triage.store.ticket_rows import text_digest
    from triage.store.tickets import TicketStore

    pgdata = Path(tempfile.mkdtemp(prefix="triage-pgvector-bench-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    url = "postgresql+psycopg://" + server.get_uri().removeprefix("postgresql://")
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((64, dim)).astype(np.float32)
    try:
        with Database(url) as database:
            database.upgrade()
            store = TicketStore(database, pgvector=True)
            ensure_pgvector(store, dim)
            drop_hnsw(store)
            loader = BulkTicketLoader(store)
            now = utcnow()
            loading = 0.0
            for start in range(0, rows, chunk):
                size = min(chunk, rows - start)
                # Clustered unit vectors (uniform random ones mislead HNSW figures).
                vectors = centres[rng.integers(0, 64, size)] + 0.5 * rng.standard_normal(
                    (size, dim), dtype=np.float32
                )
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                records = [
                    TicketRecord(
                        ticket_id=f"B{start + i}",
                        subject=f"printer {start + i} jams",
                        body="the printer on floor 3 jams on every page since Monday",
                        resolution="replaced the roller",
                        category="hardware",
                        tier="L1",
                        resolved_at=now,
                        tenant="",
                        visibility=Visibility.PUBLIC,
                        status=Status.RESOLVED,
                        language="en",
                    )
                    for i in range(size)
                ]
                digests = [text_digest(f"{start + i}") for i in range(size)]
                began = time.perf_counter()
                loader.load(EmbeddedChunk(records, digests, vectors, [None] * size))
                loading += time.perf_counter() - began
            if not hnsw:
                return {
                    "rows": rows,
                    "dim": dim,
                    "copy_rows_per_s": round(rows / loading, 1),
                    "copy_s": round(loading, 1),
                }
            work_mem = work_mem or _work_mem_for(rows, dim)
            postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
            cpu_before = _server_cpu_s(postmaster)
            began = time.perf_counter()
            with database.begin() as connection:
                connection.execute(sa.text(f"SET maintenance_work_mem = '{work_mem}'"))
                connection.execute(
                    sa.text(
                        "CREATE INDEX ix_bench_vec ON tickets USING hnsw (vec vector_cosine_ops) "
                        "WITH (m = 16, ef_construction = 100)"
                    )
                )
            hnsw_s = time.perf_counter() - began
            hnsw_cpu_s = _server_cpu_s(postmaster) - cpu_before
            with database.begin() as connection:
                size_bytes = connection.execute(
                    sa.text("SELECT pg_relation_size('ix_bench_vec')")
                ).scalar_one()
                table_bytes = connection.execute(
                    sa.text("SELECT pg_total_relation_size('tickets')")
                ).scalar_one()
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
    return {
        "rows": rows,
        "dim": dim,
        "copy_rows_per_s": round(rows / loading, 1),
        "copy_s": round(loading, 1),
        "hnsw_build_s": round(hnsw_s, 1),
        "hnsw_build_server_cpu_s": round(hnsw_cpu_s, 1),
        "maintenance_work_mem": work_mem,
        "hnsw_index_mb": round(size_bytes / 2**20, 1),
        "table_with_index_mb": round(table_bytes / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=4_000)
    parser.add_argument("--body", default="use-multilingual")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--copy-rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--no-hnsw", action="store_true", help="Load only; no index build.")
    parser.add_argument(
        "--maintenance-work-mem",
        default=None,
        help="for the HNSW build (default: enough to hold the graph, ~3.4 KB a 512-dim row)",
    )
    args = parser.parse_args()

    from triage.scale.bodies import BodySpec

    out: dict[str, Any] = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.skip_embed:
        import ray

        body = BodySpec(embedder=args.body, threads=1)
        table = _texts(args.tickets)
        out["body"] = args.body
        out["tickets"] = args.tickets
        out["one_process"] = embed_local(table, body, args.batch)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            out["ray_1_worker"] = embed_ray(ray, table, body, args.batch, 1)
            out["ray_2_workers"] = embed_ray(ray, table, body, args.batch, 2)
        finally:
            ray.shutdown()
        plain = out["one_process"]["wall_s"]
        out["ray_overhead_1_worker"] = round(out["ray_1_worker"]["wall_s"] / plain - 1, 3)
    if args.copy_rows:
        out["copy"] = copy_rate(
            args.copy_rows, args.dim, hnsw=not args.no_hnsw, work_mem=args.maintenance_work_mem
        )
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
