"""An int8 copy of float32 vectors, read to bound their cosines before any is computed exactly.

Each row ``x`` is kept as ``q = round(x / s)`` with ``s = max|x| / 127`` (its own scale), so
``x̂ = s q`` is within ``‖x − x̂‖`` of it; a product of two rows' codes is an exact integer
(at most 512 · 127² < 2²⁴, so exact in float32 too), read by NumKong's int8 kernels at a
quarter of the float32 bytes. Its error is bounded per pair by Cauchy–Schwarz:

    x·y − x̂·ŷ = x̂·(y − ŷ) + (x − x̂)·y,   so   |x·y − x̂·ŷ| ≤ ‖x̂‖ ‖y − ŷ‖ + ‖x − x̂‖ ‖y‖,

and the float32 product the exact cosine is computed as differs from ``x·y`` by at most
``dim · 2⁻²⁴ ‖x‖ ‖y‖`` in any order of summation (Higham, "Accuracy and Stability of
Numerical Algorithms", 3.1); twice that covers the float32 arithmetic of the estimate and of
its bound. The norms are computed in float64 and rounded up to float32. So
``estimate - slack <= x @ y (float32) <= estimate + slack`` always: a row whose estimate plus
slack is below a bar cannot reach it, and is never computed exactly.
"""

from __future__ import annotations

import math

import numkong
import numpy as np

LEVELS = 127  # int8 codes lie in -127..127


class Int8Vectors:
    """Rows of int8 codes with their scales and the norms that bound a cosine's error."""

    def __init__(self, capacity: int, dim: int) -> None:
        self.dim = dim
        self.codes = np.zeros((capacity, dim), dtype=np.int8)
        self.scale = np.zeros(capacity, dtype=np.float32)
        self.norm = np.zeros(capacity, dtype=np.float32)  # ‖x‖
        self.code_norm = np.zeros(capacity, dtype=np.float32)  # ‖x̂‖
        self.error = np.zeros(capacity, dtype=np.float32)  # ‖x − x̂‖
        # ‖x − x̂‖ plus the float32 products' rounding per unit of ‖y‖ (twice the worst case).
        self.slack = np.zeros(capacity, dtype=np.float32)
        self._rounding = (dim + 16) * 2.0**-23

    def __len__(self) -> int:
        return len(self.scale)

    def put(self, row: int, vector: np.ndarray) -> None:
        """Keep ``vector`` (float32) at ``row``."""
        exact = vector.astype(np.float64)
        scale = np.float32(np.abs(exact).max() / LEVELS)
        # |x| / s is at most 127 by a float32 rounding of a normal s: codes in -127..127. A
        # vector too small for one is kept as zeros (its error, its whole norm, is bounded).
        normal = scale >= np.finfo(np.float32).tiny
        codes = np.rint(exact / float(scale)) if normal else np.zeros(self.dim)
        approximate = float(scale) * codes
        residual = exact - approximate
        error = math.sqrt(residual @ residual)
        norm = math.sqrt(exact @ exact)
        self.codes[row] = codes
        self.scale[row] = scale
        self.norm[row] = _up(norm)
        self.code_norm[row] = _up(math.sqrt(approximate @ approximate))
        self.error[row] = _up(error)
        self.slack[row] = _up(error + self._rounding * norm)

    def resize(self, size: int) -> None:
        codes = np.zeros((size, self.dim), dtype=np.int8)
        kept = min(size, len(self))
        codes[:kept] = self.codes[:kept]
        self.codes = codes
        for name in ("scale", "norm", "code_norm", "error", "slack"):
            setattr(self, name, np.resize(getattr(self, name), size))

    def keep(self, rows: np.ndarray) -> None:
        """Move ``rows`` (ascending) to the front, in order (a compaction)."""
        kept = len(rows)
        self.codes[:kept] = self.codes[rows]
        for name in ("scale", "norm", "code_norm", "error", "slack"):
            values = getattr(self, name)
            values[:kept] = values[rows]

    def bounds(self, row: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """The estimated cosines (products) of ``row`` with the rows ``start:end``, and how
        far the float32 product of each pair may lie from its estimate (float32 arrays)."""
        if end <= start:  # NumKong refuses an empty matrix
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        dots = numkong.cdist(
            self.codes[row : row + 1], self.codes[start:end], metric="dot", out_dtype="float32"
        )
        estimate: np.ndarray = np.asarray(dots)[0]
        estimate *= self.scale[start:end]
        estimate *= self.scale[row]
        slack = self.code_norm[start:end] * self.error[row]
        slack += self.slack[start:end] * self.norm[row]
        return estimate, slack


def _up(value: float) -> np.float32:
    """``value`` rounded up to a float32."""
    rounded = np.float32(value)
    return rounded if rounded >= value else np.nextafter(rounded, np.float32(np.inf))
