"""Learning curve: held-out scores with 2, 3, 5, 10, 25 and 50 labelled tickets a class.

For a dataset of ``quality.py`` (same split; the held-out rows never change), draws ``n``
training tickets per class of the first head (several seeds for the small sizes), trains
exactly as ``triage train`` does on them (``train_split``: tuned head, refinement, cold-start
rule, operating points) and scores the held-out split. Beside the shipped result, the same
subset is scored by the alternatives the cold-start rule chooses between, all on the same
embeddings:

* ``head``: the linear head alone (TF-IDF + embedding, temperature), no vote;
* ``knn``: the vote of the 10 nearest training tickets alone;
* ``centroid``: the nearest class centroid (mean normalised embedding per class).

Every head of the run is also recorded (``rows[].heads``): accuracy, macro-F1, the share of
held-out tickets decided ``auto`` and their precision, and the TF-IDF + logistic-regression
baseline trained on the same subset. "All" is the full training split: for a dataset run with
``--full`` it is trained here, with the same body (``full``); otherwise the table takes it from
``quality.json``. Embeddings come from the ``quality.py`` cache (each text embedded once).

    .venv/bin/python -m benchmarks.learning_curve --dataset banking77
    .venv/bin/python -m benchmarks.learning_curve --dataset it_service_tickets_kaggle
    .venv/bin/python -m benchmarks.learning_curve --dataset banking77 --finetune  # tuned body
    .venv/bin/python -m benchmarks.learning_curve --dataset sample --embedder use-multilingual \
        --full

Results merge into ``benchmarks/results/learning_curve.json`` (one entry per dataset, the
others kept); ``benchmarks/table.py --learning-curve`` prints them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import RESULTS
from benchmarks.harness.results import read_json, stamp, write_json
from benchmarks.quality import BENCHMARKS, CachedEmbedder, LookupEmbedder
from triage.core.embeddings import load_embedder
from triage.core.refinement import neighbour_vote
from triage.training.finetune import FinetuneConfig
from triage.training.train import TrainConfig, split_rows, train_split

OUTPUT = RESULTS / "learning_curve.json"
SIZES = (2, 3, 5, 10, 25, 50)
SEEDS = {2: 3, 3: 3, 5: 3, 10: 3, 25: 2, 50: 1}


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


def head_figures(report: dict[str, Any]) -> dict[str, Any]:
    """One head's held-out figures in a run: shipped, decisions, and the TF-IDF baseline."""
    auto = report["operating_points"]["test"]["auto"]
    baseline = report["baselines"]["tfidf_logreg"]
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "auto_share": auto["share"],
        "auto_precision": auto["precision"],
        "auto_decisions": round(auto["share"] * report["n"]),
        "tfidf_accuracy": baseline["accuracy"],
        "tfidf_macro_f1": baseline["macro_f1"],
        "head_alone_accuracy": report["refinement"]["head_alone"]["accuracy"],
        "mode": report["refinement"]["mode"],
        "auto_classes": len(report["promise"]["auto_classes"]),
    }


def summarise_heads(group: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per head, mean and sd over seeds; auto precision pooled over every auto decision."""
    summary: dict[str, Any] = {}
    for head in group[0]["heads"]:
        figures = [row["heads"][head] for row in group]
        summary[head] = {
            key: {
                "mean": round(float(np.mean([f[key] for f in figures])), 4),
                "std": round(float(np.std([f[key] for f in figures])), 4),
            }
            for key in ("accuracy", "macro_f1", "auto_share", "tfidf_accuracy", "tfidf_macro_f1")
        }
        decisions = sum(f["auto_decisions"] for f in figures)
        right = sum(f["auto_decisions"] * (f["auto_precision"] or 0.0) for f in figures)
        summary[head]["auto_decisions"] = decisions
        summary[head]["auto_precision"] = round(right / decisions, 4) if decisions else None
        summary[head]["modes"] = sorted({f["mode"] for f in figures})
    return summary


def run(name: str, embedder_spec: str, finetune: bool, full: bool) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        onnx=False,
        refit=False,  # subsets of the training part, scored on the held-out part
        finetune=FinetuneConfig() if finetune else None,
    )
    split = split_rows(config, bench.data_file(), bench.test_path)
    head = next(iter(bench.labels))
    body = load_embedder(embedder_spec)
    vectors = CachedEmbedder(body).encode(split.texts, show_progress=True)
    embedder = LookupEmbedder(body, split.texts, vectors)
    labels = split.labels[head]

    def train(rows: np.ndarray) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as scratch:
            result = train_split(
                replace(split, train_idx=rows),
                body if finetune else embedder,  # a tuned body embeds anew
                config,
                Path(scratch),
                None,
                False,
                lambda _m: None,
            )
        return dict(result.metrics["heads"])

    rows: list[dict[str, Any]] = []
    for n in SIZES:
        for seed in range(SEEDS[n]):
            subset = per_class_sample(labels, split.train_idx, n, seed)
            started = time.perf_counter()
            reports = train(subset)
            report = reports[head]
            row = {
                "per_class": n,
                "seed": seed,
                "n_train": len(subset),
                "shipped": report["accuracy"],
                "shipped_macro_f1": report["macro_f1"],
                "head": report["refinement"]["head_alone"]["accuracy"],
                "mode": report["refinement"]["mode"],
                "vote_weight": report["refinement"]["vote_weight"],
                "seconds": round(time.perf_counter() - started, 1),
                **alternatives(vectors, labels, subset, split.test_idx),
                "heads": {h: head_figures(r) for h, r in reports.items()},
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
        summary[str(n)]["heads"] = summarise_heads(group)
        print(n, summary[str(n)])
    result: dict[str, Any] = {
        "dataset": name,
        "head": head,
        "embedder": body.identity.get("name"),
        "finetune": finetune,
        "n_test": len(split.test_idx),
        "rows": rows,
        "summary": summary,
        **stamp(),
    }
    if full:
        reports = train(split.train_idx)
        result["full"] = {
            "n_train": len(split.train_idx),
            "heads": {h: head_figures(r) for h, r in reports.items()},
        }
        print("all", result["full"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append", required=True)
    parser.add_argument("--embedder", default="minilm", help="as for triage train --embedder")
    parser.add_argument("--finetune", action="store_true", help="fine-tune the body per subset")
    parser.add_argument(
        "--full", action="store_true", help="also train on the whole training split ('all')"
    )
    args = parser.parse_args()
    for name in args.dataset:
        key = name + ("+finetune" if args.finetune else "")
        result = run(name, args.embedder, args.finetune, args.full)
        # Read again just before writing: other datasets' entries (maybe written meanwhile by
        # another run) are kept, only this one is replaced.
        results = read_json(OUTPUT)
        results[key] = result
        write_json(OUTPUT, results, sort_keys=True)


if __name__ == "__main__":
    main()
