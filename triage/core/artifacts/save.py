"""Writing a trained model as a new version, atomically.

Everything is written into a hidden staging directory beside the versions; the manifest,
listing every other file's checksum, is written last, and the directory is then renamed into
place. A reader never sees a half-written version, and an interrupted save leaves only a hidden
directory that is not a version.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.core.artifacts.layout import (
    HEADS_DIR,
    METRICS,
    MODEL_CARD,
    NEIGHBOURS,
    OPERATING_POINTS,
    REPORT_DIR,
    check_version_name,
    head_file,
    path_inside,
)
from triage.core.artifacts.manifest import (
    FORMAT_VERSION,
    checksums,
    library_versions,
    write_manifest,
)
from triage.core.atomic import publish_dir, staging_dir
from triage.core.auto_gate import save_gate
from triage.core.drift import FILE as DRIFT_FILE
from triage.core.drift import FORMAT as DRIFT_FORMAT
from triage.core.drift import save_references
from triage.core.errors import ArtifactError
from triage.core.linear_heads import FORMAT as LINEAR_FORMAT
from triage.core.model import TriageModel
from triage.core.refinement import FILE as REFINEMENT_FILE
from triage.core.refinement import FORMAT as REFINEMENT_FORMAT
from triage.core.refinement import save_refinements


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
    with staging_dir(final) as staging:
        entries = _save_components(staging, model)
        _save_documents(staging, metrics, model_card, figures or {}, extra_files or {})
        manifest = {
            "format_version": FORMAT_VERSION,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "embedder": model.embedder.identity,
            "heads": {name: {"labels": model.labels(name)} for name in model.heads},
            **entries,
            **manifest_fields,
            "files": checksums(staging),
        }
        write_manifest(staging, manifest)
        publish_dir(staging, final)
    model.manifest = manifest
    return final


def _save_components(staging: Path, model: TriageModel) -> dict[str, Any]:
    """Write what the model serves with; returns the manifest entries of the optional parts."""
    import joblib

    (staging / HEADS_DIR).mkdir()
    for name, head in model.heads.items():
        joblib.dump(head, staging / head_file(name), compress=3)
    entries: dict[str, Any] = {}
    if model.linear is not None:
        files_written = model.linear.save(staging)
        entries["linear_heads"] = {"format": LINEAR_FORMAT, "files": files_written}
    if model.refinements:
        save_refinements(staging, model.refinements)
        entries["refinement"] = {
            "format": REFINEMENT_FORMAT,
            "file": REFINEMENT_FILE,
            "heads": {
                name: {"vote_weight": r.vote_weight, "calibrated": r.calibration is not None}
                for name, r in model.refinements.items()
            },
        }
    if model.drift_reference is not None:
        save_references(staging, model.drift_reference)
        entries["drift_reference"] = {
            "format": DRIFT_FORMAT,
            "file": DRIFT_FILE,
            "heads": sorted(model.drift_reference),
        }
    if model.gate is not None:
        gate_files = save_gate(staging, model.gate)
        entries["auto_gate"] = {"format": model.gate.format, "file": gate_files[0]}
        if len(gate_files) > 1:
            entries["auto_gate"]["arrays"] = gate_files[1]
    curves = {
        head: {label: curve.to_dict() for label, curve in by_label.items()}
        for head, by_label in model.curves.items()
    }
    (staging / OPERATING_POINTS).write_text(json.dumps(curves, indent=1, sort_keys=True))
    if model.neighbours is not None:
        model.neighbours.save(staging / NEIGHBOURS)
    return entries


def _save_documents(
    staging: Path,
    metrics: Mapping[str, Any],
    model_card: str,
    figures: Mapping[str, bytes],
    extra_files: Mapping[str, Path],
) -> None:
    """Write what people read (metrics, model card, figures) and copy in ``extra_files``."""
    (staging / METRICS).write_text(json.dumps(metrics, indent=2, sort_keys=True))
    (staging / MODEL_CARD).write_text(model_card)
    if figures:
        (staging / REPORT_DIR).mkdir()
        for name, png in figures.items():
            (staging / REPORT_DIR / Path(name).name).write_bytes(png)
    for relative, source in extra_files.items():
        target = path_inside(staging, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
