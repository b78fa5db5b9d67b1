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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from triage.core.atomic import fsync_dir

if TYPE_CHECKING:
    from usearch.index import BatchMatches, Index, Matches

Mode = Literal["exact", "hnsw"]
HnswDtype = Literal["f32", "bf16", "f16", "i8"]

FloatArray = npt.NDArray[np.float32]
KeyArray = npt.NDArray[np.int64]

# Chosen with benchmarks/vector_speed.py (384-d all-MiniLM-L6-v2 vectors, 2 cores).
DEFAULT_HNSW_THRESHOLD = 20_000
DEFAULT_CONNECTIVITY = 16  # HNSW "M"
DEFAULT_EXPANSION_ADD = 100  # "efConstruction"
DEFAULT_EXPANSION_SEARCH = 128  # "ef"; 64 gave recall@10 0.967 at 1 M: too close to 0.95
DEFAULT_DTYPE: HnswDtype = "f16"
DEFAULT_WRITE_CHUNK = 1024

_NPZ_MAGIC = b"PK\x03\x04"
_FORMAT = "triage-vector-index/1"


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _ExactStore:
    """Keys and unit vectors in growable arrays; removal swaps the last row into the hole."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self.keys: KeyArray = np.empty(capacity, dtype=np.int64)
        self.vectors: FloatArray = np.empty((capacity, dim), dtype=np.float32)
        self.size = 0
        self.rows: dict[int, int] = {}

    @classmethod
    def from_arrays(cls, keys: KeyArray, vectors: FloatArray) -> _ExactStore:
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
        self._exact: _ExactStore | None = _ExactStore(dim)
        self._hnsw: Index | None = None
        self._lock = _ReadWriteLock()
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
                store = _ExactStore.from_arrays(*_graph_contents(graph, self.dim))
                with self._lock.write():
                    self._exact, self._hnsw = store, None
            return removed

    def _new_graph(self) -> Index:
        return _usearch_index()(
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
                keys, scores = _unpack(found, len(query_arr), width)
                short = np.flatnonzero((keys < 0).any(axis=1))
                if len(short):
                    exact = self._hnsw.search(query_arr[short], width, exact=True)
                    keys[short], scores[short] = _unpack(exact, len(short), width)
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
                            format=np.array(_FORMAT),
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
        source = Path(path)
        with source.open("rb") as handle:
            magic = handle.read(4)
        if magic == _NPZ_MAGIC:
            with np.load(source, allow_pickle=False) as data:
                if "format" not in data.files or str(data["format"]) != _FORMAT:
                    raise ValueError(f"{source} is not a saved VectorIndex")
                keys = np.asarray(data["keys"], dtype=np.int64)
                vectors = np.asarray(data["vectors"], dtype=np.float32)
            index = cls(
                vectors.shape[1],
                hnsw_threshold=hnsw_threshold,
                connectivity=connectivity,
                expansion_add=expansion_add,
                expansion_search=expansion_search,
                dtype=dtype,
                threads=threads,
                write_chunk=write_chunk,
            )
            if len(keys):
                index.upsert(keys, vectors)
            return index
        try:
            meta = _usearch_index().metadata(source)
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"{source} is not a saved VectorIndex: {exc}") from exc
        if not meta:
            raise ValueError(f"{source} is not a saved VectorIndex")
        graph = _usearch_index().restore(
            source, expansion_search=expansion_search, expansion_add=expansion_add
        )
        if graph is None:
            raise ValueError(f"{source} is not a saved VectorIndex")
        stored_dtype = str(meta["kind_scalar"]).rsplit(".", 1)[-1].lower()
        index = cls(
            int(meta["dimensions"]),
            hnsw_threshold=hnsw_threshold,
            connectivity=int(graph.connectivity),
            expansion_add=expansion_add,
            expansion_search=expansion_search,
            dtype=_dtype_name(stored_dtype, dtype),
            threads=threads,
            write_chunk=write_chunk,
        )
        if len(graph) < hnsw_threshold // 2:
            index._exact = _ExactStore.from_arrays(*_graph_contents(graph, index.dim))
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


def _usearch_index() -> type[Index]:
    """``usearch.index``, loaded on first use: an index below the HNSW threshold never is.

    onnxruntime is imported first because importing it after USearch's extension crashes
    the interpreter (a segfault in onnxruntime's module init; usearch 2.26.6, onnxruntime
    1.32.0, Linux x86-64) — and a model with an ONNX body may be loaded at any time.
    """
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    from usearch.index import Index

    return Index


def _graph_contents(graph: Index, dim: int) -> tuple[KeyArray, FloatArray]:
    keys = np.asarray(graph.keys, dtype=np.uint64).astype(np.int64)
    if not len(keys):
        return keys, np.empty((0, dim), dtype=np.float32)
    vectors = np.asarray(graph.get(keys, dtype="f32"), dtype=np.float32).reshape(len(keys), dim)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return keys, np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)


def _unpack(found: Matches | BatchMatches, n: int, width: int) -> tuple[KeyArray, FloatArray]:
    from usearch.index import Matches  # loaded: ``found`` came from it

    if isinstance(found, Matches):  # USearch unwraps a batch of one
        raw_keys = np.asarray(found.keys).reshape(1, -1)
        raw_dist = np.asarray(found.distances, dtype=np.float32).reshape(1, -1)
        counts = np.array([raw_keys.shape[1]])
    else:
        raw_keys = np.asarray(found.keys)
        raw_dist = np.asarray(found.distances, dtype=np.float32)
        counts = np.asarray(found.counts)
    pad = width - raw_keys.shape[1]
    if pad > 0:
        raw_keys = np.pad(raw_keys, ((0, 0), (0, pad)))
        raw_dist = np.pad(raw_dist, ((0, 0), (0, pad)))
    valid = np.arange(width)[None, :] < counts.reshape(n, 1)
    keys = np.where(valid, raw_keys[:, :width].astype(np.uint64).astype(np.int64), -1)
    scores = np.where(valid, 1.0 - raw_dist[:, :width], -np.inf).astype(np.float32)
    return keys, scores


def _dtype_name(stored: str, fallback: HnswDtype) -> HnswDtype:
    for name in ("f32", "bf16", "f16", "i8"):
        if stored == name:
            return name
    return fallback
