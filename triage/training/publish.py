"""The end of a training run: export the body for serving, write the artifact.

The ONNX export (int8 when it passes its quality guard) is checked on the held-out tickets
through the model as it will be served, and the new version is written atomically with its
manifest, metrics, figures and model card (``triage.core.artifacts.save_model``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from triage.core.artifacts import new_version, save_model
from triage.core.embeddings import SentenceTransformerEmbedder
from triage.core.model import TriageModel
from triage.core.onnx_embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxEmbedder
from triage.training.config import Say, TrainConfig
from triage.training.evaluate import score
from triage.training.export_onnx import (
    OnnxExport,
    Precision,
    UnsupportedBodyError,
    export_onnx,
)
from triage.training.finetune import FinetuneResult
from triage.training.head_answers import fold_labels_by_body
from triage.training.model_card import render_model_card
from triage.training.plots import render_plots
from triage.training.split import Split


def save_version(
    model: TriageModel,
    metrics: dict[str, Any],
    config: TrainConfig,
    split: Split,
    embeddings: np.ndarray,
    tuned: FinetuneResult | None,
    scratch: Path,
    models_dir: Path,
    say: Say,
) -> Path:
    """Write ``model`` as a new version under ``models_dir``; ``metrics`` gains the ONNX
    body's held-out check. ``embeddings``: every text of ``split``, by the training body."""
    training_data = split.training_data
    body_fields, body_files = _body_files(
        model, metrics, config, split, embeddings, tuned, scratch, say
    )
    version = _free_version(models_dir, training_data["sha256"])
    card = render_model_card(
        version=version,
        embedder=model.embedder.identity,
        text_columns=config.text_columns,
        label_columns=config.labels,
        training_data=training_data,
        metrics=metrics,
    )
    reports = metrics["heads"]
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
            # What GET /v1/model needs to say what each head can promise (triage.core.promises).
            "evidence": {name: r["evidence"] for name, r in reports.items() if "evidence" in r},
            **body_fields,
        },
        metrics=metrics,
        model_card=card,
        figures=render_plots(metrics),
        extra_files=body_files,
    )
    say(f"saved {path}")
    return path


