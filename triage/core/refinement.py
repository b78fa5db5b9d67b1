"""What happens to a head's probabilities after the linear head, in plain NumPy.

Two steps, both fitted at training time on out-of-fold predictions of the training rows
(see :mod:`triage.training.fit_refinement`) and stored in the artifact as
``heads/refinement.json``:

1. **Neighbour vote.** The ``k`` most similar labelled training tickets (cosine similarity
   of the embeddings) vote for their labels, each with weight ``exp(similarity / sharpness)``;
   the vote is blended in as ``(1 - weight) * head + weight * vote``. The weight is chosen per
   head on out-of-fold macro-F1 (0 when the vote does not help). A head trained on too few
   tickets per class to fit (the cold start) answers by the **centroid vote** alone instead:
   ``softmax(similarity to each class's mean embedding / sharpness)``, weight 1.
2. **Top-label calibration.** The top probability is mapped through a monotone curve
   (isotonic regression of "the top label was right" on the top probability, interpolated
   between its blocks); the other probabilities are rescaled to sum to one. The map never
   lets another label overtake the top one, so it changes confidences, not answers.

A head without a refinement entry (artifacts trained before it existed) is left as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.core.head_files import read_heads_file, write_heads_file

FILE = "heads/refinement.json"
FORMAT = 1
VOTE_K = 10
VOTE_SHARPNESS = 0.05
NEIGHBOURS = "neighbours"
CENTROIDS = "centroids"
_CHUNK = 1024  # query rows per similarity block: bounds the work matrix to a few MB


@dataclass(frozen=True)
class TopLabelCalibration:
    """A monotone map of the top probability: knots ``confidences`` → ``accuracies``."""

    confidences: tuple[float, ...]
    accuracies: tuple[float, ...]

    def __post_init__(self) -> None:
        x, y = np.asarray(self.confidences), np.asarray(self.accuracies)
        if x.ndim != 1 or x.shape != y.shape or x.size == 0:
            raise ValueError("calibration knots: two equally long, non-empty lists")
        if np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
            raise ValueError("calibration knots must increase")
        if x[0] < 0 or x[-1] > 1 or y[0] < 0 or y[-1] > 1:
            raise ValueError("calibration knots must lie in [0, 1]")

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Rows of ``proba`` with the top probability mapped and the rest rescaled."""
        proba = np.asarray(proba, dtype=np.float64)
        if proba.shape[0] == 0:
            return proba.copy()
        rows = np.arange(proba.shape[0])
        top = proba.argmax(axis=1)
        p = proba[rows, top]
        rest = 1.0 - p
        mapped = np.interp(p, self.confidences, self.accuracies)
        if proba.shape[1] > 1:
            # Keep the top label on top: with the rest scaled by (1 - q) / (1 - p), the
            # runner-up s stays below q as long as q >= s / (1 - p + s).
            second = np.partition(proba, -2, axis=1)[:, -2]
            floor = second / np.maximum(rest + second, 1e-12)
            mapped = np.minimum(np.maximum(mapped, floor + 1e-9), 1.0)
        scale = np.divide(1.0 - mapped, rest, out=np.zeros_like(rest), where=rest > 1e-12)
        out: np.ndarray = proba * scale[:, None]
        out[rows, top] = mapped
        # A row whose top probability was 1 has nothing to rescale: spread the rest evenly.
        flat = (rest <= 1e-12) & (proba.shape[1] > 1)
        if flat.any():
            spread = (1.0 - mapped[flat]) / (proba.shape[1] - 1)
            out[flat] = spread[:, None]
            out[rows[flat], top[flat]] = mapped[flat]
        return out


@dataclass(frozen=True)
class Refinement:
    """One head's neighbour-vote blend and top-label calibration."""

    vote_weight: float = 0.0
    vote_k: int = VOTE_K
    vote_sharpness: float = VOTE_SHARPNESS
    calibration: TopLabelCalibration | None = None
    vote_kind: str = NEIGHBOURS  # or CENTROIDS (cold start)
    # What training measured while choosing (out-of-fold scores per candidate): for reports.
    chosen_on: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.vote_weight <= 1.0:
            raise ValueError(f"vote weight {self.vote_weight} outside [0, 1]")
        if self.vote_k < 1 or self.vote_sharpness <= 0:
            raise ValueError("vote_k must be >= 1 and vote_sharpness > 0")
        if self.vote_kind not in (NEIGHBOURS, CENTROIDS):
            raise ValueError(f"vote kind {self.vote_kind!r}: {NEIGHBOURS!r} or {CENTROIDS!r}")

    @property
    def uses_vote(self) -> bool:
        return self.vote_weight > 0.0

    def apply(self, proba: np.ndarray, vote: np.ndarray | None) -> np.ndarray:
        """The head's probabilities blended with ``vote`` (if used), then calibrated."""
        out = np.asarray(proba, dtype=np.float64)
        if self.uses_vote:
            if vote is None:
                raise ValueError("this head blends a neighbour vote: the vote is needed")
            out = (1.0 - self.vote_weight) * out + self.vote_weight * vote
        if self.calibration is not None:
            out = self.calibration.apply(out)
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["calibration"] = None if self.calibration is None else asdict(self.calibration)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Refinement:
        calibration = data.get("calibration")
        return cls(
            vote_weight=float(data["vote_weight"]),
            vote_k=int(data["vote_k"]),
            vote_sharpness=float(data["vote_sharpness"]),
            vote_kind=str(data.get("vote_kind", NEIGHBOURS)),
            calibration=None
            if calibration is None
            else TopLabelCalibration(
                tuple(float(x) for x in calibration["confidences"]),
                tuple(float(y) for y in calibration["accuracies"]),
            ),
            chosen_on=dict(data.get("chosen_on") or {}),
        )


