"""Versioned model artifacts: a directory with a manifest, checksums and the pickled heads.

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
                      training ticket for an automatic decision (``triage.core.auto_gate``)
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

Writes are atomic (a hidden temporary directory renamed into place). Loads verify every
checksum *before* anything is unpickled. Two later additions to a saved version replace its
manifest atomically: ``add_onnx_embedder`` (the ONNX body of the same embedder) and
``add_record`` (a record such as ``triage retrain``'s promotion decision, also in the metrics).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from triage.core.auto_gate import FILE as GATE_FILE
from triage.core.auto_gate import FORMAT as GATE_FORMAT
from triage.core.auto_gate import AutoGate, load_gate, save_gate
from triage.core.checksums import sha256_file
from triage.core.decisions import PrecisionCurve
from triage.core.drift import FILE as DRIFT_FILE
from triage.core.drift import FORMAT as DRIFT_FORMAT
from triage.core.drift import HeadReference, load_references, save_references
from triage.core.embeddings import Embedder, embedder_for_artifact
from triage.core.errors import ArtifactError, EmbedderUnavailableError, ModelNotFoundError
from triage.core.features import EMBEDDING_PREFIX
from triage.core.legacy_modules import old_module_names
from triage.core.linear_heads import ARRAYS as LINEAR_ARRAYS
from triage.core.linear_heads import FORMAT as LINEAR_FORMAT
from triage.core.linear_heads import META as LINEAR_META
from triage.core.linear_heads import LinearHeads
from triage.core.model import LazyMapping, TriageModel
from triage.core.neighbours import NeighbourIndex
from triage.core.onnx_embedder import ONNX_DIR, ONNX_MODEL, ONNX_TOKENIZER, OnnxEmbedder
from triage.core.refinement import FILE as REFINEMENT_FILE
from triage.core.refinement import FORMAT as REFINEMENT_FORMAT
from triage.core.refinement import Refinement, load_refinements, save_refinements

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
OPERATING_POINTS = "operating_points.json"
METRICS = "metrics.json"
NEIGHBOURS = "neighbours.npz"
ONNX_ENTRY = "onnx_embedder"
Runtime = Literal["auto", "onnx", "torch"]
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TRACKED_LIBRARIES = (
    "triage",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "joblib",
    "sentence-transformers",
    "transformers",
    "torch",
    "tokenizers",
    "onnx",
    "onnxruntime",
)


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour the artifact depends on."""
    versions = {"python": platform.python_version()}
    for name in _TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


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


