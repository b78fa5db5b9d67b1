"""Retrieval quality for "similar resolved tickets": dense vs lexical vs hybrid.

Protocol (fixed before measuring; see the issue):

* ``banking77`` — queries: the 3,080 official test questions; corpus: the 10,003 official
  training questions; a retrieved question is relevant when it has the query's intent.
* ``tobi_bueck_tickets_en`` (synthetic, LLM-generated) — 10 % of the tickets held out as
  queries (``numpy.random.default_rng(0).permutation``, first ``round(0.1 * n)`` rows),
  the other 90 % are the corpus; relevant = same ``queue`` AND same ``type``.
* Texts: ``triage.text.ticket_text`` of (``text``) or (``subject``, ``body``), the same
  for queries and corpus.
* Methods: ``dense`` (cosine of all-MiniLM-L6-v2 embeddings, ``load_embedder("minilm")``,
  vectors cached in ``benchmarks/.cache`` by ``quality.CachedEmbedder``); ``bm25``
  (``bm25s``: Lucene BM25, k1=1.5, b=0.75, lower-cased ``\\b\\w\\w+\\b`` tokens, bm25s'
  English stop words, no stemming); ``tfidf`` (scikit-learn ``TfidfVectorizer``, word
  1–2-grams, sublinear tf, l2, fitted on the corpus only; cosine); and reciprocal-rank
  fusion (``triage.similar.fusion``, k=60) of the top ``DEPTH`` candidates of dense + bm25,
  dense + tfidf, and dense + bm25 weighted 2 : 1 (weights chosen before measuring, not
  tuned on these test queries).
* Lexical rankings leave out documents scoring 0 (no shared term): they are not matches,
  and must not earn fusion credit. Ties are broken by corpus order, so runs are exact.
* Metrics, per query then averaged: P@1, P@5 (relevant among the first 5, divided by 5) and
  MRR@10 (1 / rank of the first relevant result within the top 10, else 0). ``chance`` is
  the expected P@k of a random ranking (the share of the corpus relevant to the query).
  A paired bootstrap over queries (2,000 resamples, seed 0) gives 95 % intervals for the
  MRR@10 difference between each method and the best one.
* Diagnostics: the share of queries whose nearest corpus text has dense cosine >= 0.95 (a
  paraphrase of the query, which makes P@1 easy), and dense precision at ranks 1 to 5.
* ``ms/query``: an estimate of one request's latency on this machine — the batch search
  time per query (scoring the whole corpus and sorting it; fusion adds its parts) plus,
  for dense and hybrids, embedding one query alone (mean of 32, uncached).

Results are merged into ``benchmarks/results/retrieval.json`` and printed as a table.

    .venv/bin/python benchmarks/retrieval.py [--dataset banking77] [--dataset ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bm25s  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
from quality import CachedEmbedder
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.artifacts import library_versions
from triage.embeddings import load_embedder
from triage.similar.fusion import DEFAULT_K, reciprocal_rank_fusion
from triage.text import ticket_text

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "retrieval.json"

DEPTH = 100  # candidates each retriever hands to fusion
CUTOFF = 10  # MRR@10; P@k for k in KS
KS = (1, 5)
CHUNK = 256  # queries scored at once (bounds memory: CHUNK x corpus floats)
HOLDOUT, SEED = 0.10, 0
BOOTSTRAP = 2000
NEAR_DUPLICATE = 0.95  # cosine at which a corpus text counts as a paraphrase of the query
BM25_PARAMS: dict[str, Any] = {"method": "lucene", "k1": 1.5, "b": 0.75}
BM25_STOPWORDS = "en"
TFIDF_PARAMS: dict[str, Any] = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1}
HYBRIDS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "rrf(dense+bm25)": (("dense", "bm25"), (1.0, 1.0)),
    "rrf(dense+tfidf)": (("dense", "tfidf"), (1.0, 1.0)),
    "rrf(2·dense+bm25)": (("dense", "bm25"), (2.0, 1.0)),
}

Ranking = list[int]  # corpus row numbers, best first


@dataclass(frozen=True)
class Split:
    corpus: list[str]
    corpus_labels: np.ndarray
    queries: list[str]
    query_labels: np.ndarray
    protocol: str


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(f"{path} is absent; the datasets live in ../shared/datasets")
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def _texts(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [ticket_text(row) for row in frame[list(columns)].itertuples(index=False)]


def banking77() -> Split:
    train = _read(SHARED / "banking77" / "train.csv")
    test = _read(SHARED / "banking77" / "test.csv")
    return Split(
        corpus=_texts(train, ["text"]),
        corpus_labels=train["category"].to_numpy(dtype=str),
        queries=_texts(test, ["text"]),
        query_labels=test["category"].to_numpy(dtype=str),
        protocol="queries: official test.csv; corpus: official train.csv; relevant: same intent",
    )


def tobi_bueck() -> Split:
    frame = _read(SHARED / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv")
    order = np.random.default_rng(SEED).permutation(len(frame))
    held_out = np.sort(order[: round(HOLDOUT * len(frame))])
    rest = np.sort(order[round(HOLDOUT * len(frame)) :])
    texts = np.asarray(_texts(frame, ["subject", "body"]), dtype=object)
    labels = (frame["queue"] + " | " + frame["type"]).to_numpy(dtype=str)
    return Split(
        corpus=texts[rest].tolist(),
        corpus_labels=labels[rest],
        queries=texts[held_out].tolist(),
        query_labels=labels[held_out],
        protocol=(
            f"synthetic; queries: {HOLDOUT:.0%} held out (numpy default_rng({SEED}) "
            "permutation); corpus: the rest; relevant: same queue and same type"
        ),
    )


DATASETS: dict[str, Callable[[], Split]] = {
    "banking77": banking77,
    "tobi_bueck_tickets_en": tobi_bueck,
}


def _top(scores: np.ndarray, *, positive_only: bool) -> list[Ranking]:
    """Best ``DEPTH`` corpus rows per query row; ties keep corpus order (stable sort)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :DEPTH]
    if not positive_only:
        return order.tolist()  # type: ignore[no-any-return]
    keep = np.take_along_axis(scores, order, axis=1) > 0
    return [row[mask].tolist() for row, mask in zip(order, keep, strict=True)]


