"""The labelled training tickets nearest to a new one, by cosine similarity of embeddings.

Kept in the artifact as ``neighbours.npz``: float16 embeddings, ticket ids and the labels of
every head — never the ticket text. In memory they are float32 (the float16 values widened,
so training and serving search the very same numbers): NumPy has no BLAS for float16, and a
float16 product over 10,000 tickets takes ~11 ms against ~0.2 ms in float32 (1.5 kB a ticket
for 384 dimensions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from triage.core.refinement import CENTROIDS, centroid_vote, class_centroids, neighbour_vote


@dataclass(frozen=True)
class Neighbour:
    id: str
    labels: dict[str, str]
    similarity: float


class NeighbourIndex:
    """Exact search over the training embeddings (a matrix product; fine to ~10⁵ rows)."""

    def __init__(
        self, embeddings: np.ndarray, ids: Sequence[str], labels: Mapping[str, Sequence[str]]
    ) -> None:
        if embeddings.shape[0] != len(ids):
            raise ValueError("one id per embedding row")
        # float16 is what the artifact keeps; search runs on it widened to float32, made once.
        self.matrix = np.asarray(embeddings, dtype=np.float16).astype(np.float32)
        self.ids = np.asarray(ids, dtype=object)
        self.labels = {head: np.asarray(values, dtype=object) for head, values in labels.items()}
        self._codes: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._centroids: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def codes(self, head: str, classes: Sequence[str]) -> np.ndarray:
        """Each ticket's ``head`` label as an index into ``classes``."""
        key = (head, tuple(classes))
        if key not in self._codes:
            index = {label: i for i, label in enumerate(classes)}
            try:
                self._codes[key] = np.fromiter(
                    (index[str(v)] for v in self.labels[head]), dtype=np.intp, count=len(self)
                )
            except KeyError as exc:
                message = f"a neighbour's {head} label {exc} is not a class of the head"
                raise ValueError(message) from exc
        return self._codes[key]

    def vote(
        self,
        vectors: np.ndarray,
        head: str,
        classes: Sequence[str],
        *,
        k: int,
        sharpness: float,
        kind: str = "neighbours",
    ) -> np.ndarray:
        """Per embedding row, the vote over ``classes`` of the ``k`` nearest tickets
        (``neighbour_vote``) or, for ``kind`` "centroids", of the class centroids."""
        if kind == CENTROIDS:
            key = (head, tuple(classes))
            if key not in self._centroids:
                codes = self.codes(head, classes)
                self._centroids[key] = class_centroids(self.matrix, codes, len(classes))
            return centroid_vote(vectors, self._centroids[key], sharpness=sharpness)
        return neighbour_vote(
            vectors, self.matrix, self.codes(head, classes), len(classes), k=k, sharpness=sharpness
        )

    def nearest_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Per embedding row, the cosine similarity of its most similar training ticket."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if len(self) == 0 or vectors.shape[0] == 0:
            return np.full(vectors.shape[0], -1.0)
        # One row at a time, as the vote: an answer never depends on its batch.
        return np.asarray([float((self.matrix @ row).max()) for row in vectors])

    def nearest(self, vector: np.ndarray, k: int = 5) -> list[Neighbour]:
        """The ``k`` most similar training tickets to one normalised embedding."""
        scores = self.matrix @ vector.astype(np.float32)
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            Neighbour(
                id=str(self.ids[i]),
                labels={head: str(values[i]) for head, values in self.labels.items()},
                similarity=round(float(scores[i]), 4),
            )
            for i in top
        ]

    def save(self, path: Path) -> None:
        arrays = {f"label__{head}": values.astype(str) for head, values in self.labels.items()}
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                embeddings=self.matrix.astype(np.float16),
                ids=self.ids.astype(str),
                **arrays,  # type: ignore[arg-type]
            )

    @classmethod
    def load(cls, path: Path) -> NeighbourIndex:
        with np.load(path, allow_pickle=False) as data:
            labels = {
                key.removeprefix("label__"): data[key].tolist()
                for key in data.files
                if key.startswith("label__")
            }
            return cls(data["embeddings"], data["ids"].tolist(), labels)
