import math
import random
from collections.abc import Hashable

import pytest

from triage.similar.fusion import DEFAULT_K, reciprocal_rank_fusion


def test_scores_are_sums_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["c"] == pytest.approx(1 / 63)
    assert fused["d"] == pytest.approx(1 / 62)


def test_items_found_by_both_rankings_rise_to_the_top() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "x"]])
    # c: 1/63 + 1/61 beats b: 2/62 (convexity); both beat a (1/61) and x (1/63).
    assert [item for item, _ in fused] == ["c", "b", "a", "x"]
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)


def test_default_k_is_the_papers_60() -> None:
    assert DEFAULT_K == 60
    ((_, score),) = reciprocal_rank_fusion([["only"]])
    assert score == pytest.approx(1 / 61)


def test_weights_scale_each_rankings_contribution() -> None:
    rankings = [["dense_top", "lex_top"], ["lex_top", "dense_top"]]
    # Symmetric ranks: without weights it is a tie, which the first ranking wins.
    assert [i for i, _ in reciprocal_rank_fusion(rankings)] == ["dense_top", "lex_top"]
    weighted = reciprocal_rank_fusion(rankings, k=0, weights=[1.0, 3.0])
    assert [i for i, _ in weighted] == ["lex_top", "dense_top"]
    assert dict(weighted)["lex_top"] == pytest.approx(1 / 2 + 3 / 1)


def test_a_zero_weight_ranking_adds_no_score_only_its_items() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["b", "z"]], weights=[1.0, 0.0])
    assert [i for i, _ in fused] == ["a", "b", "z"]
    assert dict(fused)["z"] == 0.0


def test_ties_break_by_best_rank_then_by_the_earlier_ranking() -> None:
    # "p" and "q" both score 1/(k+1) + 1/(k+3); "p" has rank 1 in ranking 0, "q" in ranking 1.
    fused = reciprocal_rank_fusion([["p", "s", "q"], ["q", "t", "p"]])
    assert [i for i, _ in fused][:2] == ["p", "q"]
    assert fused[0][1] == fused[1][1]
    swapped = reciprocal_rank_fusion([["q", "t", "p"], ["p", "s", "q"]])
    assert [i for i, _ in swapped][:2] == ["q", "p"]
    # Equal scores from different ranks (k=0): 1/1 == 1/2 + 1/2; the better single rank wins.
    fused = reciprocal_rank_fusion([["x", "n"], ["m", "n"]], k=0)
    assert [score for _, score in fused] == [1.0, 1.0, 1.0]
    assert [i for i, _ in fused] == ["x", "m", "n"]


def test_scores_do_not_depend_on_the_order_of_rankings() -> None:
    rng = random.Random(0)
    items = list(range(40))
    rankings = [rng.sample(items, 25) for _ in range(5)]
    weights = [rng.uniform(0.1, 3.0) for _ in rankings]
    forward = dict(reciprocal_rank_fusion(rankings, weights=weights))
    backward = dict(reciprocal_rank_fusion(rankings[::-1], weights=weights[::-1]))
    assert forward == backward  # exact, thanks to math.fsum


def test_the_output_is_deterministic_and_hash_order_free() -> None:
    rankings = [[f"t{i}" for i in order] for order in ([3, 1, 2, 0], [0, 2, 1, 3], [1, 0])]
    first = reciprocal_rank_fusion(rankings)
    assert all(reciprocal_rank_fusion(rankings) == first for _ in range(5))
    assert len(first) == 4
    assert {i for i, _ in first} == {"t0", "t1", "t2", "t3"}


def test_limit_truncates_and_zero_or_empty_inputs_are_fine() -> None:
    rankings = [["a", "b", "c"], ["c", "d"]]
    assert reciprocal_rank_fusion(rankings, limit=2) == reciprocal_rank_fusion(rankings)[:2]
    assert reciprocal_rank_fusion(rankings, limit=0) == []
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []
    assert [i for i, _ in reciprocal_rank_fusion([[], ["a", "b"]])] == ["a", "b"]


def test_any_hashable_ids_work() -> None:
    rankings: list[list[Hashable]] = [[(1, "x"), 7], [7]]
    fused = reciprocal_rank_fusion(rankings)
    assert fused[0][0] == 7
    assert fused[1][0] == (1, "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": -1}, "k must be"),
        ({"k": math.inf}, "k must be"),
        ({"weights": [1.0]}, "1 weight"),
        ({"weights": [1.0, -0.5]}, "weights must be"),
        ({"weights": [1.0, math.nan]}, "weights must be"),
        ({"limit": -1}, "limit must be"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reciprocal_rank_fusion([["a"], ["b"]], **kwargs)  # type: ignore[arg-type]


def test_an_item_repeated_within_a_ranking_is_refused() -> None:
    with pytest.raises(ValueError, match="appears twice in ranking 1"):
        reciprocal_rank_fusion([["a", "b"], ["c", "a", "c"]])


def test_the_subject_ranking_counts_with_its_own_weight() -> None:
    from triage.similar.hybrid import HybridSettings, fuse

    dense, lexical, subject = [1, 2, 3], [2, 9], [3, 4]
    # Weight 0 for both other rankings: the dense order, whatever they hold.
    none = HybridSettings(lexical_weight=0.0, subject_weight=0.0)
    assert fuse(dense, lexical, [], none, subject=subject) == [1, 2, 3]
    # Weighted, the subject ranking lifts 3 (dense 3rd, subject 1st) over 1 and 2.
    heavy = HybridSettings(lexical_weight=0.0, subject_weight=1.0, k=10.0)
    assert fuse(dense, lexical, [], heavy, subject=subject)[:2] == [3, 1]
    # A query without a subject ranking is fused as before.
    assert fuse(dense, lexical, [], heavy) == [1, 2, 3]
