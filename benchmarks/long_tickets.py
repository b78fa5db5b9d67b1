"""Long tickets cut into chunks: do chunk vectors help the shipped search? (issue 18, part 3)

The default body (USE multilingual v3) has no input window: it averages every token, so a
long ticket is diluted, not cut. Chunks are the usual remedy: cut the text into pieces of
about ``--words`` words, embed each, and score a pair of tickets by their pieces. This script
measures that on ``bug_duplicates_seamonkey`` (the one set with long texts on both sides;
no banking77 query and few translation sentences are that long), with ``retrieval.py``'s
protocol, texts and cached vectors, before anything is built into the store.

Representations, each a dense ranking (cosine, in memory):

* ``text`` — the ticket's one vector (subject and body, ``ticket_text``): what the store holds;
* ``subject`` — the subject's own vector against the stored subjects' (a ticket with no body
  or no subject: its one vector), as the shipped subject ranking does;
* ``head`` — the first piece of the text only (what a body with an input window would see);
* chunks — the text cut into ``ceil(words / W)`` pieces of near-equal length (W = ``--words``;
  a text of W words or fewer is one piece, its text); per query piece, each ticket's best
  piece; a ticket's score is then ``max`` (the best pair of pieces), ``top-2 mean`` (the mean
  of its two best pieces' scores, or its one), or ``mean of best`` (the mean over the query's
  pieces of the ticket's best piece for each).

Fused: the shipped candidates (``SimilarService.candidates`` of a fresh SQLite store: dense,
full-text, subject) fused as the shipped ``triage.similar.hybrid.fuse`` fuses them, with the
chunk ranking as one more weighted list for queries of more than W words (a shorter query is
one piece: its chunk ranking is its dense ranking). Weight 0 is the shipped search.

The choice (the split, the grid and the rule below were written before this script was
first run; an earlier exploration, on another split of the same 92 queries and with the
chunk ranking over long tickets only, had been looked at, test columns included):

* SeaMonkey's 92 queries are 46 duplicate pairs, each asked both ways; the pairs are joined
  into duplicate groups (bugs linked directly or through others), the groups sorted by their
  first bug id and permuted by ``numpy.random.default_rng(0)``; the queries of the first half
  of the groups are the VALIDATION half, the others the TEST half (a group's queries never
  straddle the halves).
* Settings: W x aggregation x chunk weight. The best on the validation half by MRR@10 (ties:
  the smaller weight, then the smaller W). It passes the rule if it beats the shipped search
  (weight 0) on the validation half with the paired bootstrap's 95 % interval of MRR@10 above
  0 (``passes_validation_rule``); the test half then confirms or not (this step was added
  after the first run had shown the test half). Test half and full set
  are reported for every setting, never used to pick one.
* Not chunks: ``long_query_weights`` re-weights the shipped rankings for long queries (the
  lexical and subject weights), picked the same way.

Results: ``benchmarks/results/long_tickets.json``.

    PYTHONPATH=. .venv/bin/python benchmarks/long_tickets.py [--words 32 --words 64 ...]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from quality import CachedEmbedder
from retrieval import (
    CUTOFF,
    ROOT,
    Ranking,
    ShippedStore,
    Split,
    TextCache,
    _chunked,
    _context,
    paired_bootstrap,
    per_query,
    seamonkey,
)

from triage.core.embeddings import load_embedder
from triage.core.multilingual import USE_MULTILINGUAL
from triage.core.text import subject_text
from triage.similar.fusion import reciprocal_rank_fusion
from triage.similar.hybrid import DEFAULT_HYBRID, fuse

RESULTS = ROOT / "benchmarks" / "results" / "long_tickets.json"
NAME = "bug_duplicates_seamonkey"
WORDS = (32, 64, 128)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
AGGREGATIONS = ("max", "top-2 mean", "mean of best")
SPLIT_SEED = 0


def pieces(text: str, words: int) -> list[str]:
    """The text in ``ceil(n / words)`` pieces of near-equal length (one piece if short)."""
    split = text.split()
    count = max(1, -(-len(split) // words))
    return [" ".join(part) for part in np.array_split(np.asarray(split, dtype=object), count)]


def validation_half(split: Split) -> np.ndarray:
    """Per query: True in the validation half (by duplicate group, see the docstring)."""
    assert split.query_rows is not None
    parent: dict[str, str] = {}

    def root(bug: str) -> str:
        while parent.setdefault(bug, bug) != bug:
            bug = parent[bug]
        return bug

    for row, linked in zip(split.query_rows, split.query_labels, strict=True):
        a, b = root(str(split.corpus_labels[row])), root(str(linked))
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups = [root(str(split.corpus_labels[row])) for row in split.query_rows]
    ordered = sorted(set(groups), key=int)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(ordered))
    chosen = {ordered[i] for i in order[: len(ordered) // 2]}
    return np.asarray([group in chosen for group in groups])


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _best_pieces(embedder: TextCache, query: str, corpus_vectors: Any, words: int) -> np.ndarray:
    """(query pieces x tickets): each ticket's best piece for each query piece."""
    vectors, owner, count = corpus_vectors
    sims = _unit(embedder.encode(pieces(query, words))) @ vectors.T
    best = np.full((len(sims), count), -np.inf, dtype=np.float32)
    for j, row in enumerate(sims):
        np.maximum.at(best[j], owner, row)
    return best


