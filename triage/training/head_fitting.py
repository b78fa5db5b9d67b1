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

from triage.classifier import TUNING_GRID, build_baseline, fit_head
from triage.decisions import (
    CONFIDENCE_LEVEL,
    PrecisionCurve,
    build_policy,
    correct_predictions_needed,
)
from triage.drift import HeadReference
from triage.neighbours import NeighbourIndex
from triage.refinement import Refinement
from triage.training.evaluate import calibration, decision_report, head_report, score
from triage.training.fit_refinement import fit_refinement
from triage.training.operating_points import precision_curves

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

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
    test_allow_auto: Sequence[bool] | None = None,
) -> HeadRun:
    """Fit head ``name`` on the training rows of ``split`` and score it on the held-out rows.

    ``neighbours``: the training rows' embeddings and labels, as the artifact keeps them (the
    served vote searches the same pool). ``test_allow_auto``: per held-out row, whether the
    model's auto gate lets it be decided automatically (all, when None).
    """
    train_idx, test_idx = split.train_idx, split.test_idx
    y = split.labels[name]
    say(f"fitting head {name!r} ({len(set(y))} classes)")
    started = time.perf_counter()
    head, tuning = fit_head(
        train_x, y[train_idx], grid=_grid(config), seed=config.seed, **_feature_params(config)
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
    refinement = refined.refinement
    fit_seconds = time.perf_counter() - started
    head_proba = head.predict_proba(test_x)
    vote = None
    if refinement.uses_vote:
        vote = neighbours.vote(
            embeddings[test_idx],
            name,
            labels,
            k=refinement.vote_k,
            sharpness=refinement.vote_sharpness,
            kind=refinement.vote_kind,
        )
    test_proba = refinement.apply(head_proba, vote)
    truth = y[test_idx].tolist()
    report = head_report(truth, test_proba, labels, slices=slices)
    report["fit_seconds"] = round(fit_seconds, 2)
    report["tuning"] = {"chosen": tuning.params, "candidates": tuning.candidates}
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
    # Operating points come from out-of-fold predictions on the training part only.
    curves = precision_curves(
        y[train_idx].tolist(), refined.oof_proba, labels, min_support=config.min_threshold_support
    )
    policy = build_policy(
        curves, target_precision=config.target_precision, floor=config.suggest_floor
    )
    report["operating_points"] = {
        "target_precision": config.target_precision,
        "confidence_level": CONFIDENCE_LEVEL,
        "suggest_floor": config.suggest_floor,
        "thresholds": policy.thresholds,
        "excluded": {label: curve.excluded for label, curve in curves.items() if curve.excluded},
        "no_auto": no_auto_reasons(curves, config.target_precision),
        "test": decision_report(truth, test_proba, labels, policy, allow_auto=test_allow_auto),
    }
    report["baselines"] = _baselines(train_x, test_x, y[train_idx], y[test_idx])
    auto = report["operating_points"]["test"]["auto"]
    precision = "n/a" if auto["precision"] is None else f"{auto['precision']:.3f}"
    say(
        f"  {name}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f} "
        f"(TF-IDF+LR baseline {report['baselines']['tfidf_logreg']['macro_f1']:.3f}; "
        f"vote weight {refinement.vote_weight}, head alone "
        f"{report['refinement']['head_alone']['macro_f1']:.3f}), "
        f"automatic for {auto['share']:.0%} of held-out tickets at precision {precision} "
        f"in {fit_seconds:.1f}s"
    )
    warning = evidence_warning(name, labels, curves, config.target_precision)
    if warning:
        say(warning)
    return HeadRun(
        pipeline=head,
        refinement=refinement,
        curves=curves,
        # What served answers should look like: the refined out-of-fold predictions.
        drift_reference=HeadReference.from_predictions(
            labels, refined.oof_proba, y[train_idx].tolist()
        ),
        report=report,
    )


def no_auto_reasons(curves: Mapping[str, PrecisionCurve], target: float) -> dict[str, str]:
    """Per class that never decides automatically at ``target``: why, in plain words."""
    reasons = {label: curve.why_no_threshold(target) for label, curve in curves.items()}
    return {label: reason for label, reason in reasons.items() if reason}


def evidence_warning(
    name: str, labels: Sequence[str], curves: Mapping[str, PrecisionCurve], target: float
) -> str | None:
    """A warning naming the classes of head ``name`` that can never be decided automatically
    for lack of labelled tickets (with how many more each would need), or saying that the
    head decides nothing automatically at all; None if neither."""
    needed = correct_predictions_needed(target)
    without = [
        label for label in labels if label in curves and curves[label].threshold_for(target) is None
    ]
    short = {label: curves[label].support for label in without if curves[label].support < needed}
    if not short and len(without) < len(labels):
        return None
    scope = "no class" if len(without) == len(labels) else f"{len(short)} of {len(labels)} classes"
    message = f"  WARNING head {name!r}: {scope} can be decided automatically"
    if short:
        listed = ", ".join(
            f"{label} ({support}, ~{needed - support} more)"
            for label, support in sorted(short.items(), key=lambda item: item[1])[:8]
        )
        message += (
            f"; for precision {target:g} at {CONFIDENCE_LEVEL:.0%} confidence a class needs "
            f"at least {needed} correctly predicted training tickets. Too few labelled "
            f"tickets: {listed}{' …' if len(short) > 8 else ''}"
        )
    low = [label for label in without if label not in short]
    if low:
        message += (
            f"; out-of-fold precision never reaches {target:g} with {CONFIDENCE_LEVEL:.0%} "
            f"confidence for: {', '.join(low[:8])}{' …' if len(low) > 8 else ''}"
        )
    return message + ". These answer as suggestions only."


def _grid(config: TrainConfig) -> list[dict[str, Any]]:
    """The classifier settings to compare: the tuning grid, or the one setting asked for."""
    fixed = {k: v for k, v in config.head_params.items() if k in _CLASSIFIER_PARAMS}
    if config.tune and not fixed:
        return [dict(params) for params in TUNING_GRID]
    return [{"C": 0.3, "class_weight": None, **fixed}]


def _feature_params(config: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in config.head_params.items() if k not in _CLASSIFIER_PARAMS}


def _baselines(
    train_x: Any, test_x: Any, y_train: Sequence[str], y_test: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Scores of the plain references on the same split."""
    majority = max(set(y_train), key=list(y_train).count)
    tfidf = build_baseline().fit(train_x, y_train)
    return {
        "tfidf_logreg": score(list(y_test), tfidf.predict(test_x).tolist()),
        "majority": score(list(y_test), [majority] * len(y_test)),
    }
