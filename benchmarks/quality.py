"""Classification quality of the shipped training code on fixed, published splits.

Each dataset is trained exactly as ``triage train`` would (same code path, stratified 80/20,
seed 0) and compared with the plain TF-IDF + logistic-regression baseline on the same split.
Results are merged into ``benchmarks/results/quality.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from triage.core.artifacts import library_versions
from triage.core.embeddings import Embedder, load_embedder
from triage.training.finetune import FinetuneConfig
from triage.training.train import TrainConfig, train_from_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "quality.json"
CACHE = ROOT / "benchmarks" / ".cache"


@dataclass(frozen=True)
class Benchmark:
    path: Path
    text_columns: tuple[str, ...]
    labels: dict[str, str]
    reference: dict[str, Any] = field(default_factory=dict)
    test_path: Path | None = None
    drop_rare: bool = False
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def data_file(self) -> Path:
        """The file to train on: the dataset itself, or a derived copy in benchmarks/.cache."""
        if self.derive is None:
            return self.path
        CACHE.mkdir(parents=True, exist_ok=True)
        derived = CACHE / f"{self.path.stem}-{'-'.join(self.labels.values())}.csv"
        self.derive(pd.read_csv(self.path)).to_csv(derived, index=False)
        return derived


class CachedEmbedder:
    """Wraps an embedder and keeps each batch's vectors in benchmarks/.cache.

    A rerun with other head settings then skips the (slow) embedding step; the key is the
    embedder's identity and the exact texts, so a stale vector can never be reused.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.hits = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def identity(self) -> dict[str, Any]:
        return self.inner.identity

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        key = hashlib.sha256(json.dumps(self.identity, sort_keys=True).encode())
        for text in texts:
            key.update(text.encode())
            key.update(b"\0")
        path = CACHE / f"embeddings-{key.hexdigest()[:20]}.npy"
        if path.exists():
            self.hits += 1
            return np.asarray(np.load(path))
        vectors = self.inner.encode(texts, batch_size=batch_size, show_progress=show_progress)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors


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


def _grp0_vs_rest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(
        l1_vs_escalated=frame["Assignment group"].map(
            lambda g: "L1" if g == "GRP_0" else "escalated"
        )
    )


_ITSM = SHARED / "itsm_assignment_groups" / "input_data.csv"


def _isp_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Duplicates (case-insensitive, first kept) and 'Unknown' out: 1,020 rows, as in SOURCE.md."""
    frame = frame.loc[~frame["question_list"].str.lower().duplicated()]
    return frame.loc[frame["label"] != "Unknown"]


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
        {"category": {"tfidf_logreg_macro_f1_published": 0.870, "target_macro_f1": 0.90}},
    ),
    "banking77": Benchmark(
        SHARED / "banking77" / "train.csv",
        ("text",),
        {"category": "category"},
        {
            "category": {
                "bert_large_accuracy_published": 0.9366,
                "use_convert_accuracy_published": 0.9336,
                "tfidf_logreg_accuracy_published": 0.895,
                "target_accuracy": 0.945,
            }
        },
        test_path=SHARED / "banking77" / "test.csv",
    ),
    "itsm_l1_vs_escalated": Benchmark(
        _ITSM,
        ("Short description", "Description"),
        {"tier": "l1_vs_escalated"},
        {"tier": {"tfidf_logreg_macro_f1_published": 0.859, "target_macro_f1": 0.90}},
        derive=_grp0_vs_rest,
    ),
    "itsm_assignment_group": Benchmark(
        _ITSM,
        ("Short description", "Description"),
        {"group": "Assignment group"},
        {"group": {"tfidf_logreg_macro_f1_published": 0.405, "target_macro_f1": 0.50}},
        drop_rare=True,
    ),
    "id_isp_types": Benchmark(
        SHARED / "id_isp_customer_questions" / "labels_arvindaffa.csv",
        ("question_list",),
        {"type": "label"},
        {"type": {"tfidf_logreg_accuracy_shared": 0.941, "tfidf_logreg_macro_f1_shared": 0.924}},
        derive=_isp_types,
    ),
}


def run(name: str, embedder_spec: str, *, cache: bool, finetune: bool) -> dict[str, Any]:
    bench = BENCHMARKS[name]
    if not bench.path.exists():
        raise SystemExit(f"{bench.path} is absent; the datasets live in ../shared/datasets")
    # A fine-tuned body embeds differently on every run: nothing to cache.
    embedder: Embedder = load_embedder(embedder_spec)
    if cache and not finetune:
        embedder = CachedEmbedder(embedder)
    config = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        finetune=FinetuneConfig() if finetune else None,
    )
    started = time.perf_counter()
    result = train_from_file(
        bench.data_file(),
        embedder,
        config=config,
        test_path=bench.test_path,
        progress=True,
        say=print,
    )
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
            "refinement": {
                key: report["refinement"][key]
                for key in ("vote_weight", "vote_candidates", "calibration", "head_alone")
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
        "finetune": result.metrics.get("finetune"),
        "embeddings_from_cache": bool(getattr(embedder, "hits", 0)),
        "train_seconds_total": round(wall, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "libraries": library_versions(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(BENCHMARKS), action="append", required=True)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="Embed again instead of reusing vectors from benchmarks/.cache (timing runs).",
    )
    parser.add_argument(
        "--finetune",
        action="store_true",
        help="Fine-tune the body first (triage train --finetune); stored as DATASET+finetune.",
    )
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.dataset:
        key = f"{name}+finetune" if args.finetune else name
        results[key] = run(name, args.embedder, cache=not args.no_cache, finetune=args.finetune)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(json.dumps(results[key]["heads"], indent=2))


if __name__ == "__main__":
    main()
