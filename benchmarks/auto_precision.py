"""Does "auto at 95 % precision" hold on tickets the model has never seen?

For each labelled set and each of 5 split seeds (stratified 80/20 as ``triage train``;
Banking77's official train and test files pooled first so that it too is re-split), the set
is trained with the shipped code (``train_split``, default settings, default body unless
``--embedder``) and its held-out tickets are decided three ways by the same trained model:

* ``point``: thresholds at the lowest confidence whose out-of-fold precision meets the
  target (the rule before issue 18), no auto gate;
* ``bound``: thresholds on the one-sided 95 % Clopper–Pearson lower bound, no gate;
* ``shipped``: the bound and the auto gate (:mod:`triage.core.auto_gate`) — what a user gets.

Per head: the share of held-out tickets decided ``auto`` and their precision. Then, for the
models of IT helpdesk sets (the sample data, Kaggle IT tickets, ITSM), the share of
off-domain text decided ``auto`` by any head: ``data/offdomain.csv`` (255 vague, near-empty,
off-topic and other-domain tickets in English and Bahasa Indonesia, per kind) and 1,000
Banking77 test questions. Embeddings are cached per text in ``benchmarks/.cache``.

    .venv/bin/python benchmarks/auto_precision.py --dataset sample --dataset banking77 ...
    .venv/bin/python benchmarks/auto_precision.py --table
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import BENCHMARKS, SHARED, Benchmark, CachedEmbedder, LookupEmbedder

from triage.core.decisions import PrecisionCurve, build_policy
from triage.core.embeddings import Embedder, load_embedder
from triage.core.model import TriageModel
from triage.core.text import ticket_text
from triage.training.evaluate import decision_report
from triage.training.train import TrainConfig, split_rows, train_split

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "auto_precision.json"
OFFDOMAIN = ROOT / "data" / "offdomain.csv"
SEEDS = (0, 1, 2, 3, 4)
IT_SETS = {"sample", "it_service_tickets_kaggle", "itsm_l1_vs_escalated", "itsm_assignment_group"}


def _banking_pooled(_: pd.DataFrame) -> pd.DataFrame:
    train = pd.read_csv(SHARED / "banking77" / "train.csv")
    test = pd.read_csv(SHARED / "banking77" / "test.csv")
    return pd.concat([train, test], ignore_index=True)


def _tobi(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[frame["language"] == "en"] if "language" in frame else frame


SETS: dict[str, Benchmark] = {
    **{name: bench for name, bench in BENCHMARKS.items() if name != "banking77"},
    "banking77": replace(BENCHMARKS["banking77"], test_path=None, derive=_banking_pooled),
    "tobi_bueck": Benchmark(
        SHARED / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv",
        ("subject", "body"),
        {"queue": "queue", "priority": "priority", "type": "type"},
        derive=_tobi,
    ),
}


def _point_estimate(curves: dict[str, PrecisionCurve]) -> dict[str, PrecisionCurve]:
    """The same curves without their bounds: thresholds on the point estimate."""
    return {label: replace(c, lower_bounds=(), counts=()) for label, c in curves.items()}


def _decisions(
    model: TriageModel, texts: list[str], embeddings: np.ndarray, truth: dict[str, np.ndarray]
) -> dict[str, Any]:
    proba = model.proba_from_embeddings(texts, embeddings)
    allowed = _allowed(model, texts, embeddings, proba)
    out: dict[str, Any] = {"gate_refused": _refused(allowed)}
    for head in model.heads:
        labels, curves = model.labels(head), model.curves[head]
        rules = {
            "point": (_point_estimate(curves), None),
            "bound": (curves, None),
            "shipped": (curves, allowed[head]),
        }
        out[head] = {}
        for rule, (rule_curves, allow) in rules.items():
            policy = build_policy(rule_curves, target_precision=0.95, floor=0.5)
            report = decision_report(
                truth[head].tolist(), proba[head], labels, policy, allow_auto=allow
            )
            out[head][rule] = report["auto"]
    return out


def _allowed(
    model: TriageModel, texts: list[str], embeddings: np.ndarray, proba: dict[str, np.ndarray]
) -> dict[str, list[bool]]:
    """Per head and ticket: whether the auto gate lets the head decide it automatically."""
    blocks = model.auto_blocks(texts, embeddings, proba)
    return {head: [b is None for b in reasons] for head, reasons in blocks.items()}


def _refused(allowed: dict[str, list[bool]]) -> float:
    """The share of tickets the gate refuses to at least one head."""
    refused = np.zeros(len(next(iter(allowed.values()))), dtype=bool)
    for may in allowed.values():
        refused |= ~np.asarray(may, dtype=bool)
    return round(float(refused.mean()), 4) if refused.size else 0.0


def offdomain_sets(embedder: Embedder) -> dict[str, tuple[list[str], np.ndarray]]:
    """The off-domain texts per kind, embedded once (cached in benchmarks/.cache)."""
    frame = pd.read_csv(OFFDOMAIN, keep_default_na=False)
    banking = pd.read_csv(SHARED / "banking77" / "test.csv").sample(1000, random_state=0)
    sets = {
        **{
            f"offdomain:{kind}": [
                ticket_text([s, b]) for s, b in zip(g.subject, g.body, strict=False)
            ]
            for kind, g in frame.groupby("kind")
        },
        "banking77_questions": [ticket_text([t]) for t in banking["text"]],
    }
    cached = CachedEmbedder(embedder)
    out = {}
    for name, texts in sets.items():
        texts = [t for t in texts if t]
        out[name] = (texts, cached.encode(texts))
    return out


def _offdomain(model: TriageModel, sets: dict[str, tuple[list[str], np.ndarray]]) -> dict[str, Any]:
    """Share of off-domain tickets any head decides ``auto`` (shipped rule), per kind."""
    out = {}
    for name, (texts, embeddings) in sets.items():
        proba = model.proba_from_embeddings(texts, embeddings)
        allowed = _allowed(model, texts, embeddings, proba)
        auto = np.zeros(len(texts), dtype=bool)
        for head in model.heads:
            labels = model.labels(head)
            policy = build_policy(model.curves[head], target_precision=0.95, floor=0.5)
            for i, row in enumerate(proba[head]):
                best = int(row.argmax())
                may = allowed[head][i]
                outcome = policy.decide(labels[best], float(row[best]), allow_auto=may)
                auto[i] |= outcome.decision.value == "auto"
        out[name] = {
            "n": len(texts),
            "auto_any_head": int(auto.sum()),
            "gate_refused": _refused(allowed),
        }
    return out


def run(
    name: str,
    embedder_spec: str,
    seeds: Sequence[int],
    save: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any]:
    """The set ``name`` measured over ``seeds``; ``save`` gets the seeds measured so far
    after each one (a long run stopped early keeps them)."""
    bench = SETS[name]
    if not bench.path.exists():
        raise SystemExit(f"{bench.path} is absent; the datasets live in ../shared/datasets")
    base = TrainConfig(
        text_columns=bench.text_columns,
        labels=bench.labels,
        drop_rare=bench.drop_rare,
        # Scored on held-out tickets: the heads evaluated are fitted without them (no refit).
        refit=False,
    )
    data_file = bench.data_file()
    # Every distinct text embedded once (cached in benchmarks/.cache), then looked up per seed.
    texts = sorted(set(split_rows(base, data_file, None).texts))
    body = load_embedder(embedder_spec)
    embedder = LookupEmbedder(body, texts, CachedEmbedder(body).encode(texts, show_progress=True))
    rows = []
    offdomain: dict[str, tuple[list[str], np.ndarray]] = {}
    for seed in seeds:
        config = replace(base, seed=seed)
        split = split_rows(config, data_file, None)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            result = train_split(split, embedder, config, Path(scratch), None, False, print)
        test = split.test_idx
        texts = [split.texts[i] for i in test]
        row = {
            "seed": seed,
            "n_train": len(split.train_idx),
            "n_test": len(test),
            "seconds": round(time.perf_counter() - started, 1),
            "auto_gate": _gate_row(result.metrics["auto_gate"]),
            "quality": {
                head: {
                    "accuracy": report["accuracy"],
                    "macro_f1": report["macro_f1"],
                    "ece": report["calibration"]["ece"],
                    "tfidf_logreg_macro_f1": report["baselines"]["tfidf_logreg"]["macro_f1"],
                    "tfidf_logreg_accuracy": report["baselines"]["tfidf_logreg"]["accuracy"],
                }
                for head, report in result.metrics["heads"].items()
            },
            "heads": _decisions(
                result.model,
                texts,
                embedder.encode(texts),
                {h: split.labels[h][test] for h in bench.labels},
            ),
        }
        if name in IT_SETS:
            offdomain = offdomain or offdomain_sets(body)
            row["offdomain"] = _offdomain(result.model, offdomain)
        rows.append(row)
        print(json.dumps(row["heads"], indent=1))
        save(_entry(name, embedder.identity.get("name"), rows))
    return _entry(name, embedder.identity.get("name"), rows)


def _entry(name: str, embedder: str | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "dataset": name,
        "embedder": embedder,
        "seeds": list(rows),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
    }


def _gate_row(gate: dict[str, Any]) -> dict[str, Any]:
    """The gate's limits, and per head how its distance limit was chosen (without labels)."""
    row = {k: v for k, v in gate.items() if k not in ("fitted_on", "distances")}
    if "distances" in gate:
        row["distance_fitted_on"] = {h: d["fitted_on"] for h, d in gate["distances"].items()}
    return row


