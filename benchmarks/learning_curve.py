"""Learning curve: held-out accuracy with 2, 3, 5, 10, 25 and 50 labelled tickets a class.

For a dataset of ``quality.py`` (same split; the held-out rows never change), draws ``n``
training tickets per class (several seeds for the small sizes), trains exactly as
``triage train`` does on them (``train_split``: tuned head, refinement, cold-start rule) and
scores the held-out split. Beside the shipped result, the same subset is scored by the
alternatives the cold-start rule chooses between, all on the same embeddings:

* ``head``: the linear head alone (TF-IDF + embedding, temperature), no vote;
* ``knn``: the vote of the 10 nearest training tickets alone;
* ``centroid``: the nearest class centroid (mean normalised embedding per class).

"All" is the full training split (the row of ``quality.json``). Embeddings come from the
``quality.py`` cache (each text embedded once, by the model the product ships).

    .venv/bin/python benchmarks/learning_curve.py --dataset banking77
    .venv/bin/python benchmarks/learning_curve.py --dataset it_service_tickets_kaggle
    .venv/bin/python benchmarks/learning_curve.py --dataset banking77 --finetune  # tuned body

Results merge into ``benchmarks/results/learning_curve.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from quality import BENCHMARKS, ROOT, CachedEmbedder

from triage.embeddings import Embedder, load_embedder
from triage.refinement import neighbour_vote
from triage.training.finetune import FinetuneConfig
from triage.training.train import Split, TrainConfig, split_rows, train_split

RESULTS = ROOT / "benchmarks" / "results" / "learning_curve.json"
SIZES = (2, 3, 5, 10, 25, 50)
SEEDS = {2: 3, 3: 3, 5: 3, 10: 3, 25: 2, 50: 1}


class LookupEmbedder:
    """The vectors of texts embedded once beforehand (same model, same identity)."""

    def __init__(self, inner: Embedder, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.inner = inner
        self.rows = {text: i for i, text in enumerate(texts)}
        self.vectors = vectors

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def identity(self) -> dict[str, Any]:
        return self.inner.identity

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return self.vectors[[self.rows[text] for text in texts]]


def per_class_sample(labels: np.ndarray, train_idx: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels[train_idx]):
        rows = train_idx[labels[train_idx] == label]
        chosen.append(rng.choice(rows, size=min(n, len(rows)), replace=False))
    return np.sort(np.concatenate(chosen))


def alternatives(
    vectors: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray
) -> dict[str, float]:
    classes, codes = np.unique(labels[train], return_inverse=True)
    truth = labels[test]
    knn = neighbour_vote(vectors[test], vectors[train], codes, len(classes), exclude_self=False)
    centroids = np.stack([vectors[train][codes == c].mean(axis=0) for c in range(len(classes))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    nearest_centroid = (vectors[test] @ centroids.T).argmax(axis=1)
    return {
        "knn": round(float(np.mean(classes[knn.argmax(axis=1)] == truth)), 4),
        "centroid": round(float(np.mean(classes[nearest_centroid] == truth)), 4),
    }


def run(name: str, finetune: bool) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        onnx=False,
        finetune=FinetuneConfig() if finetune else None,
    )
    split = split_rows(config, bench.data_file(), bench.test_path)
    head = next(iter(bench.labels))
    minilm = load_embedder("minilm")
    vectors = CachedEmbedder(minilm).encode(split.texts, show_progress=True)
    embedder = LookupEmbedder(minilm, split.texts, vectors)
    labels = split.labels[head]
    rows: list[dict[str, Any]] = []
    for n in SIZES:
        for seed in range(SEEDS[n]):
            train = per_class_sample(labels, split.train_idx, n, seed)
            subset: Split = replace(split, train_idx=train)
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as scratch:
                body = minilm if finetune else embedder  # a tuned body embeds anew
                result = train_split(
                    subset, body, config, Path(scratch), None, False, lambda _m: None
                )
            report = result.metrics["heads"][head]
            row = {
                "per_class": n,
                "seed": seed,
                "n_train": len(train),
                "shipped": report["accuracy"],
                "shipped_macro_f1": report["macro_f1"],
                "head": report["refinement"]["head_alone"]["accuracy"],
                "mode": report["refinement"]["mode"],
                "vote_weight": report["refinement"]["vote_weight"],
                "seconds": round(time.perf_counter() - started, 1),
                **alternatives(vectors, labels, train, split.test_idx),
            }
            rows.append(row)
            print(json.dumps(row))
    summary = {}
    for n in SIZES:
        group = [r for r in rows if r["per_class"] == n]
        summary[str(n)] = {
            key: {
                "mean": round(float(np.mean([r[key] for r in group])), 4),
                "std": round(float(np.std([r[key] for r in group])), 4),
            }
            for key in ("shipped", "head", "knn", "centroid")
        }
        summary[str(n)]["seeds"] = len(group)
        print(n, summary[str(n)])
    return {
        "dataset": name,
        "head": head,
        "finetune": finetune,
        "n_test": len(split.test_idx),
        "rows": rows,
        "summary": summary,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append", required=True)
    parser.add_argument("--finetune", action="store_true", help="fine-tune the body per subset")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.dataset:
        key = name + ("+finetune" if args.finetune else "")
        results[key] = run(name, args.finetune)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
