"""The labelled training tickets nearest to a new one, by cosine similarity of embeddings.

Kept in the artifact as ``neighbours.npz``: float16 embeddings, ticket ids and the labels of
every head — never the ticket text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
        self.embeddings = np.asarray(embeddings, dtype=np.float16)
        self.ids = np.asarray(ids, dtype=object)
        self.labels = {head: np.asarray(values, dtype=object) for head, values in labels.items()}

    def nearest(self, vector: np.ndarray, k: int = 5) -> list[Neighbour]:
        """The ``k`` most similar training tickets to one normalised embedding."""
        scores = self.embeddings @ vector.astype(np.float16)
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
                embeddings=self.embeddings,
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
