"""One head of a training run: fit, refine, set operating points, evaluate on the held-out rows.

Everything chosen here — C and class weighting, the vote weight, the calibration map, the
thresholds — comes from out-of-fold predictions on the training rows; the held-out rows are
only scored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from triage.classifier import TUNING_GRID, TuningResult, build_baseline, fit_head
from triage.decisions import HeadPolicy, PrecisionCurve, build_policy
from triage.drift import HeadReference
from triage.neighbours import NeighbourIndex
from triage.promises import Evidence, head_promise
from triage.refinement import Refinement
from triage.training.cross_validation import HeadAnswers, pooled
from triage.training.evaluate import calibration, decide_all, head_report, outcome_report, score
from triage.training.fit_refinement import fit_refinement
from triage.training.operating_points import precision_curves

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from triage.training.evaluation_plan import Fold
    from triage.training.train import Say, Split, TrainConfig

_CLASSIFIER_PARAMS = ("C", "class_weight")


@dataclass(frozen=True)
class HeadRun:
    """What training keeps of one head."""

    pipeline: Pipeline
    refinement: Refinement
    curves: dict[str, PrecisionCurve]  # per class: precision by confidence, out of fold
    drift_reference: HeadReference
    report: dict[str, Any]  # the head's part of metrics.json


def fit_and_evaluate(
    name: str,
    split: Split,
    config: TrainConfig,
    train_x: pd.DataFrame,
    test_x: pd.DataFrame,
    embeddings: np.ndarray,
    neighbours: NeighbourIndex,
    slices: Mapping[str, Sequence[str]],
    say: Say,
) -> HeadRun:
    """Fit head ``name`` on the training rows of ``split`` and score it on the held-out rows
    (or, with ``split.folds``, on every row, each by heads fitted without its fold).

    ``neighbours``: the training rows' embeddings and labels, as the artifact keeps them (the
    served vote searches the same pool).
    """
    train_idx, test_idx = split.train_idx, split.test_idx
    y = split.labels[name]
    say(f"fitting head {name!r} ({len(set(y))} classes)")
    fitted = _fit(name, y[train_idx], train_x, neighbours, config)
    labels, refinement, policy = fitted.labels, fitted.refinement, fitted.policy
    if split.folds:
        # Under cross-validation the training rows are every row: folds index them alike.
        # One BLAS thread: on fits this small, OpenBLAS threads only contend (25x slower
        # logistic-regression baseline on a busy two-core machine).
        with threadpool_limits(limits=1):
            folds = [
                _fold_answers(name, split, config, train_x, embeddings, f) for f in split.folds
            ]
        answers = pooled(folds, labels)
    else:
        answers = _answers(
            fitted, name, test_idx, test_x, embeddings[test_idx], neighbours, train_x
        )
    truth = y[answers.rows].tolist()
    test_proba, head_proba = answers.proba, answers.head_proba
    report = head_report(truth, test_proba, labels, slices=slices)
    report["evaluation"] = split.info["method"]
    report["fit_seconds"] = round(fitted.seconds, 2)
    report["tuning"] = {"chosen": fitted.tuning.params, "candidates": fitted.tuning.candidates}
    report["refinement"] = {
        "vote_kind": refinement.vote_kind,
        "vote_weight": refinement.vote_weight,
        "vote_k": refinement.vote_k,
        "vote_sharpness": refinement.vote_sharpness,
        **refinement.chosen_on,
        # The linear head alone on the same held-out rows: what the refinement changed.
        "head_alone": {
            **score(truth, [labels[i] for i in head_proba.argmax(axis=1)]),
            "ece": calibration(truth, head_proba, labels)["ece"],
        },
    }
    curves = fitted.curves
    report["operating_points"] = {
        "target_precision": config.target_precision,
        "suggest_floor": config.suggest_floor,
        "thresholds": policy.thresholds,
        "excluded": {label: curve.excluded for label, curve in curves.items() if curve.excluded},
        "test": outcome_report(truth, answers.outcomes),
    }
    report["baselines"] = {
        "tfidf_logreg": score(truth, answers.baseline),
        "majority": score(truth, answers.majority),
    }
    evidence = Evidence(
        config.min_threshold_support,
        config.cold_start_below,
        str(refinement.chosen_on.get("mode", "trained")),
    )
    promise = head_promise(labels, curves, policy.thresholds, evidence)
    report["evidence"] = evidence.to_dict()
    report["promise"] = promise.to_dict()
    auto = report["operating_points"]["test"]["auto"]
    say(
        f"  {name}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f} "
        f"(TF-IDF+LR baseline {report['baselines']['tfidf_logreg']['macro_f1']:.3f}; "
        f"vote weight {refinement.vote_weight}, head alone "
        f"{report['refinement']['head_alone']['macro_f1']:.3f}), "
        f"automatic for {auto['share']:.0%} at precision {auto['precision'] or 0:.3f} "
        f"in {fitted.seconds:.1f}s"
    )
    say(f"  {name}: {promise.statement}")
    return HeadRun(
        pipeline=fitted.pipeline,
        refinement=refinement,
        curves=curves,
        # What served answers should look like: the refined out-of-fold predictions.
        drift_reference=HeadReference.from_predictions(
            labels, fitted.refined_oof, y[train_idx].tolist()
        ),
        report=report,
    )


@dataclass(frozen=True)
class _Fitted:
    """A head fitted on some rows, with its refinement and thresholds."""

    pipeline: Pipeline
    tuning: TuningResult
    labels: list[str]
    refinement: Refinement
    refined_oof: np.ndarray
    curves: dict[str, PrecisionCurve]
    policy: HeadPolicy
    y_train: np.ndarray
    seconds: float


def _fit(
    name: str,
    y_train: np.ndarray,
    train_x: pd.DataFrame,
    neighbours: NeighbourIndex,
    config: TrainConfig,
) -> _Fitted:
    """Fit, refine and set the operating points of a head, from its training rows alone."""
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
    seconds = time.perf_counter() - started
    return _Fitted(
        head,
        tuning,
        labels,
        refined.refinement,
        refined.oof_proba,
        curves,
        policy,
        y_train,
        seconds,
    )


def _answers(
    fitted: _Fitted,
    name: str,
    rows: np.ndarray,
    x: pd.DataFrame,
    vectors: np.ndarray,
    neighbours: NeighbourIndex,
    train_x: pd.DataFrame,
) -> HeadAnswers:
    """What ``fitted`` and the plain references answer on ``rows`` (features ``x``)."""
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
    y_train = fitted.y_train.tolist()
    majority = max(set(y_train), key=y_train.count)
    return HeadAnswers(
        rows=np.asarray(rows),
        labels=labels,
        proba=proba,
        head_proba=head_proba,
        outcomes=decide_all(proba, labels, fitted.policy),
        baseline=build_baseline().fit(train_x, y_train).predict(x).tolist(),
        majority=[majority] * len(rows),
    )


def _fold_answers(
    name: str,
    split: Split,
    config: TrainConfig,
    features: pd.DataFrame,
    embeddings: np.ndarray,
    fold: Fold,
) -> HeadAnswers:
    """The answers on a fold's rows of a head trained, with the same recipe, on the rest."""
    train, scored = fold
    y = split.labels[name]
    pool = NeighbourIndex(embeddings[train], [str(i) for i in train], {name: y[train].tolist()})
    fitted = _fit(name, y[train], features.iloc[train], pool, config)
    return _answers(
        fitted, name, scored, features.iloc[scored], embeddings[scored], pool, features.iloc[train]
    )


def _grid(config: TrainConfig) -> list[dict[str, Any]]:
    """The classifier settings to compare: the tuning grid, or the one setting asked for."""
    fixed = {k: v for k, v in config.head_params.items() if k in _CLASSIFIER_PARAMS}
    if config.tune and not fixed:
        return [dict(params) for params in TUNING_GRID]
    return [{"C": 0.3, "class_weight": None, **fixed}]


def _feature_params(config: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in config.head_params.items() if k not in _CLASSIFIER_PARAMS}
