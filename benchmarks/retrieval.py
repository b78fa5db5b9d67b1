"""Retrieval quality for "similar resolved tickets": the shipped hybrid search against each part.

Protocol (fixed before measuring; issue 18):

* ``banking77`` — queries: the 3,080 official test questions; corpus: the 10,003 official
  training questions; relevant: same intent. P@1, P@5, MRR@10.
* ``tobi_bueck_tickets_en`` (synthetic, LLM-generated) — 10 % of the tickets held out as
  queries (``numpy.random.default_rng(0).permutation``, first ``round(0.1 * n)`` rows), the
  other 90 % are the corpus; relevant: same ``queue`` AND same ``type``. P@1, P@5, MRR@10.
* ``bug_duplicates_seamonkey`` — its SOURCE.md protocol: corpus = all 1,076 bugs (subject =
  Summary, body = Description); each of the 92 (query, linked) pairs with both bugs present
  queries with the query bug's text, the query bug itself excluded; relevant: the linked bug.
  R@1, R@5, R@10, MRR@10.
* ``translation_pairs`` (data/translation_pairs.csv, 84 English / Indonesian pairs, the
  protocol of ``benchmarks/multilingual.py``) — ``id→en``: each Indonesian sentence queries the
  84 English ones, ``en→id`` the reverse; ``+ distractors`` adds the 660 sample tickets
  (data/tickets.csv, both languages) to the corpus. Relevant: its own translation. P@1, MRR@10.
* Texts: ``triage.core.text.ticket_text`` of (subject, body), queries and corpus alike.
* Methods. Through the shipped code path — each corpus stored with ``SimilarService.add`` in
  a fresh SQLite store (the embedded default: FTS5 + the in-process vector index), each query
  asked of ``SimilarService``: ``hybrid (shipped)`` = ``SimilarService.find`` with the query's
  text and subject (k = 10, min_score = -1); ``dense (store)``, ``lexical (store)`` and
  ``subject (store)`` (the query's subject vector against the stored subject vectors, see
  ``triage.similar.hybrid``) = the rankings ``SimilarService.candidates`` hands to fusion.
  For reference, computed in memory: ``bm25s`` (Lucene BM25, k1 = 1.5, b = 0.75, English
  stop words), ``tfidf`` (word 1–2-grams, sublinear tf) and ``dense minilm``
  (all-MiniLM-L6-v2 cosine; ``--compare minilm``).
* ``--postgres ADMIN_URL``: the same, each store in a fresh PostgreSQL database (the
  full-text side is then the ``tsvector`` column ranked by ``ts_rank`` weighted by IDF, from
  the statistics ``ANALYZE`` keeps, run once the corpus is stored, as autovacuum would);
  written under ``sets postgres``.
* Embedder: ``--embedder`` (default ``use-multilingual``, the default body), vectors cached in
  ``benchmarks/.cache`` by ``quality.CachedEmbedder``.
* The fusion settings (``triage.similar.hybrid.HybridSettings``: dense, lexical and subject
  weights, RRF k, depth) are chosen by ``--tune`` on VALIDATION queries only, never on the
  queries above:
  ``banking77`` — 10 % of the official training questions (``default_rng(1)``) query the other
  90 %; ``tobi_bueck_tickets_en`` — 10 % of the test split's corpus (``default_rng(1)``) query
  the rest of that corpus. For each validation query the shipped ``candidates`` are computed
  once and fused with every setting of the grid; the setting with the best mean MRR@10 over
  the two validation sets (ties: the smaller lexical weight, then the smaller subject weight)
  is written into ``HybridSettings``' defaults by hand. The subject ranking counts for long
  queries only: more words than ``long_words``, the 75th percentile of the tobi_bueck
  validation queries' words (a rule added after a first grid, which ranked every query by
  subject too, chose weight 0 on these short-ticket sets; fixed before any test figure with
  the subject ranking was seen), so the subject weight is chosen on that set's longest
  quarter; banking77 has no query that long, so
  ``--validation tobi_bueck_tickets_en`` re-measures tobi_bueck alone and takes banking77's
  figures from the last grid (each setting as the same setting without the subject
  ranking). SeaMonkey and the translation pairs play no part in the choice.
* A paired bootstrap over queries (2,000 resamples, seed 0) gives the 95 % interval of the
  difference between the shipped hybrid and the best single ranking of the store (dense,
  lexical or subject, by MRR@10) on each set, for every metric; and between the hybrid and
  the better in-memory lexical reference (bm25s or tfidf, by MRR@10).
* ``ms/query``: the median wall time of one ``SimilarService.find`` (query vector given; the
  embedding of a query, timed separately, comes on top).
* ``--max-postings N``: the full-text query's limit (``lexical.MAX_POSTINGS``: its rarest
  words up to N tickets summed) set to N for the run (``0``: no limit); ``--as-at SIZE``:
  that limit and the common-word floor (``COMMON_FLOOR``) scaled by corpus / SIZE, i.e. the
  same share of the store as at SIZE tickets of the same kind — what the full-text query
  keeps of each ticket in a store that large. Written under ``postings limit``.

Results are merged into ``benchmarks/results/retrieval.json`` and printed as tables.

    PYTHONPATH=. .venv/bin/python benchmarks/retrieval.py [--dataset NAME ...] [--tune]
        [--embedder use-multilingual] [--compare minilm]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bm25s  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
import sqlalchemy as sa
from quality import CachedEmbedder
from sklearn.feature_extraction.text import TfidfVectorizer

from triage.core.artifacts import library_versions
from triage.core.embeddings import load_embedder
from triage.core.multilingual import USE_MULTILINGUAL
from triage.core.text import subject_text, ticket_text
from triage.similar import lexical
from triage.similar.hybrid import DEFAULT_HYBRID, HybridSettings, fuse
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.records import Filters, TicketRecord

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "retrieval.json"
PAIRS = ROOT / "data" / "translation_pairs.csv"
SAMPLE = ROOT / "data" / "tickets.csv"

CUTOFF = 10
DEFAULT_COMMON_FLOOR = lexical.COMMON_FLOOR
HOLDOUT, SEED, VALIDATION_SEED = 0.10, 0, 1
BOOTSTRAP = 2000
BM25_PARAMS: dict[str, Any] = {"method": "lucene", "k1": 1.5, "b": 0.75}
TFIDF_PARAMS: dict[str, Any] = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1}
GRID = [
    HybridSettings(dense_weight=1.0, lexical_weight=w, k=k, depth=50, subject_weight=s)
    for s in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
    for w in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
    for k in (10.0, 30.0, 60.0)
]

Ranking = list[int]  # corpus row numbers, best first
Fields = tuple[str, str | None]  # subject, body


@dataclass(frozen=True)
class Split:
    corpus: list[Fields]
    corpus_labels: np.ndarray
    queries: list[Fields]
    query_labels: np.ndarray
    protocol: str
    ks: tuple[int, ...] = (1, 5)  # P@k, or R@k with ``recall``
    recall: bool = False  # one relevant text per query: report R@k (hit in the top k)
    query_rows: list[int] | None = None  # the corpus row of each query, excluded from it

    @property
    def corpus_texts(self) -> list[str]:
        return [ticket_text(fields) for fields in self.corpus]

    @property
    def query_texts(self) -> list[str]:
        return [ticket_text(fields) for fields in self.queries]

    @property
    def subject_texts(self) -> list[str]:
        """The subjects embedded apart (of tickets with a body as well)."""
        found = (subject_text(*fields) for fields in self.corpus + self.queries)
        return sorted({text for text in found if text is not None})


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(f"{path} is absent; the datasets live in ../shared/datasets")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _fields(frame: pd.DataFrame, subject: str, body: str | None = None) -> list[Fields]:
    bodies = frame[body].tolist() if body else [None] * len(frame)
    return list(zip(frame[subject].tolist(), bodies, strict=True))


def _holdout(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = round(HOLDOUT * n)
    return np.sort(order[:cut]), np.sort(order[cut:])


def _labelled(
    fields: list[Fields], labels: np.ndarray, queries: np.ndarray, corpus: np.ndarray, protocol: str
) -> Split:
    return Split(
        corpus=[fields[i] for i in corpus],
        corpus_labels=labels[corpus],
        queries=[fields[i] for i in queries],
        query_labels=labels[queries],
        protocol=protocol,
    )


def banking77() -> Split:
    train = _read(SHARED / "banking77" / "train.csv")
    test = _read(SHARED / "banking77" / "test.csv")
    return Split(
        corpus=_fields(train, "text"),
        corpus_labels=train["category"].to_numpy(dtype=str),
        queries=_fields(test, "text"),
        query_labels=test["category"].to_numpy(dtype=str),
        protocol="queries: official test.csv; corpus: official train.csv; relevant: same intent",
    )


def banking77_validation() -> Split:
    train = _read(SHARED / "banking77" / "train.csv")
    queries, corpus = _holdout(len(train), VALIDATION_SEED)
    labels = train["category"].to_numpy(dtype=str)
    protocol = "validation: 10 % of train.csv (default_rng(1)) query the other 90 %"
    return _labelled(_fields(train, "text"), labels, queries, corpus, protocol)


def _tobi() -> tuple[list[Fields], np.ndarray, np.ndarray, np.ndarray]:
    frame = _read(SHARED / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv")
    held_out, rest = _holdout(len(frame), SEED)
    labels = (frame["queue"] + " | " + frame["type"]).to_numpy(dtype=str)
    return _fields(frame, "subject", "body"), labels, held_out, rest


def tobi_bueck() -> Split:
    fields, labels, held_out, rest = _tobi()
    protocol = (
        f"synthetic; queries: {HOLDOUT:.0%} held out (numpy default_rng({SEED}) "
        "permutation); corpus: the rest; relevant: same queue and same type"
    )
    return _labelled(fields, labels, held_out, rest, protocol)


def tobi_bueck_validation() -> Split:
    fields, labels, _, rest = _tobi()
    queries, corpus = _holdout(len(rest), VALIDATION_SEED)
    protocol = "validation: 10 % of the test split's corpus (default_rng(1)) query the rest of it"
    return _labelled(fields, labels, rest[queries], rest[corpus], protocol)


def seamonkey() -> Split:
    folder = SHARED / "bug_duplicates_seamonkey"
    bugs = _read(folder / "SeaMonkey_bugs.csv")
    links = _read(folder / "SeaMonkey_bugs-combined.csv")
    row_of = {bug: row for row, bug in enumerate(bugs["Issue id"].str.strip())}
    pairs = [
        (row_of[query.strip()], linked.strip())
        for query, many in zip(links["Issue id"], links["Duplicate id"], strict=True)
        for linked in many.split(",")
        if query.strip() in row_of and linked.strip() in row_of
    ]
    corpus = _fields(bugs, "Summary", "Description")
    return Split(
        corpus=corpus,
        corpus_labels=bugs["Issue id"].str.strip().to_numpy(dtype=str),
        queries=[corpus[row] for row, _ in pairs],
        query_labels=np.asarray([linked for _, linked in pairs], dtype=str),
        protocol="SOURCE.md: corpus all bugs; each (query, linked) pair with both present; "
        "the query bug excluded from its ranking; relevant: the linked bug",
        ks=(1, 5, 10),
        recall=True,
        query_rows=[row for row, _ in pairs],
    )


def _pairs(source: str, target: str, distractors: bool) -> Split:
    pairs = _read(PAIRS)
    corpus = [(text, None) for text in pairs[target]]
    labels = pairs["pair_id"].tolist()
    if distractors:
        sample = _read(SAMPLE)
        corpus += _fields(sample, "subject", "body")
        labels += [f"sample:{i}" for i in range(len(sample))]
    return Split(
        corpus=corpus,
        corpus_labels=np.asarray(labels, dtype=str),
        queries=[(text, None) for text in pairs[source]],
        query_labels=pairs["pair_id"].to_numpy(dtype=str),
        protocol=f"{source} sentences query the {target} ones"
        + (" and the 660 sample tickets" if distractors else "")
        + "; relevant: its own translation",
    )


DATASETS: dict[str, Callable[[], Split]] = {
    "banking77": banking77,
    "tobi_bueck_tickets_en": tobi_bueck,
    "bug_duplicates_seamonkey": seamonkey,
    "translation_pairs id→en": lambda: _pairs("id", "en", False),
    "translation_pairs en→id": lambda: _pairs("en", "id", False),
    "translation_pairs id→en + distractors": lambda: _pairs("id", "en", True),
    "translation_pairs en→id + distractors": lambda: _pairs("en", "id", True),
}
VALIDATION: dict[str, Callable[[], Split]] = {
    "banking77": banking77_validation,
    "tobi_bueck_tickets_en": tobi_bueck_validation,
}


# -- the shipped path ----------------------------------------------------------------------


class TextCache:
    """Vectors looked up text by text: every text of a data set is embedded once (one cached
    batch), whichever split of it a store or a query list then asks for."""

    def __init__(self, inner: CachedEmbedder) -> None:
        self.inner = inner
        self.vectors: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def identity(self) -> dict[str, Any]:
        return self.inner.identity

    def prefetch(self, name: str) -> None:
        split = DATASETS[name]()
        texts = sorted(set(split.corpus_texts) | set(split.query_texts))
        self.vectors.update(zip(texts, self.inner.encode(texts, show_progress=True), strict=True))
        subjects = [text for text in split.subject_texts if text not in self.vectors]
        if subjects:  # a batch of their own: the texts' cached vectors stay valid
            self.vectors.update(zip(subjects, self.inner.encode(subjects), strict=True))

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            self.vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


class ShippedStore:
    """A corpus stored by ``SimilarService.add`` in a fresh SQLite file (the default), or in
    a fresh database of the PostgreSQL that ``POSTGRES_ADMIN_URL`` names (``--postgres``)."""

    def __init__(self, split: Split, embedder: TextCache, folder: Path) -> None:
        self.postgres_name: str | None = None
        url = f"sqlite:///{folder / 'triage.db'}"
        if POSTGRES_ADMIN_URL:
            self.postgres_name = f"retrieval_{os.getpid()}_{int(time.time() * 1000)}"
            _postgres_admin(f'CREATE DATABASE "{self.postgres_name}"')
            url = str(sa.make_url(POSTGRES_ADMIN_URL).set(database=self.postgres_name))
        self.database = Database(url)
        self.database.upgrade()
        self.service = SimilarService.open(self.database, embedder, backend="embedded")
        records = [
            TicketRecord(str(row), subject=subject, body=body)
            for row, (subject, body) in enumerate(split.corpus)
        ]
        started = time.perf_counter()
        self.service.add(records, batch_size=1_000)
        self.add_seconds = time.perf_counter() - started
        if self.postgres_name:  # the statistics autovacuum keeps: the full-text word counts
            with self.database.begin() as connection:
                connection.execute(sa.text("ANALYZE tickets"))
        self.row_of = {t.row_id: int(t.record.ticket_id) for t in self._all()}

    def _all(self) -> list[Any]:
        out, after = [], 0
        while page := self.service.store.records(after=after, limit=5_000):
            out += page
            after = page[-1].row_id
        return out

    def exclude(self, split: Split, q: int) -> tuple[str, str] | None:
        return None if split.query_rows is None else ("", str(split.query_rows[q]))

    def find(self, split: Split, q: int, vector: np.ndarray, text: str) -> Ranking:
        found = self.service.find(
            vector,
            text=text,
            subject=split.queries[q][0],
            k=CUTOFF,
            min_score=-1.0,
            exclude=self.exclude(split, q),
        )
        return [int(m.ticket.record.ticket_id) for m in found.similar]

    def candidates(self, split: Split, q: int, vector: np.ndarray, text: str) -> Any:
        depth = max(setting.depth for setting in GRID)
        subject = self.service.subject_vector(vector, text, split.queries[q][0])
        return self.service.candidates(
            vector, text, depth, Filters(), self.exclude(split, q), subject
        )

    def rows(self, ids: Sequence[int]) -> Ranking:
        return [self.row_of[row] for row in ids]

    def close(self) -> None:
        self.service.close()
        self.database.dispose()
        if self.postgres_name:
            _postgres_admin(f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)')


POSTGRES_ADMIN_URL = ""


def _postgres_admin(statement: str) -> None:
    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


# -- in-memory references -------------------------------------------------------------------


def _top(scores: np.ndarray, split: Split, start: int, positive_only: bool) -> list[Ranking]:
    if split.query_rows is not None:
        for offset in range(len(scores)):
            scores[offset, split.query_rows[start + offset]] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :CUTOFF]
    if not positive_only:
        return order.tolist()  # type: ignore[no-any-return]
    keep = np.take_along_axis(scores, order, axis=1) > 0
    return [row[mask].tolist() for row, mask in zip(order, keep, strict=True)]


def _chunked(split: Split, score: Callable[[slice], np.ndarray], positive: bool) -> list[Ranking]:
    out: list[Ranking] = []
    for start in range(0, len(split.queries), 256):
        rows = slice(start, min(start + 256, len(split.queries)))
        out += _top(np.asarray(score(rows), dtype=np.float64), split, start, positive)
    return out


def dense(split: Split, embedder: CachedEmbedder) -> list[Ranking]:
    corpus = embedder.encode(split.corpus_texts)
    queries = embedder.encode(split.query_texts)
    return _chunked(split, lambda rows: queries[rows] @ corpus.T, positive=False)


def tfidf(split: Split) -> list[Ranking]:
    vectorizer = TfidfVectorizer(**TFIDF_PARAMS)
    corpus = vectorizer.fit_transform(split.corpus_texts).T.tocsr()
    queries = vectorizer.transform(split.query_texts)
    return _chunked(split, lambda rows: (queries[rows] @ corpus).toarray(), positive=True)


def bm25(split: Split) -> list[Ranking]:
    def tokens(texts: list[str]) -> list[list[str]]:
        found = bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
        return [[token for token in doc if token] for doc in found]

    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(tokens(split.corpus_texts), show_progress=False)
    ids = [retriever.get_tokens_ids(doc) for doc in tokens(split.query_texts)]
    zero = np.zeros(len(split.corpus), dtype=np.float32)

    def score(rows: slice) -> np.ndarray:
        return np.stack([retriever.get_scores_from_ids(i) if i else zero for i in ids[rows]])

    return _chunked(split, score, positive=True)


# -- metrics --------------------------------------------------------------------------------


def per_query(rankings: list[Ranking], split: Split) -> dict[str, np.ndarray]:
    """Per query: P@k (or R@k: a relevant text in the top k) and reciprocal rank @10."""
    relevant = np.zeros((len(rankings), CUTOFF), dtype=bool)
    for q, ranking in enumerate(rankings):
        top = ranking[:CUTOFF]
        relevant[q, : len(top)] = split.corpus_labels[top] == split.query_labels[q]
    first = np.where(relevant.any(axis=1), relevant.argmax(axis=1) + 1, 0)
    if split.recall:
        scores = {f"r_at_{k}": relevant[:, :k].any(axis=1).astype(float) for k in split.ks}
    else:
        scores = {f"p_at_{k}": relevant[:, :k].sum(axis=1) / k for k in split.ks}
    scores[f"mrr_at_{CUTOFF}"] = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    return scores


def paired_bootstrap(a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Mean of ``a - b`` over queries with a 95 % percentile interval."""
    rng = np.random.default_rng(SEED)
    diff = a - b
    means = diff[rng.integers(0, len(diff), size=(BOOTSTRAP, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": round(float(diff.mean()), 4), "ci95": [round(float(x), 4) for x in (low, high)]}


# -- runs -----------------------------------------------------------------------------------


def shipped_rankings(
    split: Split, store: ShippedStore, vectors: np.ndarray
) -> tuple[dict[str, list[Ranking]], list[float]]:
    texts = split.query_texts
    out: dict[str, list[Ranking]] = {
        "hybrid (shipped)": [],
        "dense (store)": [],
        "lexical (store)": [],
        "subject (store)": [],
    }
    times: list[float] = []
    for q, text in enumerate(texts):
        started = time.perf_counter()
        out["hybrid (shipped)"].append(store.find(split, q, vectors[q], text))
        times.append(time.perf_counter() - started)
        found = store.candidates(split, q, vectors[q], text)
        out["dense (store)"].append(store.rows(found.dense[:CUTOFF]))
        out["lexical (store)"].append(store.rows(found.lexical[:CUTOFF]))
        out["subject (store)"].append(store.rows(found.subject[:CUTOFF]))
    return out, times


def run(name: str, embedder: TextCache, compare: CachedEmbedder | None) -> dict[str, Any]:
    embedder.prefetch(name)
    split = DATASETS[name]()
    print(f"{name}: {len(split.queries):,} queries, {len(split.corpus):,} corpus", flush=True)
    vectors = embedder.encode(split.query_texts)
    with tempfile.TemporaryDirectory() as folder:
        store = ShippedStore(split, embedder, Path(folder))
        rankings, times = shipped_rankings(split, store, vectors)
        add_seconds = store.add_seconds
        store.close()
    rankings["bm25s"] = bm25(split)
    rankings["tfidf"] = tfidf(split)
    if compare is not None:
        rankings[f"dense {compare.identity.get('name')}"] = dense(split, compare)
    scores = {method: per_query(ranked, split) for method, ranked in rankings.items()}
    mrr = f"mrr_at_{CUTOFF}"
    singles = ["dense (store)", "lexical (store)", "subject (store)"]
    best = max(singles, key=lambda m: float(scores[m][mrr].mean()))
    references = ["bm25s", "tfidf"]
    reference = max(references, key=lambda m: float(scores[m][mrr].mean()))
    started = time.perf_counter()
    for text in split.query_texts[:16]:
        embedder.inner.inner.encode([text])
    embed_ms = 1000 * (time.perf_counter() - started) / min(16, len(split.queries))
    return {
        "protocol": split.protocol,
        "corpus_size": len(split.corpus),
        "query_size": len(split.queries),
        "embedder": embedder.identity.get("name"),
        "hybrid": asdict(DEFAULT_HYBRID),
        "methods": {
            method: {metric: round(float(v.mean()), 4) for metric, v in per.items()}
            for method, per in scores.items()
        },
        "best_single": best,
        "hybrid_minus_best_single": {
            metric: paired_bootstrap(scores["hybrid (shipped)"][metric], scores[best][metric])
            for metric in scores[best]
        },
        "best_reference": reference,
        "hybrid_minus_best_reference": {
            metric: paired_bootstrap(scores["hybrid (shipped)"][metric], scores[reference][metric])
            for metric in scores[reference]
        },
        "ms_per_query_find_median": round(1000 * statistics.median(times), 2),
        "ms_to_embed_one_query": round(embed_ms, 1),
        "seconds_to_store_corpus": round(add_seconds, 1),
        **_context(),
    }


def long_words() -> int:
    """The length above which a query is long (``HybridSettings.long_words``): the 75th
    percentile of the words of the tobi_bueck validation queries — its longest quarter."""
    words = [len(text.split()) for text in tobi_bueck_validation().query_texts]
    return int(np.percentile(words, 75))


def _short_set(
    name: str, threshold: int, grid: list[HybridSettings], kept: dict[str, Any]
) -> list[float]:
    """A set with no long query: each setting ranks it as the same setting without the
    subject ranking did in an earlier run's grid (``kept``)."""
    longest = max(len(text.split()) for text in VALIDATION[name]().query_texts)
    if longest > threshold or not kept:
        return []  # must be measured
    without = {
        (row["lexical_weight"], row["k"]): row["mrr_at_10"][name]
        for row in kept["grid"]
        if row["subject_weight"] == 0
    }
    return [without[(setting.lexical_weight, setting.k)] for setting in grid]


def tune(embedder: TextCache, names: Sequence[str], kept: dict[str, Any]) -> dict[str, Any]:
    """MRR@10 of every grid setting on the validation queries (shipped candidates, re-fused);
    the sets not in ``names`` are taken from ``kept`` (an earlier run's grid)."""
    threshold = long_words()
    grid = [replace(setting, long_words=threshold) for setting in GRID]
    per_set = {name: _short_set(name, threshold, grid, kept) for name in VALIDATION}
    per_set = {name: values for name, values in per_set.items() if name not in names}
    for name in [name for name in VALIDATION if name in names or not per_set.get(name)]:
        make = VALIDATION[name]
        embedder.prefetch(name)
        split = make()
        print(f"validation {name}: {len(split.queries):,} queries", flush=True)
        vectors = embedder.encode(split.query_texts)
        with tempfile.TemporaryDirectory() as folder:
            store = ShippedStore(split, embedder, Path(folder))
            found = [
                store.candidates(split, q, vectors[q], text)
                for q, text in enumerate(split.query_texts)
            ]
            per_set[name] = []
            for setting in grid:
                rankings = [
                    store.rows(
                        fuse(
                            c.dense[: setting.depth],
                            c.lexical[: setting.depth],
                            c.other_language[: setting.depth],
                            setting,
                            CUTOFF,
                            subject=c.subject[: setting.depth]
                            if setting.ranks_subject(text)
                            else (),
                        )
                    )
                    for c, text in zip(found, split.query_texts, strict=True)
                ]
                per_set[name].append(float(per_query(rankings, split)[f"mrr_at_{CUTOFF}"].mean()))
            store.close()
    mean = [statistics.fmean(values) for values in zip(*per_set.values(), strict=True)]
    best = max(
        range(len(grid)),
        key=lambda i: (round(mean[i], 4), -grid[i].lexical_weight, -grid[i].subject_weight),
    )
    return {
        "embedder": embedder.identity.get("name"),
        "criterion": "mean MRR@10 over the validation sets; ties: the smaller lexical weight, "
        "then the smaller subject weight",
        "grid": [
            {**asdict(s), "mrr_at_10": {n: round(v[i], 4) for n, v in per_set.items()}}
            | {"mean": round(mean[i], 4)}
            for i, s in enumerate(grid)
        ],
        "long_words": threshold,
        "sets_measured_in_this_run": list(names),
        "chosen": asdict(grid[best]),
        "shipped_default": asdict(DEFAULT_HYBRID),
        **_context(),
    }


def _context() -> dict[str, Any]:
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "libraries": {**library_versions(), "bm25s": metadata.version("bm25s")},
    }


def table(name: str, result: dict[str, Any]) -> str:
    metrics = list(next(iter(result["methods"].values())))
    names = [
        m.replace("_at_", "@").replace("p@", "P@").replace("r@", "R@").upper() for m in metrics
    ]
    lines = [
        f"### {name} ({result['query_size']:,} queries, {result['corpus_size']:,} corpus, "
        f"{result['embedder']})",
        "",
        "| method | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for method, values in result["methods"].items():
        lines.append(f"| {method} | " + " | ".join(f"{values[m]:.3f}" for m in metrics) + " |")
    for key, name in (("single", "best_single"), ("reference", "best_reference")):
        delta = result.get(f"hybrid_minus_best_{key}")
        if delta is None:
            continue
        lines.append(
            f"| hybrid − {result[name]} [95 % CI] | "
            + " | ".join(
                "{:+.3f} [{:+.3f}, {:+.3f}]".format(delta[m]["mean"], *delta[m]["ci95"])
                for m in metrics
            )
            + " |"
        )
    lines.append(
        f"\nOne `find`: {result['ms_per_query_find_median']:.1f} ms median, plus "
        f"{result['ms_to_embed_one_query']:.0f} ms to embed the query "
        f"(1-minute load {result['machine']['load_average_1m']:.1f})."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), action="append")
    parser.add_argument("--embedder", default=USE_MULTILINGUAL)
    parser.add_argument("--compare", default="minilm", help="a dense comparison row ('' for none)")
    parser.add_argument("--tune", action="store_true", help="only the validation grid")
    parser.add_argument(
        "--validation",
        choices=sorted(VALIDATION),
        action="append",
        help="with --tune: measure these sets only, the others' from the last grid",
    )
    parser.add_argument(
        "--postgres",
        default="",
        help="admin URL of a PostgreSQL: the stores go there (results under 'sets postgres')",
    )
    parser.add_argument(
        "--max-postings", type=int, help="the full-text query's limit for this run (0: none)"
    )
    parser.add_argument(
        "--as-at", type=int, help="with --max-postings: scale the limits as at this store size"
    )
    args = parser.parse_args()
    if args.as_at is not None and args.max_postings is None:
        parser.error("--as-at needs --max-postings")
    global POSTGRES_ADMIN_URL
    POSTGRES_ADMIN_URL = args.postgres
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept = ("tuning", "sets", "sets postgres", "postings limit")
    results = {key: old[key] for key in kept if key in old}
    embedder = TextCache(CachedEmbedder(load_embedder(args.embedder)))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.tune:
        names = args.validation or list(VALIDATION)
        results["tuning"] = tune(embedder, names, old.get("tuning", {}))
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(json.dumps(results["tuning"]["chosen"]), flush=True)
        return
    compare = CachedEmbedder(load_embedder(args.compare)) if args.compare else None
    for name in args.dataset or list(DATASETS):
        where, key = "sets postgres" if args.postgres else "sets", name
        if args.max_postings is not None:
            where, key = "postings limit", _limit(name, args.max_postings, args.as_at)
        results.setdefault(where, {})[key] = run(name, embedder, compare)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(table(key, results[where][key]) + "\n", flush=True)


def _limit(name: str, postings: int, as_at: int | None) -> str:
    """Set the full-text query's limits for ``name`` (see the docstring); the results' key."""
    scale = 1.0 if as_at is None else len(DATASETS[name]().corpus) / as_at
    lexical.MAX_POSTINGS = max(1, round(postings * scale)) if postings else 10**12
    lexical.COMMON_FLOOR = max(1, round(DEFAULT_COMMON_FLOOR * scale))
    where = "" if as_at is None else f", as at {as_at:,} tickets"
    shown = f"{postings:,}" if postings else "none"
    return (
        f"{name} | limit {shown}{where} (MAX_POSTINGS {lexical.MAX_POSTINGS:,}, "
        f"COMMON_FLOOR {lexical.COMMON_FLOOR:,})"
    )


if __name__ == "__main__":
    main()
