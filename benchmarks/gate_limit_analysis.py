"""How should the distance check's limit be fitted?  Measured on training rows alone.

For a set and split seed, each head is fitted on the training rows exactly as ``triage
train`` does (``fit_on_rows``: its out-of-fold probabilities and ``auto`` decisions). Then,
with the held-out rows never touched, ways of fitting the distance limit
(:mod:`triage.training.fit_distance`) are compared on the training rows:

* **cost** (nested): the training rows are cut into 5 outer folds; the limit is fitted on
  four (with its own inner out-of-fold distances) and applied, with centroids and
  covariance fitted on those four, to the fifth, as a served model meets new tickets. Cost:
  the share of the fifth fold that the head decided ``auto`` and the check turns away,
  against the budget it was fitted for. Mean and worst fold.
* **novelty** (leave one cluster out): the training embeddings are cut into 10 k-means
  clusters; for each, the check is fitted on the other clusters and applied to it: the share
  of the cluster's ``auto`` rows it still lets through (lower: more of what is unlike the
  training tickets is refused). A stand-in for text from elsewhere that uses no off-domain
  text (``data/offdomain.csv`` and Banking77 questions are the test sets and are not read).

    .venv/bin/python benchmarks/gate_limit_analysis.py --dataset itsm_l1_vs_escalated --seeds 3
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from auto_precision import SETS
from quality import CachedEmbedder

from triage.core.decisions import Decision
from triage.core.embeddings import load_embedder
from triage.core.features import feature_frame
from triage.core.neighbours import NeighbourIndex
from triage.training.evaluate import decide_all
from triage.training.fit_distance import (
    DISTANCE_BUDGET,
    MAX_TURNED_AWAY,
    budget_limit,
    out_of_fold_distances,
    whitened_centroids,
)
from triage.training.head_answers import fit_on_rows
from triage.training.train import TrainConfig, split_rows

RESULTS = Path(__file__).resolve().parent / "results" / "gate_limit_analysis.json"
OUTER_FOLDS = 5
CLUSTERS = 10

# A variant: (embeddings, label codes, predicted codes, auto, n_labels) -> a fitted check,
# itself a function (embeddings, predicted codes) -> turned away (bool per row).
Check = Callable[[np.ndarray, np.ndarray], np.ndarray]
Variant = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], Check]


def _check(vectors: np.ndarray, codes: np.ndarray, n: int, limits: np.ndarray) -> Check:
    whitening, centroids = whitened_centroids(vectors, codes, n)

    def turned_away(embeddings: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        gaps = embeddings @ whitening - centroids[predicted]
        return np.asarray(np.linalg.norm(gaps, axis=1) > limits[predicted])

    return turned_away


def pooled(folds: int = 5) -> Variant:
    """The shipped rule: one limit for every label, the budget spent over all rows."""

    def fit(x: np.ndarray, codes: np.ndarray, pred: np.ndarray, auto: np.ndarray, n: int) -> Check:
        d = out_of_fold_distances(x, codes, pred, n, folds=folds)
        return _check(x, codes, n, np.full(n, budget_limit(d, auto)))

    return fit


def per_class(
    x: np.ndarray, codes: np.ndarray, pred: np.ndarray, auto: np.ndarray, n: int
) -> Check:
    """A limit per predicted label, each spending the budget on that label's rows alone."""
    d = out_of_fold_distances(x, codes, pred, n)
    limits = np.asarray(
        [
            budget_limit(d[pred == c], auto[pred == c]) if (pred == c).any() else 0.0
            for c in range(n)
        ]
    )
    return _check(x, codes, n, limits)


def global_distance(
    x: np.ndarray, codes: np.ndarray, pred: np.ndarray, auto: np.ndarray, n: int
) -> Check:
    """One centroid for all the training rows (labels ignored), one limit."""
    zeros = np.zeros(len(codes), dtype=np.intp)
    d = out_of_fold_distances(x, zeros, zeros, 1)
    inner = _check(x, zeros, 1, np.asarray([budget_limit(d, auto)]))
    return lambda e, p: inner(e, np.zeros(len(p), dtype=np.intp))


VARIANTS: dict[str, Variant] = {
    "pooled (shipped)": pooled(),
    "pooled, 10 inner folds": pooled(10),
    "per class": per_class,
    "global distance": global_distance,
}