def _top2(embedder: TextCache, query: str, corpus_vectors: Any, words: int) -> np.ndarray:
    vectors, owner, count = corpus_vectors
    per_piece = (_unit(embedder.encode(pieces(query, words))) @ vectors.T).max(axis=0)
    order = np.lexsort((-per_piece, owner))  # by owner, best first
    starts = np.searchsorted(owner[order], np.arange(count))
    first = per_piece[order][starts]
    has_two = np.bincount(owner, minlength=count) > 1
    second = per_piece[order][np.minimum(starts + 1, len(order) - 1)]
    return np.asarray(np.where(has_two, (first + second) / 2, first))


def chunk_scores(
    embedder: TextCache, split: Split, words: int
) -> dict[str, list[np.ndarray | None]]:
    """Per aggregation, per query: the tickets' chunk scores (None: a query of one piece)."""
    parts = [pieces(text, words) for text in split.corpus_texts]
    vectors = _unit(embedder.encode([p for ps in parts for p in ps]))
    owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    corpus = (vectors, owner, len(parts))
    out: dict[str, list[np.ndarray | None]] = {name: [] for name in AGGREGATIONS}
    for text in split.query_texts:
        if len(text.split()) <= words:
            for name in AGGREGATIONS:
                out[name].append(None)
            continue
        best = _best_pieces(embedder, text, corpus, words)
        out["max"].append(best.max(axis=0))
        out["mean of best"].append(best.mean(axis=0))
        out["top-2 mean"].append(_top2(embedder, text, corpus, words))
    return out


def _ranking(scores: np.ndarray, exclude: int, depth: int) -> Ranking:
    scores = scores.copy()
    scores[exclude] = -np.inf
    return [int(i) for i in np.argsort(-scores, kind="stable")[:depth]]


def dense_rankings(split: Split, embedder: TextCache, words: int) -> dict[str, list[Ranking]]:
    """Each representation alone, every query (chunks: a one-piece query by its text)."""
    corpus, queries = split.corpus_texts, split.query_texts
    subjects = [subject_text(*f) or t for f, t in zip(split.corpus, corpus, strict=True)]
    query_subjects = [subject_text(*f) or t for f, t in zip(split.queries, queries, strict=True)]
    pairs = {
        "text": (corpus, queries),
        "subject": (subjects, query_subjects),
        "head": ([pieces(t, words)[0] for t in corpus], [pieces(t, words)[0] for t in queries]),
    }
    out: dict[str, list[Ranking]] = {}
    for name, (c, q) in pairs.items():
        c_vec, q_vec = _unit(embedder.encode(c)), _unit(embedder.encode(q))
        out[name] = _chunked(split, lambda rows, a=q_vec, b=c_vec: a[rows] @ b.T, positive=False)  # type: ignore[misc]
    return out


Kept = dict[tuple[int, str, float], dict[str, np.ndarray]]  # per setting, per query
Found = tuple[Ranking, Ranking, Ranking, Ranking]  # dense, full-text, other language, subject


def candidates(split: Split, embedder: TextCache) -> list[Found]:
    """The shipped candidates of each query, as corpus rows (``retrieval.ShippedStore``)."""
    vectors = embedder.encode(split.query_texts)
    out: list[Found] = []
    with tempfile.TemporaryDirectory() as folder:
        store = ShippedStore(split, embedder, Path(folder))
        for q, text in enumerate(split.query_texts):
            c = store.candidates(split, q, vectors[q], text)
            lists = (c.dense, c.lexical, c.other_language, c.subject)
            out.append(tuple(store.rows(rows) for rows in lists))  # type: ignore[arg-type]
        store.close()
    return out


