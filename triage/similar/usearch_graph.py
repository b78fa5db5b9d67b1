"""USearch's side of the vector index: the module loaded on first use, and its results and
stored graphs turned into the index's arrays."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from triage.similar.exact_vectors import FloatArray, KeyArray

if TYPE_CHECKING:
    from usearch.index import BatchMatches, Index, Matches

HnswDtype = Literal["f32", "bf16", "f16", "i8"]


def usearch_index() -> type[Index]:
    """``usearch.index``, loaded on first use: an index below the HNSW threshold never is.

    onnxruntime is imported first because importing it after USearch's extension crashes
    the interpreter (a segfault in onnxruntime's module init; usearch 2.26.6, onnxruntime
    1.32.0, Linux x86-64) — and a model with an ONNX body may be loaded at any time.
    """
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    from usearch.index import Index

    return Index


def graph_contents(graph: Index, dim: int) -> tuple[KeyArray, FloatArray]:
    keys = np.asarray(graph.keys, dtype=np.uint64).astype(np.int64)
    if not len(keys):
        return keys, np.empty((0, dim), dtype=np.float32)
    vectors = np.asarray(graph.get(keys, dtype="f32"), dtype=np.float32).reshape(len(keys), dim)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return keys, np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms), dtype=np.float32)


def unpack(found: Matches | BatchMatches, n: int, width: int) -> tuple[KeyArray, FloatArray]:
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


def dtype_name(stored: str, fallback: HnswDtype) -> HnswDtype:
    for name in ("f32", "bf16", "f16", "i8"):
        if stored == name:
            return name
    return fallback


def read_graph(source: Path, expansion_search: int, expansion_add: int) -> tuple[Index, str, int]:
    """USearch's own file: the graph, its storage type and its dimension."""
    try:
        meta = usearch_index().metadata(source)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{source} is not a saved VectorIndex: {exc}") from exc
    if not meta:
        raise ValueError(f"{source} is not a saved VectorIndex")
    graph = usearch_index().restore(
        source, expansion_search=expansion_search, expansion_add=expansion_add
    )
    if graph is None:
        raise ValueError(f"{source} is not a saved VectorIndex")
    stored_dtype = str(meta["kind_scalar"]).rsplit(".", 1)[-1].lower()
    return graph, stored_dtype, int(meta["dimensions"])
