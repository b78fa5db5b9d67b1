"""Exact cosine search: keys and unit vectors in growable arrays, one matrix product a query."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
KeyArray = npt.NDArray[np.int64]

NPZ_MAGIC = b"PK\x03\x04"
NPZ_FORMAT = "triage-vector-index/1"


class ExactVectors:
    """Keys and unit vectors in growable arrays; removal swaps the last row into the hole."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self.keys: KeyArray = np.empty(capacity, dtype=np.int64)
        self.vectors: FloatArray = np.empty((capacity, dim), dtype=np.float32)
        self.size = 0
        self.rows: dict[int, int] = {}

    @classmethod
    def from_arrays(cls, keys: KeyArray, vectors: FloatArray) -> ExactVectors:
        store = cls(vectors.shape[1], capacity=max(1024, len(keys)))
        store.put(keys, vectors)
        return store

    def _reserve(self, needed: int) -> None:
        capacity = len(self.keys)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        keys = np.empty(capacity, dtype=np.int64)
        vectors = np.empty((capacity, self.dim), dtype=np.float32)
        keys[: self.size] = self.keys[: self.size]
        vectors[: self.size] = self.vectors[: self.size]
        self.keys, self.vectors = keys, vectors

    def put(self, keys: KeyArray, vectors: FloatArray) -> None:
        """Insert or overwrite; ``keys`` must be unique within the call."""
        self._reserve(self.size + len(keys))
        for key, vector in zip(keys.tolist(), vectors, strict=True):
            row = self.rows.get(key)
            if row is None:
                row = self.size
                self.size += 1
                self.rows[key] = row
                self.keys[row] = key
            self.vectors[row] = vector

    def delete(self, keys: KeyArray) -> int:
        removed = 0
        for key in keys.tolist():
            row = self.rows.pop(key, None)
            if row is None:
                continue
            last = self.size - 1
            if row != last:
                moved = int(self.keys[last])
                self.keys[row] = moved
                self.vectors[row] = self.vectors[last]
                self.rows[moved] = row
            self.size = last
            removed += 1
        return removed

    def search(self, queries: FloatArray, k: int) -> tuple[KeyArray, FloatArray]:
        n = self.size
        k = min(k, n)
        if k == 0:
            return (
                np.empty((len(queries), 0), dtype=np.int64),
                np.empty((len(queries), 0), dtype=np.float32),
            )
        scores = queries @ self.vectors[:n].T
        if k < n:
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        else:
            top = np.broadcast_to(np.arange(n), (len(queries), n)).copy()
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return self.keys[top], np.take_along_axis(top_scores, order, axis=1)


def read_npz(source: Path) -> tuple[KeyArray, FloatArray]:
    with np.load(source, allow_pickle=False) as data:
        if "format" not in data.files or str(data["format"]) != NPZ_FORMAT:
            raise ValueError(f"{source} is not a saved VectorIndex")
        keys = np.asarray(data["keys"], dtype=np.int64)
        vectors = np.asarray(data["vectors"], dtype=np.float32)
    return keys, vectors
