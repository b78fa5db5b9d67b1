"""The int8 copy incident detection scans first: its bound on a cosine's error always holds,
and is nearly reached, so no row that reaches a bar is ever ruled out."""

from __future__ import annotations

import numpy as np
import pytest

from triage.core.int8_vectors import Int8Vectors


def adversarial_pair(
    dim: int, rng: np.random.Generator, flip: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors whose int8 rounding errors all push their product the same way: each
    component lies 0.49 of a step from its code, on the side of the other vector's sign, so
    the estimate falls short of the cosine by nearly the whole bound. ``flip``: the share of
    components of opposite signs (a lower cosine)."""
    x_codes = rng.integers(90, 127, size=dim) * rng.choice([-1, 1], size=dim)
    y_codes = np.abs(rng.integers(90, 127, size=dim)) * np.sign(x_codes)
    y_codes[rng.random(dim) < flip] *= -1
    x_codes[0], y_codes[0] = 127, 127  # the largest component: its own scale, no error
    x = x_codes + 0.49 * np.sign(y_codes)
    y = y_codes + 0.49 * np.sign(x_codes)
    x[0], y[0] = x_codes[0], y_codes[0]
    return (x / np.linalg.norm(x)).astype(np.float32), (y / np.linalg.norm(y)).astype(np.float32)


def _filled(vectors: np.ndarray) -> Int8Vectors:
    codes = Int8Vectors(len(vectors), vectors.shape[1])
    for row, vector in enumerate(vectors):
        codes.put(row, vector)
    return codes


@pytest.mark.parametrize("dim", [8, 64, 512])
def test_every_float32_product_lies_within_the_bound_of_its_estimate(dim: int) -> None:
    rng = np.random.default_rng(dim)
    unit = rng.normal(size=(200, dim))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    sparse = np.zeros((20, dim))
    sparse[np.arange(20), rng.integers(dim, size=20)] = rng.choice([-1.0, 1.0], size=20)
    sparse[10:, :3] = rng.normal(size=(10, 3))  # a few components large, the rest zero
    pairs = [v for flip in (0.0, 0.3, 0.5) for v in adversarial_pair(dim, rng, flip)]
    odd = [
        np.zeros(dim),
        np.full(dim, 1e-30),  # subnormal products
        np.full(dim, 1e-40),  # subnormal components
        3.0 * unit[0],  # not unit length
        unit[1] * 1e-3,
        np.where(np.arange(dim) % 2 == 0, 0.4999, -1e-7),
    ]
    vectors = np.vstack([unit, sparse, *pairs, *odd]).astype(np.float32)
    codes = _filled(vectors)
    for row in range(len(vectors)):
        estimate, slack = codes.bounds(row, 0, len(vectors))
        exact = vectors @ vectors[row]
        assert np.all(np.abs(exact.astype(np.float64) - estimate) <= slack)
        # gathered rows (as the recheck computes them) too
        some = rng.choice(len(vectors), size=7, replace=False)
        gathered = (vectors[some] @ vectors[row]).astype(np.float64)
        assert np.all(np.abs(gathered - estimate[some]) <= slack[some])


@pytest.mark.parametrize("dim", [64, 512])
def test_rounding_errors_that_add_up_reach_nearly_the_whole_bound(dim: int) -> None:
    """The bound cannot be made smaller: a pair's estimate falls short by 97% of it."""
    x, y = adversarial_pair(dim, np.random.default_rng(1), flip=0.3)
    codes = _filled(np.stack([x, y]))
    estimate, slack = codes.bounds(1, 0, 1)
    shortfall = float(x @ y) - float(estimate[0])
    assert 0.97 * slack[0] <= shortfall <= slack[0]
    assert slack[0] < 0.02  # and an int8 estimate is still close


def test_a_grown_and_compacted_copy_keeps_each_rows_codes() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 16)).astype(np.float32)
    codes = Int8Vectors(8, 16)
    for row in range(8):
        codes.put(row, vectors[row])
    codes.resize(40)
    for row in range(8, 40):
        codes.put(row, vectors[row])
    kept = np.flatnonzero(rng.random(40) < 0.5)
    codes.keep(kept)
    assert all(len(bound) == 0 for bound in codes.bounds(0, 5, 5))  # no rows: nothing to bound
    fresh = _filled(vectors[kept])
    for name in ("codes", "scale", "norm", "code_norm", "error", "slack"):
        assert np.array_equal(getattr(codes, name)[: len(kept)], getattr(fresh, name)), name