def gate_format(result: dict[str, Any]) -> str:
    """Which auto gate measured a set: format 2 fits a distance check per head (its seeds'
    rows say how), format 1 has none; "mixed" if its seeds disagree."""
    formats = {2 if "distance_fitted_on" in s["auto_gate"] else 1 for s in result["seeds"]}
    return str(formats.pop()) if len(formats) == 1 else "mixed"


def table(results: dict[str, Any]) -> str:
    """Per set and head: auto share and precision per rule, mean and worst seed."""
    lines = [
        "| set (body) | head | seeds | gate | point: share / precision (min) | bound: share / "
        "precision (min) | shipped: share / precision (min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for _key, result in sorted(results.items()):
        heads = [h for h in result["seeds"][0]["heads"] if h != "gate_refused"]
        for head in heads:
            cells = []
            for rule in ("point", "bound", "shipped"):
                shares = [s["heads"][head][rule]["share"] for s in result["seeds"]]
                precisions = [s["heads"][head][rule]["precision"] for s in result["seeds"]]
                known = [p for p in precisions if p is not None]
                if not known:
                    cells.append(f"{np.mean(shares):.1%} / n/a")
                    continue
                cells.append(
                    f"{np.mean(shares):.1%} / {np.mean(known):.3f} ({min(known):.3f})"
                    + ("" if len(known) == len(precisions) else f" [{len(known)} seeds]")
                )
            lines.append(
                f"| {result['dataset']} ({result['embedder']}) | {head} | "
                f"{len(result['seeds'])} | {gate_format(result)} | " + " | ".join(cells) + " |"
            )
    lines += [
        "",
        "| set (body) | gate | off-domain text | n | decided auto by any head (mean over seeds) |",
        "|---|---|---|---|---|",
    ]
    for _key, result in sorted(results.items()):
        if "offdomain" not in result["seeds"][0]:
            continue
        for name in result["seeds"][0]["offdomain"]:
            counts = [s["offdomain"][name]["auto_any_head"] for s in result["seeds"]]
            n = result["seeds"][0]["offdomain"][name]["n"]
            lines.append(
                f"| {result['dataset']} ({result['embedder']}) | {gate_format(result)} | "
                f"{name} | {n} | "
                f"{np.mean(counts) / n:.1%} ({min(counts)}–{max(counts)} tickets) |"
            )
    return "\n".join(lines)


def quality_table(results: dict[str, Any]) -> str:
    """Per set and head: accuracy, macro-F1 and ECE over the seeds, beside TF-IDF+LR, and
    all-MiniLM-L6-v2's seed-0 row from ``results/quality.json`` where it was measured."""
    minilm_path = RESULTS.parent / "quality.json"
    minilm = json.loads(minilm_path.read_text()) if minilm_path.exists() else {}
    lines = [
        "| set | head | seeds | default body: accuracy / macro-F1 (mean ± sd) | ECE | "
        "TF-IDF+LR macro-F1 | default, seed 0: macro-F1 | all-MiniLM-L6-v2, seed 0: macro-F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, result in sorted(results.items()):
        if "quality" not in result["seeds"][0]:
            continue
        for head, first in result["seeds"][0]["quality"].items():
            rows = [s["quality"][head] for s in result["seeds"]]
            acc = [r["accuracy"] for r in rows]
            f1 = [r["macro_f1"] for r in rows]
            other = minilm.get(result["dataset"], {}).get("heads", {}).get(head)
            same_split = result["dataset"] != "banking77"  # quality.py: the official split
            lines.append(
                f"| {key} | {head} | {len(rows)} | {np.mean(acc):.1%} / {np.mean(f1):.3f} ± "
                f"{np.std(f1):.3f} | {np.mean([r['ece'] for r in rows]):.3f} | "
                f"{np.mean([r['tfidf_logreg_macro_f1'] for r in rows]):.3f} | "
                f"{first['macro_f1']:.3f} | "
                + (f"{other['macro_f1']:.3f}" if other and same_split else "–")
                + " |"
            )
    return "\n".join(lines)


def _save(key: str, measured: dict[str, Any]) -> dict[str, Any]:
    """Keep ``measured`` as set ``key`` in the results file; return the whole file."""
    # Read again: another run may have written its sets meanwhile.
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[key] = measured
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return dict(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(SETS), action="append", default=[])
    parser.add_argument("--embedder", default="use-multilingual")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="how many seeds (0..n-1)")
    parser.add_argument("--table", action="store_true", help="print the table of saved results")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in args.dataset:
        key = name if args.embedder == "use-multilingual" else f"{name}+{args.embedder}"
        results = _save(key, run(name, args.embedder, range(args.seeds), partial(_save, key)))
    if args.table or args.dataset:
        print(table(results))
        print()
        print(quality_table(results))


if __name__ == "__main__":
    main()
