"""Training: validate data, split, embed once, fit and evaluate every head, save an artifact."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from triage.artifacts import new_version, save_model
from triage.classifier import TUNING_GRID, build_baseline, fit_head
from triage.data import fingerprint, labelled_texts, read_table
from triage.decisions import PrecisionCurve, build_policy
from triage.drift import HeadReference
from triage.embeddings import Embedder, SentenceTransformerEmbedder
from triage.errors import DataValidationError
from triage.features import feature_frame
from triage.linear_heads import LinearHeads, compile_heads, largest_difference
from triage.model import TriageModel
from triage.neighbours import NeighbourIndex
from triage.onnx_embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxEmbedder
from triage.training.evaluate import calibration, decision_report, head_report, score
from triage.training.export_onnx import OnnxExport, UnsupportedBodyError, export_onnx
from triage.training.finetune import FinetuneConfig, finetune_body
from triage.training.fit_refinement import COLD_START_BELOW, VOTE_WEIGHTS, fit_refinement
from triage.training.model_card import render_model_card
from triage.training.operating_points import precision_curves
from triage.training.plots import render_plots

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
    target_precision: float = 0.95
    suggest_floor: float = 0.5
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
    # After each head (triage.refinement): blend weights of the nearest tickets' vote to
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
        indices = np.arange(len(data.texts))
        train_idx, test_idx = train_test_split(
            indices,
            test_size=config.test_size,
            stratify=data.labels[heads[0]],
            random_state=config.seed,
        )
        info = {"method": "stratified", "stratify_on": heads[0], "test_size": config.test_size}
        return Split(
            data.texts,
            {head: np.asarray(values) for head, values in data.labels.items()},
            data.frame,
            train_idx,
            test_idx,
            {**info, "seed": config.seed, "n_train": len(train_idx), "n_test": len(test_idx)},
            notes,
            training_data,
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
    for note in split.notes:
        say(note)
    say(
        f"{len(split.texts)} tickets: {len(split.train_idx)} to train, {len(split.test_idx)} "
        f"held out ({split.info['method']}, seed {config.seed})"
    )
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
        column: split.frame[column].astype(str).iloc[test_idx].tolist()
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
    fitted = {}
    refinements = {}
    drift_reference = {}
    curves: dict[str, dict[str, PrecisionCurve]] = {}
    reports: dict[str, Any] = {}
    for head_name in heads:
        y = split.labels[head_name]
        say(f"fitting head {head_name!r} ({len(set(y))} classes)")
        head_started = time.perf_counter()
        head, tuning = fit_head(
            train_x, y[train_idx], grid=_grid(config), seed=config.seed, **_feature_params(config)
        )
        labels = [str(label) for label in head.classes_]
        refined = fit_refinement(
            head.named_steps["classifier"].oof_proba_,
            neighbours.codes(head_name, labels),
            neighbours.matrix,
            weights=config.vote_weights,
            calibrate=config.top_label_calibration,
            cold_start_below=config.cold_start_below,
        )
        refinement = refinements[head_name] = refined.refinement
        fit_seconds = time.perf_counter() - head_started
        # What served answers should look like: the refined out-of-fold predictions.
        drift_reference[head_name] = HeadReference.from_predictions(
            labels, refined.oof_proba, y[train_idx].tolist()
        )
        head_proba = head.predict_proba(test_x)
        vote = None
        if refinement.uses_vote:
            vote = neighbours.vote(
                embeddings[test_idx],
                head_name,
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
        curves[head_name] = precision_curves(
            y[train_idx].tolist(),
            refined.oof_proba,
            labels,
            min_support=config.min_threshold_support,
        )
        policy = build_policy(
            curves[head_name], target_precision=config.target_precision, floor=config.suggest_floor
        )
        report["operating_points"] = {
            "target_precision": config.target_precision,
            "suggest_floor": config.suggest_floor,
            "thresholds": policy.thresholds,
            "excluded": {
                label: curve.excluded
                for label, curve in curves[head_name].items()
                if curve.excluded
            },
            "test": decision_report(truth, test_proba, labels, policy),
        }
        report["baselines"] = _baselines(train_x, test_x, y[train_idx], y[test_idx])
        reports[head_name] = report
        fitted[head_name] = head
        auto = report["operating_points"]["test"]["auto"]
        say(
            f"  {head_name}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f} "
            f"(TF-IDF+LR baseline {report['baselines']['tfidf_logreg']['macro_f1']:.3f}; "
            f"vote weight {refinement.vote_weight}, head alone "
            f"{report['refinement']['head_alone']['macro_f1']:.3f}), "
            f"automatic for {auto['share']:.0%} at precision {auto['precision'] or 0:.3f} "
            f"in {fit_seconds:.1f}s"
        )

    linear, linear_check = _compile(fitted, split.texts, embeddings, train_idx, test_idx, say)
    model = TriageModel(
        embedder,
        fitted,
        curves=curves,
        neighbours=neighbours,
        linear=linear,
        refinements=refinements,
        drift_reference=drift_reference,
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
        "heads": reports,
        "notes": split.notes,
        "linear_heads": linear_check,
    }
    if tuned is not None:
        metrics["finetune"] = tuned.summary
    training_data = split.training_data
    if models_dir is None:
        return TrainResult(model=model, path=None, metrics=metrics)
    onnx = None
    if config.onnx and isinstance(embedder, SentenceTransformerEmbedder):
        (scratch / "onnx").mkdir()
        onnx = _export_body(embedder, config, split, embeddings, scratch / "onnx", say)
    manifest_fields: dict[str, Any] = {}
    extra_files: dict[str, Path] = {}
    if tuned is not None:
        manifest_fields["finetune"] = tuned.summary
        extra_files.update(tuned.files)
    if onnx is not None:
        metrics["onnx_embedder"] = _onnx_held_out(onnx, model, split, embeddings, say)
        manifest_fields["onnx_embedder"] = onnx.spec
        extra_files.update(onnx.files)
    version = base = new_version(training_data["sha256"])
    suffix = 2
    while (models_dir / version).exists():  # two runs on the same data in one second
        version, suffix = f"{base}-{suffix}", suffix + 1
    card = render_model_card(
        version=version,
        embedder=embedder.identity,
        text_columns=config.text_columns,
        label_columns=config.labels,
        training_data=training_data,
        metrics=metrics,
    )
    path = save_model(
        model,
        models_dir,
        version=version,
        manifest_fields={
            "text_columns": list(config.text_columns),
            "label_columns": dict(config.labels),
            "training_data": training_data,
            "head_params": dict(config.head_params),
            "summary": {
                name: {k: r[k] for k in ("accuracy", "macro_f1")} for name, r in reports.items()
            },
            **manifest_fields,
        },
        metrics=metrics,
        model_card=card,
        figures=render_plots(metrics),
        extra_files=extra_files,
    )
    say(f"saved {path}")
    return TrainResult(model=model, path=path, metrics=metrics)


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


_CLASSIFIER_PARAMS = ("C", "class_weight")


def _export_body(
    embedder: SentenceTransformerEmbedder,
    config: TrainConfig,
    split: Split,
    embeddings: np.ndarray,
    directory: Path,
    say: Say,
) -> OnnxExport | None:
    """The body as ONNX (int8 if it passes the guard), checked on training texts."""
    rng = np.random.default_rng(config.seed)
    size = min(config.onnx_guard_size, len(split.train_idx))
    sample = np.sort(rng.choice(split.train_idx, size=size, replace=False))
    try:
        return export_onnx(
            embedder,
            directory,
            sample=[split.texts[i] for i in sample],
            reference=embeddings[sample],
            say=say,
        )
    except UnsupportedBodyError as exc:
        say(f"no ONNX body in this model (the service will need torch): {exc.message}")
        return None


def _onnx_held_out(
    onnx: OnnxExport, model: TriageModel, split: Split, embeddings: np.ndarray, say: Say
) -> dict[str, Any]:
    """Held-out scores of the model fed by the ONNX body the service runs, beside the scores
    with the training body: what serving without torch costs (or not) in accuracy."""
    body = OnnxEmbedder(onnx.files[ONNX_MODEL], onnx.files[ONNX_TOKENIZER], onnx.spec)
    texts = [split.texts[i] for i in split.test_idx]
    served_proba = model.proba_from_embeddings(texts, body.encode(texts))
    trained_proba = model.proba_from_embeddings(texts, embeddings[split.test_idx])
    per_head = {}
    for name in model.heads:
        truth = split.labels[name][split.test_idx].tolist()
        labels = np.asarray(model.labels(name))
        served = labels[served_proba[name].argmax(axis=1)]
        trained = labels[trained_proba[name].argmax(axis=1)]
        onnx_score, torch_score = score(truth, served.tolist()), score(truth, trained.tolist())
        per_head[name] = {
            "onnx": onnx_score,
            "torch": torch_score,
            "accuracy_delta_points": round(
                100 * (onnx_score["accuracy"] - torch_score["accuracy"]), 2
            ),
            "same_label_share": round(float(np.mean(served == trained)), 4),
        }
        say(
            f"  {name} with the {onnx.precision} ONNX body: accuracy {onnx_score['accuracy']:.4f} "
            f"({per_head[name]['accuracy_delta_points']:+.2f} points), same label for "
            f"{per_head[name]['same_label_share']:.1%} of held-out tickets"
        )
    return {"precision": onnx.precision, "guard": onnx.spec["quality"], "heads": per_head}


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
