import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.core.artifacts import (
    MANIFEST,
    check_version_name,
    list_versions,
    load_model,
    read_manifest,
    read_metrics,
    resolve_model_dir,
    save_model,
)
from triage.core.errors import ArtifactError, ModelNotFoundError
from triage.training.train import TrainResult

TEXTS = ["Printer on 3rd floor jams", "Lupa password email, akun terkunci", "VPN drops every hour"]


@pytest.fixture
def copy_of(artifact_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "models" / artifact_dir.name
    shutil.copytree(artifact_dir, target)
    return target


def test_a_saved_model_loads_and_predicts_exactly_the_same(
    trained: TrainResult, artifact_dir: Path
) -> None:
    loaded = load_model(artifact_dir)
    before = trained.model.predict_proba(TEXTS)
    after = loaded.predict_proba(TEXTS)
    for head in before:
        np.testing.assert_allclose(before[head], after[head])
    assert loaded.version == artifact_dir.name


def test_manifest_records_what_is_needed_to_trust_the_artifact(artifact_dir: Path) -> None:
    manifest = read_manifest(artifact_dir)
    assert manifest["format_version"] == 2
    assert {"scikit-learn", "numpy", "python", "triage"} <= set(manifest["libraries"])
    assert manifest["heads"]["tier"]["labels"] == ["L1", "L2", "L3"]
    assert len(manifest["heads"]["category"]["labels"]) >= 8
    assert manifest["embedder"]["kind"] == "hashing"
    assert len(manifest["training_data"]["sha256"]) == 64
    assert {name for name in manifest["files"] if not name.startswith("report/")} == {
        "heads/category.joblib",
        "heads/tier.joblib",
        "heads/linear.npz",
        "heads/linear.json",
        "heads/refinement.json",
        "drift_reference.json",
        "auto_gate.json",
        "auto_gate.npz",
        "operating_points.json",
        "neighbours.npz",
        "metrics.json",
        "MODEL_CARD.md",
    }
    assert set(manifest["refinement"]["heads"]) == {"category", "tier"}


def test_a_tampered_head_is_refused_naming_the_file(copy_of: Path) -> None:
    head = copy_of / "heads" / "tier.joblib"
    data = bytearray(head.read_bytes())
    data[len(data) // 2] ^= 0xFF
    head.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"heads/tier.joblib does not match its checksum"):
        load_model(copy_of)


def test_a_truncated_or_missing_file_is_refused(copy_of: Path) -> None:
    metrics = copy_of / "metrics.json"
    metrics.write_bytes(metrics.read_bytes()[:10])
    with pytest.raises(ArtifactError, match="metrics.json does not match"):
        read_manifest(copy_of)
    (copy_of / "heads" / "category.joblib").unlink()
    with pytest.raises(ArtifactError, match=r"heads/category.joblib is missing"):
        read_manifest(copy_of)


def test_the_gate_arrays_are_checksummed_and_required(copy_of: Path) -> None:
    manifest = json.loads((copy_of / MANIFEST).read_text())
    assert manifest["auto_gate"] == {
        "format": 2,
        "file": "auto_gate.json",
        "arrays": "auto_gate.npz",
    }
    loaded = load_model(copy_of)
    assert loaded.gate is not None
    assert set(loaded.gate.distances) == {"category", "tier"}
    del manifest["files"]["auto_gate.npz"]
    (copy_of / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="lists no checksum for auto_gate.npz"):
        read_manifest(copy_of)


def test_metrics_are_read_only_with_the_bytes_the_manifest_lists(copy_of: Path) -> None:
    manifest = read_manifest(copy_of)
    metrics = read_metrics(copy_of, manifest)
    assert metrics == json.loads((copy_of / "metrics.json").read_text())
    assert set(metrics["heads"]) == {"category", "tier"}
    # Changed after its manifest was read and verified: refused, not served.
    (copy_of / "metrics.json").write_text(json.dumps({**metrics, "heads": {}}))
    with pytest.raises(ArtifactError, match="metrics.json does not match its checksum"):
        read_metrics(copy_of, manifest)


def test_a_missing_or_garbled_manifest_is_refused(copy_of: Path) -> None:
    (copy_of / MANIFEST).write_text("{not json")
    with pytest.raises(ArtifactError, match="manifest.json is unreadable"):
        load_model(copy_of)
    (copy_of / MANIFEST).unlink()
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        load_model(copy_of)


def test_manifest_paths_cannot_point_outside_the_artifact(copy_of: Path) -> None:
    manifest = json.loads((copy_of / MANIFEST).read_text())
    manifest["files"]["../../etc/passwd"] = "0" * 64
    (copy_of / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="outside the artifact"):
        read_manifest(copy_of)


def test_an_artifact_from_another_scikit_learn_is_refused(copy_of: Path) -> None:
    manifest = json.loads((copy_of / MANIFEST).read_text())
    manifest["libraries"]["scikit-learn"] = "0.24.2"
    (copy_of / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="trained with scikit-learn 0.24.2"):
        read_manifest(copy_of)


def test_a_different_embedder_is_refused(copy_of: Path) -> None:
    manifest = json.loads((copy_of / MANIFEST).read_text())
    manifest["embedder"]["dim"] = 999
    (copy_of / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="expects 128-dimensional embeddings.*gives 999"):
        load_model(copy_of)


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "", "x" * 101, "v1;rm"])
def test_version_names_cannot_escape_the_models_directory(name: str) -> None:
    with pytest.raises(ModelNotFoundError, match="invalid model version"):
        check_version_name(name)


