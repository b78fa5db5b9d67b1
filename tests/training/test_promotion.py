"""The champion/challenger gate: per-head macro-F1, within a tolerance, boundary included."""

from __future__ import annotations

from triage.training.promotion import judge, render_table


def test_a_head_worse_beyond_the_tolerance_refuses_even_if_another_improves() -> None:
    verdict = judge(
        {"category": 0.80, "tier": 0.70}, {"category": 0.90, "tier": 0.69}, tolerance=0.005
    )
    assert not verdict.passed
    assert [(h.head, h.passed) for h in verdict.heads] == [("category", True), ("tier", False)]
    assert "tier: macro-F1 0.6900 is 0.0100 below the champion's 0.7000" in verdict.reason
    assert "category" not in verdict.reason


def test_the_tolerance_boundary_passes_and_just_beyond_it_fails() -> None:
    assert judge({"tier": 0.8}, {"tier": 0.795}, tolerance=0.005).passed
    assert not judge({"tier": 0.8}, {"tier": 0.7949}, tolerance=0.005).passed
    assert judge({"tier": 0.8}, {"tier": 0.8}, tolerance=0.0).passed
    assert not judge({"tier": 0.8}, {"tier": 0.7999}, tolerance=0.0).passed
    assert judge({"tier": 0.8}, {"tier": 0.7}, tolerance=0.1).passed


def test_a_head_only_the_champion_has_refuses_and_a_new_head_passes() -> None:
    dropped = judge({"category": 0.8, "priority": 0.6}, {"category": 0.9}, tolerance=0.005)
    assert not dropped.passed
    assert "the challenger has no priority head" in dropped.reason

    added = judge({"category": 0.8}, {"category": 0.8, "priority": 0.1}, tolerance=0.005)
    assert added.passed
    assert added.heads[1].note == "new head: nothing to compare"


def test_the_table_shows_each_head_with_its_delta() -> None:
    table = render_table(judge({"tier": 0.7}, {"tier": 0.6}, tolerance=0.005).heads)
    assert "tier" in table
    assert "0.7000" in table
    assert "-0.1000" in table
    assert "worse by more than 0.005" in table
