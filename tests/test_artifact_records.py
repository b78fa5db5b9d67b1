"""A record added to a saved version lands in its manifest and metrics, checksums intact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage.core.artifacts import add_record, load_model, read_manifest
from triage.core.errors import ArtifactError


@pytest.fixture
def copy_of(artifact_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models" / artifact_dir.name
    shutil.copytree(artifact_dir, target)
    return target


def test_a_record_is_in_the_manifest_and_the_metrics_and_the_artifact_still_verifies(
    copy_of: Path,
) -> None:
    before = json.loads((copy_of / "metrics.json").read_text())
    add_record(copy_of, "retrain", {"decision": "refused", "reason": "tier got worse"})
    manifest = read_manifest(copy_of)  # every checksum, metrics.json's new one included
    assert manifest["retrain"] == {"decision": "refused", "reason": "tier got worse"}
    metrics = json.loads((copy_of / "metrics.json").read_text())
    assert metrics == {**before, "retrain": manifest["retrain"]}
    assert load_model(copy_of).version == copy_of.name
    assert not list(copy_of.glob(".*.tmp"))


def test_a_record_never_replaces_a_manifest_entry(copy_of: Path) -> None:
    with pytest.raises(ArtifactError, match="already has a 'heads' entry"):
        add_record(copy_of, "heads", {})
    add_record(copy_of, "retrain", {"decision": "promoted"})
    with pytest.raises(ArtifactError, match="already has a 'retrain' entry"):
        add_record(copy_of, "retrain", {"decision": "refused"})
    assert read_manifest(copy_of)["retrain"] == {"decision": "promoted"}
