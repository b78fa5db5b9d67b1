"""Fitting a head's refinement (:mod:`triage.core.refinement`) on out-of-fold predictions.

Everything here sees only the training rows: the head's out-of-fold probabilities (each row
scored by a model that did not see it) and a neighbour vote in which no ticket votes for
itself. The held-out split is never used to choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import f1_score

from triage.core.refinement import (
    CENTROIDS,
    VOTE_K,
    VOTE_SHARPNESS,
    Refinement,
    TopLabelCalibration,
    neighbour_vote,
)

# Blend weights compared on out-of-fold macro-F1; 0 is the head alone.
VOTE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7)
# A larger weight is kept only if it beats the smaller ones by this much macro-F1.
MIN_GAIN = 0.0005
# Below this many training rows the isotonic map has too few points per block to be
# trusted, and confidences would collapse onto a handful of values: temperature only.
MIN_CALIBRATION_ROWS = 1000
# Cold start: below this many training tickets in the median class, the head answers by the
# class-centroid vote alone. On Banking77 (benchmarks/learning_curve.py) the centroid vote
# wins at 2 and 3 tickets a class, the trained head with the neighbour vote from 5 on.
COLD_START_BELOW = 5


@dataclass(frozen=True)
class FittedRefinement:
    refinement: Refinement
    oof_proba: np.ndarray  # the refined out-of-fold probabilities: for operating points


def fit_refinement(
    oof_proba: np.ndarray,
    truth: np.ndarray,
    embeddings: np.ndarray,
    *,
    weights: Sequence[float] = VOTE_WEIGHTS,
    calibrate: bool = True,
    k: int = VOTE_K,
    sharpness: float = VOTE_SHARPNESS,
    cold_start_below: int = COLD_START_BELOW,
) -> FittedRefinement:
    """Choose the vote weight with the best out-of-fold macro-F1, then fit the top-label
    calibration on the blended out-of-fold probabilities — or, with fewer than
    ``cold_start_below`` tickets in the median class, answer by the centroid vote alone.

    ``truth``: class indices of the training rows (columns of ``oof_proba``);
    ``embeddings``: their normalised embeddings, the pool the served vote searches.
    """
    oof_proba = np.asarray(oof_proba, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.intp)
    n_classes = oof_proba.shape[1]
    counts = np.bincount(truth, minlength=n_classes)
    median = float(np.median(counts))
    if median < cold_start_below:
        why = f"median class has {median:g} training tickets (< {cold_start_below})"
        return _cold_start(embeddings, truth, n_classes, sharpness, why)
    vote = None
    if any(w > 0 for w in weights):
        vote = neighbour_vote(
            embeddings, embeddings, truth, n_classes, k=k, sharpness=sharpness, exclude_self=True
        )
    weight, candidates = _best_vote_weight(oof_proba, vote, truth, weights)
    blended = oof_proba if weight == 0 or vote is None else _blend(oof_proba, vote, weight)
    calibration, note = _top_label_calibration(blended, truth, calibrate)
    refinement = Refinement(
        vote_weight=weight,
        vote_k=k,
        vote_sharpness=sharpness,
        calibration=calibration,
        chosen_on={
            "mode": "trained",
            "vote_candidates": candidates,
            "calibration": note,
        },
    )
    return FittedRefinement(refinement, refinement.apply(oof_proba, vote))


def _cold_start(
    embeddings: np.ndarray, truth: np.ndarray, n_classes: int, sharpness: float, why: str
) -> FittedRefinement:
    """The class-centroid vote alone, uncalibrated; out of fold, each ticket left out of its
    own class's centroid."""
    refinement = Refinement(
        vote_weight=1.0,
        vote_kind=CENTROIDS,
        vote_sharpness=sharpness,
        chosen_on={"mode": "cold start", "why": why, "calibration": "none: too few tickets"},
    )
    oof = leave_one_out_centroid_vote(embeddings, truth, n_classes, sharpness=sharpness)
    return FittedRefinement(refinement, oof)


