"""Later additions to a saved version, each replacing its manifest atomically.

``add_onnx_embedder`` stores the ONNX body of the embedder the model was trained with,
``remove_onnx_embedder`` drops it, and ``add_record`` adds a record such as ``triage
retrain``'s promotion decision to the manifest and the metrics.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from triage.core.artifacts.layout import MANIFEST, METRICS, path_inside
from triage.core.artifacts.load import read_metrics
from triage.core.artifacts.manifest import ONNX_ENTRY, read_manifest, replace_manifest, without_onnx
from triage.core.atomic import publish_dir, replace_text, staging_dir
from triage.core.checksums import sha256_file
from triage.core.errors import ArtifactError
from triage.core.onnx_embedder import ONNX_DIR


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
        manifest = without_onnx(manifest)
        replace_manifest(path, manifest)
    with staging_dir(path / ONNX_DIR) as staging:
        for relative, source in files.items():
            target = path_inside(staging, relative.removeprefix(f"{ONNX_DIR}/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        shutil.rmtree(path / ONNX_DIR, ignore_errors=True)  # unlisted leftovers only
        publish_dir(staging, path / ONNX_DIR)
    listed = dict(manifest["files"])
    listed.update({relative: sha256_file(path / relative) for relative in files})
    # The libraries of the export are in the entry itself ("exported_with"); "libraries"
    # stays what the heads were trained with.
    replace_manifest(
        path, {**manifest, ONNX_ENTRY: dict(spec), "files": dict(sorted(listed.items()))}
    )


def remove_onnx_embedder(path: Path) -> None:
    """Drop the ONNX body from a saved version: it then loads the embedder it was trained with."""
    manifest = read_manifest(path)
    if ONNX_ENTRY in manifest:
        replace_manifest(path, without_onnx(manifest))
    shutil.rmtree(path / ONNX_DIR, ignore_errors=True)


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
    metrics = read_metrics(path, manifest)
    metrics_path = path / METRICS
    replace_text(metrics_path, json.dumps({**metrics, key: record}, indent=2, sort_keys=True))
    files = {**manifest["files"], METRICS: sha256_file(metrics_path)}
    updated = {**manifest, key: dict(record), "files": files}
    replace_manifest(path, updated)
    return updated
