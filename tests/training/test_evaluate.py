import numpy as np
import pytest

from triage.training.evaluate import calibration, coverage_curve, head_report

LABELS = ["a", "b"]


def test_perfect_confident_predictions_have_zero_calibration_error() -> None:
    proba = np.array([[1.0, 0.0], [0.0, 1.0]])
    result = calibration(["a", "b"], proba, LABELS)
    assert result["ece"] == 0.0
    assert result["brier"] == 0.0


def test_overconfident_wrong_predictions_have_large_calibration_error() -> None:
    proba = np.array([[0.95, 0.05]] * 10)
    result = calibration(["b"] * 5 + ["a"] * 5, proba, LABELS)
    assert result["ece"] == pytest.approx(0.45)


def test_coverage_falls_as_the_threshold_rises() -> None:
    proba = np.array([[0.55, 0.45], [0.75, 0.25], [0.99, 0.01], [0.2, 0.8]])
    curve = coverage_curve(["b", "a", "a", "b"], proba, LABELS)
    coverages = [point["coverage"] for point in curve]
    assert coverages == sorted(coverages, reverse=True)
    assert curve[0] == {"threshold": 0.5, "coverage": 1.0, "accuracy": 0.75}
    assert curve[-1]["accuracy"] == 1.0


def test_slices_are_scored_separately() -> None:
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
    report = head_report(["a", "b", "b"], proba, LABELS, slices={"language": ["en", "id", "id"]})
    assert report["slices"]["language"]["en"] == {"n": 1, "accuracy": 1.0, "macro_f1": 1.0}
    assert report["slices"]["language"]["id"]["accuracy"] == 0.5
    assert report["per_class"]["b"]["recall"] == 0.5


def test_labels_the_model_never_saw_are_reported_and_counted_as_errors() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    report = head_report(["a", "b", "9", "9"], proba, LABELS)
    assert report["unseen_labels"] == {"9": 2}
    assert report["accuracy"] == 0.5  # the two tickets labelled 9 are wrong
    assert report["n"] == 4
    assert report["calibration"]["log_loss"] == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2, abs=1e-4
    )
    assert "unseen_labels" not in head_report(["a", "b"], proba[:2], LABELS)