def _best_vote_weight(
    oof_proba: np.ndarray, vote: np.ndarray | None, truth: np.ndarray, weights: Sequence[float]
) -> tuple[float, list[dict[str, float]]]:
    """The vote weight with the best out-of-fold macro-F1 (a larger one only if it gains
    ``MIN_GAIN``), and every weight's scores."""
    classes = np.arange(oof_proba.shape[1])
    candidates = []
    best: tuple[float, float] | None = None  # (macro-F1, weight)
    for weight in sorted(weights):
        blended = oof_proba if weight == 0 or vote is None else _blend(oof_proba, vote, weight)
        predicted = blended.argmax(axis=1)
        macro_f1 = float(f1_score(truth, predicted, labels=classes, average="macro"))
        candidates.append(
            {
                "vote_weight": weight,
                "oof_macro_f1": round(macro_f1, 4),
                "oof_accuracy": round(float(np.mean(predicted == truth)), 4),
            }
        )
        if best is None or macro_f1 > best[0] + MIN_GAIN:
            best = (macro_f1, weight)
    assert best is not None, "no vote weight to compare"
    return best[1], candidates


def _top_label_calibration(
    blended: np.ndarray, truth: np.ndarray, calibrate: bool
) -> tuple[TopLabelCalibration | None, str]:
    """The top-label calibration when asked for and there are rows enough, and why not."""
    if not calibrate:
        return None, "turned off: temperature only"
    if len(truth) < MIN_CALIBRATION_ROWS:
        return None, f"{len(truth)} training rows (< {MIN_CALIBRATION_ROWS}): temperature only"
    calibration = fit_top_label_calibration(blended, truth)
    return calibration, f"isotonic on the top label, {len(calibration.confidences)} knots"


def leave_one_out_centroid_vote(
    embeddings: np.ndarray, truth: np.ndarray, n_classes: int, *, sharpness: float
) -> np.ndarray:
    """The centroid vote for each training ticket with itself left out of its class's
    centroid (a class of one then has no centroid for it: similarity 0)."""
    pool = np.asarray(embeddings, dtype=np.float64)
    sums = np.zeros((n_classes, pool.shape[1]))
    np.add.at(sums, truth, pool)
    sims = pool @ sums.T  # unnormalised: each row fixed below, then divided by the norms
    norms = np.linalg.norm(sums, axis=1)
    rows = np.arange(len(truth))
    own = sums[truth] - pool
    own_norm = np.linalg.norm(own, axis=1)
    sims = np.divide(sims, norms, out=np.zeros_like(sims), where=norms > 0)
    sims[rows, truth] = np.divide(
        np.einsum("ij,ij->i", pool, own), own_norm, out=np.zeros(len(truth)), where=own_norm > 1e-9
    )
    scaled = (sims - sims.max(axis=1, keepdims=True)) / sharpness
    weights = np.exp(scaled)
    shares: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return shares


def _blend(proba: np.ndarray, vote: np.ndarray, weight: float) -> np.ndarray:
    return (1.0 - weight) * proba + weight * vote


def fit_top_label_calibration(proba: np.ndarray, truth: np.ndarray) -> TopLabelCalibration:
    """Isotonic regression of "the top label is right" on the top probability, as knots.

    Each isotonic block becomes one knot: its mean top probability and its share right,
    shrunk a little towards one half ((right + 0.5) / (n + 1), so no block claims certainty
    from a finite sample). Serving interpolates between knots, which keeps confidences
    distinct within a block rather than flattening them onto a step.
    """
    top = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == truth).astype(np.float64)
    order = np.argsort(top, kind="stable")
    top, correct = top[order], correct[order]
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit_transform(
        top, correct
    )
    starts = np.r_[0, np.flatnonzero(np.diff(fitted) != 0) + 1]
    sizes = np.diff(np.r_[starts, len(top)])
    xs = np.add.reduceat(top, starts) / sizes
    ys = (np.add.reduceat(correct, starts) + 0.5) / (sizes + 1.0)
    ys = np.maximum.accumulate(ys)
    keep = np.r_[True, np.diff(xs) > 1e-9]  # knots must strictly increase in x
    return TopLabelCalibration(
        tuple(float(x) for x in np.clip(xs[keep], 0.0, 1.0)),
        tuple(float(y) for y in np.clip(ys[keep], 0.0, 1.0)),
    )
