import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from triage.core.classifier import build_baseline, build_head
from triage.core.embeddings import HashingEmbedder
from triage.core.features import feature_frame

TEXTS = {
    "printers": [
        "paper jam in tray {}",
        "printer {} out of toner",
        "print queue stuck on floor {}",
    ],
    "network": ["vpn drops every {} minutes", "wifi down in room {}", "no internet on port {}"],
}


def _frame_and_labels():  # type: ignore[no-untyped-def]
    texts, labels = [], []
    for label, templates in TEXTS.items():
        for template in templates:
            for i in range(6):
                texts.append(template.format(i))
                labels.append(label)
    return feature_frame(texts, HashingEmbedder(32).encode(texts)), np.array(labels)


def test_head_follows_the_estimator_contract() -> None:
    head = build_head(C=0.7)
    assert clone(head).get_params()["classifier__C"] == 0.7
    with pytest.raises(NotFittedError):
        head.predict_proba(_frame_and_labels()[0])


def test_head_learns_and_returns_probabilities_that_sum_to_one() -> None:
    frame, labels = _frame_and_labels()
    head = build_head().fit(frame, labels)
    assert head.fit(frame, labels) is head
    proba = head.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(head.classes_) == ["network", "printers"]
    new = feature_frame(
        ["the printer has a paper jam"], HashingEmbedder(32).encode(["the printer has a paper jam"])
    )
    assert head.predict(new)[0] == "printers"


def test_baseline_reads_only_the_text() -> None:
    frame, labels = _frame_and_labels()
    baseline = build_baseline().fit(frame, labels)
    assert baseline.named_steps["features"].get_feature_names_out()[0].startswith("words__")
    assert all(
        name.startswith("words__")
        for name in baseline.named_steps["features"].get_feature_names_out()
    )


def test_out_of_fold_probabilities_are_kept_for_operating_points() -> None:
    frame, labels = _frame_and_labels()
    classifier = build_head().fit(frame, labels).named_steps["classifier"]
    assert classifier.oof_proba_.shape == (len(labels), 2)
    np.testing.assert_allclose(classifier.oof_proba_.sum(axis=1), 1.0, rtol=1e-5)
    assert classifier.temperature_ > 0


def test_a_class_too_rare_for_every_fold_still_trains() -> None:
    frame, labels = _frame_and_labels()
    labels = labels.astype(object)
    labels[0] = "singleton"  # one row: absent from the training part of two folds
    head = build_head().fit(frame, labels)
    assert "singleton" in head.classes_
    np.testing.assert_allclose(head.predict_proba(frame).sum(axis=1), 1.0)


def test_a_fold_that_saw_one_class_answers_it_instead_of_failing() -> None:
    frame, labels = _frame_and_labels()
    rows = np.r_[0:3, 18:19]  # three printers tickets and one network ticket
    classifier = build_head().fit(frame.iloc[rows], labels[rows]).named_steps["classifier"]
    # Three folds: the one holding out the network ticket trains on printers alone.
    assert classifier.oof_proba_.shape == (4, 2)
    np.testing.assert_allclose(classifier.oof_proba_.sum(axis=1), 1.0, rtol=1e-5)
    assert list(classifier.classes_) == ["network", "printers"]


def test_tuning_keeps_the_setting_with_the_best_out_of_fold_macro_f1() -> None:
    from triage.core.classifier import fit_head

    frame, labels = _frame_and_labels()
    head, tuning = fit_head(frame, labels)
    assert len(tuning.candidates) == 4
    best = max(tuning.candidates, key=lambda c: c["oof_macro_f1"])
    assert tuning.params == {"C": best["C"], "class_weight": best["class_weight"]}
    assert head.named_steps["classifier"].C == best["C"]
    np.testing.assert_allclose(head.predict_proba(frame).sum(axis=1), 1.0)