def _chunks(n: int) -> list[slice]:
    return [slice(start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]


def dense(corpus_vectors: np.ndarray, query_vectors: np.ndarray) -> list[Ranking]:
    rankings: list[Ranking] = []
    for rows in _chunks(len(query_vectors)):
        rankings += _top(query_vectors[rows] @ corpus_vectors.T, positive_only=False)
    return rankings


def tfidf(corpus: list[str], queries: list[str]) -> tuple[list[Ranking], float]:
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(**TFIDF_PARAMS)
    corpus_matrix = vectorizer.fit_transform(corpus).T.tocsr()
    indexed = time.perf_counter() - started
    query_matrix = vectorizer.transform(queries)
    rankings: list[Ranking] = []
    for rows in _chunks(len(queries)):
        scores = (query_matrix[rows] @ corpus_matrix).toarray()
        rankings += _top(scores, positive_only=True)
    return rankings, indexed


def _bm25_tokens(texts: list[str]) -> list[list[str]]:
    tokens = bm25s.tokenize(texts, stopwords=BM25_STOPWORDS, return_ids=False, show_progress=False)
    return [[token for token in doc if token] for doc in tokens]


def bm25(corpus: list[str], queries: list[str]) -> tuple[list[Ranking], float]:
    started = time.perf_counter()
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(_bm25_tokens(corpus), show_progress=False)
    indexed = time.perf_counter() - started
    query_ids = [retriever.get_tokens_ids(tokens) for tokens in _bm25_tokens(queries)]
    zero = np.zeros(len(corpus), dtype=np.float32)
    rankings: list[Ranking] = []
    for rows in _chunks(len(queries)):
        scores = np.stack(
            [retriever.get_scores_from_ids(ids) if ids else zero for ids in query_ids[rows]]
        )
        rankings += _top(scores, positive_only=True)
    return rankings, indexed


def fuse(parts: Sequence[list[Ranking]], weights: Sequence[float]) -> list[Ranking]:
    return [
        [row for row, _ in reciprocal_rank_fusion(per_query, k=DEFAULT_K, weights=weights)]
        for per_query in zip(*parts, strict=True)
    ]


def per_query(rankings: list[Ranking], split: Split) -> dict[str, np.ndarray]:
    """Per-query P@k and reciprocal rank within the top ``CUTOFF``."""
    relevant = np.zeros((len(rankings), CUTOFF), dtype=bool)
    for q, ranking in enumerate(rankings):
        top = ranking[:CUTOFF]
        relevant[q, : len(top)] = split.corpus_labels[top] == split.query_labels[q]
    first = np.where(relevant.any(axis=1), relevant.argmax(axis=1) + 1, 0)
    scores = {f"p_at_{k}": relevant[:, :k].sum(axis=1) / k for k in KS}
    scores[f"mrr_at_{CUTOFF}"] = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    return scores


def precision_by_rank(rankings: list[Ranking], split: Split) -> np.ndarray:
    """Share of queries whose result at rank 1, 2, ..., 5 is relevant."""
    top = np.asarray([ranking[:5] for ranking in rankings])
    return np.asarray((split.corpus_labels[top] == split.query_labels[:, None]).mean(axis=0))


def chance(split: Split) -> float:
    labels, counts = np.unique(split.corpus_labels, return_counts=True)
    share = dict(zip(labels.tolist(), (counts / len(split.corpus)).tolist(), strict=True))
    return float(np.mean([share.get(label, 0.0) for label in split.query_labels.tolist()]))


def paired_bootstrap(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Mean of ``a - b`` over queries with a 95 % percentile interval."""
    rng = np.random.default_rng(SEED)
    diff = a - b
    means = diff[rng.integers(0, len(diff), size=(BOOTSTRAP, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mean": round(float(diff.mean()), 4),
        "ci95": [round(float(low), 4), round(float(high), 4)],
    }


def near_duplicates(
    corpus_vectors: np.ndarray, query_vectors: np.ndarray, dense_rankings: list[Ranking]
) -> np.ndarray:
    """Queries whose nearest corpus text (by dense cosine) is at least ``NEAR_DUPLICATE``."""
    nearest = corpus_vectors[[ranking[0] for ranking in dense_rankings]]
    return np.asarray(np.einsum("ij,ij->i", query_vectors, nearest) >= NEAR_DUPLICATE)


def run(name: str, embedder: CachedEmbedder) -> dict[str, Any]:
    split = DATASETS[name]()
    print(f"{name}: {len(split.queries):,} queries, {len(split.corpus):,} corpus", flush=True)
    rankings: dict[str, list[Ranking]] = {}
    timing: dict[str, dict[str, float]] = {}

    hits = embedder.hits
    started = time.perf_counter()
    corpus_vectors = embedder.encode(split.corpus, show_progress=True)
    query_vectors = embedder.encode(split.queries, show_progress=True)
    embed_seconds = time.perf_counter() - started
    sample = split.queries[:32]  # one at a time, as a served request would be
    started = time.perf_counter()
    for text in sample:
        embedder.inner.encode([text])
    query_embed_ms = 1000 * (time.perf_counter() - started) / len(sample)
    started = time.perf_counter()
    rankings["dense"] = dense(corpus_vectors, query_vectors)
    timing["dense"] = {"search_seconds": time.perf_counter() - started}

    for method, build in (("bm25", bm25), ("tfidf", tfidf)):
        started = time.perf_counter()
        rankings[method], indexed = build(split.corpus, split.queries)
        total = time.perf_counter() - started
        timing[method] = {"index_seconds": indexed, "search_seconds": total - indexed}
        print(f"  {method}: {total:.1f} s", flush=True)

    for method, (parts, weights) in HYBRIDS.items():
        started = time.perf_counter()
        rankings[method] = fuse([rankings[p] for p in parts], weights)
        timing[method] = {"fusion_seconds": time.perf_counter() - started}

    scores = {method: per_query(ranked, split) for method, ranked in rankings.items()}
    twins = near_duplicates(corpus_vectors, query_vectors, rankings["dense"])
    mrr = f"mrr_at_{CUTOFF}"
    best = max(scores, key=lambda m: (float(scores[m][mrr].mean()), m == "dense"))
    search_ms = {
        method: 1000
        * (t.get("search_seconds", 0) + t.get("fusion_seconds", 0))
        / len(scores[method][mrr])
        for method, t in timing.items()
    }
    methods: dict[str, Any] = {}
    for method, per in scores.items():
        parts = HYBRIDS[method][0] if method in HYBRIDS else ()
        latency = search_ms[method] + sum(search_ms[p] for p in parts)
        if method == "dense" or "dense" in parts:
            latency += query_embed_ms
        methods[method] = {
            "metrics": {metric: round(float(v.mean()), 4) for metric, v in per.items()},
            "timing_seconds": {key: round(value, 3) for key, value in timing[method].items()},
            "ms_per_query": round(latency, 2),
            "empty_rankings": sum(1 for ranking in rankings[method] if not ranking),
        }
        if method != best:
            methods[method][f"minus {best}, {mrr}"] = paired_bootstrap(per[mrr], scores[best][mrr])
    return {
        "protocol": split.protocol,
        "corpus_size": len(split.corpus),
        "query_size": len(split.queries),
        "relevance_labels": len(np.unique(split.corpus_labels)),
        "chance_p_at_k": round(chance(split), 4),
        "mrr_cutoff": CUTOFF,
        "fusion": {"k": DEFAULT_K, "depth_per_retriever": DEPTH},
        "bm25": {**BM25_PARAMS, "stopwords": BM25_STOPWORDS, "tokenizer": "bm25s.tokenize"},
        "tfidf": {**TFIDF_PARAMS, "ngram_range": list(TFIDF_PARAMS["ngram_range"])},
        "embedding": {
            "embedder": embedder.identity.get("name"),
            "seconds": round(embed_seconds, 1),
            "from_cache": embedder.hits - hits == 2,
            "query_embed_ms_per_text_uncached": round(query_embed_ms, 2),
        },
        "best_by_mrr": best,
        "diagnostics": {
            f"share_of_queries_with_a_corpus_text_at_cosine_ge_{NEAR_DUPLICATE}": round(
                float(twins.mean()), 4
            ),
            "dense_p_at_1_on_those": round(float(scores["dense"]["p_at_1"][twins].mean()), 4)
            if twins.any()
            else None,
            "dense_p_at_1_on_the_others": round(float(scores["dense"]["p_at_1"][~twins].mean()), 4),
            "dense_precision_at_rank_1_to_5": [
                round(float(v), 4) for v in precision_by_rank(rankings["dense"], split)
            ],
        },
        "methods": methods,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "libraries": {**library_versions(), "bm25s": metadata.version("bm25s")},
    }


def table(name: str, result: dict[str, Any]) -> str:
    mrr = f"mrr_at_{result['mrr_cutoff']}"
    best = result["best_by_mrr"]
    lines = [
        f"### {name} ({result['query_size']:,} queries, {result['corpus_size']:,} corpus)",
        "",
        f"| method | P@1 | P@5 | MRR@{result['mrr_cutoff']} | ΔMRR vs {best} [95 % CI] "
        "| ms/query |",
        "|---|---|---|---|---|---|",
    ]
    for method, r in result["methods"].items():
        m = r["metrics"]
        delta = r.get(f"minus {best}, {mrr}")
        gap = (
            "best"
            if delta is None
            else "{:+.4f} [{:+.4f}, {:+.4f}]".format(delta["mean"], *delta["ci95"])
        )
        lines.append(
            f"| {method} | {m['p_at_1']:.4f} | {m['p_at_5']:.4f} | {m[mrr]:.4f} | {gap} "
            f"| {r['ms_per_query']:.2f} |"
        )
    chance_p = result["chance_p_at_k"]
    lines.append(f"| chance | {chance_p:.4f} | {chance_p:.4f} | – | – | – |")
    embed_ms = result["embedding"]["query_embed_ms_per_text_uncached"]
    load = result["machine"]["load_average_1m"]
    lines.append(
        f"\nms/query: batch search time per query, plus {embed_ms:.1f} ms to embed one query "
        f"alone for dense and the hybrids ({result['machine']['cpus']} CPUs, shared: "
        f"1-minute load {load:.1f} at the end of the run)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), action="append")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    embedder = CachedEmbedder(load_embedder("minilm"))
    for name in args.dataset or list(DATASETS):
        results[name] = run(name, embedder)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(table(name, results[name]) + "\n", flush=True)


if __name__ == "__main__":
    main()
