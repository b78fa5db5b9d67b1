"""How far a ticket lies from the training tickets of the class a head gives it.

A head is sure of a label only relative to the other labels: a bank-card question sent to an
IT model still lands on "password reset" with a high probability, because that is the least
unlike label. This check asks instead whether the ticket looks like the tickets of that label
at all: the Mahalanobis distance of its embedding to the label's centroid, with one
covariance shared by all the labels of the head (Lee et al., 2018, "A simple unified
framework for detecting out-of-distribution samples"), shrunk by Ledoit–Wolf so that it is
well conditioned with fewer tickets than dimensions.

Serving needs only NumPy: training (:mod:`triage.training.fit_gate`) stores a whitening
matrix ``W`` (``W Wᵀ`` is the inverse covariance) and the centroids already whitened, so the
distance is ``‖x W − c‖`` for the predicted label's whitened centroid ``c``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class ClassDistance:
    """One head's distance check: per label its whitened centroid, the shared whitening
    and the largest distance at which the head may still decide ``auto``."""

    labels: tuple[str, ...]
    centroids: np.ndarray  # (labels, dim), whitened
    whitening: np.ndarray  # (dim, dim)
    max_distance: float
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.centroids.shape != (len(self.labels), self.whitening.shape[1]):
            raise ValueError("one whitened centroid per label, of the whitening's dimension")
        if self.whitening.shape[0] != self.whitening.shape[1]:
            raise ValueError("the whitening matrix must be square")

    @property
    def dim(self) -> int:
        return int(self.whitening.shape[0])

    def distances(self, embeddings: np.ndarray, predicted: Sequence[str]) -> np.ndarray:
        """Per row of ``embeddings``: its distance to the centroid of its ``predicted`` label."""
        whitened = np.asarray(embeddings, dtype=np.float32) @ self.whitening
        return self.whitened_distances(whitened, predicted)

    def whitened_distances(self, whitened: np.ndarray, predicted: Sequence[str]) -> np.ndarray:
        """``distances`` of rows already whitened (``embeddings @ whitening``)."""
        index = {label: i for i, label in enumerate(self.labels)}
        try:
            codes = np.asarray([index[label] for label in predicted], dtype=np.intp)
        except KeyError as exc:
            raise ValueError(f"label {exc} is not one of the head's") from exc
        return np.asarray(np.linalg.norm(whitened - self.centroids[codes], axis=1), dtype=float)

    def reasons(self, embeddings: np.ndarray, predicted: Sequence[str]) -> list[str | None]:
        """Per ticket, why it is too far from its predicted label's tickets (None: it is not)."""
        whitened = np.asarray(embeddings, dtype=np.float32) @ self.whitening
        return self.whitened_reasons(whitened, predicted)

    def whitened_reasons(self, whitened: np.ndarray, predicted: Sequence[str]) -> list[str | None]:
        """``reasons`` of rows already whitened (``embeddings @ whitening``)."""
        return [
            None
            if distance <= self.max_distance
            else (
                f"unlike the training tickets of {label!r}: distance {distance:.1f}; "
                f"automatic decisions need at most {self.max_distance:.1f}"
            )
            for distance, label in zip(
                self.whitened_distances(whitened, predicted), predicted, strict=True
            )
        ]

    def summary(self) -> dict[str, Any]:
        """What the JSON side of the artifact and the model's description keep."""
        return {
            "labels": list(self.labels),
            "max_distance": self.max_distance,
            "fitted_on": self.fitted_on,
        }
