"""Latency of the shipped similar-ticket search (dense + full-text, fused) at 100k tickets.

Store: a fresh SQLite file (the embedded default), filled through ``TicketStore.upsert`` (the
shipped write path; FTS5 rows written by the migration's triggers), then opened by
``SimilarService.open`` (the in-process vector index, HNSW above 20,000 vectors).

Tickets are synthetic: each is a real ``tobi_bueck_tickets_en`` ticket (subject and body)
with its body's words shuffled and a serial number added, so every text is distinct while
the vocabulary and lengths stay those of real tickets. Vectors are 512-dimensional like the
default body's, from the ``hashing`` stand-in embedder (character n-grams of the same text)
— the search cost does not depend on which model made them. Queries: 200 other tickets made
the same way, never stored.

Measured per query, single-threaded, after 20 warm-up queries: ``SimilarService.find`` with
the query text (the hybrid: resolved matches; the open-duplicate search is part of ``find``
too), and its parts — the dense search, the full-text search and the language guess.
Writes ``benchmarks/results/hybrid_speed.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/hybrid_speed.py [--size 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.embeddings import HashingEmbedder
from triage.core.text import ticket_text
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.tickets import Filters, TicketRecord, TicketStore, text_digest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (
    ROOT.parent / "shared" / "datasets" / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv"
)
RESULTS = ROOT / "benchmarks" / "results" / "hybrid_speed.json"
QUERIES, WARM_UP, K = 200, 20, 10


def synthetic(n: int, seed: int) -> list[TicketRecord]:
    frame = pd.read_csv(SOURCE, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(frame), size=n)
    out = []
    for i, row in enumerate(rows):
        words = frame["body"].iat[row].split()
        rng.shuffle(words)
        out.append(
            TicketRecord(
                f"S{seed}-{i}",
                subject=f"{frame['subject'].iat[row]} #{i}",
                body=" ".join(words),
                language="en",
            )
        )
    return out


def fill(store: TicketStore, records: list[TicketRecord], embedder: HashingEmbedder) -> None:
    for start in range(0, len(records), 2_000):
        chunk = records[start : start + 2_000]
        texts = [ticket_text([r.subject, r.body]) for r in chunk]
        vectors = embedder.encode(texts)
        store.upsert(chunk, [text_digest(t) for t in texts], dict(enumerate(vectors)))


def timed(call: Callable[[int], object]) -> dict[str, float]:
    for q in range(WARM_UP):
        call(q)
    times = []
    for q in range(QUERIES):
        started = time.perf_counter()
        call(q)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * len(times))], 2),
        "mean_ms": round(statistics.fmean(times), 2),
    }


def run(size: int) -> dict[str, Any]:
    embedder = HashingEmbedder(512)
    queries = synthetic(QUERIES + WARM_UP, seed=2)
    texts = [ticket_text([r.subject, r.body]) for r in queries]
    vectors = embedder.encode(texts)
    with (
        tempfile.TemporaryDirectory() as folder,
        Database(f"sqlite:///{Path(folder) / 'triage.db'}") as database,
    ):
        database.upgrade()
        started = time.perf_counter()
        fill(TicketStore(database), synthetic(size, seed=1), embedder)
        stored = time.perf_counter() - started
        started = time.perf_counter()
        service = SimilarService.open(database, embedder, backend="embedded")
        opened = time.perf_counter() - started
        filters = Filters()
        result = {
            "find (hybrid, k=10)": timed(
                lambda q: service.find(vectors[q], text=texts[q], k=K, min_score=-1.0)
            ),
            "find (dense only, k=10)": timed(
                lambda q: service.find(vectors[q], k=K, min_score=-1.0)
            ),
            "dense search (depth 50)": timed(
                lambda q: service.search_backend.search(vectors[q], 50, filters)
            ),
            "full-text search (depth 50)": timed(
                lambda q: service.lexical.search(texts[q], 50, filters, language="en")
            ),
            "language guess": timed(lambda q: service.language_detector.detect(texts[q])),
        }
        service.close()
    return {
        "size": size,
        "index_mode": "hnsw" if size >= 20_000 else "exact",
        "seconds_to_store": round(stored, 1),
        "seconds_to_open": round(opened, 1),
        "query_words_mean": round(statistics.fmean(len(t.split()) for t in texts), 1),
        "latency": result,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[str(args.size)] = run(args.size)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results[str(args.size)], indent=2))


if __name__ == "__main__":
    main()
