"""Training: validate data, split, embed once, fit and evaluate every head, save an artifact.

The steps of one head are in :mod:`triage.training.head_fitting`, writing the artifact in
:mod:`triage.training.publish`; this module reads the data and runs them in order.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.auto_gate import AutoGate
from triage.core.decisions import DEFAULT_SUGGEST_FLOOR, DEFAULT_TARGET_PRECISION
from triage.core.embeddings import Embedder
from triage.core.errors import DataValidationError
from triage.core.features import feature_frame
from triage.core.head_compiler import compile_heads, largest_difference
from triage.core.linear_heads import LinearHeads
from triage.core.model import TriageModel
from triage.core.neighbours import NeighbourIndex
from triage.training.data import fingerprint, labelled_texts, read_table
from triage.training.evaluation_plan import Fold, plan_evaluation
from triage.training.finetune import FinetuneConfig, finetune_body
from triage.training.fit_gate import fit_auto_gate
from triage.training.fit_refinement import COLD_START_BELOW, VOTE_WEIGHTS
from triage.training.head_answers import fold_gate_verdicts
from triage.training.head_fitting import fit_and_evaluate
from triage.training.publish import save_version

DEFAULT_TEXT_COLUMNS = ("subject", "body")
DEFAULT_LABELS = {"category": "category", "tier": "tier"}
Say = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """What to learn from a file, and how to split it."""

    text_columns: tuple[str, ...] = DEFAULT_TEXT_COLUMNS
    labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    test_size: float = 0.2
    seed: int = 0
    slice_columns: tuple[str, ...] = ("language",)
    min_per_class: int = 2
    drop_rare: bool = False
    target_precision: float = DEFAULT_TARGET_PRECISION
    suggest_floor: float = DEFAULT_SUGGEST_FLOOR
    min_threshold_support: int = 10
    id_column: str = "id"
    tune: bool = True
    head_params: Mapping[str, Any] = field(default_factory=dict)
    # Save the body as int8 ONNX beside the heads (sentence-transformers bodies only), so
    # the service runs without torch.
    onnx: bool = True
    onnx_guard_size: int = 256
    # Contrastive fine-tuning of the body on one head's labels before the heads are fitted
    # (``triage train --finetune``); None keeps the body frozen.
    finetune: FinetuneConfig | None = None
    finetune_head: str | None = None  # default: the first head
    # After each head (triage.core.refinement): blend weights of the nearest tickets' vote to
    # compare out of fold ((0.0,) turns the vote off), and the top-label calibration.
    vote_weights: tuple[float, ...] = VOTE_WEIGHTS
    top_label_calibration: bool = True
    # Cold start: with fewer training tickets than this in the median class, a head answers
    # by the class-centroid vote alone (benchmarks/learning_curve.py: better below ~5 a class).
    cold_start_below: int = COLD_START_BELOW


@dataclass(frozen=True)
class TrainResult:
    model: TriageModel
    path: Path | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Split:
    """A training file read and validated: every text, its labels, which rows train and
    which are held out (``split_rows``)."""

    texts: list[str]
    labels: dict[str, np.ndarray]
    frame: pd.DataFrame
    train_idx: np.ndarray
    test_idx: np.ndarray
    info: dict[str, Any]
    notes: list[str]
    training_data: dict[str, Any]
    # Too few tickets for a held-out split: every row is scored by the fold that leaves it
    # out (test_idx is then empty, train_idx every row).
    folds: tuple[Fold, ...] = ()

    @property
    def evaluated_idx(self) -> np.ndarray:
        """The rows the evaluation scores: the held-out rows, or every row of the folds."""
        if not self.folds:
            return self.test_idx
        return np.sort(np.concatenate([scored for _, scored in self.folds]))


def split_rows(config: TrainConfig, data_path: Path, test_path: Path | None) -> Split:
    """Validated texts and labels, and which rows train and which are held out."""
    frame = read_table(data_path)
    data, notes = labelled_texts(
        frame,
        text_columns=config.text_columns,
        label_columns=config.labels,
        min_per_class=config.min_per_class,
        drop_rare=config.drop_rare,
    )
    heads = list(config.labels)
    training_data: dict[str, Any] = {
        "file": data_path.name,
        "sha256": fingerprint(data_path),
        "rows": len(frame),
        "rows_used": len(data.texts),
    }
    if test_path is None:
        labels = {head: np.asarray(values) for head, values in data.labels.items()}
        plan = plan_evaluation(labels, heads[0], test_size=config.test_size, seed=config.seed)
        return Split(
            data.texts,
            labels,
            data.frame,
            plan.train_idx,
            plan.test_idx,
            {**plan.info, "seed": config.seed},
            notes,
            training_data,
            plan.folds,
        )
    test, _ = labelled_texts(
        read_table(test_path),
        text_columns=config.text_columns,
        label_columns=config.labels,
        min_per_class=1,
        min_classes=1,
    )
    for head in heads:
        unseen = sorted(set(test.labels[head]) - set(data.labels[head]))
        if unseen:
            raise DataValidationError(
                f"{test_path}: {head} label(s) never seen in training: {', '.join(unseen[:5])}"
            )
    training_data["test_file"] = test_path.name
    training_data["test_sha256"] = fingerprint(test_path)
    n_train, n_test = len(data.texts), len(test.texts)
    return Split(
        data.texts + test.texts,
        {head: np.asarray(data.labels[head] + test.labels[head]) for head in heads},
        pd.concat([data.frame, test.frame], ignore_index=True),
        np.arange(n_train),
        np.arange(n_train, n_train + n_test),
        {
            "method": "test file",
            "test_file": test_path.name,
            "seed": config.seed,
            "stratify_on": None,
            "n_train": n_train,
            "n_test": n_test,
            "n_evaluated": n_test,
        },
        notes,
        training_data,
    )


def train_from_file(
    data_path: Path,
    embedder: Embedder,
    *,
    config: TrainConfig | None = None,
    test_path: Path | None = None,
    models_dir: Path | None = None,
    progress: bool = False,
    say: Say = lambda _msg: None,
) -> TrainResult:
    """Train on a ticket file and (when ``models_dir`` is given) save a new artifact there.

    The held-out evaluation uses ``test_path`` when given, else a stratified split.
    """
    config = config or TrainConfig()
    split = split_rows(config, data_path, test_path)
    with tempfile.TemporaryDirectory(prefix="triage-train-") as scratch:
        return train_split(split, embedder, config, Path(scratch), models_dir, progress, say)


def train_split(
    split: Split,
    embedder: Embedder,
    config: TrainConfig,
    scratch: Path,
    models_dir: Path | None,
    progress: bool,
    say: Say,
) -> TrainResult:
    """Fine-tune (if asked), embed, fit and evaluate every head on ``split``; save a new
    version under ``models_dir`` when given. ``scratch``: a directory for temporary files."""
    for note in split.notes:
        say(note)
    say(describe_split(split, config.seed))
    heads = list(config.labels)
    train_idx, test_idx = split.train_idx, split.test_idx
    started = time.perf_counter()
    tuned = None
    if config.finetune is not None:
        tuned_on = config.finetune_head or heads[0]
        tuned = finetune_body(
            embedder,
            [split.texts[i] for i in train_idx],
            [str(label) for label in split.labels[tuned_on][train_idx]],
            scratch,
            config=config.finetune,
            say=say,
        )
        tuned.summary["head"] = tuned_on
        embedder = tuned.embedder
    embed_started = time.perf_counter()
    say(f"embedding with {embedder.identity.get('name')}")
    embeddings = embedder.encode(split.texts, show_progress=progress)
    embed_seconds = time.perf_counter() - embed_started
    features = feature_frame(split.texts, embeddings)
    train_x, test_x = features.iloc[train_idx], features.iloc[test_idx]

    slices = {
        column: split.frame[column].astype(str).iloc[split.evaluated_idx].tolist()
        for column in config.slice_columns
        if column in split.frame.columns
    }
    if config.id_column in split.frame.columns:
        ids = split.frame[config.id_column].astype(str).to_numpy()
    else:
        ids = np.asarray([f"row {i + 1}" for i in range(len(split.texts))])
    # The served vote searches these (float16 on disk): training votes over the same pool.
    neighbours = NeighbourIndex(
        embeddings[train_idx],
        ids[train_idx].tolist(),
        {head: split.labels[head][train_idx].tolist() for head in heads},
    )
    gate = fit_auto_gate([split.texts[i] for i in train_idx], neighbours.matrix)
    if split.folds:  # each evaluated row meets the gate of its fold, fitted without it
        test_allow = fold_gate_verdicts(split, embeddings)
    else:
        test_texts = [split.texts[i] for i in test_idx]
        test_similarity = neighbours.nearest_similarity(embeddings[test_idx]).tolist()
        test_allow = [r is None for r in gate.reasons(test_texts, test_similarity)]
    say(_gate_summary(gate, test_allow, "held-out" if not split.folds else "evaluated"))
    runs = {
        name: fit_and_evaluate(
            name, split, config, train_x, test_x, embeddings, neighbours, slices, say, test_allow
        )
        for name in heads
    }
    fitted = {name: run.pipeline for name, run in runs.items()}
    linear, linear_check = _compile(fitted, split.texts, embeddings, train_idx, test_idx, say)
    model = TriageModel(
        embedder,
        fitted,
        curves={name: run.curves for name, run in runs.items()},
        neighbours=neighbours,
        linear=linear,
        refinements={name: run.refinement for name, run in runs.items()},
        drift_reference={name: run.drift_reference for name, run in runs.items()},
        gate=gate,
    )
    timing = {
        "embed_seconds": round(embed_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    if tuned is not None:
        timing["finetune_seconds"] = tuned.summary["seconds"]
    metrics: dict[str, Any] = {
        "split": split.info,
        "timing": timing,
        "heads": {name: run.report for name, run in runs.items()},
        "notes": split.notes,
        "linear_heads": linear_check,
        "auto_gate": {
            **gate.to_dict(),
            "test_refused": round(1 - float(np.mean(test_allow)), 4) if test_allow else 0.0,
        },
    }
    if tuned is not None:
        metrics["finetune"] = tuned.summary
    if models_dir is None:
        return TrainResult(model=model, path=None, metrics=metrics)
    path = save_version(
        model, metrics, config, split, embeddings, tuned, scratch / "publish", models_dir, say
    )
    return TrainResult(model=model, path=path, metrics=metrics)


def describe_split(split: Split, seed: int) -> str:
    """One line: how many tickets train the shipped heads, and how they are evaluated."""
    n = len(split.texts)
    if not split.folds:
        return (
            f"{n} tickets: {len(split.train_idx)} to train, {len(split.test_idx)} held out "
            f"({split.info['method']}, seed {seed})"
        )
    return (
        f"{n} tickets, all {len(split.train_idx)} to train; evaluated by "
        f"{split.info['method']} ({split.info['folds']} fits): {split.info['why']}"
    )


def _gate_summary(gate: AutoGate, test_allow: Sequence[bool], scored: str) -> str:
    refused = 1 - float(np.mean(test_allow)) if test_allow else 0.0
    similarity = (
        "no similarity limit (too few training tickets to fit one)"
        if gate.min_similarity is None
        else f"similarity to the nearest training ticket at least {gate.min_similarity:.2f}"
    )
    return (
        f"auto gate (fitted on the training rows): at least {gate.min_informative_words} "
        f"informative word(s), {similarity}; refuses {refused:.1%} of {scored} tickets"
    )


# Probabilities of the NumPy heads may differ from the pipelines' by rounding only.
LINEAR_TOLERANCE = 1e-9


def _compile(
    fitted: Mapping[str, Any],
    texts: Sequence[str],
    embeddings: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    say: Callable[[str], None],
) -> tuple[LinearHeads | None, dict[str, Any]]:
    """The heads' NumPy form, checked against the pipelines on up to 500 training and 500
    held-out tickets; None (the service then uses the pipelines) if any head has another
    layout or the two disagree beyond rounding."""
    linear = compile_heads(fitted)
    if linear is None:
        say("  heads not of the shipped layout: served through scikit-learn")
        return None, {"compiled": False, "reason": "a head of another layout"}
    rows = np.concatenate([train_idx[:500], test_idx[:500]])
    difference = largest_difference(linear, fitted, [texts[i] for i in rows], embeddings[rows])
    check = {
        "compiled": difference <= LINEAR_TOLERANCE,
        "checked_tickets": len(rows),
        "largest_probability_difference": difference,
        "tolerance": LINEAR_TOLERANCE,
    }
    if difference > LINEAR_TOLERANCE:
        say(f"  NumPy heads differ from the pipelines by {difference:.2e}: not shipped")
        return None, {**check, "reason": "differs from the pipelines"}
    return linear, check
