"""Drift: the PSI, the reference stored at training, the prediction window and the verdict."""

import json
import math
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from triage.core.artifacts import MANIFEST, load_model, read_manifest
from triage.core.drift import (
    FILE,
    DriftConfig,
    DriftStatus,
    HeadReference,
    PredictionWindow,
    WindowCounts,
    compare,
    load_references,
    psi,
    save_references,
)
from triage.core.errors import ArtifactError
from triage.settings import Settings
from triage.training.train import TrainResult

REFERENCE = HeadReference(
    labels=("a", "b"),
    predicted_shares=(0.5, 0.5),
    label_shares=(0.6, 0.4),
    mean_confidence=0.8,
    rows=100,
)


def test_psi_of_known_shares() -> None:
    # 0.3 ln(0.8 / 0.5) + 0.3 ln(0.5 / 0.2) = 0.3 ln 4
    assert psi([0.5, 0.5], [0.8, 0.2]) == pytest.approx(0.3 * math.log(4), abs=1e-12)
    # 0.1 ln(0.4 / 0.3) - 0.1 ln(0.3 / 0.4) ... three labels, by hand
    expected = 0.1 * math.log(0.4 / 0.3) + 0.0 + -0.1 * math.log(0.2 / 0.3)
    assert psi([0.3, 0.4, 0.3], [0.4, 0.4, 0.2]) == pytest.approx(expected, abs=1e-12)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_takes_counts_and_is_symmetric() -> None:
    assert psi([1, 1], [80, 20]) == pytest.approx(psi([0.5, 0.5], [0.8, 0.2]), abs=1e-12)
    assert psi([0.7, 0.3], [0.4, 0.6]) == pytest.approx(psi([0.4, 0.6], [0.7, 0.3]), abs=1e-12)


def test_an_empty_label_gives_a_large_finite_psi() -> None:
    value = psi([0.5, 0.5], [1.0, 0.0])
    # The empty side counts as 1e-4: 0.5 ln(0.5 / 1e-4) + 0.5 ln(1 / 0.5), to rounding.
    assert math.isfinite(value)
    assert value == pytest.approx(0.5 * math.log(0.5 / 1e-4) + 0.5 * math.log(2), rel=1e-3)


@pytest.mark.parametrize(
    ("reference", "current"),
    [([0.5, 0.5], [1, 0, 0]), ([], []), ([0.5, 0.5], [-1, 2]), ([0, 0], [1, 1])],
)
def test_psi_refuses_shares_it_cannot_compare(reference: list[float], current: list[float]) -> None:
    with pytest.raises(ValueError, match="shares"):
        psi(reference, current)


def test_a_reference_counts_predicted_and_true_labels_and_mean_confidence() -> None:
    proba = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    reference = HeadReference.from_predictions(["x", "y", "z"], proba, ["x", "x", "y", "z"])
    assert reference.predicted_shares == (0.5, 0.25, 0.25)
    assert reference.label_shares == (0.5, 0.25, 0.25)
    assert reference.mean_confidence == pytest.approx((0.9 + 0.7 + 0.6 + 0.8) / 4)
    assert reference.rows == 4
    shifted = HeadReference.from_predictions(["x", "y", "z"], proba, ["y", "y", "y", "z"])
    assert shifted.predicted_shares == reference.predicted_shares
    assert shifted.label_shares == (0.0, 0.75, 0.25)
    assert HeadReference.from_dict(json.loads(json.dumps(reference.to_dict()))) == reference


def test_a_reference_that_does_not_add_up_is_refused() -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        HeadReference(("a", "b"), (0.5, 0.6), (0.5, 0.5), 0.5, 10)
    with pytest.raises(ValueError, match="distinct"):
        HeadReference(("a", "a"), (0.5, 0.5), (0.5, 0.5), 0.5, 10)


def test_references_round_trip_through_their_file(tmp_path: Path) -> None:
    save_references(tmp_path, {"tier": REFERENCE})
    assert load_references(tmp_path) == {"tier": REFERENCE}
    data = json.loads((tmp_path / FILE).read_text())
    (tmp_path / FILE).write_text(json.dumps({**data, "format": 99}))
    with pytest.raises(ValueError, match="format"):
        load_references(tmp_path)


