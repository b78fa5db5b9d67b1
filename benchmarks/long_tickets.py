"""Ways to embed a long ticket, compared in memory (dense rankings only; a reference for the
choice in ``triage.similar.hybrid``, not the shipped path — that is ``retrieval.py``).

Per set of ``retrieval.py`` (its protocols, texts and cached vectors), the cosine ranking of:

* ``text`` — the ticket's one vector (subject and body, ``ticket_text``): what the store holds;
* ``subject`` — the subject's own vector against the stored subjects' (a ticket with no body
  or no subject: its one vector), as the shipped subject ranking does;
* ``head`` — the first ``--words`` words of the text (subject first) against the stored
  heads: what a body with an input window of that size would see;
* ``chunks max`` / ``chunks top-2 mean`` — the text cut into pieces of ``--words`` words
  (default 64), each embedded; a ticket's score is the best (or the mean of the two best)
  cosine between any query piece and any of its pieces;
* ``text + subject`` — RRF (k = 10) of ``text`` and ``subject``, equal weights.

    PYTHONPATH=. .venv/bin/python benchmarks/long_tickets.py [--dataset NAME ...] [--words 64]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

import numpy as np
from quality import CachedEmbedder
from retrieval import CUTOFF, DATASETS, VALIDATION, Ranking, Split, TextCache, _chunked, per_query

from triage.core.embeddings import load_embedder
from triage.core.multilingual import USE_MULTILINGUAL
from triage.core.text import subject_text
from triage.similar.fusion import reciprocal_rank_fusion

SETS = {f"validation {name}": make for name, make in VALIDATION.items()} | {
    "bug_duplicates_seamonkey": DATASETS["bug_duplicates_seamonkey"]
}


def pieces(text: str, words: int) -> list[str]:
    split = text.split()
    return [" ".join(split[i : i + words]) for i in range(0, max(len(split), 1), words)]


def _subjects(fields: Sequence[tuple[str, str | None]], texts: list[str]) -> list[str]:
    return [subject_text(*f) or text for f, text in zip(fields, texts, strict=True)]


def _vectors(embedder: TextCache, texts: list[str]) -> np.ndarray:
    vectors = embedder.encode(texts)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _chunk_scores(
    embedder: TextCache, queries: list[str], corpus: list[str], words: int, top: int
) -> np.ndarray:
    q_parts = [pieces(t, words) for t in queries]
    c_parts = [pieces(t, words) for t in corpus]
    q_owner = np.repeat(np.arange(len(queries)), [len(p) for p in q_parts])
    c_owner = np.repeat(np.arange(len(corpus)), [len(p) for p in c_parts])
    q_vec = _vectors(embedder, [p for ps in q_parts for p in ps])
    c_vec = _vectors(embedder, [p for ps in c_parts for p in ps])
    out = np.empty((len(queries), len(corpus)), dtype=np.float32)
    starts = np.searchsorted(c_owner, np.arange(len(corpus)))  # pieces are in owner order
    counts = np.diff(np.append(starts, len(c_owner)))
    for q in range(len(queries)):
        per_piece = (q_vec[q_owner == q] @ c_vec.T).max(axis=0)  # best query piece for each
        ordered = per_piece[np.lexsort((-per_piece, c_owner))]  # by owner, best first
        first = ordered[starts]
        if top == 1:
            out[q] = first
        else:  # the mean of the two best (the one piece, if only one)
            second = ordered[np.minimum(starts + 1, len(ordered) - 1)]
            out[q] = np.where(counts > 1, (first + second) / 2, first)
    return out


def rankings(split: Split, embedder: TextCache, words: int) -> dict[str, list[Ranking]]:
    corpus, queries = split.corpus_texts, split.query_texts
    text_c, text_q = _vectors(embedder, corpus), _vectors(embedder, queries)
    subj_c = _vectors(embedder, _subjects(split.corpus, corpus))
    subj_q = _vectors(embedder, _subjects(split.queries, queries))
    head_c = _vectors(embedder, [pieces(t, words)[0] for t in corpus])
    head_q = _vectors(embedder, [pieces(t, words)[0] for t in queries])
    out = {
        "text": _chunked(split, lambda rows: text_q[rows] @ text_c.T, positive=False),
        "subject": _chunked(split, lambda rows: subj_q[rows] @ subj_c.T, positive=False),
        "head": _chunked(split, lambda rows: head_q[rows] @ head_c.T, positive=False),
    }
    for name, top in (("chunks max", 1), ("chunks top-2 mean", 2)):
        scores = _chunk_scores(embedder, queries, corpus, words, top)
        out[name] = _chunked(split, lambda rows, s=scores: s[rows], positive=False)  # type: ignore[misc]
    out["text + subject"] = [
        [row for row, _ in reciprocal_rank_fusion([a, b], k=10, limit=CUTOFF)]
        for a, b in zip(out["text"], out["subject"], strict=True)
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=sorted(SETS), action="append")
    parser.add_argument("--words", type=int, default=64)
    args = parser.parse_args()
    embedder = TextCache(CachedEmbedder(load_embedder(USE_MULTILINGUAL)))
    results = {}
    for name in args.dataset or list(SETS):
        split = SETS[name]()
        texts = sorted(set(split.corpus_texts) | set(split.query_texts))
        embedder.vectors.update(zip(texts, embedder.inner.encode(texts), strict=True))
        found = rankings(split, embedder, args.words)
        results[name] = {
            method: {m: round(float(v.mean()), 4) for m, v in per_query(ranked, split).items()}
            for method, ranked in found.items()
        }
        print(name, json.dumps(results[name], indent=1), flush=True)


if __name__ == "__main__":
    main()
