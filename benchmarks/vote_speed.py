"""What the neighbour and centroid votes add to serving, by training-set size.

A served head with a vote (``triage/core/refinement.py``) searches the artifact's training
embeddings for every ticket. This times ``NeighbourIndex.vote`` as the service calls it — one
ticket, and a batch of 64 (row by row, so answers do not depend on the batch) — over pools of
the sizes of the sample data, Banking77 and the Kaggle IT tickets, with random unit vectors of
MiniLM's 384 dimensions (search time does not depend on the values), and the memory of the
float32 copy made for search. The centroid vote (cold start) is timed beside it.

    .venv/bin/python -m benchmarks.vote_speed      # -> benchmarks/results/vote_speed.json
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial

import numpy as np

from benchmarks.harness import RESULTS
from benchmarks.harness.machine import brief
from benchmarks.harness.results import now, write_json
from benchmarks.harness.stats import percentile, timed
from triage.core.neighbours import NeighbourIndex

OUTPUT = RESULTS / "vote_speed.json"
POOLS = {"sample (528)": 528, "banking77 (10,003)": 10_003, "kaggle (38,271)": 38_271}
CLASSES = 77
DIM = 384


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _ms(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(1000 * seconds for seconds in timed(call, repeat))
    return percentile(ordered, 0.50), percentile(ordered, 0.99)


def main() -> None:
    rng = np.random.default_rng(0)
    classes = [f"c{i:02d}" for i in range(CLASSES)]
    rows = {}
    for name, size in POOLS.items():
        labels = [classes[i % CLASSES] for i in range(size)]
        index = NeighbourIndex(_unit(rng, size), [str(i) for i in range(size)], {"h": labels})
        one, batch = _unit(rng, 1), _unit(rng, 64)
        for kind in ("neighbours", "centroids"):
            index.vote(one, "h", classes, k=10, sharpness=0.05, kind=kind)  # warm: copies, codes
        row = {"pool": size, "float32_pool_mb": round(index.matrix.nbytes / 2**20, 1)}
        for kind in ("neighbours", "centroids"):
            p50, p99 = _ms(
                partial(index.vote, one, "h", classes, k=10, sharpness=0.05, kind=kind), 200
            )
            b50, _ = _ms(
                partial(index.vote, batch, "h", classes, k=10, sharpness=0.05, kind=kind), 20
            )
            row[kind] = {
                "one_p50_ms": round(p50, 3),
                "one_p99_ms": round(p99, 3),
                "batch64_ms": round(b50, 2),
            }
        rows[name] = row
        print(name, json.dumps(row))
    write_json(
        OUTPUT,
        {
            "pools": rows,
            "threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "measured_at": now(),
            "machine": brief(),
        },
    )


if __name__ == "__main__":
    main()
