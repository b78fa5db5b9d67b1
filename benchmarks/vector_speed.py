"""Speed of top-10 cosine search over ticket embeddings: embedded indexes versus pgvector.

Vectors are all-MiniLM-L6-v2 embeddings (384-d, unit length). About 4,000 real tickets are
embedded once (cached in ``benchmarks/.cache``); every stored set is drawn around them: pick a
real ticket uniformly, add gaussian noise shaped like the real embeddings' covariance (so it
moves along directions tickets actually vary in) with a per-point relative size uniform in
``[noise_min, noise_max]`` of the unit vector, and re-normalise. Queries are held-out points
drawn the same way (never corpus members): one set tunes each index's ``ef``, another
measures it.

For each size and candidate: build time (2 threads), index memory, single-query top-10
latency p50/p99 and recall@10 against exact search. ``ef`` is the smallest on a fixed grid
whose recall on the tuning queries reaches ``--tune-recall``. Results are merged into
``benchmarks/results/vector_speed.json`` (one entry per size) and printed as markdown.

    .venv/bin/python -m benchmarks.vector_speed --sizes 10000,100000
    nohup .venv/bin/python -m benchmarks.vector_speed --sizes 1000000 > /tmp/vs-1m.log 2>&1 &
    .venv/bin/python -m benchmarks.vector_speed --print-only
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from threadpoolctl import threadpool_limits

from benchmarks.harness import RESULTS, ROOT
from benchmarks.harness.machine import cpu_model, load_1m, memory_gb, versions
from benchmarks.harness.results import now, read_json, write_json
from benchmarks.harness.stats import percentile
from triage.similar import vector_index as vi_module
from triage.similar.vector_index import VectorIndex

SHARED = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "benchmarks" / ".cache"
OUTPUT = RESULTS / "vector_speed.json"
LIBRARIES = ("numpy", "faiss-cpu", "hnswlib", "usearch", "pgserver", "psycopg", "pgvector")

DIM = 384
K = 10
M = 16
EF_CONSTRUCTION = 100
REQUIRED_RECALL = 0.95
EF_GRID = (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
ALL_CANDIDATES = (
    "exact",
    "faiss",
    "hnswlib",
    "usearch-f32",
    "usearch-bf16",
    "usearch-f16",
    "usearch-i8",
    "VectorIndex",
    "pgvector",
)


# -- data ---------------------------------------------------------------------------------


def ticket_texts() -> list[str]:
    """3,000 IT-service tickets and 1,000 customer-support tickets (fixed samples)."""
    kaggle = pd.read_csv(
        SHARED / "it_service_tickets_kaggle" / "all_tickets_processed_improved_v3.csv"
    ).sample(3000, random_state=0)
    tobi = pd.read_csv(SHARED / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv").sample(
        1000, random_state=0
    )
    tobi_texts = (tobi["subject"].fillna("") + "\n" + tobi["body"].fillna("")).str.replace(
        "\\n", "\n"
    )
    return kaggle["Document"].astype(str).tolist() + tobi_texts.tolist()


def base_embeddings() -> np.ndarray:
    texts = ticket_texts()
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"vector_speed_base-minilm-{digest}.npy"
    if path.exists():
        return np.load(path)
    from triage.core.embeddings import load_embedder

    print(f"embedding {len(texts)} real tickets with all-MiniLM-L6-v2 ...", flush=True)
    vectors = load_embedder("minilm").encode(texts, batch_size=64)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


@dataclass(frozen=True)
class Generator:
    base: np.ndarray
    chol: np.ndarray  # covariance factor, scaled to unit total variance
    noise_min: float
    noise_max: float

    @classmethod
    def fit(cls, base: np.ndarray, noise_min: float, noise_max: float) -> Generator:
        cov = np.cov((base - base.mean(axis=0)).T)
        cov /= np.trace(cov)
        chol = np.linalg.cholesky(cov + 1e-9 * np.eye(cov.shape[0])).astype(np.float32)
        return cls(base, chol, noise_min, noise_max)

    def draw(self, n: int, seed: int, chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
        """``n`` unit vectors and the index of the real ticket each was drawn around."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.base.shape[1]), dtype=np.float32)
        picks = rng.integers(0, len(self.base), size=n)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            z = rng.standard_normal((stop - start, self.base.shape[1]), dtype=np.float32)
            scale = rng.uniform(self.noise_min, self.noise_max, size=(stop - start, 1))
            rows = self.base[picks[start:stop]] + (z @ self.chol.T) * scale.astype(np.float32)
            out[start:stop] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return out, picks


