"""One head of a training run: fit, refine, set operating points, evaluate on the held-out rows.

Everything chosen here — C and class weighting, the vote weight, the calibration map, the
thresholds — comes from out-of-fold predictions on the training rows; the held-out rows are
only scored. With too few tickets for a held-out split, every row is scored instead by heads
fitted the same way without its fold (``triage.training.head_answers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from triage.core.decisions import CONFIDENCE_LEVEL, PrecisionCurve, correct_predictions_needed
from triage.core.drift import HeadReference
from triage.core.gate_distance import ClassDistance
from triage.core.neighbours import NeighbourIndex
from triage.core.promises import Evidence, HeadPromise, head_promise
from triage.core.refinement import Refinement
from triage.training.config import Say, TrainConfig
from triage.training.cross_validation import HeadAnswers, pooled
from triage.training.evaluate import calibration, head_report, outcome_report, score
from triage.training.head_answers import FittedHead, answers_on, fit_on_rows, fold_answers
from triage.training.split import Split

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class HeadRun:
    """What training keeps of one head."""

    pipeline: Pipeline
    refinement: Refinement
    curves: dict[str, PrecisionCurve]  # per class: precision by confidence, out of fold
    drift_reference: HeadReference
    report: dict[str, Any]  # the head's part of metrics.json
    distance: ClassDistance | None = None  # the auto gate's check of this head


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
    """Fit head ``name`` on the training rows of ``split`` and score it on the held-out rows
    (or, with ``split.folds``, on every row, each by heads fitted without its fold).

    ``neighbours``: the training rows' embeddings and labels, as the artifact keeps them (the
    served vote searches the same pool). ``test_allow_auto``: per evaluated row
    (``split.evaluated_idx``), whether the auto gate fitted without it lets it be decided
    automatically (all, when None).
    """
    train_idx = split.train_idx
    y = split.labels[name]
    say(f"fitting head {name!r} ({len(set(y))} classes)")
    fitted = fit_on_rows(name, y[train_idx], train_x, neighbours, config)
    answers = _evaluated_answers(
        name, split, config, fitted, train_x, test_x, embeddings, neighbours, test_allow_auto
    )
    truth = y[answers.rows].tolist()
    evidence, promise = _promise(config, fitted)
    report = _head_report(split, config, fitted, answers, truth, slices, evidence, promise)
    say(_result_line(name, report, fitted, split))
    if note := blend_note(name, report["macro_f1"], report["refinement"], _evaluated(split)):
        report["refinement"]["below_head_alone"] = note
        say(note)
    warning = evidence_warning(name, len(fitted.labels), promise, config.target_precision)
    if warning:
        say(warning)
    say(f"  {name}: {promise.statement}")
    if fitted.distance is not None:
        say(distance_line(name, fitted.distance))
    return HeadRun(
        pipeline=fitted.pipeline,
        refinement=fitted.refinement,
        curves=fitted.curves,
        # What served answers should look like: the refined out-of-fold predictions.
        drift_reference=HeadReference.from_predictions(
            fitted.labels, fitted.refined_oof, y[train_idx].tolist()
        ),
        report=report,
        distance=fitted.distance,
    )


def distance_line(name: str, distance: ClassDistance) -> str:
    """What the head's distance check is and what it cost on its training tickets."""
    fitted = distance.fitted_on
    return (
        f"  {name}: auto gate: distance to the predicted label's training tickets at most "
        f"{distance.max_distance:.1f}; out of fold it turns away {fitted['turned_away']:.1%} of "
        f"the training tickets and {fitted['auto_cost']:.1%} of them that were decided "
        f"automatically (of {fitted['auto_out_of_fold']:.1%})"
    )


