"""Loading a saved version: every checksum is verified before anything is unpickled.

``load_model`` reads the manifest (``read_manifest`` verifies each file against it), then the
heads, the embedder the model was trained with (or its ONNX export), the neighbours and the
optional components; any mismatch between them is an ``ArtifactError`` naming the file.
``read_metrics`` is the one way to read a version's held-out evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from triage.core.artifacts.layout import (
    HEADS_DIR,
    MANIFEST,
    METRICS,
    NEIGHBOURS,
    OPERATING_POINTS,
    head_file,
)
from triage.core.artifacts.manifest import ONNX_ENTRY, checksum_mismatch, read_manifest
from triage.core.auto_gate import FILE as GATE_FILE
from triage.core.auto_gate import READABLE_FORMATS as GATE_FORMATS
from triage.core.auto_gate import AutoGate, load_gate
from triage.core.decisions import PrecisionCurve
from triage.core.drift import FILE as DRIFT_FILE
from triage.core.drift import FORMAT as DRIFT_FORMAT
from triage.core.drift import HeadReference, load_references
from triage.core.embeddings import Embedder, embedder_for_artifact
from triage.core.errors import ArtifactError, EmbedderUnavailableError
from triage.core.features import EMBEDDING_PREFIX
from triage.core.legacy_modules import old_module_names
from triage.core.linear_heads import FORMAT as LINEAR_FORMAT
from triage.core.linear_heads import META as LINEAR_META
from triage.core.linear_heads import LinearHeads
from triage.core.model import LazyMapping, TriageModel
from triage.core.neighbours import NeighbourIndex
from triage.core.onnx_embedder import OnnxEmbedder
from triage.core.refinement import FILE as REFINEMENT_FILE
from triage.core.refinement import FORMAT as REFINEMENT_FORMAT
from triage.core.refinement import Refinement, load_refinements

Runtime = Literal["auto", "onnx", "torch"]
_UNREADABLE = (OSError, ValueError, KeyError, TypeError)  # a verified file that still fails


def read_metrics(path: Path, manifest: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The held-out evaluation (``metrics.json``) of the version in ``path``, its bytes checked
    against the manifest's checksum.

    ``manifest``: the version's manifest as ``read_manifest`` returned it, else read (and every
    file verified) here.
    """
    if manifest is None:
        manifest = read_manifest(path)
    metrics_path = path / METRICS
    expected = manifest["files"].get(METRICS)
    if expected is None:
        raise ArtifactError(f"{path / MANIFEST} lists no checksum for {METRICS}")
    try:
        raw = metrics_path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{metrics_path} is unreadable: {exc}") from exc
    if hashlib.sha256(raw).hexdigest() != expected:
        raise checksum_mismatch(metrics_path, path / MANIFEST)
    try:
        metrics = json.loads(raw)
    except ValueError as exc:
        raise ArtifactError(f"{metrics_path} is unreadable: {exc}") from exc
    if not isinstance(metrics, dict):
        raise ArtifactError(f"{metrics_path} is unreadable: not a JSON object")
    return metrics


def artifact_embedder(
    path: Path,
    manifest: Mapping[str, Any],
    *,
    embedder_path: Path | None = None,
    threads: int = 2,
    runtime: Runtime = "auto",
    cache_dir: Path | None = None,
) -> Embedder:
    """The body to serve a verified artifact with: its ONNX export when it has one
    (``runtime="auto"``), else the embedder it was trained with, checked to be the same.

    ``runtime="torch"`` forces the training embedder; ``"onnx"`` fails without an export.
    ``cache_dir``: where a body may keep a decompressed copy of its weights to map
    (the default USE body; ``triage.core.use_cache``).
    """
    spec = manifest.get(ONNX_ENTRY)
    if spec is not None and runtime != "torch":
        trained = manifest["embedder"]
        base = spec.get("base", {})
        if base.get("weights_sha256") != trained.get("weights_sha256") or spec.get(
            "dim"
        ) != trained.get("dim"):
            raise EmbedderUnavailableError(
                f"{path / MANIFEST}: the ONNX body was exported from other weights than the "
                "embedder the model was trained with; export it again with 'triage export-onnx' "
                "(TRIAGE_EMBEDDER_PATH naming the original model directory if it moved)"
            )
        return OnnxEmbedder.from_artifact(path, spec, threads=threads)
    if runtime == "onnx":
        raise EmbedderUnavailableError(
            f"{path} has no ONNX embedder; add one with 'triage export-onnx {path}'"
        )
    return embedder_for_artifact(
        manifest["embedder"],
        override_path=embedder_path,
        artifact_dir=path,
        threads=threads,
        cache_dir=cache_dir,
    )


