"""How a training run is evaluated: on held-out tickets when the data allows it, else by
cross-validation or leave-one-out.

A held-out split is only a fair test if it holds a ticket of every class and leaves every
class something to learn from. Below that (a new helpdesk with a handful of tickets a class)
every ticket is scored instead by heads trained, with the same recipe, on the others; the
shipped heads are then fitted on all of them. The chosen method and the reason are recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

HELD_OUT = "stratified"
CROSS_VALIDATION = "cross-validation"
LEAVE_ONE_OUT = "leave-one-out"
# Up to this many tickets, one fit per ticket costs seconds, and each fit sees all but one.
LEAVE_ONE_OUT_MAX_ROWS = 60
# Above this many, leave-one-out is never chosen, even for a class of two: one fit per ticket
# would take hours (8,494 fits on a real export); 2-fold then scores that class's tickets by
# heads that saw one of them, a pessimistic figure for a class that small.
LEAVE_ONE_OUT_LIMIT = 500
MAX_FOLDS = 5

Fold = tuple[np.ndarray, np.ndarray]  # (training rows, scored rows)


@dataclass(frozen=True)
class EvaluationPlan:
    """Rows to fit the shipped heads on, rows held out (none under cross-validation), the
    folds that score every ticket (none with a held-out split), and what was chosen and why."""

    train_idx: np.ndarray
    test_idx: np.ndarray
    folds: tuple[Fold, ...]
    info: dict[str, Any]


def plan_evaluation(
    labels: Mapping[str, np.ndarray], stratify_on: str, *, test_size: float, seed: int
) -> EvaluationPlan:
    """A stratified held-out split of ``test_size`` if it holds every class of
    ``stratify_on`` and leaves every class of every head in the training part; otherwise
    leave-one-out or stratified k-fold cross-validation over all rows."""
    rows = np.arange(len(labels[stratify_on]))
    problem = _too_small(labels, stratify_on, test_size)
    if problem is None:
        train_idx, test_idx = train_test_split(
            rows, test_size=test_size, stratify=labels[stratify_on], random_state=seed
        )
        problem = _missing_classes(labels, stratify_on, train_idx, test_idx)
        if problem is None:
            info = {
                "method": HELD_OUT,
                "stratify_on": stratify_on,
                "test_size": test_size,
                "n_train": len(train_idx),
                "n_test": len(test_idx),
                "n_evaluated": len(test_idx),
            }
            return EvaluationPlan(train_idx, test_idx, (), info)
    return _cross_validation(labels, stratify_on, seed, problem)


def _too_small(labels: Mapping[str, np.ndarray], stratify_on: str, test_size: float) -> str | None:
    """Why no held-out split can hold a ticket of every class, or None."""
    n = len(labels[stratify_on])
    n_test = math.ceil(test_size * n)  # as scikit-learn rounds a fractional test size
    classes = len(set(labels[stratify_on].tolist()))
    if n_test < classes:
        return (
            f"a {test_size:.0%} held-out split of {n} tickets holds {n_test}, fewer than the "
            f"{classes} {stratify_on} classes"
        )
    if n - n_test < classes:
        return f"after holding out {n_test} of {n} tickets, fewer than {classes} remain to train"
    return None


def _missing_classes(
    labels: Mapping[str, np.ndarray],
    stratify_on: str,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
) -> str | None:
    """Why the drawn split is unfair (a class never tested, or never learnt), or None."""
    untested = sorted(set(labels[stratify_on].tolist()) - set(labels[stratify_on][test_idx]))
    if untested:
        return f"the held-out split would have no {stratify_on} ticket of {', '.join(untested)}"
    for head, values in labels.items():
        unlearnt = sorted(set(values.tolist()) - set(values[train_idx].tolist()))
        if unlearnt:
            return (
                f"the held-out split would take every {head} ticket of {', '.join(unlearnt)} "
                "out of training"
            )
    return None


def _cross_validation(
    labels: Mapping[str, np.ndarray], stratify_on: str, seed: int, problem: str
) -> EvaluationPlan:
    """Leave-one-out for few tickets or a class of two, else stratified k-fold (unless a fold
    would leave a head a single class to learn)."""
    stratify = labels[stratify_on]
    n = len(stratify)
    rows = np.arange(n)
    smallest = int(np.unique(stratify, return_counts=True)[1].min())
    folds: tuple[Fold, ...] = ()
    why_not_k_fold = ""
    if (n > LEAVE_ONE_OUT_MAX_ROWS and smallest >= 3) or n > LEAVE_ONE_OUT_LIMIT:
        k = min(MAX_FOLDS, smallest)
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        folds = tuple((train, test) for train, test in splitter.split(rows, stratify))
        how = (
            f"{k}-fold, stratified on {stratify_on}: each ticket scored by heads trained on "
            "the other folds"
            + (
                f" (the smallest class has {smallest}, but leave-one-out would take {n} fits)"
                if smallest < 3
                else ""
            )
        )
        poor = [h for h, v in labels.items() if any(len(set(v[t].tolist())) < 2 for t, _ in folds)]
        if poor:
            folds = ()
            why_not_k_fold = f"; k-fold would leave a fold one {poor[0]} class to learn"
    if folds:
        method = CROSS_VALIDATION
    else:
        # With a class of two, k-fold would train some folds on one ticket of every class.
        folds = tuple((np.delete(rows, i), rows[i : i + 1]) for i in rows)
        method = LEAVE_ONE_OUT
        how = (
            f"each ticket scored by heads trained on the other {n - 1}"
            + (f" ({n} tickets: one fit each is cheap)" if n <= LEAVE_ONE_OUT_MAX_ROWS else "")
            + (f"; the smallest {stratify_on} class has {smallest}" if smallest < 3 else "")
            + why_not_k_fold
        )
    info = {
        "method": method,
        "why": f"{problem}: {how}",
        "folds": len(folds),
        "stratify_on": stratify_on,
        "n_train": n,
        "n_test": 0,
        "n_evaluated": n,
    }
    return EvaluationPlan(rows, np.zeros(0, dtype=rows.dtype), folds, info)
