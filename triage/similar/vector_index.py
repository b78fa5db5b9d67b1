"""An in-process cosine index over ticket embeddings, keyed by database row id.

Small sets are searched exactly (one float32 matrix product); once the number of stored
vectors crosses ``hnsw_threshold`` the index moves itself onto a USearch HNSW graph, and it
moves back to exact search when removals take it below half the threshold.

The file written by :meth:`VectorIndex.save` sits next to the SQLite database. Below the
threshold it is a ``.npz`` of keys and vectors; above it, USearch's own index file (keys,
vectors and graph). Either is written to a temporary file in the same directory and moved
into place with :func:`os.replace`, so a reader never sees a half-written index.

Thread-safety: searches may be called from any number of threads (exact searches run in
parallel; HNSW searches take turns on one mutex, see ``_graph_search``); writers (``upsert``,
``remove``) are serialised among themselves and take the index exclusively only for short
steps (one chunk of at most ``write_chunk`` vectors, or the swap after a rebuild, which is
built aside while searches go on), so searches keep being answered during a large load. A
search that runs during an upsert may see part of it.

Its parts: :mod:`triage.similar.exact_vectors` (exact search and the ``.npz`` file),
:mod:`triage.similar.usearch_graph` (USearch, loaded on first use) and
:mod:`triage.similar.rw_lock`.

Why USearch (see ``benchmarks/vector_speed.py`` and ``benchmarks/results/vector_speed.json``):
on 2 cores it builds about as fast as faiss and hnswlib, searches in a fraction of a
millisecond at 1 M, stores f16 vectors (half the memory, no measurable recall loss on
MiniLM embeddings), deletes for real, takes 64-bit keys, saves, loads and memory-maps its own
file, and ships wheels with type hints. faiss's HNSW cannot delete, and hnswlib has no
wheels on PyPI (it compiles on install).
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from triage.core.atomic import fsync_dir
from triage.similar.exact_vectors import (
    NPZ_FORMAT,
    NPZ_MAGIC,
    ExactVectors,
    FloatArray,
    KeyArray,
    read_npz,
)
from triage.similar.rw_lock import ReadWriteLock
from triage.similar.usearch_graph import (
    HnswDtype,
    dtype_name,
    graph_contents,
    read_graph,
    unpack,
    usearch_index,
)

if TYPE_CHECKING:
    from usearch.index import Index

Mode = Literal["exact", "hnsw"]

# Chosen with benchmarks/vector_speed.py (384-d all-MiniLM-L6-v2 vectors, 2 cores).
DEFAULT_HNSW_THRESHOLD = 20_000
DEFAULT_CONNECTIVITY = 16  # HNSW "M"
DEFAULT_EXPANSION_ADD = 100  # "efConstruction"
DEFAULT_EXPANSION_SEARCH = 128  # "ef"; 64 gave recall@10 0.967 at 1 M: too close to 0.95
DEFAULT_DTYPE: HnswDtype = "f16"
DEFAULT_WRITE_CHUNK = 1024


class VectorIndex:
    """Cosine top-k over int64-keyed vectors: exact when small, USearch HNSW when large.

    Vectors are L2-normalised on the way in, so scores are cosine similarities whatever the
    caller passes. Keys must be non-negative (database row ids).
    """

    def __init__(
        self,
        dim: int,
        *,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        connectivity: int = DEFAULT_CONNECTIVITY,
        expansion_add: int = DEFAULT_EXPANSION_ADD,
        expansion_search: int = DEFAULT_EXPANSION_SEARCH,
        dtype: HnswDtype = DEFAULT_DTYPE,
        threads: int = 0,
        write_chunk: int = DEFAULT_WRITE_CHUNK,
    ) -> None:
        if dim <= 0:
            raise ValueError("dim must be positive")
        if hnsw_threshold < 2:
            raise ValueError("hnsw_threshold must be at least 2")
        self.dim = dim
        self.hnsw_threshold = hnsw_threshold
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self._expansion_search = expansion_search
        self.dtype: HnswDtype = dtype
        self.threads = threads
        self.write_chunk = max(1, write_chunk)
        self._exact: ExactVectors | None = ExactVectors(dim)
        self._hnsw: Index | None = None
        self._lock = ReadWriteLock()
        self._writer = threading.Lock()
        # USearch's binding releases the GIL and runs each call on its own scratch slots
        # 0..threads-1 (it also re-reserves them per call), so two concurrent calls on one
        # graph could share a slot. Graph searches take turns; each is a fraction of a ms.
        self._graph_search = threading.Lock()

    # -- inspection -----------------------------------------------------------------------

    @property
    def expansion_search(self) -> int:
        """HNSW ``ef`` at query time: higher is slower and closer to exact."""
        return self._expansion_search

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        if value < 1:
            raise ValueError("expansion_search must be positive")
        with self._writer, self._lock.write():
            self._expansion_search = value
            if self._hnsw is not None:
                # USearch declares the setter after another property, which type checkers miss.
                self._hnsw.expansion_search = value  # type: ignore[misc]

    @property
    def mode(self) -> Mode:
        return "exact" if self._hnsw is None else "hnsw"

    def __len__(self) -> int:
        with self._lock.read():
            return self._size()

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | np.integer):
            return False
        with self._lock.read():
            if self._hnsw is not None:
                return bool(self._hnsw.contains(int(key)))
            assert self._exact is not None
            return int(key) in self._exact.rows

    def memory_bytes(self) -> int:
        """Bytes held by the vectors (and the graph, in HNSW mode)."""
        with self._lock.read():
            if self._hnsw is not None:
                return int(self._hnsw.memory_usage)
            assert self._exact is not None
            return int(self._exact.vectors.nbytes + self._exact.keys.nbytes)

    def _size(self) -> int:
        if self._hnsw is not None:
            return len(self._hnsw)
        assert self._exact is not None
        return self._exact.size

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, keys: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Insert vectors, replacing any already stored under the same keys.

        If a key repeats within the call, its last vector wins.
        """
        key_arr = _as_keys(keys)
        vec_arr = self._as_vectors(vectors)
        if len(key_arr) != len(vec_arr):
            raise ValueError(f"{len(key_arr)} keys for {len(vec_arr)} vectors")
        if not len(key_arr):
            return
        key_arr, vec_arr = _last_wins(key_arr, vec_arr)
        with self._writer:
            if self._hnsw is None:
                exact = self._exact
                assert exact is not None
                new = sum(1 for key in key_arr.tolist() if key not in exact.rows)
                if exact.size + new <= self.hnsw_threshold:
                    with self._lock.write():
                        exact.put(key_arr, vec_arr)
                    return
                # Crossing the threshold: build the graph while searches still read the
                # exact store (only this writer could change it), then swap.
                graph = self._new_graph()
                current = exact.keys[: exact.size]
                keep = ~np.isin(current, key_arr)
                self._add_all(graph, current[keep], exact.vectors[: exact.size][keep])
                self._add_all(graph, key_arr, vec_arr)
                with self._lock.write():
                    self._hnsw, self._exact = graph, None
                return
            graph = self._hnsw
            for start in range(0, len(key_arr), self.write_chunk):
                chunk_keys = key_arr[start : start + self.write_chunk]
                chunk_vecs = vec_arr[start : start + self.write_chunk]
                with self._lock.write():
                    present = np.asarray(graph.contains(chunk_keys), dtype=bool)
                    if present.any():
                        graph.remove(chunk_keys[present])
                    graph.add(chunk_keys, chunk_vecs, threads=self.threads)

    def remove(self, keys: npt.ArrayLike) -> int:
        """Delete the given keys (unknown ones are ignored); returns how many were stored."""
        key_arr = np.unique(_as_keys(keys))
        if not len(key_arr):
            return 0
        with self._writer:
            if self._hnsw is None:
                assert self._exact is not None
                with self._lock.write():
                    return self._exact.delete(key_arr)
            graph = self._hnsw
            with self._lock.write():
                present = np.asarray(graph.contains(key_arr), dtype=bool)
                if present.any():
                    graph.remove(key_arr[present])
            removed = int(present.sum())
            if len(graph) < self.hnsw_threshold // 2:
                # Small again: fall back to exact search (the graph is only read here).
                store = ExactVectors.from_arrays(*graph_contents(graph, self.dim))
                with self._lock.write():
                    self._exact, self._hnsw = store, None
            return removed

    def _new_graph(self) -> Index:
        return usearch_index()(
            ndim=self.dim,
            metric="cos",
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def _add_all(self, graph: Index, keys: KeyArray, vectors: FloatArray) -> None:
        # ``graph`` is not yet visible to searches, so no lock: one big parallel add.
        if len(keys):
            graph.add(keys, np.ascontiguousarray(vectors), threads=self.threads)

    # -- reads ----------------------------------------------------------------------------

    def search(self, queries: npt.ArrayLike, k: int = 10) -> tuple[KeyArray, FloatArray]:
        """The ``k`` nearest stored vectors to each query, most similar first.

        Returns ``(keys, scores)``, both shaped ``(n_queries, min(k, len(self)))``; scores
        are cosine similarities. In HNSW mode the graph may fail to reach enough live
        vectors (seen on small graphs after removals); such rows are searched again by
        brute force over the graph's vectors, so every row is full.
        """
        if k <= 0:
            raise ValueError("k must be positive")
        query_arr = self._as_vectors(queries)
        with self._lock.read():
            if self._hnsw is None:
                assert self._exact is not None
                return self._exact.search(query_arr, k)
            width = min(k, len(self._hnsw))
            if width == 0 or not len(query_arr):
                return (
                    np.empty((len(query_arr), width), dtype=np.int64),
                    np.empty((len(query_arr), width), dtype=np.float32),
                )
            threads = 1 if len(query_arr) == 1 else self.threads
            with self._graph_search:
                found = self._hnsw.search(query_arr, width, threads=threads)
                keys, scores = unpack(found, len(query_arr), width)
                short = np.flatnonzero((keys < 0).any(axis=1))
                if len(short):
                    exact = self._hnsw.search(query_arr[short], width, exact=True)
                    keys[short], scores[short] = unpack(exact, len(short), width)
        return keys, scores

    def _as_vectors(self, vectors: npt.ArrayLike) -> FloatArray:
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("vectors must be finite")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError("zero vectors have no direction")
        return np.ascontiguousarray(arr / norms, dtype=np.float32)

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index to ``path`` atomically (temporary file, fsync, os.replace)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            with self._writer, self._lock.read():
                if self._hnsw is not None:
                    os.close(fd)
                    fd = -1
                    self._hnsw.save(tmp)
                else:
                    assert self._exact is not None
                    n = self._exact.size
                    with os.fdopen(fd, "wb") as handle:
                        fd = -1
                        np.savez(
                            handle,
                            format=np.array(NPZ_FORMAT),
                            keys=self._exact.keys[:n],
                            vectors=self._exact.vectors[:n],
                        )
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent, best_effort=True)  # the snapshot is a cache

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
        connectivity: int = DEFAULT_CONNECTIVITY,
        expansion_add: int = DEFAULT_EXPANSION_ADD,
        expansion_search: int = DEFAULT_EXPANSION_SEARCH,
        dtype: HnswDtype = DEFAULT_DTYPE,
        threads: int = 0,
        write_chunk: int = DEFAULT_WRITE_CHUNK,
    ) -> VectorIndex:
        """Read an index written by :meth:`save`.

        The graph file carries its own dimension, M and storage type, which win over the
        arguments; the other settings (threshold, ef, threads) are taken from the arguments.
        If the stored size is on the other side of the threshold, the index switches mode.
        """
        settings: dict[str, Any] = {
            "hnsw_threshold": hnsw_threshold,
            "expansion_add": expansion_add,
            "expansion_search": expansion_search,
            "threads": threads,
            "write_chunk": write_chunk,
        }
        source = Path(path)
        with source.open("rb") as handle:
            magic = handle.read(4)
        if magic == NPZ_MAGIC:
            keys, vectors = read_npz(source)
            index = cls(vectors.shape[1], connectivity=connectivity, dtype=dtype, **settings)
            if len(keys):
                index.upsert(keys, vectors)
            return index
        graph, stored_dtype, dim = read_graph(source, expansion_search, expansion_add)
        index = cls(
            dim,
            connectivity=int(graph.connectivity),
            dtype=dtype_name(stored_dtype, dtype),
            **settings,
        )
        if len(graph) < hnsw_threshold // 2:
            index._exact = ExactVectors.from_arrays(*graph_contents(graph, index.dim))
        else:
            index._hnsw, index._exact = graph, None
        return index


def _as_keys(keys: npt.ArrayLike) -> KeyArray:
    arr = np.asarray(keys)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError("keys must be one-dimensional")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"keys must be integers, got {arr.dtype}")
    out = arr.astype(np.int64, copy=False)
    if out.size and int(out.min()) < 0:
        raise ValueError("keys must be non-negative row ids")
    return out


def _last_wins(keys: KeyArray, vectors: FloatArray) -> tuple[KeyArray, FloatArray]:
    """Drop all but the last occurrence of each key, keeping call order otherwise."""
    if len(np.unique(keys)) == len(keys):
        return keys, vectors
    _, first_in_reversed = np.unique(keys[::-1], return_index=True)
    rows = np.sort(len(keys) - 1 - first_in_reversed)
    return keys[rows], vectors[rows]
