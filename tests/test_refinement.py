"""The refinement applied after a head: neighbour vote and top-label calibration (NumPy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triage.core.refinement import (
    Refinement,
    TopLabelCalibration,
    load_refinements,
    neighbour_vote,
    save_refinements,
)


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _probabilities(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    scores = rng.normal(size=(n, classes)) * 3
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


CALIBRATION = TopLabelCalibration((0.3, 0.6, 0.9), (0.2, 0.4, 0.7))


def test_calibration_maps_the_top_probability_and_keeps_rows_summing_to_one() -> None:
    proba = np.array([[0.6, 0.25, 0.15], [0.1, 0.15, 0.75]])
    out = CALIBRATION.apply(proba)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[0, 0] == pytest.approx(0.4)
    assert out[1, 2] == pytest.approx(np.interp(0.75, (0.3, 0.6, 0.9), (0.2, 0.4, 0.7)))
    # The others keep their proportions.
    assert out[0, 1] / out[0, 2] == pytest.approx(0.25 / 0.15)


def test_the_top_label_is_floored_at_a_tie_with_the_runner_up() -> None:
    # 0.6 maps to 0.4, but the runner-up rescaled by 0.6 / 0.4 would reach 0.45.
    out = CALIBRATION.apply(np.array([[0.6, 0.3, 0.1]]))
    assert out[0, 0] == pytest.approx(0.3 / 0.7)
    assert out[0].argmax() == 0
    np.testing.assert_allclose(out.sum(), 1.0)


def test_calibration_never_changes_the_top_label() -> None:
    rng = np.random.default_rng(0)
    proba = _probabilities(rng, 2000, 5)
    harsh = TopLabelCalibration((0.2, 1.0), (0.01, 0.05))  # maps every top far down
    out = harsh.apply(proba)
    assert np.array_equal(out.argmax(axis=1), proba.argmax(axis=1))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert (out >= 0).all()


def test_calibration_is_monotone_in_the_top_probability() -> None:
    tops = np.linspace(0.5, 1.0, 51)
    proba = np.column_stack([tops, 1 - tops])
    mapped = CALIBRATION.apply(proba).max(axis=1)
    assert (np.diff(mapped) >= -1e-12).all()


def test_a_certain_row_is_spread_evenly_when_mapped_down() -> None:
    out = CALIBRATION.apply(np.array([[0.0, 1.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.15, 0.7, 0.15]])


@pytest.mark.parametrize(
    ("xs", "ys"),
    [((0.5, 0.5), (0.1, 0.2)), ((0.2, 0.5), (0.4, 0.3)), ((), ()), ((0.2, 1.5), (0.1, 0.9))],
)
def test_calibration_knots_are_checked(xs: tuple[float, ...], ys: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="knots"):
        TopLabelCalibration(xs, ys)


def test_the_vote_weighs_the_nearest_tickets_by_similarity() -> None:
    pool = _unit(np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [-1.0, 0.0]]))
    codes = np.array([0, 0, 1, 2])
    query = _unit(np.array([[1.0, 0.05]]))
    vote = neighbour_vote(query, pool, codes, 3, k=3, sharpness=0.05)
    np.testing.assert_allclose(vote.sum(), 1.0)
    assert vote[0].argmax() == 0
    assert vote[0, 2] == 0.0  # not among the 3 nearest
    sims = pool[:3] @ query[0]
    weights = np.exp((sims - sims.max()) / 0.05)
    expected = np.array([weights[0] + weights[1], weights[2], 0.0]) / weights.sum()
    np.testing.assert_allclose(vote[0], expected, rtol=1e-5)


def test_out_of_fold_votes_never_count_the_ticket_itself() -> None:
    rng = np.random.default_rng(1)
    pool = _unit(rng.normal(size=(50, 8)))
    codes = np.arange(50) % 5
    with_self = neighbour_vote(pool, pool, codes, 5, k=1)
    without = neighbour_vote(pool, pool, codes, 5, k=1, exclude_self=True)
    assert np.array_equal(with_self.argmax(axis=1), codes)  # its own label, similarity 1
    nearest_other = np.argsort(-(pool @ pool.T) + 10 * np.eye(50), axis=1)[:, 0]
    assert np.array_equal(without.argmax(axis=1), codes[nearest_other])


def test_a_ticket_gets_the_same_vote_alone_or_in_a_batch() -> None:
    rng = np.random.default_rng(2)
    pool = _unit(rng.normal(size=(3000, 32)))
    codes = rng.integers(0, 7, size=3000)
    queries = _unit(rng.normal(size=(64, 32)))
    batch = neighbour_vote(queries, pool, codes, 7)
    for i in (0, 17, 63):
        assert np.array_equal(neighbour_vote(queries[i : i + 1], pool, codes, 7)[0], batch[i])
    # The blocked out-of-fold path agrees, up to rounding, with a served vote over the pool
    # without the ticket itself.
    blocked = neighbour_vote(pool, pool, codes, 7, exclude_self=True)
    for i in (0, 5, 63):
        served = neighbour_vote(pool[i : i + 1], np.delete(pool, i, 0), np.delete(codes, i), 7)
        np.testing.assert_allclose(blocked[i], served[0], rtol=1e-5, atol=1e-9)


def test_a_pool_smaller_than_k_votes_with_what_it_has() -> None:
    pool = _unit(np.array([[1.0, 0.0], [0.0, 1.0]]))
    vote = neighbour_vote(pool[:1], pool, np.array([0, 1]), 2, k=10)
    np.testing.assert_allclose(vote.sum(), 1.0)
    alone = neighbour_vote(pool[:1], pool[:1], np.array([0]), 2, k=10, exclude_self=True)
    np.testing.assert_allclose(alone, [[0.5, 0.5]])  # nobody else: no opinion


def test_a_refinement_blends_then_calibrates() -> None:
    refinement = Refinement(vote_weight=0.5, calibration=CALIBRATION)
    head = np.array([[0.6, 0.4]])
    vote = np.array([[0.0, 1.0]])
    blended = np.array([[0.3, 0.7]])
    np.testing.assert_allclose(refinement.apply(head, vote), CALIBRATION.apply(blended))
    with pytest.raises(ValueError, match="vote is needed"):
        refinement.apply(head, None)
    np.testing.assert_allclose(Refinement().apply(head, None), head)  # identity


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_vote_weight_outside_zero_one_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="vote weight"):
        Refinement(vote_weight=weight)


def test_refinements_round_trip_through_their_file(tmp_path: Path) -> None:
    refinements = {
        "category": Refinement(vote_weight=0.3, calibration=CALIBRATION, chosen_on={"x": 1}),
        "tier": Refinement(),
    }
    save_refinements(tmp_path, refinements)
    loaded = load_refinements(tmp_path)
    assert loaded == refinements
    assert loaded["category"].chosen_on == {"x": 1}


def test_a_refinement_file_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / save_refinements(tmp_path, {"tier": Refinement()})
    path.write_text(path.read_text().replace('"format": 1', '"format": 99'))
    with pytest.raises(ValueError, match="format"):
        load_refinements(tmp_path)
