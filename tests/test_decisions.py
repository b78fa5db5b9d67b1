from triage.core.decisions import (
    Decision,
    HeadPolicy,
    Outcome,
    PrecisionCurve,
    ancestors,
    build_policy,
    subtree_mass,
)

CURVE = PrecisionCurve(
    confidences=(0.99, 0.9, 0.8, 0.6, 0.4), precisions=(1.0, 0.97, 0.95, 0.9, 0.8), support=50
)


def test_threshold_is_the_lowest_confidence_that_meets_the_target() -> None:
    assert CURVE.threshold_for(0.95) == 0.8
    assert CURVE.threshold_for(0.9) == 0.6
    assert CURVE.threshold_for(0.999) == 0.99


def test_unreachable_targets_and_excluded_classes_have_no_threshold() -> None:
    assert PrecisionCurve((0.9, 0.5), (0.8, 0.7), 40).threshold_for(0.95) is None
    excluded = PrecisionCurve((), (), 3, excluded="3 training rows")
    assert excluded.threshold_for(0.5) is None
    assert PrecisionCurve.from_dict(excluded.to_dict()) == excluded


def test_decisions_auto_suggest_review() -> None:
    policy = HeadPolicy(thresholds={"printers": 0.8, "rare": None}, floor=0.5)
    assert policy.decide("printers", 0.85) == Outcome("printers", 0.85, 0.8, Decision.AUTO)
    assert policy.decide("printers", 0.8).decision is Decision.AUTO
    assert policy.decide("printers", 0.6).decision is Decision.SUGGEST
    assert policy.decide("printers", 0.3) == Outcome("printers", 0.3, 0.8, Decision.REVIEW)
    assert policy.decide("rare", 0.99) == Outcome("rare", 0.99, None, Decision.SUGGEST)
    assert policy.decide("unknown", 0.2).decision is Decision.REVIEW


def test_a_parent_answers_when_its_children_split_the_confidence() -> None:
    policy = HeadPolicy(
        thresholds={
            "hardware/printer": 0.9,
            "hardware/laptop": 0.9,
            "hardware": 0.8,
            "network/vpn": 0.7,
        },
        floor=0.3,
    )
    split = {"hardware/printer": 0.5, "hardware/laptop": 0.4, "network/vpn": 0.1}
    outcome = policy.decide("hardware/printer", 0.5, split)
    assert outcome == Outcome("hardware", 0.9, 0.8, Decision.AUTO, fallback=True)
    # Not enough mass under the parent: the leaf stays, as a suggestion.
    weak = {"hardware/printer": 0.45, "hardware/laptop": 0.2, "network/vpn": 0.35}
    assert policy.decide("hardware/printer", 0.45, weak) == Outcome(
        "hardware/printer", 0.45, 0.9, Decision.SUGGEST
    )
    assert ancestors("a/b/c") == ["a/b", "a"]
    assert subtree_mass(split, "hardware") == 0.9


def test_policy_uses_the_target_and_hand_set_overrides() -> None:
    policy = build_policy(
        {"a": CURVE, "b": CURVE}, target_precision=0.95, floor=0.4, overrides={"b": 0.5}
    )
    assert policy.thresholds == {"a": 0.8, "b": 0.5}
    assert policy.floor == 0.4
