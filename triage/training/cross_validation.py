"""One head's answers on the evaluated tickets, and their pooling across folds.

With a held-out split the answers come from the shipped heads; under cross-validation or
leave-one-out (``triage.training.evaluation_plan``) each fold's answers come from heads fitted,
thresholds included, without that fold, and are pooled here into one set over every ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from triage.core.decisions import Outcome

T = TypeVar("T")


@dataclass(frozen=True)
class HeadAnswers:
    """What one head answered on the evaluated tickets, beside the plain references."""

    rows: np.ndarray  # indices into the split, ascending when pooled
    labels: list[str]  # the columns of the probabilities
    proba: np.ndarray  # as served: the head with its refinement
    head_proba: np.ndarray  # the linear head alone
    outcomes: list[Outcome]  # decided by thresholds fitted without these rows
    baseline: list[str]  # TF-IDF + logistic regression
    majority: list[str]  # the most common training label


def pooled(folds: Sequence[HeadAnswers], labels: Sequence[str]) -> HeadAnswers:
    """The folds' answers as one set in row order, probabilities over ``labels`` (a class a
    fold never saw gets probability 0 there)."""
    rows = np.concatenate([fold.rows for fold in folds])
    order = np.argsort(rows, kind="stable")
    columns = {label: i for i, label in enumerate(labels)}

    def spread(fold: HeadAnswers, proba: np.ndarray) -> np.ndarray:
        full = np.zeros((proba.shape[0], len(labels)))
        full[:, [columns[label] for label in fold.labels]] = proba
        return full

    def stacked(pick: str) -> np.ndarray:
        return np.vstack([spread(fold, getattr(fold, pick)) for fold in folds])[order]

    def joined(values: Sequence[T]) -> list[T]:
        return [values[i] for i in order]

    return HeadAnswers(
        rows=rows[order],
        labels=list(labels),
        proba=stacked("proba"),
        head_proba=stacked("head_proba"),
        outcomes=joined([o for fold in folds for o in fold.outcomes]),
        baseline=joined([b for fold in folds for b in fold.baseline]),
        majority=joined([m for fold in folds for m in fold.majority]),
    )
