"""Choosing a head's refinement on out-of-fold predictions only."""

from __future__ import annotations

import numpy as np
import pytest

from triage.core.refinement import CENTROIDS, centroid_vote, class_centroids
from triage.training.evaluate import calibration
from triage.training.fit_refinement import MIN_CALIBRATION_ROWS, fit_refinement

CLASSES = 6


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _case(
    seed: int, n: int, *, embeddings_know: bool, head_accuracy: float, head_confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth, out-of-fold head probabilities right ``head_accuracy`` of the time with top
    probability ``head_confidence``, and embeddings that cluster by label (or not)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, CLASSES, size=n)
    right = rng.random(n) < head_accuracy
    predicted = np.where(right, truth, (truth + rng.integers(1, CLASSES, size=n)) % CLASSES)
    proba = np.full((n, CLASSES), (1 - head_confidence) / (CLASSES - 1))
    proba[np.arange(n), predicted] = head_confidence
    centres = rng.normal(size=(CLASSES, 16)) * 3
    noise = rng.normal(size=(n, 16))
    embeddings = _unit(centres[truth] + noise if embeddings_know else noise)
    return truth, proba, embeddings


def test_a_vote_that_knows_the_labels_is_blended_in() -> None:
    truth, proba, embeddings = _case(
        0, 1200, embeddings_know=True, head_accuracy=0.7, head_confidence=0.6
    )
    fitted = fit_refinement(proba, truth, embeddings)
    assert fitted.refinement.vote_weight > 0
    candidates = fitted.refinement.chosen_on["vote_candidates"]
    head_alone = next(c for c in candidates if c["vote_weight"] == 0.0)
    assert np.mean(fitted.oof_proba.argmax(axis=1) == truth) > head_alone["oof_accuracy"] + 0.1


def test_a_vote_that_knows_nothing_is_left_out() -> None:
    truth, proba, embeddings = _case(
        1, 1200, embeddings_know=False, head_accuracy=0.8, head_confidence=0.7
    )
    fitted = fit_refinement(proba, truth, embeddings)
    assert fitted.refinement.vote_weight == 0.0
    assert np.array_equal(fitted.oof_proba.argmax(axis=1), proba.argmax(axis=1))


def test_the_calibration_corrects_an_overconfident_head() -> None:
    truth, proba, embeddings = _case(
        2, 3000, embeddings_know=False, head_accuracy=0.6, head_confidence=0.95
    )
    labels = [str(i) for i in range(CLASSES)]
    truth_labels = [str(i) for i in truth]
    before = calibration(truth_labels, proba, labels)["ece"]
    fitted = fit_refinement(proba, truth, embeddings, weights=(0.0,))
    after = calibration(truth_labels, fitted.oof_proba, labels)["ece"]
    assert before > 0.3
    assert after < 0.05
    assert fitted.refinement.calibration is not None
    # Confidences near 0.6, not 0.95, and the answers unchanged.
    assert fitted.oof_proba.max(axis=1).mean() == pytest.approx(0.6, abs=0.05)
    assert np.array_equal(fitted.oof_proba.argmax(axis=1), proba.argmax(axis=1))


def test_a_small_training_set_keeps_the_temperature_only() -> None:
    n = MIN_CALIBRATION_ROWS - 1
    truth, proba, embeddings = _case(
        3, n, embeddings_know=False, head_accuracy=0.6, head_confidence=0.9
    )
    fitted = fit_refinement(proba, truth, embeddings, weights=(0.0,))
    assert fitted.refinement.calibration is None
    assert "temperature only" in fitted.refinement.chosen_on["calibration"]
    np.testing.assert_allclose(fitted.oof_proba, proba)


def test_calibration_can_be_turned_off() -> None:
    truth, proba, embeddings = _case(
        4, 1500, embeddings_know=True, head_accuracy=0.9, head_confidence=0.9
    )
    fitted = fit_refinement(proba, truth, embeddings, weights=(0.0,), calibrate=False)
    assert fitted.refinement.calibration is None
    assert fitted.refinement.vote_weight == 0.0
    assert [c["vote_weight"] for c in fitted.refinement.chosen_on["vote_candidates"]] == [0.0]


def test_too_few_tickets_per_class_is_a_cold_start_answered_by_centroids() -> None:
    truth, proba, embeddings = _case(
        5, 24, embeddings_know=True, head_accuracy=0.5, head_confidence=0.5
    )
    fitted = fit_refinement(proba, truth, embeddings, cold_start_below=5)  # 4 a class
    refinement = fitted.refinement
    assert refinement.chosen_on["mode"] == "cold start"
    assert (refinement.vote_kind, refinement.vote_weight) == (CENTROIDS, 1.0)
    assert refinement.calibration is None
    # Out of fold: each ticket against its class centroid computed without it.
    for i in (0, 7, 23):
        others = np.delete(np.arange(len(truth)), i)
        centroids = class_centroids(embeddings[others], truth[others], CLASSES)
        expected = centroid_vote(embeddings[i : i + 1], centroids)[0]
        np.testing.assert_allclose(fitted.oof_proba[i], expected, rtol=1e-4, atol=1e-9)
    # With enough tickets the same data is trained on: the cold start ends by itself.
    assert fit_refinement(proba, truth, embeddings, cold_start_below=4).refinement.chosen_on[
        "mode"
    ] == ("trained")


def test_the_centroid_vote_is_the_same_alone_or_in_a_batch() -> None:
    rng = np.random.default_rng(6)
    pool = _unit(rng.normal(size=(300, 16)))
    codes = np.arange(300) % 7
    centroids = class_centroids(pool, codes, 7)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, rtol=1e-6)
    batch = centroid_vote(pool[:20], centroids)
    for i in (0, 19):
        assert np.array_equal(centroid_vote(pool[i : i + 1], centroids)[0], batch[i])
    np.testing.assert_allclose(batch.sum(axis=1), 1.0)


def test_a_blend_that_did_worse_than_the_head_alone_is_said_with_why() -> None:
    from triage.training.head_fitting import blend_note

    refinement = {
        "mode": "trained",
        "vote_weight": 0.3,
        "vote_candidates": [
            {"vote_weight": 0.0, "oof_macro_f1": 0.84},
            {"vote_weight": 0.3, "oof_macro_f1": 0.85},
        ],
        "head_alone": {"macro_f1": 0.83},
    }
    note = blend_note("category", 0.81, refinement, "held-out tickets")
    assert note is not None
    assert "scored below the head alone (macro-F1 0.810 against 0.830" in note
    assert "out of fold 0.850 against 0.840" in note
    assert "--no-vote" in note
    assert blend_note("category", 0.83, refinement, "held-out tickets") is None
    assert blend_note("category", 0.81, {**refinement, "vote_weight": 0.0}, "x") is None
    cold = {"mode": "cold start", "why": "median class 3 < 5", "head_alone": {"macro_f1": 0.5}}
    assert "median class 3 < 5" in str(blend_note("tier", 0.4, cold, "tickets"))
