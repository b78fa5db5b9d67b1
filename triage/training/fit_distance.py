"""Fitting a head's distance check (:mod:`triage.core.gate_distance`) on its training rows.

The covariance is shared by the head's labels and shrunk by Ledoit–Wolf. Every training
ticket's distance is measured out of fold: to the centroid of the label the head predicted for
it out of fold, with centroids and covariance fitted without its fold (in-sample distances
are biased low, the more so with few tickets per dimension). The limit is then the smallest
distance whose cost, the share of training tickets the head decided ``auto`` out of fold and
the check would turn away, is at most ``budget`` — but never so small that the check turns
away more than ``max_turned_away`` of all training tickets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.core.gate_distance import ClassDistance

# Points of out-of-fold auto coverage the check may cost, and the largest share of training
# tickets it may turn away (what bounds it on a head that decides little automatically).
DISTANCE_BUDGET = 0.015
MAX_TURNED_AWAY = 0.10
DISTANCE_FOLDS = 5
# Below this many training tickets a distance limit would rest on a handful: none is fitted.
MIN_ROWS_FOR_DISTANCE = 100


def whitened_centroids(
    embeddings: np.ndarray, codes: np.ndarray, n_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """The whitening matrix of the Ledoit–Wolf within-label covariance of ``embeddings``
    (``codes``: each row's label index) and the label centroids whitened; a label without
    rows gets the mean of all rows."""
    from sklearn.covariance import ledoit_wolf

    vectors = np.asarray(embeddings, dtype=np.float64)
    overall = vectors.mean(axis=0)
    counts = np.bincount(codes, minlength=n_labels).astype(float)
    sums = np.zeros((n_labels, vectors.shape[1]))
    np.add.at(sums, codes, vectors)
    means = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], overall)
    covariance, _ = ledoit_wolf(vectors - means[codes], assume_centered=True)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    floor = max(float(eigenvalues.max()), 1e-12) * 1e-9
    whitening = eigenvectors / np.sqrt(np.maximum(eigenvalues, floor))
    return whitening, means @ whitening


def out_of_fold_distances(
    embeddings: np.ndarray,
    codes: np.ndarray,
    predicted: np.ndarray,
    n_labels: int,
    *,
    folds: int = DISTANCE_FOLDS,
    seed: int = 0,
) -> np.ndarray:
    """Per row: its distance to the centroid of its ``predicted`` label index, both the
    centroids and the covariance fitted on the other folds."""
    n = len(codes)
    fold_of = np.random.default_rng(seed).permutation(n) % max(2, min(folds, n))
    distances = np.zeros(n)
    vectors = np.asarray(embeddings, dtype=np.float64)
    for fold in np.unique(fold_of):
        scored = fold_of == fold
        whitening, centroids = whitened_centroids(vectors[~scored], codes[~scored], n_labels)
        gaps = vectors[scored] @ whitening - centroids[predicted[scored]]
        distances[scored] = np.linalg.norm(gaps, axis=1)
    return distances


def budget_limit(
    distances: np.ndarray,
    auto: np.ndarray,
    *,
    budget: float = DISTANCE_BUDGET,
    max_turned_away: float = MAX_TURNED_AWAY,
) -> float:
    """The smallest limit that turns away at most ``budget`` of all rows among those decided
    ``auto`` (rows over the limit are turned away), and at most ``max_turned_away`` of all."""
    n = len(distances)
    allowed = int(np.floor(budget * n + 1e-9))
    decided = np.sort(np.asarray(distances)[np.asarray(auto, dtype=bool)])[::-1]
    by_budget = float(decided[allowed]) if allowed < decided.size else 0.0
    by_cap = float(np.quantile(distances, 1 - max_turned_away, method="higher")) if n else 0.0
    # Rounded up, so a ticket exactly at the limit measured is let through.
    return float(np.ceil(max(by_budget, by_cap) * 1e4) / 1e4)


def fit_class_distance(
    embeddings: np.ndarray,
    y: Sequence[str],
    labels: Sequence[str],
    oof_proba: np.ndarray,
    oof_auto: Sequence[bool],
    *,
    seed: int = 0,
    budget: float = DISTANCE_BUDGET,
    max_turned_away: float = MAX_TURNED_AWAY,
) -> ClassDistance:
    """The distance check of a head with classes ``labels``, fitted on its training rows
    (``embeddings``, true labels ``y``), its out-of-fold probabilities ``oof_proba`` and
    whether it decided each row ``auto`` out of fold (``oof_auto``)."""
    index = {label: i for i, label in enumerate(labels)}
    codes = np.asarray([index[str(label)] for label in y], dtype=np.intp)
    predicted = np.asarray(oof_proba).argmax(axis=1)
    distances = out_of_fold_distances(embeddings, codes, predicted, len(labels), seed=seed)
    auto = np.asarray(oof_auto, dtype=bool)
    limit = budget_limit(distances, auto, budget=budget, max_turned_away=max_turned_away)
    whitening, centroids = whitened_centroids(embeddings, codes, len(labels))
    over = distances > limit
    fitted_on = {
        "tickets": len(codes),
        "folds": DISTANCE_FOLDS,
        "budget": budget,
        "max_turned_away": max_turned_away,
        "turned_away": round(float(over.mean()), 4),
        "auto_out_of_fold": round(float(auto.mean()), 4),
        "auto_cost": round(float((over & auto).mean()), 4),
        "distance": {
            "median": round(float(np.median(distances)), 3),
            "p99": round(float(np.quantile(distances, 0.99)), 3),
        },
    }
    return ClassDistance(
        tuple(str(label) for label in labels),
        centroids.astype(np.float32),
        whitening.astype(np.float32),
        limit,
        fitted_on,
    )