def fused(
    split: Split, found: list[Found], chunks: list[np.ndarray | None], weight: float
) -> list[Ranking]:
    """The shipped fusion of each query's candidates, with its chunk ranking (if it has one)
    as one more list of the given weight; weight 0 is ``fuse`` itself, the shipped search."""
    settings = DEFAULT_HYBRID
    assert split.query_rows is not None
    out: list[Ranking] = []
    for q, ((dense, lexical, other, subject), scores) in enumerate(zip(found, chunks, strict=True)):
        text = split.query_texts[q]
        subject = subject if settings.ranks_subject(text) else []
        if weight == 0 or scores is None:
            out.append(fuse(dense, lexical, other, settings, CUTOFF, subject=subject))
            continue
        ranked = _ranking(scores, split.query_rows[q], settings.depth)
        lists = [dense, lexical, other, subject, ranked]
        weights = [settings.dense_weight, settings.lexical_weight, settings.lexical_weight]
        weights += [settings.subject_weight, weight]
        found_rows = reciprocal_rank_fusion(lists, k=settings.k, weights=weights, limit=CUTOFF)
        out.append([row for row, _ in found_rows])
    return out


def _summary(per: dict[str, np.ndarray], halves: np.ndarray) -> dict[str, Any]:
    parts = {"validation": halves, "test": ~halves, "all": np.ones_like(halves)}
    return {
        part: {metric: round(float(v[mask].mean()), 4) for metric, v in per.items()}
        for part, mask in parts.items()
    }


