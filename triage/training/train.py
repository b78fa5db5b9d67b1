"""Training: validate data, split, embed once, fit and evaluate every head, save an artifact.

What to learn is a ``TrainConfig`` (:mod:`triage.training.config`), the rows come from
:mod:`triage.training.split`, the steps of one head are in :mod:`triage.training.head_fitting`,
writing the artifact in :mod:`triage.training.publish`; this module runs them in order.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.auto_gate import AutoGate
from triage.core.embeddings import Embedder
from triage.core.errors import DataValidationError
from triage.core.features import feature_frame
from triage.core.head_compiler import compile_heads, largest_difference
from triage.core.linear_heads import LinearHeads
from triage.core.model import TriageModel
from triage.core.neighbours import NeighbourIndex
from triage.core.registry import active_version, keep_served, set_active
from triage.training.config import DEFAULT_LABELS, DEFAULT_TEXT_COLUMNS, Say, TrainConfig
from triage.training.finetune import FinetuneResult, finetune_body
from triage.training.fit_gate import fit_auto_gate
from triage.training.head_answers import fold_gate_verdicts
from triage.training.head_fitting import HeadRun, fit_and_evaluate
from triage.training.publish import save_version
from triage.training.split import Split, describe_split, split_rows

# Defined in config and split; triage.cli, benchmarks/ and notebooks/ import them from here.
__all__ = [
    "DEFAULT_LABELS",
    "DEFAULT_TEXT_COLUMNS",
    "Say",
    "Split",
    "TrainConfig",
    "TrainResult",
    "describe_split",
    "split_rows",
    "train_from_file",
    "train_split",
]


@dataclass(frozen=True)
class TrainResult:
    model: TriageModel
    path: Path | None
    metrics: dict[str, Any]


def train_from_file(
    data_path: Path,
    embedder: Embedder,
    *,
    config: TrainConfig | None = None,
    test_path: Path | None = None,
    models_dir: Path | None = None,
    progress: bool = False,
    say: Say = lambda _msg: None,
    activate: bool = False,
) -> TrainResult:
    """Train on a ticket file and (when ``models_dir`` is given) save a new artifact there.

    The held-out evaluation uses ``test_path`` when given, else a stratified split. Saving
    never changes what is served: the new version becomes ACTIVE only when ``activate`` is
    set or it is the directory's first; otherwise ACTIVE keeps naming the served one.
    """
    config = config or TrainConfig()
    split = split_rows(config, data_path, test_path)
    config = split.resolved(config)
    if models_dir is not None:
        keep_served(models_dir)
    with tempfile.TemporaryDirectory(prefix="triage-train-") as scratch:
        result = train_split(split, embedder, config, Path(scratch), models_dir, progress, say)
    first = models_dir is not None and active_version(models_dir) is None
    if result.path is not None and models_dir is not None and (activate or first):
        set_active(models_dir, result.path.name)
    return result


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
    started = time.perf_counter()
    tuned = _finetuned_body(split, embedder, config, scratch, say)
    if tuned is not None:
        embedder = tuned.embedder
    embed_started = time.perf_counter()
    say(f"embedding with {embedder.identity.get('name')}")
    embeddings = embedder.encode(split.texts, show_progress=progress)
    embed_seconds = time.perf_counter() - embed_started
    neighbours = _training_neighbours(split, config, embeddings)
    gate, test_allow = _fitted_gate(split, embeddings, neighbours, say)
    features = feature_frame(split.texts, embeddings)
    train_x, test_x = features.iloc[split.train_idx], features.iloc[split.test_idx]
    slices = _evaluated_slices(split, config)
    runs = {
        name: fit_and_evaluate(
            name, split, config, train_x, test_x, embeddings, neighbours, slices, say, test_allow
        )
        for name in config.labels
    }
    fitted = {name: run.pipeline for name, run in runs.items()}
    distances = {name: run.distance for name, run in runs.items() if run.distance is not None}
    gate = replace(gate, distances=distances)
    linear, linear_check = _compile(
        fitted, split.texts, embeddings, split.train_idx, split.test_idx, say
    )
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
    metrics = _run_metrics(split, runs, linear_check, gate, test_allow, timing, tuned)
    if models_dir is None:
        return TrainResult(model=model, path=None, metrics=metrics)
    path = save_version(
        model, metrics, config, split, embeddings, tuned, scratch / "publish", models_dir, say
    )
    return TrainResult(model=model, path=path, metrics=metrics)


def _finetuned_body(
    split: Split, embedder: Embedder, config: TrainConfig, scratch: Path, say: Say
) -> FinetuneResult | None:
    """The body fine-tuned on one head's training labels, when the config asks for it."""
    if config.finetune is None:
        return None
    if split.cross_validated:
        # Every ticket is scored by a fold; a body tuned on all of them would have seen each.
        raise DataValidationError(
            f"--finetune needs a held-out split, and these {len(split.texts)} tickets are "
            f"evaluated by {split.info['method']} ({split.info['why']}); train without "
            "--finetune, or with more tickets per class"
        )
    tuned_on = config.finetune_head or next(iter(config.labels))
    # Never the held-out tickets: under refit the heads learn from every row, but the body is
    # tuned on the evaluated fold's training rows, or the held-out figures would have seen it.
    train_idx = split.folds[0][0] if split.refit else split.train_idx
    tuned = finetune_body(
        embedder,
        [split.texts[i] for i in train_idx],
        [str(label) for label in split.labels[tuned_on][train_idx]],
        scratch,
        config=config.finetune,
        say=say,
    )
    tuned.summary["head"] = tuned_on
    return tuned