def load_model(
    path: Path,
    *,
    embedder_path: Path | None = None,
    threads: int = 2,
    runtime: Runtime = "auto",
    compiled_heads: bool = True,
    cache_dir: Path | None = None,
) -> TriageModel:
    """Load and verify an artifact directory, with the embedder it was trained with
    (its torch-free ONNX export when the artifact has one; see ``artifact_embedder``).

    ``compiled_heads``: answer with the heads' NumPy form when the artifact has one (the
    pickled pipelines are then read only for explanations); False reads the pipelines.
    ``cache_dir``: see ``artifact_embedder``.
    """
    manifest = read_manifest(path)
    if manifest.get("version") != path.name:
        raise ArtifactError(
            f"{path / MANIFEST} describes version {manifest.get('version')!r}, not {path.name!r}: "
            "artifact directories must not be renamed"
        )
    linear = _load_linear(path, manifest) if compiled_heads else None
    heads, dims = _load_heads(path, manifest, linear)
    embedder = artifact_embedder(
        path,
        manifest,
        embedder_path=embedder_path,
        threads=threads,
        runtime=runtime,
        cache_dir=cache_dir,
    )
    for name, expected in dims.items():
        if expected != embedder.dim:
            raise ArtifactError(
                f"{path / HEADS_DIR / name} expects {expected}-dimensional embeddings "
                f"but the embedder named in {path / MANIFEST} gives {embedder.dim}"
            )
    neighbours = _load_neighbours(path, manifest, embedder.dim)
    refinements = _load_refinements(path, manifest)
    drift_reference = _load_drift_reference(path, manifest)
    gate = _load_gate(path, manifest)
    try:
        return TriageModel(
            embedder,
            heads,
            curves=_read_curves(path, heads),
            neighbours=neighbours,
            manifest=manifest,
            linear=linear,
            refinements=refinements,
            drift_reference=drift_reference,
            gate=gate,
        )
    except ValueError as exc:
        raise ArtifactError(f"{path}: {exc}") from exc


def _load_heads(
    path: Path, manifest: Mapping[str, Any], linear: LinearHeads | None
) -> tuple[Mapping[str, Any], dict[str, int]]:
    """The heads (pickled pipelines, read lazily when ``linear`` answers) and the embedding
    dimension each expects, their labels checked against the manifest's."""
    names = list(manifest["heads"])
    if linear is None:
        heads: Mapping[str, Any] = {name: _load_head(path, name) for name in names}
        labels_of = {name: [str(c) for c in head.classes_] for name, head in heads.items()}
        dims = {
            name: sum(str(c).startswith(EMBEDDING_PREFIX) for c in head.feature_names_in_)
            for name, head in heads.items()
        }
    else:
        # The pickles are read only if an explanation is asked for.
        heads = LazyMapping(names, lambda name: _load_head(path, name))
        labels_of = {name: linear.labels(name) for name in names}
        dims = {name: linear.heads[name].embedding_dim or 0 for name in names}
    for name in names:
        if labels_of[name] != manifest["heads"][name]["labels"]:
            raise ArtifactError(
                f"{path / HEADS_DIR / name}: labels differ from those in the manifest"
            )
    return heads, dims