def test_the_window_keeps_only_the_latest_predictions() -> None:
    window = PredictionWindow({"tier": ["L1", "L2"], "category": ["a", "b", "c"]}, size=3)
    answers = [
        {"tier": ("L1", 0.9), "category": ("a", 0.5)},
        {"tier": ("L1", 0.8), "category": ("b", 0.6)},
        {"tier": ("L2", 0.7), "category": ("b", 0.7)},
        {"tier": ("L2", 0.4), "category": ("c", 0.2)},
    ]
    window.observe(answers[:2])
    tier = window.snapshot()["tier"]
    assert tier.counts == (2, 0)
    assert tier.mean_confidence == pytest.approx(0.85)
    window.observe(answers[2:])  # the first answer falls out
    snapshot = window.snapshot()
    assert snapshot["tier"].counts == (1, 2)
    assert snapshot["tier"].observed == 3
    assert snapshot["tier"].confidence_sum == pytest.approx(0.8 + 0.7 + 0.4)
    assert snapshot["category"].counts == (0, 2, 1)
    assert snapshot["category"].mean_confidence == pytest.approx((0.6 + 0.7 + 0.2) / 3)


def test_the_window_mean_stays_exact_over_many_evictions() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.random(50_000)
    labels = rng.integers(0, 4, size=confidences.size)
    window = PredictionWindow({"h": ["0", "1", "2", "3"]}, size=1_000)
    window.observe([{"h": (str(label), c)} for label, c in zip(labels, confidences, strict=True)])
    counts = window.snapshot()["h"]
    assert counts.counts == tuple(np.bincount(labels[-1_000:], minlength=4))
    assert counts.mean_confidence == pytest.approx(confidences[-1_000:].mean(), abs=1e-9)


def test_the_window_stays_consistent_under_concurrent_observers() -> None:
    window = PredictionWindow({"h": ["a", "b"]}, size=500)

    def observe(label: str, confidence: float) -> None:
        for _ in range(5_000):
            window.observe([{"h": (label, confidence)}])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(target=observe, args=args) for args in [("a", 0.5), ("b", 0.5)] * 4
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    counts = window.snapshot()["h"]
    assert counts.observed == 500
    assert counts.confidence_sum == pytest.approx(250.0)


CONFIG = DriftConfig(window=1_000, threshold=0.2, min_predictions=100)


def _counts(a: int, b: int, confidence: float = 0.75) -> WindowCounts:
    return WindowCounts(("a", "b"), (a, b), confidence * (a + b))


def test_the_verdict_follows_the_threshold() -> None:
    stable = compare(_counts(52, 48), REFERENCE, CONFIG)
    assert stable.status is DriftStatus.STABLE
    assert not stable.drifted
    assert stable.psi == pytest.approx(psi([0.5, 0.5], [0.52, 0.48]))
    assert compare(_counts(65, 35), REFERENCE, CONFIG).status is DriftStatus.STABLE  # 0.093
    moderate = compare(_counts(67, 33), REFERENCE, CONFIG)
    assert moderate.psi == pytest.approx(0.17 * math.log(0.67 / 0.33))
    assert moderate.status is DriftStatus.MODERATE
    assert not moderate.drifted
    drifted = compare(_counts(90, 10), REFERENCE, CONFIG)
    assert drifted.status is DriftStatus.DRIFTED
    assert drifted.drifted
    assert drifted.mean_confidence == pytest.approx(0.75)
    assert drifted.reference_mean_confidence == 0.8
    assert drifted.labels["a"].current == pytest.approx(0.9)
    assert drifted.labels["a"].reference == 0.5
    assert drifted.labels["a"].training == 0.6


def test_too_few_predictions_are_insufficient_data_not_an_alarm() -> None:
    early = compare(_counts(10, 0), REFERENCE, CONFIG)
    assert early.status is DriftStatus.INSUFFICIENT_DATA
    assert not early.drifted
    assert early.psi is not None
    assert early.psi > 0.2
    empty = compare(_counts(0, 0), REFERENCE, CONFIG)
    assert empty.status is DriftStatus.INSUFFICIENT_DATA
    assert empty.psi is None
    assert empty.mean_confidence is None
    assert empty.labels["a"].current is None


