"""Held-out evaluation of one head: overall, per class, per slice, calibration, coverage."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from triage.core.decisions import SEPARATOR, Decision, HeadPolicy, Outcome

COVERAGE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
_BINS = 10


def _round(value: float) -> float:
    return round(float(value), 4)


def score(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1, the two figures every comparison in this project uses."""
    return {
        "accuracy": _round(accuracy_score(y_true, y_pred)),
        "macro_f1": _round(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def calibration(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Expected calibration error of the top label, multiclass Brier score, log loss, bins."""
    truth = np.asarray(y_true)
    top = proba.max(axis=1)
    correct = np.asarray(labels)[proba.argmax(axis=1)] == truth
    edges = np.linspace(0.0, 1.0, _BINS + 1)
    bins = []
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        mask = (top > low) & (top <= high)
        if not mask.any():
            continue
        confidence, accuracy = float(top[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(confidence - accuracy)
        bins.append(
            {
                "range": [_round(low), _round(high)],
                "n": int(mask.sum()),
                "confidence": _round(confidence),
                "accuracy": _round(accuracy),
            }
        )
    onehot = (truth[:, None] == np.asarray(labels)[None, :]).astype(float)
    # A label the model never saw has no probability to score: log loss leaves those out
    # (they count as errors everywhere else).
    known = np.isin(truth, np.asarray(labels))
    return {
        "ece": _round(ece),
        "brier": _round(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "log_loss": _round(log_loss(truth[known], proba[known], labels=list(labels)))
        if known.any()
        else None,
        "reliability": bins,
    }


def unseen_labels(y_true: Sequence[str], labels: Sequence[str]) -> dict[str, int]:
    """Labels in ``y_true`` the head cannot predict, with how many tickets carry each."""
    known = set(labels)
    counts: dict[str, int] = {}
    for label in y_true:
        if label not in known:
            counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


def coverage_curve(
    y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]
) -> list[dict[str, Any]]:
    """Share of tickets answered and their accuracy if answers below a threshold abstain."""
    truth = np.asarray(y_true)
    top = proba.max(axis=1)
    correct = np.asarray(labels)[proba.argmax(axis=1)] == truth
    curve = []
    for threshold in COVERAGE_THRESHOLDS:
        answered = top >= threshold
        curve.append(
            {
                "threshold": threshold,
                "coverage": _round(answered.mean()),
                "accuracy": _round(correct[answered].mean()) if answered.any() else None,
            }
        )
    return curve


def precision_coverage(
    y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str], *, points: int = 50
) -> list[dict[str, float]]:
    """Precision of the most confident answers against the share answered (a PR-style curve)."""
    truth = np.asarray(y_true)
    top = proba.max(axis=1)
    order = np.argsort(-top, kind="stable")
    correct = (np.asarray(labels)[proba.argmax(axis=1)] == truth)[order].astype(float)
    precision = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    cuts = np.unique(np.linspace(0, len(correct) - 1, points).round().astype(int))
    return [
        {
            "coverage": _round((i + 1) / len(correct)),
            "precision": _round(precision[i]),
            "threshold": _round(top[order][i]),
        }
        for i in cuts
    ]


def head_report(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    *,
    slices: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Everything the model card and metrics.json say about one head."""
    y_pred = [labels[i] for i in proba.argmax(axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    report: dict[str, Any] = {
        **score(y_true, y_pred),
        "weighted_f1": _round(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "n": len(y_true),
        "per_class": {
            label: {
                "precision": _round(p),
                "recall": _round(r),
                "f1": _round(f),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": list(labels),
            "matrix": confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        },
        "calibration": calibration(y_true, proba, labels),
        "coverage": coverage_curve(y_true, proba, labels),
        "precision_coverage": precision_coverage(y_true, proba, labels),
    }
    unseen = unseen_labels(y_true, labels)
    if unseen:
        report["unseen_labels"] = unseen
    if slices:
        report["slices"] = {}
        for column, values in slices.items():
            groups: dict[str, Any] = {}
            values_array = np.asarray(values)
            for value in sorted(set(values)):
                mask = values_array == value
                groups[str(value)] = {
                    "n": int(mask.sum()),
                    **score(
                        [t for t, m in zip(y_true, mask, strict=True) if m],
                        [p for p, m in zip(y_pred, mask, strict=True) if m],
                    ),
                }
            report["slices"][column] = groups
    return report


def decision_report(
    y_true: Sequence[str],
    proba: np.ndarray,
    labels: Sequence[str],
    policy: HeadPolicy,
    *,
    allow_auto: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Share of tickets per decision, and how often each decision's label is right.

    ``allow_auto``: per ticket, whether the auto gate lets it be decided automatically.
    """
    return outcome_report(y_true, decide_all(proba, labels, policy, allow_auto=allow_auto))


def decide_all(
    proba: np.ndarray,
    labels: Sequence[str],
    policy: HeadPolicy,
    *,
    allow_auto: Sequence[bool] | None = None,
) -> list[Outcome]:
    """The decision ``policy`` makes on each row of ``proba`` (``allow_auto`` as above)."""
    allowed = [True] * len(proba) if allow_auto is None else list(allow_auto)
    outcomes = []
    for row, may in zip(proba, allowed, strict=True):
        best = int(row.argmax())
        distribution = dict(zip(labels, row.tolist(), strict=True))
        outcomes.append(policy.decide(labels[best], float(row[best]), distribution, allow_auto=may))
    return outcomes


def outcome_report(y_true: Sequence[str], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Share of tickets per decision, and how often each decision's label is right."""
    decisions = np.asarray([o.decision for o in outcomes])
    # A parent answer (fallback) is right when the true label lies below it.
    correct = np.asarray(
        [
            t == o.label or (o.fallback and t.startswith(o.label + SEPARATOR))
            for t, o in zip(y_true, outcomes, strict=True)
        ]
    )
    report: dict[str, Any] = {}
    for decision in Decision:
        mask = decisions == decision
        report[decision.value] = {
            "share": _round(mask.mean()),
            "precision": _round(correct[mask].mean()) if mask.any() else None,
        }
    report[Decision.AUTO.value]["parent_fallbacks"] = int(sum(o.fallback for o in outcomes))
    report[Decision.AUTO.value]["n"] = int((decisions == Decision.AUTO).sum())
    return report