def _training_neighbours(
    split: Split, config: TrainConfig, embeddings: np.ndarray
) -> NeighbourIndex:
    """The training rows by id, embedding and labels: the pool the served vote searches."""
    if config.id_column in split.frame.columns:
        ids = split.frame[config.id_column].astype(str).to_numpy()
    else:
        ids = np.asarray([f"row {i + 1}" for i in range(len(split.texts))])
    train_idx = split.train_idx
    # The served vote searches these (float16 on disk): training votes over the same pool.
    return NeighbourIndex(
        embeddings[train_idx],
        ids[train_idx].tolist(),
        {head: split.labels[head][train_idx].tolist() for head in config.labels},
    )


def _fitted_gate(
    split: Split, embeddings: np.ndarray, neighbours: NeighbourIndex, say: Say
) -> tuple[AutoGate, list[bool]]:
    """The auto gate fitted on the training rows, and whether it lets each evaluated row
    be decided automatically."""
    gate = fit_auto_gate([split.texts[i] for i in split.train_idx], neighbours.matrix)
    if split.folds:  # each evaluated row meets the gate of its fold, fitted without it
        test_allow = fold_gate_verdicts(split, embeddings)
    else:
        test_idx = split.test_idx
        test_texts = [split.texts[i] for i in test_idx]
        test_similarity = neighbours.nearest_similarity(embeddings[test_idx]).tolist()
        test_allow = [r is None for r in gate.reasons(test_texts, test_similarity)]
    say(_gate_summary(gate, test_allow, "held-out" if not split.cross_validated else "evaluated"))
    return gate, test_allow


def _evaluated_slices(split: Split, config: TrainConfig) -> dict[str, list[str]]:
    """The evaluated rows' value in each slice column the data has (e.g. language)."""
    return {
        column: split.frame[column].astype(str).iloc[split.evaluated_idx].tolist()
        for column in config.slice_columns
        if column in split.frame.columns
    }


def _run_metrics(
    split: Split,
    runs: Mapping[str, HeadRun],
    linear_check: dict[str, Any],
    gate: AutoGate,
    test_allow: Sequence[bool],
    timing: dict[str, float],
    tuned: FinetuneResult | None,
) -> dict[str, Any]:
    """The run's metrics.json: split, timing, each head's report, the NumPy heads' check,
    the auto gate and (if any) the fine-tuning."""
    if tuned is not None:
        timing = {**timing, "finetune_seconds": tuned.summary["seconds"]}
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
    return metrics


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
    say: Say,
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
