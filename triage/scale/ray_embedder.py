"""Training's embedding step on Ray: an :class:`Embedder` whose ``encode`` fans out.

``triage train --engine ray`` hands this to training in place of the body: the texts go to
a pool of actors (:class:`TextEncoder`, the body loaded once each) and the vectors come back
in order. Everything else about the body (its identity in the manifest, its ONNX export)
is the locally loaded one's, so the artifact is the one a one-process run writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from triage.core.embeddings import Embedder
from triage.scale.bodies import BodySpec, TextEncoder
from triage.scale.ray_engine import actor_pool, ordered_data_context, require_ray

_BLOCK_TEXTS = 1_000
_LOCAL_BELOW = 512  # a few texts (a query, a check) are embedded here, not shipped to Ray


class RayEmbedder:
    """``encode`` on a Ray cluster (already initialised); the rest from ``local``."""

    def __init__(
        self, local: Embedder, body: BodySpec, *, workers: int | None = None, batch_size: int = 256
    ) -> None:
        self.local = local
        self.body = body
        self.workers = workers
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return self.local.dim

    @property
    def identity(self) -> dict[str, Any]:
        return self.local.identity

    def __getattr__(self, name: str) -> Any:  # e.g. what the ONNX export reads of the body
        return getattr(self.local, name)

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if len(texts) < _LOCAL_BELOW:
            return np.asarray(self.local.encode(texts, batch_size=batch_size), dtype=np.float32)
        ray = require_ray()
        ordered_data_context(ray)
        table = pa.table({"row": pa.array(range(len(texts))), "text": pa.array(list(texts))})
        blocks = [table.slice(i, _BLOCK_TEXTS) for i in range(0, len(texts), _BLOCK_TEXTS)]
        dataset = ray.data.from_arrow(blocks).map_batches(
            TextEncoder,
            fn_constructor_kwargs={"body": self.body},
            batch_size=self.batch_size,
            batch_format="numpy",
            **actor_pool(ray, self.workers),
        )
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for batch in dataset.iter_batches(batch_size=4_096, batch_format="numpy"):
            out[np.asarray(batch["row"], dtype=np.int64)] = np.stack(list(batch["vec"]))
        return out
