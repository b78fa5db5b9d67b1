"""One head fitted on some rows, and its answers on others.

The same steps serve the shipped head (fitted on the training rows, answering the held-out
ones) and every fold of a cross-validation (``triage.training.evaluation_plan``): fit the head,
its refinement and its thresholds on the fold's training rows alone, then answer the fold's
scored rows beside the plain references trained on the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from triage.core.classifier import TUNING_GRID, TuningResult, build_baseline, fit_head
from triage.core.decisions import Decision, HeadPolicy, PrecisionCurve, build_policy
from triage.core.features import feature_frame
from triage.core.gate_distance import ClassDistance
from triage.core.neighbours import NeighbourIndex
from triage.core.refinement import Refinement
from triage.training.config import TrainConfig
from triage.training.cross_validation import HeadAnswers
from triage.training.evaluate import decide_all
from triage.training.fit_distance import MIN_ROWS_FOR_DISTANCE, fit_class_distance
from triage.training.fit_gate import fit_auto_gate
from triage.training.fit_refinement import fit_refinement
from triage.training.operating_points import precision_curves
from triage.training.split import Split

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from triage.training.evaluation_plan import Fold

_CLASSIFIER_PARAMS = ("C", "class_weight")


@dataclass(frozen=True)
class FittedHead:
    """A head fitted on some rows, with its refinement and thresholds."""

    pipeline: Pipeline
    tuning: TuningResult
    labels: list[str]
    refinement: Refinement
    refined_oof: np.ndarray  # the refined out-of-fold probabilities of its training rows
    curves: dict[str, PrecisionCurve]
    policy: HeadPolicy
    y_train: np.ndarray
    seconds: float
    # The auto gate's check of this head: distance to the predicted label's tickets.
    distance: ClassDistance | None = None


def fit_on_rows(
    name: str,
    y_train: np.ndarray,
    train_x: pd.DataFrame,
    neighbours: NeighbourIndex,
    config: TrainConfig,
) -> FittedHead:
    """Fit, refine and set the operating points of head ``name`` from its training rows
    alone; ``neighbours`` holds those rows' embeddings and labels."""
    started = time.perf_counter()
    head, tuning = fit_head(
        train_x, y_train, grid=_grid(config), seed=config.seed, **_feature_params(config)
    )
    labels = [str(label) for label in head.classes_]
    refined = fit_refinement(
        head.named_steps["classifier"].oof_proba_,
        neighbours.codes(name, labels),
        neighbours.matrix,
        weights=config.vote_weights,
        calibrate=config.top_label_calibration,
        cold_start_below=config.cold_start_below,
    )
    # Operating points come from out-of-fold predictions on the training part only.
    curves = precision_curves(
        y_train.tolist(), refined.oof_proba, labels, min_support=config.min_threshold_support
    )
    policy = build_policy(
        curves, target_precision=config.target_precision, floor=config.suggest_floor
    )
    distance = _fit_distance(neighbours.matrix, y_train, labels, refined.oof_proba, policy, config)
    seconds = time.perf_counter() - started
    return FittedHead(
        head,
        tuning,
        labels,
        refined.refinement,
        refined.oof_proba,
        curves,
        policy,
        y_train,
        seconds,
        distance,
    )


def _fit_distance(
    embeddings: np.ndarray,
    y_train: np.ndarray,
    labels: list[str],
    oof_proba: np.ndarray,
    policy: HeadPolicy,
    config: TrainConfig,
) -> ClassDistance | None:
    """The head's distance check, from its out-of-fold decisions on its training rows; None
    with fewer than ``MIN_ROWS_FOR_DISTANCE`` of them."""
    if len(y_train) < MIN_ROWS_FOR_DISTANCE:
        return None
    auto = [o.decision is Decision.AUTO for o in decide_all(oof_proba, labels, policy)]
    return fit_class_distance(
        embeddings, [str(v) for v in y_train], labels, oof_proba, auto, seed=config.seed
    )


