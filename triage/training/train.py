"""Training: validate data, split, embed once, fit and evaluate every head, save an artifact."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from triage.artifacts import new_version, save_model
from triage.classifier import build_baseline, build_head
from triage.data import fingerprint, labelled_texts, read_table
from triage.decisions import PrecisionCurve, build_policy
from triage.embeddings import Embedder
from triage.features import feature_frame
from triage.model import TriageModel
from triage.training.evaluate import decision_report, head_report, score
from triage.training.model_card import render_model_card
from triage.training.operating_points import precision_curves

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
    head_params: Mapping[str, Any] = field(default_factory=dict)


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
    models_dir: Path | None = None,
    progress: bool = False,
    say: Say = lambda _msg: None,
) -> TrainResult:
    """Train on a ticket file and (when ``models_dir`` is given) save a new artifact there."""
    config = config or TrainConfig()
    frame = read_table(data_path)
    data, notes = labelled_texts(
        frame,
        text_columns=config.text_columns,
        label_columns=config.labels,
        min_per_class=config.min_per_class,
        drop_rare=config.drop_rare,
    )
    for note in notes:
        say(note)
    heads = list(config.labels)
    stratify = data.labels[heads[0]]
    indices = np.arange(len(data.texts))
    train_idx, test_idx = train_test_split(
        indices, test_size=config.test_size, stratify=stratify, random_state=config.seed
    )
    say(
        f"{len(data.texts)} tickets: {len(train_idx)} to train, {len(test_idx)} held out "
        f"(stratified on {heads[0]}, seed {config.seed})"
    )

    started = time.perf_counter()
    say(f"embedding with {embedder.identity.get('name')}")
    embeddings = embedder.encode(data.texts, show_progress=progress)
    embed_seconds = time.perf_counter() - started
    features = feature_frame(data.texts, embeddings)
    train_x, test_x = features.iloc[train_idx], features.iloc[test_idx]

    slices = {
        column: data.frame[column].astype(str).iloc[test_idx].tolist()
        for column in config.slice_columns
        if column in data.frame.columns
    }
    fitted = {}
    curves: dict[str, dict[str, PrecisionCurve]] = {}
    reports: dict[str, Any] = {}
    for head_name in heads:
        y = np.asarray(data.labels[head_name])
        say(f"fitting head {head_name!r} ({len(set(y))} classes)")
        head_started = time.perf_counter()
        head = build_head(seed=config.seed, **config.head_params).fit(train_x, y[train_idx])
        fit_seconds = time.perf_counter() - head_started
        labels = [str(label) for label in head.classes_]
        test_proba = head.predict_proba(test_x)
        report = head_report(y[test_idx].tolist(), test_proba, labels, slices=slices)
        report["fit_seconds"] = round(fit_seconds, 2)
        # Operating points come from out-of-fold predictions on the training part only.
        curves[head_name] = precision_curves(
            y[train_idx].tolist(),
            head.named_steps["classifier"].oof_proba_,
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
            "test": decision_report(y[test_idx].tolist(), test_proba, labels, policy),
        }
        report["baselines"] = _baselines(train_x, test_x, y[train_idx], y[test_idx])
        reports[head_name] = report
        fitted[head_name] = head
        auto = report["operating_points"]["test"]["auto"]
        say(
            f"  {head_name}: accuracy {report['accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f} "
            f"(TF-IDF+LR baseline {report['baselines']['tfidf_logreg']['macro_f1']:.3f}), "
            f"automatic for {auto['share']:.0%} at precision {auto['precision'] or 0:.3f} "
            f"in {fit_seconds:.1f}s"
        )

    model = TriageModel(embedder, fitted, curves=curves)
    metrics = {
        "split": {
            "method": "stratified",
            "stratify_on": heads[0],
            "test_size": config.test_size,
            "seed": config.seed,
            "n_train": len(train_idx),
            "n_test": len(test_idx),
        },
        "timing": {
            "embed_seconds": round(embed_seconds, 2),
            "total_seconds": round(time.perf_counter() - started, 2),
        },
        "heads": reports,
        "notes": notes,
    }
    data_fingerprint = fingerprint(data_path)
    training_data = {
        "file": data_path.name,
        "sha256": data_fingerprint,
        "rows": len(frame),
        "rows_used": len(data.texts),
    }
    path = None
    if models_dir is not None:
        version = new_version(data_fingerprint)
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
            },
            metrics=metrics,
            model_card=card,
        )
        say(f"saved {path}")
    return TrainResult(model=model, path=path, metrics=metrics)


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