def _folds(n: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % k


def nested_cost(
    fit: Variant, x: np.ndarray, codes: np.ndarray, pred: np.ndarray, auto: np.ndarray, n: int
) -> list[float]:
    """Per outer fold: the share of its rows decided ``auto`` that the check turns away."""
    fold_of = _folds(len(codes), OUTER_FOLDS, 1)
    costs = []
    for fold in range(OUTER_FOLDS):
        inner, outer = fold_of != fold, fold_of == fold
        check = fit(x[inner], codes[inner], pred[inner], auto[inner], n)
        costs.append(float((check(x[outer], pred[outer]) & auto[outer]).mean()))
    return costs


def novelty_passed(
    fit: Variant, x: np.ndarray, codes: np.ndarray, pred: np.ndarray, auto: np.ndarray, n: int
) -> list[float]:
    """Per k-means cluster: the share of its ``auto`` rows a check fitted without it passes."""
    from sklearn.cluster import KMeans

    cluster = KMeans(CLUSTERS, n_init=3, random_state=0).fit_predict(x)
    passed = []
    for k in range(CLUSTERS):
        out, kept = cluster == k, cluster != k
        if (out & auto).sum() < 5 or len(np.unique(codes[kept])) < 2:
            continue
        check = fit(x[kept], codes[kept], pred[kept], auto[kept], n)
        passed.append(float((~check(x[out & auto], pred[out & auto])).mean()))
    return passed


def head_rows(name: str, seed: int, head: str) -> tuple[np.ndarray, ...]:
    """The training rows of a split: embeddings, label codes, out-of-fold predicted codes
    and ``auto`` decisions, as ``fit_on_rows`` makes them."""
    bench = SETS[name]
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        seed=seed,
        refit=False,  # the training rows of a held-out split, as the evaluated heads see them
    )
    split = split_rows(config, bench.data_file(), None)
    texts = sorted(set(split.texts))
    vectors = CachedEmbedder(load_embedder("use-multilingual")).encode(texts)
    row = {t: i for i, t in enumerate(texts)}
    embeddings = vectors[[row[t] for t in split.texts]]
    train = split.train_idx
    y = split.labels[head][train]
    pool = NeighbourIndex(embeddings[train], [str(i) for i in train], {head: y.tolist()})
    features = feature_frame(split.texts, embeddings).iloc[train]
    fitted = fit_on_rows(head, y, features, pool, replace(config))
    index = {label: i for i, label in enumerate(fitted.labels)}
    codes = np.asarray([index[str(v)] for v in y], dtype=np.intp)
    outcomes = decide_all(fitted.refined_oof, fitted.labels, fitted.policy)
    auto = np.asarray([o.decision is Decision.AUTO for o in outcomes])
    pred = fitted.refined_oof.argmax(axis=1).astype(np.intp)
    return np.asarray(embeddings[train], dtype=np.float64), codes, pred, auto, len(fitted.labels)


def analyse(name: str, seeds: int, variants: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"dataset": name, "budget": DISTANCE_BUDGET, "cap": MAX_TURNED_AWAY}
    for head in SETS[name].labels:
        rows: dict[str, dict[str, list[float]]] = {v: {"cost": [], "passed": []} for v in variants}
        for seed in range(seeds):
            x, codes, pred, auto, n = head_rows(name, seed, head)
            for variant in variants:
                fit = VARIANTS[variant]
                rows[variant]["cost"] += nested_cost(fit, x, codes, pred, auto, n)
                rows[variant]["passed"] += novelty_passed(fit, x, codes, pred, auto, n)
                print(name, head, seed, variant, _summary(rows[variant]), flush=True)
        out[head] = {v: {**_summary(r), "raw": r} for v, r in rows.items()}
    return out


def _summary(row: dict[str, list[float]]) -> dict[str, float]:
    cost, passed = np.asarray(row["cost"]), np.asarray(row["passed"])
    return {
        "cost_mean": round(float(cost.mean()), 4) if cost.size else float("nan"),
        "cost_max": round(float(cost.max()), 4) if cost.size else float("nan"),
        "cost_sd": round(float(cost.std()), 4) if cost.size else float("nan"),
        "novel_passed_mean": round(float(passed.mean()), 4) if passed.size else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(SETS), action="append", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variant", choices=sorted(VARIANTS), action="append")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.dataset:
        results[name] = analyse(name, args.seeds, args.variant or list(VARIANTS))
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        for head, variants in results[name].items():
            if isinstance(variants, dict):
                for variant, row in variants.items():
                    summary = {k: v for k, v in row.items() if k != "raw"}
                    print(f"{name} {head} {variant}: {summary}")


if __name__ == "__main__":
    main()