def _head_report(
    split: Split,
    config: TrainConfig,
    fitted: FittedHead,
    answers: HeadAnswers,
    truth: list[str],
    slices: Mapping[str, Sequence[str]],
    evidence: Evidence,
    promise: HeadPromise,
) -> dict[str, Any]:
    """The head's part of metrics.json: its scores on the evaluated rows, how it was tuned
    and refined, its operating points, the baselines and what it can promise."""
    labels = fitted.labels
    report = head_report(truth, answers.proba, labels, slices=slices)
    report["evaluation"] = split.info["method"]
    report["fit_seconds"] = round(fitted.seconds, 2)
    report["tuning"] = {"chosen": fitted.tuning.params, "candidates": fitted.tuning.candidates}
    report["refinement"] = _refinement_report(fitted.refinement, truth, answers.head_proba, labels)
    report["operating_points"] = _operating_points_report(config, fitted, truth, answers)
    report["baselines"] = {
        "tfidf_logreg": score(truth, answers.baseline),
        "majority": score(truth, answers.majority),
    }
    report["evidence"] = evidence.to_dict()
    report["promise"] = promise.to_dict()
    return report


def _refinement_report(
    refinement: Refinement, truth: list[str], head_proba: np.ndarray, labels: list[str]
) -> dict[str, Any]:
    """The refinement chosen, and the linear head alone on the same evaluated rows."""
    return {
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


def _operating_points_report(
    config: TrainConfig, fitted: FittedHead, truth: list[str], answers: HeadAnswers
) -> dict[str, Any]:
    """The thresholds chosen out of fold, the classes without one and why, and the decisions
    they make on the evaluated rows."""
    curves = fitted.curves
    return {
        "target_precision": config.target_precision,
        "confidence_level": CONFIDENCE_LEVEL,
        "suggest_floor": config.suggest_floor,
        "thresholds": fitted.policy.thresholds,
        "excluded": {label: curve.excluded for label, curve in curves.items() if curve.excluded},
        "no_auto": no_auto_reasons(curves, config.target_precision),
        "test": outcome_report(truth, answers.outcomes),
    }


def _result_line(name: str, report: Mapping[str, Any], fitted: FittedHead, split: Split) -> str:
    auto = report["operating_points"]["test"]["auto"]
    precision = "n/a" if auto["precision"] is None else f"{auto['precision']:.3f}"
    return (
        f"  {name}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f} "
        f"(TF-IDF+LR baseline {report['baselines']['tfidf_logreg']['macro_f1']:.3f}; "
        f"vote weight {fitted.refinement.vote_weight}, head alone "
        f"{report['refinement']['head_alone']['macro_f1']:.3f}), "
        f"automatic for {auto['share']:.0%} of {_evaluated(split)} at precision {precision} "
        f"in {fitted.seconds:.1f}s"
    )


def blend_note(
    name: str, macro_f1: float, refinement: Mapping[str, Any], evaluated: str
) -> str | None:
    """Why a refinement that scored below the head alone on the evaluated tickets was kept
    (None when it did not)."""
    alone = refinement["head_alone"]["macro_f1"]
    if macro_f1 >= alone:
        return None
    scores = f"macro-F1 {macro_f1:.3f} against {alone:.3f} for the head alone on {evaluated}"
    if refinement.get("mode") == "cold start":
        return (
            f"  {name}: the class-centroid vote scored below the head alone ({scores}); it "
            f"answers because {refinement.get('why', 'of the cold start')} "
            "(--cold-start-below 0 keeps the trained head)"
        )
    weight = refinement["vote_weight"]
    if not weight:
        return None  # the head alone, calibrated: the same answers
    oof = {c["vote_weight"]: c["oof_macro_f1"] for c in refinement.get("vote_candidates", [])}
    chosen_on = (
        f" (out of fold {oof[weight]:.3f} against {oof[0.0]:.3f})"
        if weight in oof and 0.0 in oof
        else ""
    )
    return (
        f"  {name}: the blend with the neighbours' vote (weight {weight}) scored below the "
        f"head alone ({scores}). It was chosen on the training tickets' out-of-fold "
        f"predictions{chosen_on}, never on the held-out ones, which are kept unseen to "
        "estimate the model honestly; a small gap can be chance. --no-vote keeps the head "
        "alone"
    )


def _promise(config: TrainConfig, fitted: FittedHead) -> tuple[Evidence, HeadPromise]:
    """The evidence rules the head was trained under, and what it can promise by them."""
    evidence = Evidence(
        config.min_threshold_support,
        config.cold_start_below,
        str(fitted.refinement.chosen_on.get("mode", "trained")),
        CONFIDENCE_LEVEL,
    )
    policy = fitted.policy
    promise = head_promise(
        fitted.labels, fitted.curves, policy.thresholds, evidence, policy.target_precision
    )
    return evidence, promise


def _evaluated_answers(
    name: str,
    split: Split,
    config: TrainConfig,
    fitted: FittedHead,
    train_x: pd.DataFrame,
    test_x: pd.DataFrame,
    embeddings: np.ndarray,
    neighbours: NeighbourIndex,
    test_allow_auto: Sequence[bool] | None,
) -> HeadAnswers:
    """The answers the evaluation scores: the shipped head's on the held-out rows, or, under
    cross-validation, each fold's heads' on that fold's rows."""
    allow = np.ones(len(split.texts), dtype=bool)
    if test_allow_auto is not None:
        allow[split.evaluated_idx] = test_allow_auto
    if not split.folds:
        rows = split.test_idx
        return answers_on(
            fitted, name, rows, test_x, embeddings[rows], neighbours, train_x, allow[rows].tolist()
        )
    # Under cross-validation the training rows are every row: folds index them alike. One
    # BLAS thread: on fits this small, OpenBLAS threads only contend (a 25x slower
    # logistic-regression baseline measured on a busy two-core machine).
    with threadpool_limits(limits=1):
        folds = [
            fold_answers(name, split, config, train_x, embeddings, fold, allow)
            for fold in split.folds
        ]
    return pooled(folds, fitted.labels)


def no_auto_reasons(curves: Mapping[str, PrecisionCurve], target: float) -> dict[str, str]:
    """Per class that never decides automatically at ``target``: why, in plain words."""
    reasons = {label: curve.why_no_threshold(target) for label, curve in curves.items()}
    return {label: reason for label, reason in reasons.items() if reason}


def evidence_warning(name: str, n_labels: int, promise: HeadPromise, target: float) -> str | None:
    """A warning naming the classes of head ``name`` that can never be decided automatically
    for lack of labelled tickets (with how many more each would need) or of precision, read
    off the head's ``promise``; None when every class may decide automatically."""
    short, low = promise.short_of_tickets, promise.short_of_precision
    if not short and not low:
        return None
    needed = correct_predictions_needed(target)
    scope = (
        "no class can"
        if not promise.auto_classes
        else f"{len(short) + len(low)} of {n_labels} classes cannot"
    )
    message = f"  WARNING head {name!r}: {scope} be decided automatically"
    if short:
        listed = ", ".join(
            f"{label} ({needed - more}, ~{more} more)"
            for label, more in sorted(short.items(), key=lambda item: -item[1])[:8]
        )
        message += (
            f"; for precision {target:g} at {CONFIDENCE_LEVEL:.0%} confidence a class needs "
            f"at least {needed} correctly predicted training tickets. Too few labelled "
            f"tickets: {listed}{' …' if len(short) > 8 else ''}"
        )
    if low:
        message += (
            f"; out-of-fold precision never reaches {target:g} with {CONFIDENCE_LEVEL:.0%} "
            f"confidence for: {', '.join(low[:8])}{' …' if len(low) > 8 else ''}"
        )
    return message + ". These answer as suggestions only."


def _evaluated(split: Split) -> str:
    return "held-out tickets" if not split.cross_validated else f"tickets ({split.info['method']})"
