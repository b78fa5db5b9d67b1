"""Classification quality of the shipped training code on fixed, published splits.

Each dataset is trained exactly as ``triage train`` would (same code path, stratified 80/20,
seed 0) and compared with the plain TF-IDF + logistic-regression baseline on the same split.
Results are merged into ``benchmarks/results/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.artifacts import library_versions
from triage.embeddings import load_embedder
from triage.training.train import TrainConfig, train_from_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "quality.json"


@dataclass(frozen=True)
class Benchmark:
    path: Path
    text_columns: tuple[str, ...]
    labels: dict[str, str]
    reference: dict[str, Any] = field(default_factory=dict)


BENCHMARKS = {
    "sample": Benchmark(
        ROOT / "data" / "tickets.csv",
        ("subject", "body"),
        {"category": "category", "tier": "tier"},
    ),
    "it_service_tickets_kaggle": Benchmark(
        SHARED / "it_service_tickets_kaggle" / "all_tickets_processed_improved_v3.csv",
        ("Document",),
        {"category": "Topic_group"},
        {"category": {"tfidf_logreg_macro_f1_published": 0.870}},
    ),
}


def run(name: str, embedder_spec: str) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    if not bench.path.exists():
        raise SystemExit(f"{bench.path} is absent; the datasets live in ../shared/datasets")
    embedder = load_embedder(embedder_spec)
    config = TrainConfig(text_columns=bench.text_columns, labels=bench.labels)
    started = time.perf_counter()
    result = train_from_file(bench.path, embedder, config=config, progress=True, say=print)
    wall = time.perf_counter() - started
    heads = {}
    for head, report in result.metrics["heads"].items():
        heads[head] = {
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "ece": report["calibration"]["ece"],
            "fit_seconds": report["fit_seconds"],
            "decisions_at_target": {
                "target_precision": report["operating_points"]["target_precision"],
                **report["operating_points"]["test"],
            },
            "baseline_tfidf_logreg": report["baselines"]["tfidf_logreg"],
            "majority": report["baselines"]["majority"],
            **bench.reference.get(head, {}),
        }
    return {
        "dataset": name,
        "file": str(bench.path.relative_to(bench.path.parents[1])),
        "split": result.metrics["split"],
        "embedder": embedder.identity.get("name"),
        "heads": heads,
        "embed_seconds": result.metrics["timing"]["embed_seconds"],
        "train_seconds_total": round(wall, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "libraries": library_versions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append", required=True)
    parser.add_argument("--embedder", default="minilm")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.dataset:
        results[name] = run(name, args.embedder)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(json.dumps(results[name]["heads"], indent=2))


if __name__ == "__main__":
    main()