def save_model(
    model: TriageModel,
    models_dir: Path,
    *,
    version: str,
    manifest_fields: Mapping[str, Any],
    metrics: Mapping[str, Any],
    model_card: str,
    figures: Mapping[str, bytes] | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> Path:
    """Write ``model`` as ``models_dir/version`` atomically and return that path.

    ``extra_files``: artifact-relative path -> file to copy in (the ONNX body), checksummed
    like every other file.
    """
    check_version_name(version)
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / version
    if final.exists():
        raise ArtifactError(f"{final} already exists; model versions are never overwritten")
    import joblib

    staging = models_dir / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
    try:
        (staging / "heads").mkdir(parents=True)
        for name, head in model.heads.items():
            joblib.dump(head, staging / "heads" / f"{name}.joblib", compress=3)
        linear_entry = {}
        if model.linear is not None:
            files_written = model.linear.save(staging)
            linear_entry = {"linear_heads": {"format": LINEAR_FORMAT, "files": files_written}}
        if model.refinements:
            save_refinements(staging, model.refinements)
            linear_entry["refinement"] = {
                "format": REFINEMENT_FORMAT,
                "file": REFINEMENT_FILE,
                "heads": {
                    name: {
                        "vote_weight": r.vote_weight,
                        "calibrated": r.calibration is not None,
                    }
                    for name, r in model.refinements.items()
                },
            }
        if model.drift_reference is not None:
            save_references(staging, model.drift_reference)
            linear_entry["drift_reference"] = {
                "format": DRIFT_FORMAT,
                "file": DRIFT_FILE,
                "heads": sorted(model.drift_reference),
            }
        if model.gate is not None:
            linear_entry["auto_gate"] = {
                "format": GATE_FORMAT,
                "file": save_gate(staging, model.gate),
            }
        curves = {
            head: {label: curve.to_dict() for label, curve in by_label.items()}
            for head, by_label in model.curves.items()
        }
        (staging / OPERATING_POINTS).write_text(json.dumps(curves, indent=1, sort_keys=True))
        if model.neighbours is not None:
            model.neighbours.save(staging / NEIGHBOURS)
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        (staging / "MODEL_CARD.md").write_text(model_card)
        if figures:
            (staging / "report").mkdir()
            for name, png in figures.items():
                (staging / "report" / Path(name).name).write_bytes(png)
        for relative, source in (extra_files or {}).items():
            target = _inside(staging, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        files = {
            str(path.relative_to(staging)): sha256_file(path)
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "embedder": model.embedder.identity,
            "heads": {name: {"labels": model.labels(name)} for name in model.heads},
            **linear_entry,
            **manifest_fields,
            "files": files,
        }
        _write_synced(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        _fsync_dir(staging)
        os.rename(staging, final)
        _fsync_dir(models_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    model.manifest = manifest
    return final


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if root.resolve() not in target.parents:
        raise ArtifactError(f"{relative!r} is not a path inside the artifact")
    return target


def add_onnx_embedder(
    path: Path, files: Mapping[str, Path], spec: Mapping[str, Any], *, replace: bool = False
) -> None:
    """Store an ONNX body (``embedder/…`` files and their manifest entry) in the saved version
    ``path``.

    The artifact is verified first. Every step leaves a consistent artifact: an export being
    replaced is first dropped from the manifest (the version then loads its training
    embedder), the new files land in ``embedder/`` by a rename, and only then does a manifest
    listing them and their checksums replace the old one.
    """
    manifest = read_manifest(path)
    if spec.get("base", {}).get("weights_sha256") != manifest["embedder"].get("weights_sha256"):
        raise ArtifactError(
            f"{path}: the ONNX body was exported from other weights than the model's embedder"
        )
    if not files or not all(relative.startswith(f"{ONNX_DIR}/") for relative in files):
        raise ArtifactError(f"ONNX files go under {ONNX_DIR}/: {sorted(files)}")
    if ONNX_ENTRY in manifest:
        if not replace:
            raise ArtifactError(f"{path} already has an ONNX embedder (replace it explicitly)")
        manifest = _without_onnx(manifest)
        _replace_manifest(path, manifest)
    staging = path / f".tmp-{ONNX_DIR}-{uuid.uuid4().hex[:8]}"
    try:
        for relative, source in files.items():
            target = _inside(staging, relative.removeprefix(f"{ONNX_DIR}/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        _fsync_dir(staging)
        shutil.rmtree(path / ONNX_DIR, ignore_errors=True)  # unlisted leftovers only
        os.rename(staging, path / ONNX_DIR)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    listed = dict(manifest["files"])
    listed.update({relative: sha256_file(path / relative) for relative in files})
    # The libraries of the export are in the entry itself ("exported_with"); "libraries"
    # stays what the heads were trained with.
    _replace_manifest(
        path, {**manifest, ONNX_ENTRY: dict(spec), "files": dict(sorted(listed.items()))}
    )


def add_record(path: Path, key: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Add ``record`` under ``key`` to a saved version's manifest and to its ``metrics.json``,
    with that file's checksum updated; returns the new manifest.

    The artifact is verified first and a key the manifest already has is refused. Each file is
    replaced atomically, but not the two together (a reader in between would find
    ``metrics.json`` off its checksum): record on a version no service reads yet, as
    ``triage retrain`` does before it moves the version into the models directory.
    """
    manifest = read_manifest(path)
    if key in manifest:
        raise ArtifactError(f"{path / MANIFEST} already has a {key!r} entry")
    metrics_path = path / METRICS
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{metrics_path} is unreadable: {exc}") from exc
    temporary = path / f".{METRICS}.tmp"
    _write_synced(temporary, json.dumps({**metrics, key: record}, indent=2, sort_keys=True))
    os.replace(temporary, metrics_path)
    files = {**manifest["files"], METRICS: sha256_file(metrics_path)}
    updated = {**manifest, key: dict(record), "files": files}
    _replace_manifest(path, updated)
    return updated


def remove_onnx_embedder(path: Path) -> None:
    """Drop the ONNX body from a saved version: it then loads the embedder it was trained with."""
    manifest = read_manifest(path)
    if ONNX_ENTRY in manifest:
        _replace_manifest(path, _without_onnx(manifest))
    shutil.rmtree(path / ONNX_DIR, ignore_errors=True)


def _without_onnx(manifest: Mapping[str, Any]) -> dict[str, Any]:
    files = {k: v for k, v in manifest["files"].items() if not k.startswith(f"{ONNX_DIR}/")}
    return {**{k: v for k, v in manifest.items() if k != ONNX_ENTRY}, "files": files}


def _replace_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    temporary = path / f".{MANIFEST}.tmp"
    _write_synced(temporary, json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(temporary, path / MANIFEST)
    _fsync_dir(path)


def _write_synced(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an artifact directory, after checking every file's checksum."""
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path} is missing: not a triage model artifact")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{manifest_path} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{manifest_path}: unsupported format version "
            f"{manifest.get('format_version') if isinstance(manifest, dict) else None!r} "
            f"(this triage reads {FORMAT_VERSION}); retrain it with 'triage train'"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{manifest_path} lists no files")
    root = path.resolve()
    for relative, expected in files.items():
        file_path = (path / relative).resolve()
        if root not in file_path.parents:
            raise ArtifactError(f"{manifest_path} names a file outside the artifact: {relative}")
        if not file_path.is_file():
            raise ArtifactError(f"{path / relative} is missing (listed in {manifest_path})")
        if sha256_file(file_path) != expected:
            raise ArtifactError(
                f"{path / relative} does not match its checksum in {manifest_path}: "
                "the file is corrupt or was modified; retrain or restore the artifact"
            )
    required = [f"heads/{name}.joblib" for name in manifest.get("heads", {})] + [OPERATING_POINTS]
    if ONNX_ENTRY in manifest:
        required += [ONNX_MODEL, ONNX_TOKENIZER]
    if "linear_heads" in manifest:
        required += [LINEAR_ARRAYS, LINEAR_META]
    if "refinement" in manifest:
        required.append(REFINEMENT_FILE)
    if "drift_reference" in manifest:
        required.append(DRIFT_FILE)
    if "auto_gate" in manifest:
        required.append(GATE_FILE)
    for relative in required:
        if relative not in files:
            raise ArtifactError(f"{manifest_path} lists no checksum for {relative}")
    _check_library_compatibility(manifest, manifest_path)
    return manifest


def _check_library_compatibility(manifest: Mapping[str, Any], manifest_path: Path) -> None:
    trained = str(manifest.get("libraries", {}).get("scikit-learn", ""))
    running = metadata.version("scikit-learn")
    if trained.split(".")[:2] != running.split(".")[:2]:
        raise ArtifactError(
            f"{manifest_path}: trained with scikit-learn {trained or '?'} but running "
            f"{running}; pickled heads are not portable across versions, retrain the model"
        )


def artifact_embedder(
    path: Path,
    manifest: Mapping[str, Any],
    *,
    embedder_path: Path | None = None,
    threads: int = 2,
    runtime: Runtime = "auto",
) -> Embedder:
    """The body to serve a verified artifact with: its ONNX export when it has one
    (``runtime="auto"``), else the embedder it was trained with, checked to be the same.

    ``runtime="torch"`` forces the training embedder; ``"onnx"`` fails without an export.
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
        manifest["embedder"], override_path=embedder_path, artifact_dir=path, threads=threads
    )


def load_model(
    path: Path,
    *,
    embedder_path: Path | None = None,
    threads: int = 2,
    runtime: Runtime = "auto",
    compiled_heads: bool = True,
) -> TriageModel:
    """Load and verify an artifact directory, with the embedder it was trained with
    (its torch-free ONNX export when the artifact has one; see ``artifact_embedder``).

    ``compiled_heads``: answer with the heads' NumPy form when the artifact has one (the
    pickled pipelines are then read only for explanations); False reads the pipelines.
    """
    manifest = read_manifest(path)
    if manifest.get("version") != path.name:
        raise ArtifactError(
            f"{path / MANIFEST} describes version {manifest.get('version')!r}, not {path.name!r}: "
            "artifact directories must not be renamed"
        )
    linear = _load_linear(path, manifest) if compiled_heads else None
    if linear is None:
        heads: Mapping[str, Any] = {name: _load_head(path, name) for name in manifest["heads"]}
        labels_of = {name: [str(c) for c in head.classes_] for name, head in heads.items()}
        dims = {
            name: sum(str(c).startswith(EMBEDDING_PREFIX) for c in head.feature_names_in_)
            for name, head in heads.items()
        }
    else:
        # The pickles are read only if an explanation is asked for.
        heads = LazyMapping(list(manifest["heads"]), lambda name: _load_head(path, name))
        labels_of = {name: linear.labels(name) for name in manifest["heads"]}
        dims = {name: linear.heads[name].embedding_dim or 0 for name in manifest["heads"]}
    for name in manifest["heads"]:
        if labels_of[name] != manifest["heads"][name]["labels"]:
            raise ArtifactError(
                f"{path / 'heads' / name}: labels differ from those in the manifest"
            )
    embedder = artifact_embedder(
        path,
        manifest,
        embedder_path=embedder_path,
        threads=threads,
        runtime=runtime,
    )
    for name, expected in dims.items():
        if expected != embedder.dim:
            raise ArtifactError(
                f"{path / 'heads' / name} expects {expected}-dimensional embeddings "
                f"but the embedder named in {path / MANIFEST} gives {embedder.dim}"
            )
    neighbours = None
    if NEIGHBOURS in manifest["files"]:
        try:
            neighbours = NeighbourIndex.load(path / NEIGHBOURS)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{path / NEIGHBOURS} cannot be loaded: {exc}") from exc
        if neighbours.dim != embedder.dim:
            raise ArtifactError(f"{path / NEIGHBOURS} has embeddings of another dimension")
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path / DRIFT_FILE} cannot be loaded: {exc}") from exc


def _load_gate(path: Path, manifest: Mapping[str, Any]) -> AutoGate | None:
    entry = manifest.get("auto_gate")
    if entry is None:
        return None  # trained before the gate existed: decided by the thresholds alone
    if entry.get("format") != GATE_FORMAT:
        raise ArtifactError(
            f"{path / GATE_FILE}: auto gate format {entry.get('format')!r}, this triage reads "
            f"{GATE_FORMAT}; retrain it with 'triage train'"
        )
    try:
        return load_gate(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path / GATE_FILE} cannot be loaded: {exc}") from exc


def _load_head(path: Path, name: str) -> Any:
    import joblib  # with scikit-learn, SciPy and pandas, which unpickling the head imports

    head_path = path / "heads" / f"{name}.joblib"
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
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
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{curves_path} is missing or malformed: {exc}") from exc
    return curves