def exact_topk(corpus: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Ground truth: row ids of the top ``k`` by inner product, chunked over the corpus."""
    best_ids = np.empty((len(queries), 0), dtype=np.int64)
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    for start in range(0, len(corpus), 200_000):
        scores = queries @ corpus[start : start + 200_000].T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best_ids = np.hstack([best_ids, top + start])
        best_scores = np.hstack([best_scores, np.take_along_axis(scores, top, axis=1)])
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_ids = np.take_along_axis(best_ids, keep, axis=1)
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
    return best_ids


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.sum(hits) / truth.size)


# -- measuring ----------------------------------------------------------------------------


def rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    start = time.perf_counter()
    yield box
    box["s"] = time.perf_counter() - start


def latencies(
    search_one: Callable[[np.ndarray], np.ndarray], queries: np.ndarray
) -> dict[str, Any]:
    """Single-query wall times (ms) after a short warm-up, and the ids found.

    BLAS is held to one thread, as the HNSW libraries search one query on one thread: a
    service answers concurrent requests on its cores, and a threaded matrix-vector product
    on 2 busy cores spends more time in barriers than in arithmetic.
    """
    found = np.empty((len(queries), K), dtype=np.int64)
    times = np.empty(len(queries))
    with threadpool_limits(1, user_api="blas"):
        for q in queries[:50]:
            search_one(q)
        for i, q in enumerate(queries):
            t0 = time.perf_counter_ns()
            ids = search_one(q)
            times[i] = (time.perf_counter_ns() - t0) / 1e6
            found[i, : len(ids)] = ids[:K]
            found[i, len(ids) :] = -1
    ordered = np.sort(times)
    return {
        "found": found,
        "p50_ms": float(percentile(ordered, 0.50)),
        "p99_ms": float(percentile(ordered, 0.99)),
        "mean_ms": float(times.mean()),
        "n_queries": len(queries),
    }


def tune_ef(
    set_ef: Callable[[int], None],
    search_batch: Callable[[np.ndarray], np.ndarray],
    tune_queries: np.ndarray,
    tune_truth: np.ndarray,
    target: float,
    grid: tuple[int, ...] = EF_GRID,
    stop_at_target: bool = True,
) -> tuple[int, list[dict[str, float]]]:
    sweep = []
    chosen = None
    for ef in grid:
        set_ef(ef)
        with stopwatch() as t:
            found = search_batch(tune_queries)
        rec = recall_at_k(found, tune_truth)
        sweep.append({"ef": ef, "recall": round(rec, 4), "batch_qps": len(tune_queries) / t["s"]})
        if rec >= target and chosen is None:
            chosen = ef
            if stop_at_target:
                break
    return (grid[-1] if chosen is None else chosen), sweep


def measure_tuned(
    set_ef: Callable[[int], None],
    one: Callable[[np.ndarray], np.ndarray],
    ef: int,
    ctx: Context,
) -> tuple[dict[str, Any], int, list[dict[str, float]]]:
    """Latency and recall at the tuned ``ef``; if recall on the measured queries is still
    below ``REQUIRED_RECALL`` (tuning-set noise), step ``ef`` up the grid and measure again.
    Every step below the requirement is returned, so the table can say it happened."""
    below: list[dict[str, float]] = []
    while True:
        set_ef(ef)
        measured = latencies(one, ctx.queries)
        rec = recall_at_k(measured["found"], ctx.truth[: measured["n_queries"]])
        higher = [e for e in EF_GRID if e > ef]
        if rec >= REQUIRED_RECALL or not higher:
            return measured, ef, below
        below.append({"ef": ef, "recall": round(rec, 4), "p50_ms": round(measured["p50_ms"], 4)})
        ef = higher[0]


@dataclass
class Context:
    corpus: np.ndarray
    tune_queries: np.ndarray
    tune_truth: np.ndarray
    queries: np.ndarray
    truth: np.ndarray
    threads: int
    tune_target: float
    workdir: Path


def finish(result: dict[str, Any], measured: dict[str, Any], ctx: Context) -> dict[str, Any]:
    result["recall_at_10"] = round(
        recall_at_k(measured.pop("found"), ctx.truth[: measured["n_queries"]]), 4
    )
    result.update({key: round(v, 4) if isinstance(v, float) else v for key, v in measured.items()})
    return result


# -- candidates ---------------------------------------------------------------------------


def bench_exact(ctx: Context) -> dict[str, Any]:
    before = rss()
    with stopwatch() as t:
        matrix = np.ascontiguousarray(ctx.corpus, dtype=np.float32).copy()
    grown = rss() - before

    def one(q: np.ndarray) -> np.ndarray:
        scores = matrix @ q
        top = np.argpartition(-scores, K - 1)[:K]
        return top[np.argsort(-scores[top])]

    # Brute force at 1 M is ~100 ms a query: 200 queries are plenty for percentiles.
    n = len(ctx.queries) if len(matrix) <= 200_000 else 200
    result = {"build_s": round(t["s"], 3), "index_bytes": matrix.nbytes, "rss_delta_bytes": grown}
    return finish(result, latencies(one, ctx.queries[:n]), ctx)


def bench_faiss(ctx: Context) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(ctx.threads)
    before = rss()
    index = faiss.IndexHNSWFlat(DIM, M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    with stopwatch() as t:
        index.add(ctx.corpus)
    grown = rss() - before
    size = int(faiss.serialize_index(index).size)

    def set_ef(ef: int) -> None:
        index.hnsw.efSearch = ef

    def batch(qs: np.ndarray) -> np.ndarray:
        return np.asarray(index.search(qs, K)[1])

    ef, sweep = tune_ef(set_ef, batch, ctx.tune_queries, ctx.tune_truth, ctx.tune_target)
    faiss.omp_set_num_threads(1)
    measured, ef, below = measure_tuned(
        set_ef, lambda q: index.search(q.reshape(1, -1), K)[1][0], ef, ctx
    )
    faiss.omp_set_num_threads(ctx.threads)
    result = {
        "build_s": round(t["s"], 2),
        "index_bytes": size,
        "rss_delta_bytes": grown,
        "params": {"M": M, "efConstruction": EF_CONSTRUCTION, "efSearch": ef, "metric": "IP"},
        "ef_sweep": sweep,
        "ef_raised_from": below,
    }
    return finish(result, measured, ctx)


def bench_hnswlib(ctx: Context) -> dict[str, Any]:
    import hnswlib

    before = rss()
    index = hnswlib.Index(space="ip", dim=DIM)
    index.init_index(max_elements=len(ctx.corpus), M=M, ef_construction=EF_CONSTRUCTION)
    with stopwatch() as t:
        index.add_items(ctx.corpus, np.arange(len(ctx.corpus)), num_threads=ctx.threads)
    grown = rss() - before
    saved = ctx.workdir / "hnswlib.bin"
    index.save_index(str(saved))
    size = saved.stat().st_size
    saved.unlink()

    def batch(qs: np.ndarray) -> np.ndarray:
        return np.asarray(index.knn_query(qs, k=K, num_threads=ctx.threads)[0], dtype=np.int64)

    ef, sweep = tune_ef(index.set_ef, batch, ctx.tune_queries, ctx.tune_truth, ctx.tune_target)
    measured, ef, below = measure_tuned(
        index.set_ef, lambda q: index.knn_query(q.reshape(1, -1), k=K, num_threads=1)[0][0], ef, ctx
    )
    result = {
        "build_s": round(t["s"], 2),
        "index_bytes": size,
        "rss_delta_bytes": grown,
        "params": {"M": M, "ef_construction": EF_CONSTRUCTION, "ef": ef, "space": "ip"},
        "ef_sweep": sweep,
        "ef_raised_from": below,
    }
    return finish(result, measured, ctx)


def bench_usearch(ctx: Context, dtype: str) -> dict[str, Any]:
    from usearch.index import Index

    before = rss()
    index = Index(
        ndim=DIM, metric="cos", dtype=dtype, connectivity=M, expansion_add=EF_CONSTRUCTION
    )
    with stopwatch() as t:
        index.add(np.arange(len(ctx.corpus)), ctx.corpus, threads=ctx.threads)
    grown = rss() - before

    def set_ef(ef: int) -> None:
        index.expansion_search = ef

    def batch(qs: np.ndarray) -> np.ndarray:
        return np.asarray(index.search(qs, K, threads=ctx.threads).keys, dtype=np.int64)

    ef, sweep = tune_ef(set_ef, batch, ctx.tune_queries, ctx.tune_truth, ctx.tune_target)
    measured, ef, below = measure_tuned(
        set_ef, lambda q: np.asarray(index.search(q, K, threads=1).keys, dtype=np.int64), ef, ctx
    )
    result = {
        "build_s": round(t["s"], 2),
        "index_bytes": int(index.serialized_length),
        "allocated_bytes": int(index.memory_usage),
        "rss_delta_bytes": grown,
        "params": {
            "M": M,
            "expansion_add": EF_CONSTRUCTION,
            "expansion_search": ef,
            "dtype": dtype,
            "metric": "cos",
            "isa": index.hardware_acceleration,
        },
        "ef_sweep": sweep,
        "ef_raised_from": below,
    }
    return finish(result, measured, ctx)


def bench_vector_index(ctx: Context) -> dict[str, Any]:
    """The shipped class with its defaults, fed through its public API."""
    before = rss()
    index = VectorIndex(DIM, threads=ctx.threads)
    keys = np.arange(1, len(ctx.corpus) + 1, dtype=np.int64)  # row ids start at 1
    with stopwatch() as t:
        index.upsert(keys, ctx.corpus)
    grown = rss() - before

    def one(q: np.ndarray, search: Callable[..., Any] = index.search) -> np.ndarray:
        return np.asarray(search(q, K)[0][0] - 1)

    measured = latencies(one, ctx.queries)
    sweep: list[dict[str, float]] = []
    if index.mode == "hnsw":  # for information: what smaller ef would give on this data

        def set_ef(ef: int) -> None:
            index.expansion_search = ef

        def batch(qs: np.ndarray) -> np.ndarray:
            return np.asarray(index.search(qs, K)[0] - 1)

        default_ef = index.expansion_search
        grid = (*(ef for ef in EF_GRID if ef < default_ef), default_ef)
        _, sweep = tune_ef(
            set_ef,
            batch,
            ctx.tune_queries,
            ctx.tune_truth,
            ctx.tune_target,
            grid=grid,
            stop_at_target=False,
        )
        index.expansion_search = default_ef
    path = ctx.workdir / "tickets.sqlite.vectors"
    with stopwatch() as saving:
        index.save(path)
    file_bytes = path.stat().st_size
    with stopwatch() as loading:
        loaded = VectorIndex.load(path, threads=ctx.threads)
    found = loaded.search(ctx.queries[:100], K)[0] - 1
    reload_recall = recall_at_k(found, ctx.truth[:100])
    path.unlink()
    result = {
        "build_s": round(t["s"], 2),
        "index_bytes": file_bytes,
        "allocated_bytes": int(loaded.memory_bytes()),
        "rss_delta_bytes": grown,
        "mode": loaded.mode,
        "params": {
            "hnsw_threshold": loaded.hnsw_threshold,
            "M": loaded.connectivity,
            "expansion_add": loaded.expansion_add,
            "expansion_search": loaded.expansion_search,
            "dtype": loaded.dtype,
        },
        "save_s": round(saving["s"], 2),
        "load_s": round(loading["s"], 2),
        "file_bytes": file_bytes,
        "recall_after_reload_100q": round(reload_recall, 4),
        "ef_sweep": sweep,
    }
    return finish(result, measured, ctx)


def bench_pgvector(ctx: Context, build_timeout_min: float) -> dict[str, Any]:
    import pgserver
    import psycopg
    from pgvector.psycopg import register_vector

    pgdata = Path(tempfile.gettempdir()) / "triage-vector-speed-pg"
    shutil.rmtree(pgdata, ignore_errors=True)
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    server.psql("create extension if not exists vector")
    result: dict[str, Any] = {}
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            register_vector(conn)
            result["pgvector_version"] = conn.execute(
                "select extversion from pg_extension where extname = 'vector'"
            ).fetchone()[0]  # type: ignore[index]
            result["postgres_version"] = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
            conn.execute("create table tickets (id bigint primary key, embedding vector(384))")
            with stopwatch() as loading:
                with (
                    conn.cursor() as cur,
                    cur.copy(
                        "copy tickets (id, embedding) from stdin with (format binary)"
                    ) as copy,
                ):
                    copy.set_types(["int8", "vector"])
                    for i, row in enumerate(ctx.corpus):
                        copy.write_row((i, row))
                conn.execute("vacuum analyze tickets")
            result["load_s"] = round(loading["s"], 2)
            workers = max(0, ctx.threads - 1)
            conn.execute("set maintenance_work_mem = '8GB'")
            conn.execute(f"set max_parallel_maintenance_workers = {workers}")
            conn.execute(f"set statement_timeout = '{int(build_timeout_min * 60)}s'")
            try:
                with stopwatch() as building:
                    conn.execute(
                        "create index tickets_hnsw on tickets using hnsw "
                        f"(embedding vector_cosine_ops) with (m = {M}, "
                        f"ef_construction = {EF_CONSTRUCTION})"
                    )
            except psycopg.errors.QueryCanceled:
                result["build_s"] = None
                result["note"] = f"HNSW build cancelled after {build_timeout_min:g} min"
                return result
            finally:
                conn.execute("set statement_timeout = 0")
            result["build_s"] = round(building["s"], 2)
            result["table_bytes"] = conn.execute("select pg_table_size('tickets')").fetchone()[0]  # type: ignore[index]
            result["index_bytes"] = conn.execute(
                "select pg_relation_size('tickets_hnsw')"
            ).fetchone()[0]  # type: ignore[index]
            result["params"] = {
                "m": M,
                "ef_construction": EF_CONSTRUCTION,
                "opclass": "vector_cosine_ops",
                "maintenance_work_mem": "8GB",
                "max_parallel_maintenance_workers": workers,
                "shared_buffers": conn.execute("show shared_buffers").fetchone()[0],  # type: ignore[index]
            }
            sql = "select id from tickets order by embedding <=> %s limit 10"

            def one(q: np.ndarray) -> np.ndarray:
                rows = conn.execute(sql, (q,), prepare=True).fetchall()
                return np.array([r[0] for r in rows], dtype=np.int64)

            def set_ef(ef: int) -> None:
                conn.execute(f"set hnsw.ef_search = {ef}")

            def batch(qs: np.ndarray) -> np.ndarray:
                out = np.full((len(qs), K), -1, dtype=np.int64)
                for i, q in enumerate(qs):
                    ids = one(q)
                    out[i, : len(ids)] = ids
                return out

            n_tune = min(len(ctx.tune_queries), 200)
            ef, sweep = tune_ef(
                set_ef, batch, ctx.tune_queries[:n_tune], ctx.tune_truth[:n_tune], ctx.tune_target
            )
            measured, ef, below = measure_tuned(set_ef, one, ef, ctx)
            result["params"]["hnsw.ef_search"] = ef
            result["ef_sweep"] = sweep
            result["ef_raised_from"] = below
            finish(result, measured, ctx)

            # Exact scan for reference (parallel sequential scan, no index). A new statement
            # text, so no plan prepared while the index was allowed is reused.
            conn.execute("set enable_indexscan = off")
            exact_sql = sql + " -- exact scan"

            def one_exact(q: np.ndarray) -> np.ndarray:
                rows = conn.execute(exact_sql, (q,), prepare=True).fetchall()
                return np.array([r[0] for r in rows], dtype=np.int64)

            n_exact = 100 if len(ctx.corpus) <= 200_000 else 20
            exact = latencies(one_exact, ctx.queries[:n_exact])
            result["exact_scan"] = {
                "p50_ms": round(exact["p50_ms"], 2),
                "p99_ms": round(exact["p99_ms"], 2),
                "n_queries": n_exact,
                "recall_at_10": round(recall_at_k(exact["found"], ctx.truth[:n_exact]), 4),
            }
    finally:
        server.cleanup()
    return result


# -- driver -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model() or "unknown",
        "memory_gib": memory_gb(),
        "platform": platform.platform(),
        "note": "2 cores shared with other engineers' jobs: latencies are noisy upward",
    }


def data_stats(
    corpus_picks: np.ndarray, corpus: np.ndarray, gen: Generator, truth_scores: np.ndarray
) -> dict[str, Any]:
    sample = corpus[:20_000]
    to_base = np.einsum("ij,ij->i", sample, gen.base[corpus_picks[:20_000]])
    q = lambda a: [round(float(x), 3) for x in np.quantile(a, [0.1, 0.5, 0.9])]  # noqa: E731
    return {
        "cos_to_real_ticket_q10_q50_q90": q(to_base),
        "query_top1_sim_q10_q50_q90": q(truth_scores[:, 0]),
        "query_top10_sim_q10_q50_q90": q(truth_scores[:, -1]),
    }


def run_size(
    size: int,
    args: argparse.Namespace,
    gen: Generator,
    checkpoint: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    print(f"\n=== {size:,} vectors ===", flush=True)
    corpus, picks = gen.draw(size, seed=1)
    tune_queries, _ = gen.draw(args.tune_queries, seed=2)
    queries, _ = gen.draw(args.queries, seed=3)
    with stopwatch() as t:
        tune_truth = exact_topk(corpus, tune_queries)
        truth = exact_topk(corpus, queries)
    truth_scores = (
        np.take_along_axis(queries @ corpus.T, truth, axis=1)
        if size <= 200_000
        else (np.einsum("qd,qkd->qk", queries, corpus[truth]))
    )
    print(f"ground truth in {t['s']:.1f} s", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="vector-speed-"))
    ctx = Context(
        corpus, tune_queries, tune_truth, queries, truth, args.threads, args.tune_recall, workdir
    )
    entry: dict[str, Any] = {
        "size": size,
        "load_avg_1min_at_start": load_1m(),
        "data": data_stats(picks, corpus, gen, truth_scores),
        "candidates": {},
    }
    for name in args.candidates:
        print(f"-- {name}", flush=True)
        try:
            if name == "exact":
                res = bench_exact(ctx)
            elif name == "faiss":
                res = bench_faiss(ctx)
            elif name == "hnswlib":
                res = bench_hnswlib(ctx)
            elif name.startswith("usearch-"):
                res = bench_usearch(ctx, name.removeprefix("usearch-"))
            elif name == "VectorIndex":
                res = bench_vector_index(ctx)
            elif name == "pgvector":
                res = bench_pgvector(ctx, args.pg_build_timeout_min)
            else:
                raise ValueError(name)
        except ImportError as exc:
            res = {"skipped": f"not installed: {exc}"}
        gc.collect()
        res["measured_at"] = now()
        res["load_avg_1min"] = load_1m()
        summary = {k: v for k, v in res.items() if k not in {"ef_sweep"}}
        print(f"   {json.dumps(summary, default=str)}", flush=True)
        entry["candidates"][name] = res
        checkpoint(entry)  # a long run keeps what it measured if it is stopped
    shutil.rmtree(workdir, ignore_errors=True)
    entry["load_avg_1min_at_end"] = load_1m()
    return entry


def mib(n: Any) -> str:
    return "—" if n is None else f"{n / 2**20:,.0f}"


def table(results: dict[str, Any]) -> str:
    lines = []
    for size_key in sorted(results.get("sizes", {}), key=int):
        entry = results["sizes"][size_key]
        d = entry["data"]
        lines.append(f"\n### {int(size_key):,} vectors (384-d, top-10, cosine)\n")
        lines.append(
            "load = the machine's 1-minute load average (2 cores, shared) when the row was "
            "measured: above 2, other jobs were competing for the cores\n"
        )
        lines.append(
            f"data: cos to the real ticket q10/q50/q90 {d['cos_to_real_ticket_q10_q50_q90']}, "
            f"queries' 1st / 10th neighbour similarity q50 "
            f"{d['query_top1_sim_q10_q50_q90'][1]} / {d['query_top10_sim_q10_q50_q90'][1]}\n"
        )
        lines.append(
            "| index | build s | index MiB | RSS Δ MiB | ef | p50 ms | p99 ms | recall@10 | load |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in entry["candidates"].items():
            if "skipped" in r:
                lines.append(f"| {name} | skipped: {r['skipped']} ||||||||")
                continue
            if r.get("build_s") is None:
                lines.append(f"| {name} | {r.get('note', 'not measured')} ||||||||")
                continue
            params = r.get("params", {})
            ef = next(
                (
                    params[k]
                    for k in ("efSearch", "ef", "expansion_search", "hnsw.ef_search")
                    if k in params
                ),
                "—",
            )
            if r.get("ef_raised_from"):
                ef = f"{ef} (tuned {r['ef_raised_from'][0]['ef']})"
            label = name
            if name == "VectorIndex":
                label = f"VectorIndex ({r['mode']}, {params.get('dtype')})"
                if r["mode"] == "exact":
                    ef = "—"
            if name == "pgvector":
                mem = f"{mib(r['index_bytes'])} (+{mib(r['table_bytes'])} table)"
                rss_delta = "server"
            else:
                mem = mib(r["index_bytes"])
                rss_delta = mib(r["rss_delta_bytes"])
            lines.append(
                f"| {label} | {r['build_s']} | {mem} | {rss_delta} | {ef} | "
                f"{r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['recall_at_10']:.4f} | "
                f"{r.get('load_avg_1min', '—')} |"
            )
            if name == "pgvector" and "exact_scan" in r:
                e = r["exact_scan"]
                lines.append(
                    f"| pgvector exact scan ({e['n_queries']} q) | — | — | server | — | "
                    f"{e['p50_ms']:.3f} | {e['p99_ms']:.3f} | {e['recall_at_10']:.4f} | |"
                )
        extra = entry["candidates"].get("VectorIndex")
        if extra and "save_s" in extra:
            lines.append(
                f"\nVectorIndex file {mib(extra['file_bytes'])} MiB, save {extra['save_s']} s, "
                f"load {extra['load_s']} s, recall after reload (100 q) "
                f"{extra['recall_after_reload_100q']}"
            )
        pg = entry["candidates"].get("pgvector")
        if pg and pg.get("load_s") is not None:
            lines.append(f"pgvector COPY + vacuum analyze {pg['load_s']} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--candidates", default=",".join(ALL_CANDIDATES))
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--tune-queries", type=int, default=500)
    parser.add_argument("--tune-recall", type=float, default=0.96)
    parser.add_argument("--noise-min", type=float, default=0.3)
    parser.add_argument("--noise-max", type=float, default=0.7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pg-build-timeout-min", type=float, default=25.0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--print-only", action="store_true")
    args = parser.parse_args()
    args.candidates = [c for c in args.candidates.split(",") if c]
    unknown = set(args.candidates) - set(ALL_CANDIDATES)
    if unknown:
        parser.error(f"unknown candidates {sorted(unknown)}; choose from {ALL_CANDIDATES}")

    results = read_json(args.output)
    if not args.print_only:
        base = base_embeddings()
        gen = Generator.fit(base, args.noise_min, args.noise_max)
        results.update(
            {
                "description": (
                    "top-10 cosine search over all-MiniLM-L6-v2 ticket embeddings; corpus and "
                    "queries drawn around real ticket embeddings (covariance-shaped gaussian "
                    "noise, re-normalised); single-query latency, recall@10 vs exact"
                ),
                "machine": machine(),
                "versions": versions(*LIBRARIES),
                "vector_index_defaults": {
                    "hnsw_threshold": vi_module.DEFAULT_HNSW_THRESHOLD,
                    "M": vi_module.DEFAULT_CONNECTIVITY,
                    "expansion_add": vi_module.DEFAULT_EXPANSION_ADD,
                    "expansion_search": vi_module.DEFAULT_EXPANSION_SEARCH,
                    "dtype": vi_module.DEFAULT_DTYPE,
                },
                "protocol": {
                    "dim": DIM,
                    "k": K,
                    "real_tickets": len(base),
                    "real_sources": [
                        "it_service_tickets_kaggle (3000)",
                        "tobi_bueck_tickets_en (1000)",
                    ],
                    "noise_relative_norm": [args.noise_min, args.noise_max],
                    "queries": args.queries,
                    "tune_queries": args.tune_queries,
                    "ef_rule": (
                        f"smallest ef in {list(EF_GRID)} with recall >= {args.tune_recall} "
                        "on the tuning queries"
                    ),
                    "M": M,
                    "ef_construction": EF_CONSTRUCTION,
                    "build_threads": args.threads,
                    "search_threads": 1,
                },
            }
        )
        sizes = results.setdefault("sizes", {})
        for size in (int(s.replace("_", "")) for s in args.sizes.split(",") if s):
            previous = sizes.get(str(size), {}).get("candidates", {})

            def checkpoint(
                entry: dict[str, Any], size: int = size, previous: Any = previous
            ) -> None:
                merged = dict(entry)
                merged["measured_at"] = now()
                merged["candidates"] = {**previous, **entry["candidates"]}
                sizes[str(size)] = merged
                write_json(args.output, results, default=str)

            checkpoint(run_size(size, args, gen, checkpoint))
    print(table(results))


if __name__ == "__main__":
    main()
