"""What a head can promise, read off its curves and thresholds."""

from __future__ import annotations

from triage.core.decisions import PrecisionCurve, correct_predictions_needed
from triage.core.promises import Evidence, head_promise

BOUNDED = Evidence(10, 5, "trained", 0.95)


def _curve(support: int) -> PrecisionCurve:
    excluded = f"{support} training rows" if support < 10 else None
    return PrecisionCurve((), (), support, excluded=excluded)


def test_a_handful_of_tickets_promises_suggestions_and_says_how_many_more_are_needed() -> None:
    labels = ["a", "b", "c"]
    curves = {"a": _curve(2), "b": _curve(3), "c": _curve(3)}
    promise = head_promise(
        labels, curves, dict.fromkeys(labels), Evidence(10, 5, "cold start", 0.95), 0.95
    )
    needed = correct_predictions_needed(0.95)
    assert promise.auto is False
    assert promise.short_of_tickets == {"a": needed - 2, "b": needed - 3, "c": needed - 3}
    assert promise.statement.startswith("No `auto` decisions, only suggestions")
    assert f"{needed - 3} to {needed - 2} more labelled tickets per class" in promise.statement
    assert "class-centroid vote" in promise.statement


def test_classes_with_a_threshold_are_promised_and_the_rest_explained() -> None:
    labels = ["a", "b", "c"]
    curves = {"a": _curve(300), "b": _curve(200), "c": _curve(20)}
    promise = head_promise(labels, curves, {"a": 0.9, "b": None, "c": None}, BOUNDED, 0.95)
    assert promise.auto_classes == ("a",)
    assert promise.short_of_precision == ("b",)
    assert promise.short_of_tickets == {"c": correct_predictions_needed(0.95) - 20}
    assert promise.statement.startswith("`auto` decisions possible for 1 of 3 classes (a)")
    assert "precision 0.95 with 95% confidence out of fold at any threshold (b)" in (
        promise.statement
    )


def test_the_promise_follows_the_served_thresholds_and_target() -> None:
    labels = ["a", "b"]
    curves = {"a": _curve(40), "b": _curve(40)}
    # A lower served target needs fewer correct predictions; a hand-set threshold is auto.
    promise = head_promise(labels, curves, {"a": 0.8, "b": None}, BOUNDED, 0.9)
    assert promise.auto_classes == ("a",)
    assert promise.short_of_tickets == {}  # 29 correct predictions reach 0.9: 40 is enough
    assert promise.short_of_precision == ("b",)


def test_thresholds_on_point_estimates_need_only_the_curve_support() -> None:
    promise = head_promise(
        ["a", "b"],
        {"a": _curve(4), "b": _curve(12)},
        {"a": None, "b": None},
        Evidence(10, 5, "trained"),
        0.95,
    )
    assert promise.short_of_tickets == {"a": 6}
    assert "a class needs at least 10 before its threshold can be trusted" in promise.statement
