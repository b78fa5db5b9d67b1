import numpy as np
import pytest

from triage.core.decisions import PrecisionCurve
from triage.training.operating_points import precision_curves

LABELS = ["a", "b"]


def test_a_perfect_classifier_is_automatic_at_its_lowest_confidence() -> None:
    proba = np.array([[0.9, 0.1]] * 40 + [[0.6, 0.4]] * 40 + [[0.2, 0.8]] * 80)
    truth = ["a"] * 80 + ["b"] * 80
    curves = precision_curves(truth, proba, LABELS)
    assert curves["a"].threshold_for(0.95) == 0.6
    assert curves["b"].threshold_for(0.95) == 0.8


def test_mistakes_at_low_confidence_raise_the_threshold() -> None:
    # 'a' is right at 0.9 and wrong half the time at 0.6.
    proba = np.array([[0.9, 0.1]] * 80 + [[0.6, 0.4]] * 80 + [[0.1, 0.9]] * 80)
    truth = ["a"] * 120 + ["b"] * 40 + ["b"] * 80
    curve = precision_curves(truth, proba, LABELS)["a"]
    assert curve.confidences == (0.9, 0.6)  # ties collapse to one point per confidence
    assert curve.precisions == (1.0, 0.75)
    assert curve.counts == (80, 160)
    assert curve.threshold_for(0.95) == 0.9
    assert curve.threshold_for(0.68) == 0.6  # 0.75 out of 160: lower bound 0.687


def test_a_point_estimate_that_meets_the_target_is_not_enough_without_evidence() -> None:
    # 20 right out of 20: precision 1.0, but 95 % confidence in 0.95 needs 59 of 59.
    proba = np.array([[0.9, 0.1]] * 20 + [[0.2, 0.8]] * 20)
    curves = precision_curves(["a"] * 20 + ["b"] * 20, proba, LABELS)
    assert curves["a"].precisions == (1.0,)
    assert curves["a"].threshold_for(0.95) is None
    assert "needs at least 59 correct" in (curves["a"].why_no_threshold(0.95) or "")
    assert curves["a"].threshold_for(0.8) == 0.9  # 0.05 ** (1 / 20) = 0.861


def test_the_bound_is_a_clopper_pearson_bound() -> None:
    # 950 of 1,000 right: point estimate 0.95, one-sided 95 % lower bound 0.9371.
    proba = np.array([[0.9, 0.1]] * 1000 + [[0.1, 0.9]] * 50)
    truth = ["a"] * 950 + ["b"] * 50 + ["b"] * 50
    curve = precision_curves(truth, proba, LABELS)["a"]
    assert curve.precisions == (0.95,)
    assert curve.lower_bounds[0] == pytest.approx(0.93714, abs=1e-5)
    assert curve.threshold_for(0.95) is None
    assert curve.threshold_for(0.93) == 0.9


def test_curves_of_older_artifacts_keep_their_point_estimate_thresholds() -> None:
    old = PrecisionCurve.from_dict(
        {"confidences": [0.9, 0.6], "precisions": [1.0, 0.96], "support": 20, "excluded": None}
    )
    assert not old.guaranteed
    assert old.threshold_for(0.95) == 0.6


def test_classes_with_too_few_rows_are_excluded_not_guessed() -> None:
    proba = np.array([[0.9, 0.1]] * 30 + [[0.3, 0.7]] * 3)
    curves = precision_curves(["a"] * 30 + ["b"] * 3, proba, LABELS, min_support=10)
    assert curves["b"].excluded == "3 training rows"
    assert curves["b"].threshold_for(0.5) is None
    assert curves["a"].excluded is None


def test_parents_of_hierarchical_labels_get_their_own_curve() -> None:
    labels = ["hw/laptop", "hw/printer", "net"]
    # The two hardware leaves are confused with each other but never with the network.
    proba = np.array([[0.5, 0.4, 0.1]] * 80 + [[0.45, 0.5, 0.05]] * 80 + [[0.05, 0.05, 0.9]] * 80)
    truth = (
        ["hw/laptop"] * 40
        + ["hw/printer"] * 40
        + ["hw/printer"] * 40
        + ["hw/laptop"] * 40
        + ["net"] * 80
    )
    curves = precision_curves(truth, proba, labels)
    assert curves["hw/laptop"].threshold_for(0.95) is None  # half of its answers are wrong
    assert curves["hw"].support == 160
    assert curves["hw"].threshold_for(0.95) == 0.9  # but "some hardware" is always right


def test_a_large_class_short_of_the_bound_is_told_it_lacks_precision_not_tickets() -> None:
    # 200 'a' tickets, right 90 % of the time: plenty of tickets, not enough precision.
    proba = np.array([[0.9, 0.1]] * 200 + [[0.1, 0.9]] * 100)
    truth = ["a"] * 180 + ["b"] * 20 + ["b"] * 100
    reason = precision_curves(truth, proba, LABELS)["a"].why_no_threshold(0.95) or ""
    assert reason.startswith("out-of-fold precision never reaches 0.95 with 95% confidence")
    assert "0.900 on 200 predictions" in reason
