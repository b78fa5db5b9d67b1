"""Precision curves per class from out-of-fold predictions on the training data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import beta

from triage.core.decisions import CONFIDENCE_LEVEL, SEPARATOR, PrecisionCurve, ancestors

MAX_POINTS = 200


def precision_lower_bound(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    """One-sided Clopper–Pearson lower bound on a precision of ``hits`` out of ``n``, at
    ``CONFIDENCE_LEVEL``: exact for a binomial count, conservative for any sample size."""
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    alpha = 1 - CONFIDENCE_LEVEL
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(alpha, hits, n - hits + 1)
    return np.where(hits > 0, np.nan_to_num(bound, nan=0.0), 0.0)


def _curve(confidence: np.ndarray, correct: np.ndarray, support: int) -> PrecisionCurve:
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    hits = correct[order].astype(float)
    if conf.size == 0:
        return PrecisionCurve((), (), support, excluded="never predicted")
    cumulative = np.cumsum(hits)
    counts = np.arange(1, conf.size + 1)
    # Ties: a threshold admits every prediction with that confidence, so keep the last
    # index of each distinct confidence value.
    last_of_value = np.r_[conf[1:] != conf[:-1], True]
    conf, cumulative, counts = conf[last_of_value], cumulative[last_of_value], counts[last_of_value]
    if conf.size > MAX_POINTS:
        keep = np.unique(np.linspace(0, conf.size - 1, MAX_POINTS).round().astype(int))
        conf, cumulative, counts = conf[keep], cumulative[keep], counts[keep]
    precision = cumulative / counts
    # Rounded down, so the stored bound never claims more than was computed.
    lower = np.floor(precision_lower_bound(cumulative, counts) * 1e6) / 1e6
    return PrecisionCurve(
        confidences=tuple(round(float(c), 6) for c in conf),
        precisions=tuple(round(float(p), 6) for p in precision),
        support=support,
        counts=tuple(int(n) for n in counts),
        lower_bounds=tuple(float(b) for b in lower),
    )


def precision_curves(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    *,
    min_support: int = 10,
) -> dict[str, PrecisionCurve]:
    """For each class: precision of its predictions at or above every confidence level.

    A class with fewer than ``min_support`` true examples gets no curve: its threshold could
    not be trusted, so it is marked excluded and never decided automatically. Parents of
    hierarchical labels (``hardware`` for ``hardware/printer``) get a curve too: among the
    tickets whose top label lies below the parent, the precision of "it is a ``hardware``
    ticket" by the summed probability of the parent's subtree.
    """
    truth = np.asarray(y_true)
    label_array = np.asarray(labels)
    predicted = label_array[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    curves = {}
    for label in labels:
        support = int((truth == label).sum())
        if support < min_support:
            curves[label] = PrecisionCurve((), (), support, excluded=f"{support} training rows")
            continue
        mask = predicted == label
        curves[label] = _curve(confidence[mask], truth[mask] == label, support)
    parents = sorted({parent for label in labels for parent in ancestors(str(label))})
    for parent in parents:
        prefix = parent + SEPARATOR
        below = np.char.startswith(label_array.astype(str), prefix)
        truth_below = np.char.startswith(truth.astype(str), prefix)
        support = int(truth_below.sum())
        if support < min_support:
            curves[parent] = PrecisionCurve((), (), support, excluded=f"{support} training rows")
            continue
        mask = np.char.startswith(predicted.astype(str), prefix)
        mass = proba[:, below].sum(axis=1)
        curves[parent] = _curve(mass[mask], truth_below[mask], support)
    return curves
