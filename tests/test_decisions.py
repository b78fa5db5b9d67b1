from triage.decisions import Decision, HeadPolicy, PrecisionCurve, build_policy

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
    assert policy.decide("printers", 0.85) == (0.8, Decision.AUTO)
    assert policy.decide("printers", 0.8) == (0.8, Decision.AUTO)
    assert policy.decide("printers", 0.6) == (0.8, Decision.SUGGEST)
    assert policy.decide("printers", 0.3) == (0.8, Decision.REVIEW)
    assert policy.decide("rare", 0.99) == (None, Decision.SUGGEST)
    assert policy.decide("unknown", 0.2) == (None, Decision.REVIEW)


def test_policy_uses_the_target_and_hand_set_overrides() -> None:
    policy = build_policy(
        {"a": CURVE, "b": CURVE}, target_precision=0.95, floor=0.4, overrides={"b": 0.5}
    )
    assert policy.thresholds == {"a": 0.8, "b": 0.5}
    assert policy.floor == 0.4