def test_heads_with_many_labels_wait_longer_for_a_verdict() -> None:
    labels = tuple(f"c{i}" for i in range(50))
    share = (1 / 50,) * 50
    reference = HeadReference(labels, share, share, 0.5, 1_000)
    # 50 labels: an unchanged population scores about 49 / n by noise alone.
    needed = math.ceil(5 * 49 / 0.2)
    rng = np.random.default_rng(1)
    sample = np.bincount(rng.integers(0, 50, size=300), minlength=50)
    early = compare(WindowCounts(labels, tuple(sample), 150.0), reference, CONFIG)
    assert early.min_predictions == needed
    assert early.psi is not None
    assert early.psi > 0.1  # what a verdict at 300 predictions would have judged on
    assert early.status is DriftStatus.INSUFFICIENT_DATA
    sample = np.bincount(rng.integers(0, 50, size=needed), minlength=50)
    late = compare(WindowCounts(labels, tuple(sample), needed / 2), reference, CONFIG)
    assert late.status is DriftStatus.STABLE


def test_without_a_reference_the_status_says_so() -> None:
    drift = compare(_counts(500, 500), None, CONFIG)
    assert drift.status is DriftStatus.NO_REFERENCE
    assert drift.psi is None
    assert drift.labels["a"].current == 0.5
    assert drift.labels["a"].reference is None


def test_a_drift_config_that_could_never_judge_is_refused() -> None:
    with pytest.raises(ValueError, match="min_predictions"):
        DriftConfig(window=100, min_predictions=200)
    with pytest.raises(ValueError, match="threshold"):
        DriftConfig(threshold=0)
    with pytest.raises(ValidationError, match="no head could ever get a verdict"):
        Settings(drift_window=100, drift_min_predictions=200)
    assert Settings(drift_window=100, drift_min_predictions=100).drift() == DriftConfig(
        window=100, min_predictions=100
    )


def test_training_stores_the_out_of_fold_reference_with_a_checksum(
    trained: TrainResult, artifact_dir: Path
) -> None:
    manifest = read_manifest(artifact_dir)
    assert manifest["drift_reference"] == {
        "format": 1,
        "file": FILE,
        "heads": ["category", "tier"],
    }
    assert FILE in manifest["files"]
    stored = trained.model.drift_reference
    assert stored is not None
    assert load_model(artifact_dir).drift_reference == stored
    tier = stored["tier"]
    assert list(tier.labels) == trained.model.labels("tier")
    split = trained.metrics["split"]
    # Refit by default: the served heads, and their out-of-fold reference, saw every ticket.
    n_train = split["n_train"] + split["n_test"] if split.get("refit") else split["n_train"]
    assert tier.rows == n_train
    for shares in (tier.label_shares, tier.predicted_shares):
        assert sum(shares) == pytest.approx(1)
        assert all(abs(s * n_train - round(s * n_train)) < 1e-9 for s in shares)
    # The sample data's tier mix is 275 / 265 / 120 (L1, L2, L3).
    np.testing.assert_allclose(tier.label_shares, [275 / 660, 265 / 660, 120 / 660], atol=0.03)
    assert tier.predicted_shares != tier.label_shares  # what the model said, not the truth
    # Out of fold: the heads are less sure than on rows they were fitted on (0.9 and more).
    assert 0.3 < tier.mean_confidence < 0.85


def test_a_tampered_reference_is_refused(artifact_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / artifact_dir.name
    shutil.copytree(artifact_dir, copy)
    data = json.loads((copy / FILE).read_text())
    data["heads"]["tier"]["predicted_shares"] = [1.0, 0.0, 0.0]
    (copy / FILE).write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="checksum"):
        load_model(copy)


def test_a_manifest_naming_a_reference_without_its_checksum_is_refused(
    artifact_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / artifact_dir.name
    shutil.copytree(artifact_dir, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["files"][FILE]
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=FILE):
        load_model(copy)
