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

from triage.core.refinement import (
    CENTROIDS,
    centroid_vote,
    class_centroids,
    nearest_weights,
    row_similarities,
)


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

    def query(self, vectors: np.ndarray) -> NeighbourQuery:
        """``vectors`` (one request's tickets) to search once for every head and the gate."""
        return NeighbourQuery(self, vectors)

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
        return self.query(vectors).vote(head, classes, k=k, sharpness=sharpness, kind=kind)

    def centroids(self, head: str, classes: Sequence[str]) -> np.ndarray:
        key = (head, tuple(classes))
        if key not in self._centroids:
            codes = self.codes(head, classes)
            self._centroids[key] = class_centroids(self.matrix, codes, len(classes))
        return self._centroids[key]

    def nearest_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Per embedding row, the cosine similarity of its most similar training ticket."""
        return self.query(vectors).nearest_similarity()

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


class NeighbourQuery:
    """One request's tickets against a :class:`NeighbourIndex`, searched once.

    Each row's similarity to every training ticket is one matrix-vector product over the
    whole index, and its ``k`` nearest an ``argpartition`` of them: both are computed on first
    use and shared by every head's vote and the auto gate's nearest similarity, which used to
    repeat them. Row by row, as ``neighbour_vote`` serves them, so a ticket's answers are the
    same to the last bit alone, in a batch, or through ``neighbour_vote`` itself.
    """

    def __init__(self, index: NeighbourIndex, vectors: np.ndarray) -> None:
        self.index = index
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self._similarities: list[np.ndarray] | None = None
        self._nearest: dict[tuple[int, float], list[tuple[np.ndarray, np.ndarray]]] = {}

    @property
    def similarities(self) -> list[np.ndarray]:
        """Per row, its (1, index rows) similarities."""
        if self._similarities is None:
            self._similarities = [row_similarities(self.index.matrix, r) for r in self.vectors]
        return self._similarities

    def _nearest_weights(self, k: int, sharpness: float) -> list[tuple[np.ndarray, np.ndarray]]:
        key = (k, sharpness)
        if key not in self._nearest:
            self._nearest[key] = [nearest_weights(s, k, sharpness) for s in self.similarities]
        return self._nearest[key]

    def vote(
        self,
        head: str,
        classes: Sequence[str],
        *,
        k: int,
        sharpness: float,
        kind: str = "neighbours",
    ) -> np.ndarray:
        """Per row, the vote over ``classes`` (as :meth:`NeighbourIndex.vote`)."""
        if kind == CENTROIDS:
            centroids = self.index.centroids(head, classes)
            return centroid_vote(self.vectors, centroids, sharpness=sharpness)
        n_classes = len(classes)
        k = min(k, len(self.index))
        if k < 1:
            return np.full((self.vectors.shape[0], n_classes), 1.0 / n_classes)
        codes = self.index.codes(head, classes)
        out = np.zeros((self.vectors.shape[0], n_classes))
        for row, (nearest, weights) in enumerate(self._nearest_weights(k, sharpness)):
            np.add.at(out, (np.full((1, 1), row, dtype=np.intp), codes[nearest]), weights)
        shares: np.ndarray = out / out.sum(axis=1, keepdims=True)
        return shares

    def nearest_similarity(self) -> np.ndarray:
        """Per row, the cosine similarity of its most similar training ticket."""
        if len(self.index) == 0 or self.vectors.shape[0] == 0:
            return np.full(self.vectors.shape[0], -1.0)
        return np.asarray([float(s.max()) for s in self.similarities])