def _body_files(
    model: TriageModel,
    metrics: dict[str, Any],
    config: TrainConfig,
    split: Split,
    embeddings: np.ndarray,
    tuned: FinetuneResult | None,
    scratch: Path,
    say: Say,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The manifest fields and files of a fine-tuned body and of its ONNX export, if any;
    ``metrics`` gains the ONNX body's held-out check."""
    embedder = model.embedder
    onnx = None
    if config.onnx and isinstance(embedder, SentenceTransformerEmbedder):
        (scratch / "onnx").mkdir(parents=True)
        onnx = _export_body(embedder, config, split, embeddings, scratch / "onnx", say)
    manifest_fields: dict[str, Any] = {}
    extra_files: dict[str, Path] = {}
    if tuned is not None:
        manifest_fields["finetune"] = tuned.summary
        extra_files.update(tuned.files)
    if onnx is not None:
        check = _onnx_held_out(onnx, model, split, config, embeddings, say)
        if onnx.precision == "int8" and (loss := int8_loss(check)) is not None:
            assert isinstance(embedder, SentenceTransformerEmbedder)
            say(f"  the int8 body {loss}: shipping the fp32 ONNX body instead")
            (scratch / "onnx-fp32").mkdir(parents=True)
            fp32 = _export_body(
                embedder, config, split, embeddings, scratch / "onnx-fp32", say, "fp32"
            )
            if fp32 is not None:
                onnx = fp32
                check = {
                    **_onnx_held_out(onnx, model, split, config, embeddings, say),
                    "int8_refused": {"why": loss, "heads": check["heads"]},
                }
        metrics["onnx_embedder"] = check
        manifest_fields["onnx_embedder"] = onnx.spec
        extra_files.update(onnx.files)
    return manifest_fields, extra_files


def _free_version(models_dir: Path, data_sha256: str) -> str:
    """A new version name, suffixed when two runs on the same data end in one second."""
    version = base = new_version(data_sha256)
    suffix = 2
    while (models_dir / version).exists():
        version, suffix = f"{base}-{suffix}", suffix + 1
    return version


def _export_body(
    embedder: SentenceTransformerEmbedder,
    config: TrainConfig,
    split: Split,
    embeddings: np.ndarray,
    directory: Path,
    say: Say,
    precision: Precision = "auto",
) -> OnnxExport | None:
    """The body as ONNX (int8 if it passes the guard, unless ``precision`` says fp32),
    checked on training texts."""
    rng = np.random.default_rng(config.seed)
    size = min(config.onnx_guard_size, len(split.train_idx))
    sample = np.sort(rng.choice(split.train_idx, size=size, replace=False))
    try:
        return export_onnx(
            embedder,
            directory,
            sample=[split.texts[i] for i in sample],
            reference=embeddings[sample],
            precision=precision,
            say=say,
        )
    except UnsupportedBodyError as exc:
        say(f"no ONNX body in this model (the service will need torch): {exc.message}")
        return None


def _onnx_held_out(
    onnx: OnnxExport,
    model: TriageModel,
    split: Split,
    config: TrainConfig,
    embeddings: np.ndarray,
    say: Say,
) -> dict[str, Any]:
    """Held-out scores of the model fed by the ONNX body the service runs, beside the scores
    with the training body: what serving without torch costs (or not) in accuracy."""
    body = OnnxEmbedder(onnx.files[ONNX_MODEL], onnx.files[ONNX_TOKENIZER], onnx.spec)
    if split.refit:
        # The served heads have seen every ticket (they would answer their own training
        # tickets alike whatever the body): compare through heads fitted without the
        # held-out ones instead, as the evaluation did.
        rows = split.folds[0][1]
        on = "held-out tickets (through heads fitted without them)"
        served_vectors = body.encode([split.texts[i] for i in rows])
        answers = {
            name: fold_labels_by_body(name, split, config, embeddings, served_vectors)
            for name in model.heads
        }
    else:
        # Under cross-validation nothing is held out: the training tickets still show whether
        # the two bodies lead to the same answers.
        rows = split.test_idx if len(split.test_idx) else split.train_idx
        on = "held-out tickets" if len(split.test_idx) else "training tickets"
        texts = [split.texts[i] for i in rows]
        served_proba = model.proba_from_embeddings(texts, body.encode(texts))
        trained_proba = model.proba_from_embeddings(texts, embeddings[rows])
        answers = {}
        for name in model.heads:
            labels = np.asarray(model.labels(name))
            answers[name] = (
                labels[served_proba[name].argmax(axis=1)].tolist(),
                labels[trained_proba[name].argmax(axis=1)].tolist(),
            )
    per_head = {}
    for name in model.heads:
        truth = split.labels[name][rows].tolist()
        served, trained = answers[name]
        per_head[name] = body_comparison(truth, served, trained, model.labels(name))
        say(
            f"  {name} with the {onnx.precision} ONNX body: accuracy "
            f"{per_head[name]['onnx']['accuracy']:.4f} "
            f"({per_head[name]['accuracy_delta_points']:+.2f} points), macro-F1 "
            f"{per_head[name]['onnx']['macro_f1']:.4f} "
            f"({per_head[name]['macro_f1_delta_points']:+.2f}), same label for "
            f"{per_head[name]['same_label_share']:.1%} of {on}"
        )
    return {
        "precision": onnx.precision,
        "guard": onnx.spec["quality"],
        "on": on,
        "heads": per_head,
    }


# The int8 body is refused (fp32 ships) when it costs the served heads more than this much
# macro-F1, or any class with enough tickets more than CLASS_COLLAPSE_POINTS of its F1: a
# fine-tuned body once kept its accuracy (+0.00 points) while macro-F1 fell from 0.505 to 0.413.
MACRO_F1_LOSS_POINTS = 1.0
CLASS_COLLAPSE_POINTS = 10.0
CLASS_MIN_SUPPORT = 5


def body_comparison(
    truth: Sequence[str], served: Sequence[str], trained: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """One head's scores fed by the served body and by the training body: accuracy,
    macro-F1, each class's F1 (with its support) and how often the two answers agree."""
    onnx_score, torch_score = score(truth, served), score(truth, trained)
    names = [str(label) for label in labels]
    served_f1 = f1_score(truth, served, labels=names, average=None, zero_division=0)
    trained_f1 = f1_score(truth, trained, labels=names, average=None, zero_division=0)
    support = {label: 0 for label in names}
    for label in truth:
        if label in support:
            support[label] += 1
    return {
        "onnx": onnx_score,
        "torch": torch_score,
        "accuracy_delta_points": round(100 * (onnx_score["accuracy"] - torch_score["accuracy"]), 2),
        "macro_f1_delta_points": round(100 * (onnx_score["macro_f1"] - torch_score["macro_f1"]), 2),
        "per_class_f1": {
            label: {"onnx": round(float(a), 4), "torch": round(float(b), 4), "n": support[label]}
            for label, a, b in zip(names, served_f1, trained_f1, strict=True)
        },
        "same_label_share": round(float(np.mean(np.asarray(served) == np.asarray(trained))), 4),
    }


def int8_loss(check: Mapping[str, Any]) -> str | None:
    """What the int8 body costs the served heads, when that is too much to ship it."""
    for head, comparison in check["heads"].items():
        if comparison["macro_f1_delta_points"] < -MACRO_F1_LOSS_POINTS:
            return (
                f"costs head {head!r} {-comparison['macro_f1_delta_points']:.2f} points of "
                f"macro-F1 (at most {MACRO_F1_LOSS_POINTS:g} allowed)"
            )
        for label, f1 in comparison["per_class_f1"].items():
            drop = 100 * (f1["torch"] - f1["onnx"])
            if f1["n"] >= CLASS_MIN_SUPPORT and drop > CLASS_COLLAPSE_POINTS:
                return (
                    f"costs class {label!r} of head {head!r} {drop:.1f} points of F1 "
                    f"({f1['torch']:.3f} -> {f1['onnx']:.3f})"
                )
    return None