def _load_neighbours(path: Path, manifest: Mapping[str, Any], dim: int) -> NeighbourIndex | None:
    if NEIGHBOURS not in manifest["files"]:
        return None
    try:
        neighbours = NeighbourIndex.load(path / NEIGHBOURS)
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"{path / NEIGHBOURS} cannot be loaded: {exc}") from exc
    if neighbours.dim != dim:
        raise ArtifactError(f"{path / NEIGHBOURS} has embeddings of another dimension")
    return neighbours


def _load_refinements(path: Path, manifest: Mapping[str, Any]) -> dict[str, Refinement]:
    entry = manifest.get("refinement")
    if entry is None:
        return {}  # trained before refinements existed: the heads answer alone
    if entry.get("format") != REFINEMENT_FORMAT:
        raise ArtifactError(
            f"{path / REFINEMENT_FILE}: refinement format {entry.get('format')!r}, this triage "
            f"reads {REFINEMENT_FORMAT}; retrain it with 'triage train'"
        )
    try:
        refinements = load_refinements(path)
    except _UNREADABLE as exc:
        raise ArtifactError(f"{path / REFINEMENT_FILE} cannot be loaded: {exc}") from exc
    return refinements


def _load_drift_reference(
    path: Path, manifest: Mapping[str, Any]
) -> dict[str, HeadReference] | None:
    entry = manifest.get("drift_reference")
    if entry is None or entry.get("format") != DRIFT_FORMAT:
        return None  # older, or another format: the model serves, drift has no reference
    try:
        return load_references(path)
    except _UNREADABLE as exc:
        raise ArtifactError(f"{path / DRIFT_FILE} cannot be loaded: {exc}") from exc


def _load_gate(path: Path, manifest: Mapping[str, Any]) -> AutoGate | None:
    entry = manifest.get("auto_gate")
    if entry is None:
        return None  # trained before the gate existed: decided by the thresholds alone
    if entry.get("format") not in GATE_FORMATS:
        raise ArtifactError(
            f"{path / GATE_FILE}: auto gate format {entry.get('format')!r}, this triage reads "
            f"{', '.join(map(str, GATE_FORMATS))}; retrain it with 'triage train'"
        )
    try:
        return load_gate(path)
    except _UNREADABLE as exc:
        raise ArtifactError(f"{path / GATE_FILE} cannot be loaded: {exc}") from exc


def _load_head(path: Path, name: str) -> Any:
    import joblib  # with scikit-learn, SciPy and pandas, which unpickling the head imports

    head_path = path / head_file(name)
    try:
        with old_module_names():  # a head pickled before the package was split into layers
            return joblib.load(head_path)
    except Exception as exc:  # a checksummed file that still fails to unpickle
        raise ArtifactError(f"{head_path} cannot be loaded: {exc}") from exc


def _load_linear(path: Path, manifest: Mapping[str, Any]) -> LinearHeads | None:
    entry = manifest.get("linear_heads")
    if entry is None:
        return None
    if entry.get("format") != LINEAR_FORMAT:
        return None  # another format: the pipelines serve
    try:
        linear = LinearHeads.load(path)
    except _UNREADABLE as exc:
        raise ArtifactError(f"{path / LINEAR_META} cannot be loaded: {exc}") from exc
    if set(linear.heads) != set(manifest["heads"]):
        raise ArtifactError(f"{path / LINEAR_META} names other heads than {path / MANIFEST}")
    return linear


def _read_curves(path: Path, heads: Mapping[str, Any]) -> dict[str, dict[str, PrecisionCurve]]:
    curves_path = path / OPERATING_POINTS
    try:
        raw = json.loads(curves_path.read_text(encoding="utf-8"))
        curves = {
            head: {label: PrecisionCurve.from_dict(data) for label, data in raw[head].items()}
            for head in heads
        }
    except _UNREADABLE as exc:
        raise ArtifactError(f"{curves_path} is missing or malformed: {exc}") from exc
    return curves
