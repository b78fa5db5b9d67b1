import numpy as np

from triage.training.operating_points import precision_curves

LABELS = ["a", "b"]


def test_a_perfect_classifier_is_automatic_at_its_lowest_confidence() -> None:
    proba = np.array([[0.9, 0.1]] * 10 + [[0.6, 0.4]] * 10 + [[0.2, 0.8]] * 20)
    truth = ["a"] * 20 + ["b"] * 20
    curves = precision_curves(truth, proba, LABELS)
    assert curves["a"].threshold_for(0.95) == 0.6
    assert curves["b"].threshold_for(0.95) == 0.8


def test_mistakes_at_low_confidence_raise_the_threshold() -> None:
    # 'a' is right at 0.9 and wrong half the time at 0.6.
    proba = np.array([[0.9, 0.1]] * 20 + [[0.6, 0.4]] * 20 + [[0.1, 0.9]] * 20)
    truth = ["a"] * 30 + ["b"] * 10 + ["b"] * 20
    curve = precision_curves(truth, proba, LABELS)["a"]
    assert curve.confidences == (0.9, 0.6)  # ties collapse to one point per confidence
    assert curve.precisions == (1.0, 0.75)
    assert curve.threshold_for(0.95) == 0.9
    assert curve.threshold_for(0.7) == 0.6


def test_classes_with_too_few_rows_are_excluded_not_guessed() -> None:
    proba = np.array([[0.9, 0.1]] * 30 + [[0.3, 0.7]] * 3)
    curves = precision_curves(["a"] * 30 + ["b"] * 3, proba, LABELS, min_support=10)
    assert curves["b"].excluded == "3 training rows"
    assert curves["b"].threshold_for(0.5) is None
    assert curves["a"].excluded is None


def test_parents_of_hierarchical_labels_get_their_own_curve() -> None:
    labels = ["hw/laptop", "hw/printer", "net"]
    # The two hardware leaves are confused with each other but never with the network.
    proba = np.array([[0.5, 0.4, 0.1]] * 20 + [[0.45, 0.5, 0.05]] * 20 + [[0.05, 0.05, 0.9]] * 20)
    truth = (
        ["hw/laptop"] * 10
        + ["hw/printer"] * 10
        + ["hw/printer"] * 10
        + ["hw/laptop"] * 10
        + ["net"] * 20
    )
    curves = precision_curves(truth, proba, labels)
    assert curves["hw/laptop"].threshold_for(0.95) is None  # half of its answers are wrong
    assert curves["hw"].support == 40
    assert curves["hw"].threshold_for(0.95) == 0.9  # but "some hardware" is always right