def neighbour_vote(
    queries: np.ndarray,
    pool: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    *,
    k: int = VOTE_K,
    sharpness: float = VOTE_SHARPNESS,
    exclude_self: bool = False,
) -> np.ndarray:
    """Per query row, the similarity-weighted label shares of its ``k`` nearest pool rows.

    ``queries`` and ``pool`` are L2-normalised embeddings; ``codes`` the pool rows' class
    indices. Each query is scored on its own (a matrix-vector product), so a ticket gets the
    same vote to the last bit alone or in a batch. ``exclude_self``: the queries are the pool
    itself and row i may not vote for itself (out-of-fold votes at training time); this is
    computed in blocks, many times faster, as no served answer depends on its rounding.
    """
    queries = np.asarray(queries, dtype=np.float32)
    pool = np.asarray(pool, dtype=np.float32)
    codes = np.asarray(codes, dtype=np.intp)
    if exclude_self and queries.shape[0] != pool.shape[0]:
        raise ValueError("exclude_self needs the queries to be the pool")
    k = min(k, pool.shape[0] - (1 if exclude_self else 0))
    if k < 1:
        return np.full((queries.shape[0], n_classes), 1.0 / n_classes)
    out = np.zeros((queries.shape[0], n_classes))
    step = _CHUNK if exclude_self else 1
    for start in range(0, queries.shape[0], step):
        if exclude_self:
            sims = queries[start : start + step] @ pool.T
            rows = np.arange(sims.shape[0])
            sims[rows, rows + start] = -np.inf
        else:
            sims = row_similarities(pool, queries[start])
            rows = np.zeros(1, dtype=np.intp)
        nearest, weights = nearest_weights(sims, k, sharpness)
        np.add.at(out, (rows[:, None] + start, codes[nearest]), weights)
    shares: np.ndarray = out / out.sum(axis=1, keepdims=True)
    return shares


def row_similarities(pool: np.ndarray, query: np.ndarray) -> np.ndarray:
    """One query row's similarity to every pool row, as a (1, pool rows) array: the
    matrix-vector product every served vote is computed from."""
    sims: np.ndarray = (pool @ query)[None, :]
    return sims


def nearest_weights(sims: np.ndarray, k: int, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``sims`` (similarities to the pool), its ``k`` most similar pool rows and
    their vote weights ``exp(similarity / sharpness)``, shifted by the row's best."""
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    near_sims = np.take_along_axis(sims, nearest, axis=1).astype(np.float64)
    # Shifted by the row's best similarity: same shares, no overflow.
    weights = np.exp((near_sims - near_sims.max(axis=1, keepdims=True)) / sharpness)
    return nearest, weights


def class_centroids(pool: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Each class's mean embedding, normalised (zeros for a class with no ticket)."""
    pool = np.asarray(pool, dtype=np.float32)
    sums = np.zeros((n_classes, pool.shape[1]), dtype=np.float64)
    np.add.at(sums, np.asarray(codes, dtype=np.intp), pool)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids: np.ndarray = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)
    return centroids.astype(np.float32)


def centroid_vote(
    queries: np.ndarray, centroids: np.ndarray, *, sharpness: float = VOTE_SHARPNESS
) -> np.ndarray:
    """Per query row, softmax of its similarity to each class centroid over ``sharpness``.

    Row by row, like ``neighbour_vote``, so a ticket's vote does not depend on its batch.
    """
    queries = np.asarray(queries, dtype=np.float32)
    sims = np.stack([centroids @ row for row in queries]) if len(queries) else None
    if sims is None:
        return np.zeros((0, centroids.shape[0]))
    scaled = (sims.astype(np.float64) - sims.max(axis=1, keepdims=True)) / sharpness
    weights = np.exp(scaled)
    shares: np.ndarray = weights / weights.sum(axis=1, keepdims=True)
    return shares


def save_refinements(root: Path, refinements: Mapping[str, Refinement]) -> str:
    """Write every head's refinement under the artifact directory ``root``; return the path."""
    return write_heads_file(root, FILE, FORMAT, {n: r.to_dict() for n, r in refinements.items()})


def load_refinements(root: Path) -> dict[str, Refinement]:
    entries = read_heads_file(root, FILE, FORMAT, "refinement")
    return {name: Refinement.from_dict(entry) for name, entry in entries.items()}
