"""Where things are: the versions in a models directory and the files of one version.

Layout of ``models/<version>/``::

    manifest.json     format version, library versions, heads and labels, embedder identity,
                      training-data fingerprint, sha256 of every other file
    heads/<head>.joblib
    heads/linear.npz, heads/linear.json
                      the same heads as NumPy arrays and vocabularies, served without
                      scikit-learn (``triage.core.linear_heads``; the manifest's ``linear_heads``)
    heads/refinement.json  per head: neighbour-vote weight and top-label calibration knots,
                      applied after the head (``triage.core.refinement``; the manifest's
                      ``refinement``)
    auto_gate.json         the auto gate: fewest informative words and lowest similarity to a
                      training ticket for an automatic decision, and per head the largest
                      distance to the predicted label's tickets (``triage.core.auto_gate``)
    auto_gate.npz          format 2: the gate's vocabulary and, per head, the whitening matrix
                      and whitened label centroids of its distance (``triage.core.gate_distance``)
    drift_reference.json   per head: shares of the labels predicted out of fold and of the true
                      labels, mean confidence (``triage.core.drift``; the manifest's
                      ``drift_reference``)
    operating_points.json  per head and class: precision by confidence (out of fold), from
                      which thresholds for any target precision are set at load time
    neighbours.npz    training embeddings (float16), ticket ids and labels: no ticket text
    embedder/model.onnx, embedder/tokenizer.json
                      the embedding body for serving without torch (int8 ONNX, see
                      ``triage.core.onnx_embedder``), described by the manifest's ``onnx_embedder``
    metrics.json      held-out evaluation (overall, per class, per slice, baseline, calibration)
    report/*.png      reliability diagram, precision–coverage curve, confusion matrix per head
    MODEL_CARD.md

A directory whose name starts with ``.`` is a save in progress (or an interrupted one) and is
not a version.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from triage.core.errors import ArtifactError, ModelNotFoundError

MANIFEST = "manifest.json"
OPERATING_POINTS = "operating_points.json"
METRICS = "metrics.json"
NEIGHBOURS = "neighbours.npz"
MODEL_CARD = "MODEL_CARD.md"
HEADS_DIR = "heads"
REPORT_DIR = "report"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def head_file(name: str) -> str:
    """The pickled pipeline of head ``name``, relative to the version directory."""
    return f"{HEADS_DIR}/{name}.joblib"


def new_version(fingerprint: str, now: datetime | None = None) -> str:
    """A sortable, unique version name: UTC time plus a short data fingerprint."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{fingerprint[:8]}"


def check_version_name(version: str) -> str:
    """Reject names that could escape the models directory or are otherwise odd."""
    if not _VERSION_NAME.fullmatch(version) or version in {".", ".."}:
        raise ModelNotFoundError(
            f"invalid model version {version!r}: use letters, digits, '.', '_' and '-' only"
        )
    return version


def list_versions(models_dir: Path) -> list[str]:
    """Saved versions in ``models_dir``, oldest first."""
    if not models_dir.is_dir():
        return []
    return sorted(
        entry.name
        for entry in models_dir.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and (entry / MANIFEST).is_file()
    )


def resolve_model_dir(models_dir: Path, version: str | None = None) -> Path:
    """The artifact directory to load: ``version`` if given, else the newest one."""
    available = list_versions(models_dir)
    if version is None:
        if not available:
            raise ModelNotFoundError(
                f"no trained model in {models_dir.resolve()}; train one with "
                "'triage train --data data/tickets.csv' (or set TRIAGE_MODELS_DIR)"
            )
        return models_dir / available[-1]
    path = models_dir / check_version_name(version)
    if not (path / MANIFEST).is_file():
        raise ModelNotFoundError(
            f"model version {version!r} not found in {models_dir.resolve()} "
            f"(available: {', '.join(available) or 'none'}); check TRIAGE_MODEL_VERSION"
        )
    return path


def path_inside(root: Path, relative: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root``."""
    target = (root / relative).resolve()
    if root.resolve() not in target.parents:
        raise ArtifactError(f"{relative!r} is not a path inside the artifact")
    return target