def test_newest_version_is_served_unless_one_is_named(copy_of: Path) -> None:
    models_dir = copy_of.parent
    older = models_dir / "20000101-000000-aaaaaaaa"
    shutil.copytree(copy_of, older)
    (models_dir / ".tmp-20990101-000000-x").mkdir()  # an interrupted save is ignored
    assert list_versions(models_dir) == [older.name, copy_of.name]
    assert resolve_model_dir(models_dir) == copy_of
    assert resolve_model_dir(models_dir, older.name) == older
    with pytest.raises(ModelNotFoundError, match="not found.*available: 2000"):
        resolve_model_dir(models_dir, "19990101-000000-bbbbbbbb")


def test_no_model_at_all_says_how_to_train_one(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="triage train --data"):
        resolve_model_dir(tmp_path / "empty")


def test_saving_is_atomic_and_never_overwrites(trained: TrainResult, tmp_path: Path) -> None:
    # Metrics that cannot be serialised make the save fail after the heads were written.
    with pytest.raises(TypeError):
        save_model(
            trained.model,
            tmp_path,
            version="v1",
            manifest_fields={},
            metrics={"unserialisable": object()},
            model_card="card",
        )
    assert list(tmp_path.iterdir()) == []
    save_model(trained.model, tmp_path, version="v1", manifest_fields={}, metrics={}, model_card="")
    with pytest.raises(ArtifactError, match="never overwritten"):
        save_model(
            trained.model, tmp_path, version="v1", manifest_fields={}, metrics={}, model_card=""
        )


class _Payload:
    """A pickle that runs code when loaded: it creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("compiled_heads", [True, False])
def test_a_replaced_pickle_is_refused_before_it_is_unpickled(
    copy_of: Path, tmp_path: Path, compiled_heads: bool
) -> None:
    import joblib

    marker = tmp_path / "code-ran"
    head = copy_of / "heads" / "tier.joblib"
    joblib.dump(_Payload(marker), head)
    with pytest.raises(ArtifactError, match=r"heads/tier.joblib does not match its checksum"):
        load_model(copy_of, compiled_heads=compiled_heads)
    assert not marker.exists()
    joblib.load(head)  # what the checksum stood in the way of
    assert marker.exists()