def answers_on(
    fitted: FittedHead,
    name: str,
    rows: np.ndarray,
    x: pd.DataFrame,
    vectors: np.ndarray,
    neighbours: NeighbourIndex,
    train_x: pd.DataFrame,
    allow_auto: Sequence[bool],
) -> HeadAnswers:
    """What ``fitted`` and the plain references (trained on ``train_x``) answer on ``rows``
    (features ``x``, embeddings ``vectors``); ``allow_auto``: the auto gate's verdict per row."""
    refinement, labels = fitted.refinement, fitted.labels
    head_proba = fitted.pipeline.predict_proba(x)
    vote = None
    if refinement.uses_vote:
        vote = neighbours.vote(
            vectors,
            name,
            labels,
            k=refinement.vote_k,
            sharpness=refinement.vote_sharpness,
            kind=refinement.vote_kind,
        )
    proba = refinement.apply(head_proba, vote)
    if fitted.distance is not None:
        predicted = [labels[i] for i in proba.argmax(axis=1)]
        near = [r is None for r in fitted.distance.reasons(vectors, predicted)]
        allow_auto = [a and b for a, b in zip(allow_auto, near, strict=True)]
    y_train = fitted.y_train.tolist()
    majority = max(set(y_train), key=y_train.count)
    return HeadAnswers(
        rows=np.asarray(rows),
        labels=labels,
        proba=proba,
        head_proba=head_proba,
        outcomes=decide_all(proba, labels, fitted.policy, allow_auto=allow_auto),
        baseline=build_baseline().fit(train_x, y_train).predict(x).tolist(),
        majority=[majority] * len(rows),
    )


def fold_answers(
    name: str,
    split: Split,
    config: TrainConfig,
    features: pd.DataFrame,
    embeddings: np.ndarray,
    fold: Fold,
    allow_auto: np.ndarray,
) -> HeadAnswers:
    """The answers on a fold's rows of a head trained, with the same recipe, on the rest;
    ``allow_auto``: the verdict of the fold's own auto gate, for every row of the split."""
    train, scored = fold
    y = split.labels[name]
    pool = NeighbourIndex(embeddings[train], [str(i) for i in train], {name: y[train].tolist()})
    fitted = fit_on_rows(name, y[train], features.iloc[train], pool, config)
    return answers_on(
        fitted,
        name,
        scored,
        features.iloc[scored],
        embeddings[scored],
        pool,
        features.iloc[train],
        allow_auto[scored].tolist(),
    )


def fold_labels_by_body(
    name: str, split: Split, config: TrainConfig, embeddings: np.ndarray, served: np.ndarray
) -> tuple[list[str], list[str]]:
    """Under refit, the held-out rows' labels by heads fitted (same recipe) on the evaluated
    fold's training rows, fed once by the training body's ``embeddings`` and once by another
    body's vectors of the held-out rows (``served``): what that body changes on tickets the
    heads never saw (the served heads have seen every ticket)."""
    train, scored = split.folds[0]
    features = feature_frame(split.texts, embeddings)
    y = split.labels[name]
    pool = NeighbourIndex(embeddings[train], [str(i) for i in train], {name: y[train].tolist()})
    fitted = fit_on_rows(name, y[train], features.iloc[train], pool, config)
    texts = [split.texts[i] for i in scored]
    allow = [True] * len(scored)
    answers = []
    for vectors in (served, embeddings[scored]):
        scored_features = feature_frame(texts, vectors)
        found = answers_on(
            fitted, name, scored, scored_features, vectors, pool, features.iloc[train], allow
        )
        answers.append(np.asarray(found.labels)[found.proba.argmax(axis=1)].tolist())
    return answers[0], answers[1]


def fold_gate_verdicts(split: Split, embeddings: np.ndarray) -> list[bool]:
    """Per row of the split, in row order: whether the auto gate fitted on its fold's
    training rows lets it be decided automatically."""
    allow = np.ones(len(split.texts), dtype=bool)
    for train, scored in split.folds:
        pool = NeighbourIndex(embeddings[train], [str(i) for i in train], {})
        gate = fit_auto_gate([split.texts[i] for i in train], pool.matrix)
        similarity = pool.nearest_similarity(embeddings[scored]).tolist()
        reasons = gate.reasons([split.texts[i] for i in scored], similarity)
        allow[scored] = [reason is None for reason in reasons]
    return [bool(v) for v in allow[split.evaluated_idx]]


def _grid(config: TrainConfig) -> list[dict[str, Any]]:
    """The classifier settings to compare: the tuning grid, or the one setting asked for."""
    fixed = {k: v for k, v in config.head_params.items() if k in _CLASSIFIER_PARAMS}
    if config.tune and not fixed:
        return [dict(params) for params in TUNING_GRID]
    return [{"C": 0.3, "class_weight": None, **fixed}]


def _feature_params(config: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in config.head_params.items() if k not in _CLASSIFIER_PARAMS}
