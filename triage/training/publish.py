"""The end of a training run: export the body for serving, write the artifact.

The ONNX export (int8 when it passes its quality guard) is checked on the held-out tickets
through the model as it will be served, and the new version is written atomically with its
manifest, metrics, figures and model card (``triage.core.artifacts.save_model``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from triage.core.artifacts import new_version, save_model
from triage.core.embeddings import SentenceTransformerEmbedder
from triage.core.model import TriageModel
from triage.core.onnx_embedder import ONNX_MODEL, ONNX_TOKENIZER, OnnxEmbedder
from triage.training.config import Say, TrainConfig
from triage.training.evaluate import score
from triage.training.export_onnx import OnnxExport, UnsupportedBodyError, export_onnx
from triage.training.finetune import FinetuneResult
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
        metrics["onnx_embedder"] = _onnx_held_out(onnx, model, split, embeddings, say)
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
    # Under cross-validation nothing is held out: the training tickets still show whether
    # the two bodies lead to the same answers.
    rows = split.test_idx if len(split.test_idx) else split.train_idx
    on = "held-out tickets" if len(split.test_idx) else "training tickets"
    texts = [split.texts[i] for i in rows]
    served_proba = model.proba_from_embeddings(texts, body.encode(texts))
    trained_proba = model.proba_from_embeddings(texts, embeddings[rows])
    per_head = {}
    for name in model.heads:
        truth = split.labels[name][rows].tolist()
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
            f"{per_head[name]['same_label_share']:.1%} of {on}"
        )
    return {
        "precision": onnx.precision,
        "guard": onnx.spec["quality"],
        "on": on,
        "heads": per_head,
    }
