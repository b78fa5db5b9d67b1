"""Which evaluation a training run gets: held out when fair, else leave-one-out or k-fold."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from triage.training.evaluation_plan import plan_evaluation


def _labels(**heads: list[str]) -> dict[str, np.ndarray]:
    return {head: np.asarray(values) for head, values in heads.items()}


def _covers_every_row_once(plan_folds: tuple[tuple[np.ndarray, np.ndarray], ...], n: int) -> None:
    scored = np.concatenate([scored for _, scored in plan_folds])
    assert sorted(scored.tolist()) == list(range(n))
    for train, scored_rows in plan_folds:
        assert not set(train.tolist()) & set(scored_rows.tolist())
        assert len(train) + len(scored_rows) == n


def test_enough_tickets_get_a_stratified_held_out_split() -> None:
    labels = _labels(category=[f"c{i % 5}" for i in range(100)], tier=["L1", "L2"] * 50)
    plan = plan_evaluation(labels, "category", test_size=0.2, seed=0)
    assert plan.info["method"] == "stratified"
    assert (len(plan.train_idx), len(plan.test_idx), plan.folds) == (80, 20, ())
    assert set(labels["category"][plan.test_idx]) == {f"c{i}" for i in range(5)}


def test_three_tickets_a_class_are_scored_by_leave_one_out() -> None:
    labels = _labels(category=[f"c{i % 10}" for i in range(30)], tier=["L1", "L2", "L3"] * 10)
    plan = plan_evaluation(labels, "category", test_size=0.2, seed=0)
    assert plan.info["method"] == "leave-one-out"
    assert plan.info["why"].startswith(
        "a 20% held-out split of 30 tickets holds 6, fewer than the 10 category classes"
    )
    assert plan.info["folds"] == 30
    assert len(plan.test_idx) == 0
    assert plan.train_idx.tolist() == list(range(30))
    _covers_every_row_once(plan.folds, 30)


def test_many_classes_of_four_get_stratified_k_fold() -> None:
    labels = _labels(category=[f"c{i % 30}" for i in range(120)], tier=["L1", "L2"] * 60)
    plan = plan_evaluation(labels, "category", test_size=0.2, seed=0)
    assert plan.info["method"] == "cross-validation"
    assert plan.info["folds"] == 4  # as many as the smallest class can fill
    assert "4-fold, stratified on category" in plan.info["why"]
    _covers_every_row_once(plan.folds, 120)
    for train, _ in plan.folds:
        assert set(labels["category"][train]) == set(labels["category"])


def test_a_class_of_two_forces_leave_one_out_even_on_more_tickets() -> None:
    category = [f"c{i % 30}" for i in range(118)] + ["rare", "rare"]  # 120 > 60 tickets
    labels = _labels(category=category, tier=["L1", "L2"] * 60)
    plan = plan_evaluation(labels, "category", test_size=0.2, seed=0)
    assert plan.info["method"] == "leave-one-out"
    assert "the smallest category class has 2" in plan.info["why"]


def test_a_split_that_would_take_a_whole_class_of_another_head_out_of_training() -> None:
    category = [f"c{i % 5}" for i in range(50)]
    tier = ["L1"] * 48 + ["L3", "L3"]
    indices = np.arange(50)
    # A seed whose stratified split holds out both L3 tickets (as training would draw it).
    seed = next(
        s
        for s in range(500)
        if {48, 49}
        <= set(
            train_test_split(indices, test_size=0.2, stratify=category, random_state=s)[1].tolist()
        )
    )
    plan = plan_evaluation(
        _labels(category=category, tier=tier), "category", test_size=0.2, seed=seed
    )
    assert plan.info["method"] == "leave-one-out"
    assert plan.info["why"].startswith(
        "the held-out split would take every tier ticket of L3 out of training"
    )


def test_k_fold_that_would_leave_a_head_one_class_falls_back_to_leave_one_out() -> None:
    category = np.asarray([f"c{i % 30}" for i in range(120)])
    rows = np.arange(120)
    first_fold = next(iter(StratifiedKFold(4, shuffle=True, random_state=0).split(rows, category)))
    tier = np.full(120, "L1", dtype=object)
    tier[first_fold[1]] = "L2"  # every L2 ticket in one fold: its training part has L1 alone
    plan = plan_evaluation(
        {"category": category, "tier": tier.astype(str)}, "category", test_size=0.2, seed=0
    )
    assert plan.info["method"] == "leave-one-out"
    assert plan.info["why"].endswith("k-fold would leave a fold one tier class to learn")


def test_a_class_of_two_among_many_tickets_gets_two_folds_not_one_fit_per_ticket() -> None:
    # A real export: 8,494 tickets, a few groups of two, would have taken 8,494 fits.
    category = [f"c{i % 40}" for i in range(598)] + ["rare", "rare"]
    labels = _labels(category=category, tier=["L1", "L2"] * 300)
    plan = plan_evaluation(labels, "category", test_size=0.2, seed=0)
    assert plan.info["method"] == "cross-validation"
    assert plan.info["folds"] == 2
    assert "leave-one-out would take 600 fits" in plan.info["why"]
    _covers_every_row_once(plan.folds, 600)
