"""The manifest of a saved version: what it records, how it is written, how it is verified.

``manifest.json`` holds the format version, the library versions, the heads and their labels,
the embedder's identity, an entry per optional component (``linear_heads``, ``refinement``,
``drift_reference``, ``auto_gate``, ``onnx_embedder``), the fields training adds (training
data, columns, summary) and, under ``files``, the sha256 of every other file of the version.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from triage.core.artifacts.layout import MANIFEST, OPERATING_POINTS, head_file
from triage.core.atomic import replace_text, write_synced
from triage.core.auto_gate import ARRAYS as GATE_ARRAYS
from triage.core.auto_gate import FILE as GATE_FILE
from triage.core.checksums import sha256_file
from triage.core.drift import FILE as DRIFT_FILE
from triage.core.errors import ArtifactError
from triage.core.linear_heads import ARRAYS as LINEAR_ARRAYS
from triage.core.linear_heads import META as LINEAR_META
from triage.core.onnx_embedder import ONNX_DIR, ONNX_MODEL, ONNX_TOKENIZER
from triage.core.refinement import FILE as REFINEMENT_FILE

FORMAT_VERSION = 2
ONNX_ENTRY = "onnx_embedder"
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


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by path relative to it, sorted."""
    return {
        str(path.relative_to(root)): sha256_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest of a version being staged (flushed to the disk)."""
    write_synced(path / MANIFEST, _dumps(manifest))


def replace_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Replace the manifest of a saved version atomically."""
    replace_text(path / MANIFEST, _dumps(manifest))


def _dumps(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True)


def without_onnx(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` without its ONNX body: neither the entry nor the files' checksums."""
    files = {k: v for k, v in manifest["files"].items() if not k.startswith(f"{ONNX_DIR}/")}
    return {**{k: v for k, v in manifest.items() if k != ONNX_ENTRY}, "files": files}


def checksum_mismatch(file: Path, manifest_path: Path) -> ArtifactError:
    """The error for a file whose bytes are not those its manifest lists."""
    return ArtifactError(
        f"{file} does not match its checksum in {manifest_path}: "
        "the file is corrupt or was modified; retrain or restore the artifact"
    )


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of an artifact directory, after checking every file's checksum."""
    manifest_path = path / MANIFEST
    manifest = _parse(manifest_path)
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{manifest_path} lists no files")
    _verify_checksums(path, files, manifest_path)
    for relative in _required_files(manifest):
        if relative not in files:
            raise ArtifactError(f"{manifest_path} lists no checksum for {relative}")
    _check_library_compatibility(manifest, manifest_path)
    return manifest


def _parse(manifest_path: Path) -> dict[str, Any]:
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
    return manifest


def _verify_checksums(path: Path, files: Mapping[str, Any], manifest_path: Path) -> None:
    root = path.resolve()
    for relative, expected in files.items():
        file_path = (path / relative).resolve()
        if root not in file_path.parents:
            raise ArtifactError(f"{manifest_path} names a file outside the artifact: {relative}")
        if not file_path.is_file():
            raise ArtifactError(f"{path / relative} is missing (listed in {manifest_path})")
        if sha256_file(file_path) != expected:
            raise checksum_mismatch(path / relative, manifest_path)


def _required_files(manifest: Mapping[str, Any]) -> list[str]:
    """The files the manifest's entries need, each of which must have a checksum."""
    required = [head_file(name) for name in manifest.get("heads", {})] + [OPERATING_POINTS]
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
        if manifest["auto_gate"].get("format", 1) >= 2:
            required.append(GATE_ARRAYS)
    return required


def _check_library_compatibility(manifest: Mapping[str, Any], manifest_path: Path) -> None:
    trained = str(manifest.get("libraries", {}).get("scikit-learn", ""))
    running = metadata.version("scikit-learn")
    if trained.split(".")[:2] != running.split(".")[:2]:
        raise ArtifactError(
            f"{manifest_path}: trained with scikit-learn {trained or '?'} but running "
            f"{running}; pickled heads are not portable across versions, retrain the model"
        )
