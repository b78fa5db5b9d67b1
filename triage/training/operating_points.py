"""Precision curves per class from out-of-fold predictions on the training data."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from triage.decisions import PrecisionCurve

MAX_POINTS = 200


def precision_curves(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    *,
    min_support: int = 10,
) -> dict[str, PrecisionCurve]:
    """For each class: precision of its predictions at or above every confidence level.

    A class with fewer than ``min_support`` true examples gets no curve: its threshold could
    not be trusted, so it is marked excluded and never decided automatically.
    """
    truth = np.asarray(y_true)
    predicted = np.asarray(labels)[proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    curves = {}
    for label in labels:
        support = int((truth == label).sum())
        if support < min_support:
            curves[label] = PrecisionCurve((), (), support, excluded=f"{support} training rows")
            continue
        mask = predicted == label
        order = np.argsort(-confidence[mask], kind="stable")
        conf = confidence[mask][order]
        correct = (truth[mask][order] == label).astype(float)
        if conf.size == 0:
            curves[label] = PrecisionCurve((), (), support, excluded="never predicted")
            continue
        precision = np.cumsum(correct) / np.arange(1, conf.size + 1)
        # Ties: a threshold admits every prediction with that confidence, so keep the last
        # index of each distinct confidence value.
        last_of_value = np.r_[conf[1:] != conf[:-1], True]
        conf, precision = conf[last_of_value], precision[last_of_value]
        if conf.size > MAX_POINTS:
            keep = np.unique(np.linspace(0, conf.size - 1, MAX_POINTS).round().astype(int))
            conf, precision = conf[keep], precision[keep]
        curves[label] = PrecisionCurve(
            confidences=tuple(round(float(c), 6) for c in conf),
            precisions=tuple(round(float(p), 6) for p in precision),
            support=support,
        )
    return curves