def grid(
    split: Split, embedder: TextCache, words: list[int], alone: dict[str, Any]
) -> tuple[list[dict[str, Any]], Kept, list[Found]]:
    """Every setting fused (and, into ``alone``, each chunk ranking by itself)."""
    halves = validation_half(split)
    found = candidates(split, embedder)
    text = dense_rankings(split, embedder, min(words))["text"]
    assert split.query_rows is not None
    rows: list[dict[str, Any]] = []
    kept: Kept = {}
    for size in words:
        scores = chunk_scores(embedder, split, size)
        for aggregation in AGGREGATIONS:
            ranked = [
                text[q] if s is None else _ranking(s, split.query_rows[q], CUTOFF)
                for q, s in enumerate(scores[aggregation])
            ]
            alone[f"chunks {aggregation} ({size} words)"] = _summary(
                per_query(ranked, split), halves
            )
            for weight in WEIGHTS:
                per = per_query(fused(split, found, scores[aggregation], weight), split)
                kept[(size, aggregation, weight)] = per
                rows.append(
                    {"words": size, "aggregation": aggregation, "chunk_weight": weight}
                    | _summary(per, halves)
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows, kept, found


def long_query_weights(split: Split, found: list[Found]) -> dict[str, Any]:
    """Not chunks: the shipped rankings re-weighted for long queries only (lexical and subject
    weight; shorter queries as shipped), each setting on both halves; the best on the
    validation half by MRR@10 against the shipped weights (paired bootstrap)."""
    halves = validation_half(split)
    settings = DEFAULT_HYBRID
    mrr = f"mrr_at_{CUTOFF}"
    rows, kept = [], {}
    for lexical_weight in (0.25, 0.5, 1.0, 2.0):
        for subject_weight in (0.0, 0.25, 0.5, 1.0, 2.0):
            long = replace(settings, lexical_weight=lexical_weight, subject_weight=subject_weight)
            ranked = []
            for q, (dense, lexical, other, subject) in enumerate(found):
                text = split.query_texts[q]
                use = long if settings.ranks_subject(text) else settings
                by_subject = subject if use.ranks_subject(text) else []
                ranked.append(fuse(dense, lexical, other, use, CUTOFF, subject=by_subject))
            per = per_query(ranked, split)
            kept[(lexical_weight, subject_weight)] = per
            rows.append(
                {"lexical_weight": lexical_weight, "subject_weight": subject_weight}
                | _summary(per, halves)
            )
    best = max(rows, key=lambda r: (r["validation"][mrr], -r["lexical_weight"]))
    chosen = kept[(best["lexical_weight"], best["subject_weight"])]
    shipped = kept[(settings.lexical_weight, settings.subject_weight)]
    gain = {
        part: {
            metric: paired_bootstrap(chosen[metric][mask], shipped[metric][mask])
            for metric in (f"r_at_{CUTOFF}", mrr)
        }
        for part, mask in (("validation", halves), ("test", ~halves), ("all", halves | ~halves))
    }
    return {"grid": rows, "best_on_validation": best, "minus_shipped": gain}


# Bugzilla's template headings and the user-agent and build lines every report carries.
BOILERPLATE = re.compile(
    r"user agent|mozilla/5\.0|gecko/|steps to reproduce|actual results|expected results|build id",
    re.IGNORECASE,
)


def best_pairs(split: Split, embedder: TextCache, words: int) -> dict[str, Any]:
    """Why ``max`` fails: per long query, its best pair of pieces with another ticket (its top
    match under ``chunks max``) — how often both pieces are template or user-agent text."""
    assert split.query_rows is not None
    parts = [pieces(text, words) for text in split.corpus_texts]
    flat = [p for ps in parts for p in ps]
    vectors = _unit(embedder.encode(flat))
    owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    long = [q for q, text in enumerate(split.query_texts) if len(text.split()) > words]
    both = 0
    for q in long:
        query = pieces(split.query_texts[q], words)
        sims = _unit(embedder.encode(query)) @ vectors.T
        sims[:, owner == split.query_rows[q]] = -np.inf
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        both += bool(BOILERPLATE.search(query[i])) and bool(BOILERPLATE.search(flat[j]))
    long_tickets = [
        len(p) for p, t in zip(parts, split.corpus_texts, strict=True) if len(t.split()) > words
    ]
    return {
        "words": words,
        "long_queries": len(long),
        "best_pair_both_boilerplate": both,
        "pieces_with_boilerplate": round(
            float(np.mean([bool(BOILERPLATE.search(p)) for p in flat])), 3
        ),
        "tickets_over_words": len(long_tickets),
        "mean_pieces_of_those": round(float(np.mean(long_tickets)), 2),
    }


def union_top10(split: Split, found: list[Found]) -> dict[str, float]:
    """How often the linked bug is in the top 10 of at least one shipped ranking."""
    halves = validation_half(split)
    hit = np.asarray(
        [
            any(split.query_labels[q] in split.corpus_labels[rows[:CUTOFF]] for rows in lists)
            for q, lists in enumerate(found)
        ]
    )
    parts = {"validation": halves, "test": ~halves, "all": np.ones_like(halves)}
    return {part: round(float(hit[mask].mean()), 4) for part, mask in parts.items()}


def choose(
    rows: list[dict[str, Any]],
    kept: Kept,
    halves: np.ndarray,
) -> dict[str, Any]:
    """The best setting on the validation half, and whether it clears the building rule."""
    mrr = f"mrr_at_{CUTOFF}"
    best = max(rows, key=lambda r: (r["validation"][mrr], -r["chunk_weight"], -r["words"]))
    key = (best["words"], best["aggregation"], best["chunk_weight"])
    shipped = kept[(best["words"], best["aggregation"], 0.0)]
    gain = {
        part: {
            metric: paired_bootstrap(kept[key][metric][mask], shipped[metric][mask])
            for metric in (f"r_at_{CUTOFF}", mrr)
        }
        for part, mask in (("validation", halves), ("test", ~halves), ("all", halves | ~halves))
    }
    passes = best["chunk_weight"] > 0 and gain["validation"][mrr]["ci95"][0] > 0
    return {"best_on_validation": best, "minus_shipped": gain, "passes_validation_rule": passes}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--words", type=int, action="append", help=f"default {WORDS}")
    args = parser.parse_args()
    words = args.words or list(WORDS)
    embedder = TextCache(CachedEmbedder(load_embedder(USE_MULTILINGUAL)))
    embedder.prefetch(NAME)
    split = seamonkey()
    halves = validation_half(split)
    print(f"{NAME}: {int(halves.sum())} validation, {int((~halves).sum())} test queries")
    alone = {}
    for size in words:
        for name, ranked in dense_rankings(split, embedder, size).items():
            label = name if name in ("text", "subject") else f"{name} ({size} words)"
            alone[label] = _summary(per_query(ranked, split), halves)
    rows, kept, found = grid(split, embedder, words, alone)
    result = {
        "protocol": __doc__.split("The choice")[1].strip() if __doc__ else "",
        "dataset": NAME,
        "validation_queries": int(halves.sum()),
        "test_queries": int((~halves).sum()),
        "embedder": embedder.identity.get("name"),
        "shipped_hybrid": asdict(DEFAULT_HYBRID),
        "alone": alone,
        "fused": rows,
        "choice": choose(rows, kept, halves),
        "long_query_weights": long_query_weights(split, found),
        "union_of_shipped_top10s": union_top10(split, found),
        "best_pairs": best_pairs(split, embedder, min(words)),
        **_context(),
    }
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result["choice"], indent=1))


if __name__ == "__main__":
    main()
