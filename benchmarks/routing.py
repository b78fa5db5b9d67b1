"""Routing (issue 20): which group takes a ticket, by the learned group head, by rules, by both;
and what evaluating a routing table costs.

Parts (``--part``, results merged into ``benchmarks/results/routing.json``):

- ``itsm``: ``../shared/datasets/itsm_assignment_groups`` (74 groups, groups with one row
  dropped, stratified 80/20 split with seed 0 on the group: the split of ``quality.py``'s
  ``itsm_assignment_group``). The model is trained by the shipped code with two heads, the
  group and the L1-vs-escalated tier (``GRP_0`` is the service desk). The data has no
  category, so the admin's rules are (1) keyword rules read off the *training* split the way
  an admin reads a ticket export (a word of the short descriptions in at least 15 tickets,
  90 % of them in one group; at most 60 rules, written out beside the results), then (2)
  "L1 goes to the service desk". The fallback is the service desk, ``GRP_0``. On the held-out
  tickets: the group head alone, the rules alone, both with rules first (the shipped order)
  and both with the model first; macro-F1, accuracy, the share routed ``auto`` and its
  precision.
- ``tobi``: the same comparison on tobi_bueck's queue (**synthetic** tickets; English rows,
  same split protocol), with its priority head, and the priority head against the TF-IDF
  baseline.
- ``priority``: the priority head on the sample data (``data/tickets.csv``) against the TF-IDF
  baseline of the training report.
- ``cost``: CPU time of one route evaluation with 200 rules (``RoutingTable.route`` and
  building its input from a classification), p50/p99 over 5,000 calls.

    .venv/bin/python -m benchmarks.routing --part cost --part priority --part itsm
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from benchmarks.harness.results import command, read_json, stamp, write_json
from benchmarks.harness.stats import percentile
from benchmarks.quality import CACHE, ROOT, SHARED, CachedEmbedder
from triage.core.decisions import Decision
from triage.core.embeddings import load_embedder
from triage.core.routing import HeadView, Order, RouteInput, RoutingTable, build_table
from triage.core.routing.table import words_of
from triage.service import Classification, Ticket, TriageService
from triage.service.classification import route_input
from triage.training.data import labelled_texts, read_table
from triage.training.train import Split, TrainConfig, split_rows, train_split

RESULTS = ROOT / "benchmarks" / "results" / "routing.json"
ITSM = SHARED / "itsm_assignment_groups" / "input_data.csv"
TOBI = SHARED / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv"
SERVICE_DESK = "GRP_0"
_WORD = re.compile(r"[a-z][a-z0-9_]{3,}")


def held_out_split(config: TrainConfig, path: Path) -> Split:
    """The stratified 80/20 split with seed 0 on the first head, as ``quality.py`` measured
    it (``triage train`` now evaluates a set whose rarest classes cannot all be held out by
    cross-validation instead: leave-one-out here, 8,494 fits)."""
    data, notes = labelled_texts(
        read_table(path),
        text_columns=config.text_columns,
        label_columns=config.labels,
        drop_rare=config.drop_rare,
    )
    for note in notes:
        print(note)
    labels = {head: np.asarray(values) for head, values in data.labels.items()}
    first = next(iter(config.labels))
    rows = np.arange(len(data.texts))
    train_idx, test_idx = train_test_split(
        rows, test_size=config.test_size, stratify=labels[first], random_state=config.seed
    )
    info = {
        "method": "stratified",
        "stratify_on": first,
        "test_size": config.test_size,
        "seed": config.seed,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
        "n_evaluated": len(test_idx),
    }
    return Split(
        data.texts,
        labels,
        data.frame,
        train_idx,
        test_idx,
        info,
        notes,
        {"file": path.name},
        label_columns=dict(config.labels),
    )


def _trained(
    path: Path, config: TrainConfig, embedder_spec: str, *, fixed_split: bool = False
) -> tuple[Any, Any, Any]:
    embedder = CachedEmbedder(load_embedder(embedder_spec))
    split = held_out_split(config, path) if fixed_split else split_rows(config, path, None)
    config = split.resolved(config)
    with tempfile.TemporaryDirectory(prefix="routing-bench-") as scratch:
        result = train_split(split, embedder, config, Path(scratch), None, False, print)
    return split, result, embedder


def _classified(
    service: TriageService, texts: Sequence[str], vectors: np.ndarray
) -> list[Classification]:
    out: list[Classification] = []
    for start in range(0, len(texts), 256):
        batch = [Ticket(body=t) for t in texts[start : start + 256]]
        out += service.classify_many(batch, embeddings=vectors[start : start + 256])
    return out


def mined_rules(
    texts: Sequence[str], subjects: Sequence[str], groups: Sequence[str], *, group_head: str
) -> list[dict[str, Any]]:
    """Keyword rules read off training tickets: a word of the subjects (4 letters or more, not
    a number) found in >= 15 tickets' text, >= 90 % of them of one group."""
    words = [set(words_of(t)) for t in texts]
    counts = Counter(w for s in subjects for w in set(words_of(str(s))) if _WORD.fullmatch(w))
    candidates = []
    for word, n in counts.items():
        if n < 15:
            continue
        hits = Counter(g for t, g in zip(words, groups, strict=True) if word in t)
        group, top = hits.most_common(1)[0]
        total = sum(hits.values())
        if top >= 15 and top / total >= 0.9:
            candidates.append((top, top / total, word, group))
    rules: list[dict[str, Any]] = []
    for _, _, word, group in sorted(candidates, reverse=True):
        rules.append({"id": f"kw-{word}", "when": {"keywords": [word]}, "group": group})
        if len(rules) == 60:
            break
    del group_head
    return rules


def _scores(truth: Sequence[str], routes: Sequence[Any]) -> dict[str, Any]:
    predicted = [r.group for r in routes]
    auto = [i for i, r in enumerate(routes) if r.decision is Decision.AUTO]
    sources = Counter(r.source.value for r in routes)
    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "auto_coverage": round(len(auto) / len(routes), 4),
        "auto_precision": round(float(np.mean([truth[i] == predicted[i] for i in auto])), 4)
        if auto
        else None,
        "auto_tickets": len(auto),
        "sources": {k: round(v / len(routes), 4) for k, v in sorted(sources.items())},
    }


def _without(inputs: Sequence[RouteInput], head: str) -> list[RouteInput]:
    return [
        RouteInput({h: v for h, v in i.heads.items() if h != head}, i.text, i.language)
        for i in inputs
    ]


def compare_orders(
    service: TriageService,
    inputs: Sequence[RouteInput],
    truth: Sequence[str],
    rules: list[dict[str, Any]],
    fallback: str,
    group_head: str,
) -> dict[str, Any]:
    """The group head alone, the rules alone, and both in either order, on the same tickets."""
    heads = {h: service.model.labels(h) for h in service.model.heads}
    languages = service.language_detector.languages
    base = {"fallback": fallback, "group_head": group_head}
    ruled = build_table({**base, "rules": rules}, heads, languages)
    tables: dict[str, tuple[RoutingTable, Sequence[RouteInput]]] = {
        "group head alone": (build_table(base, heads, languages), inputs),
        "rules alone": (ruled, _without(inputs, group_head)),
        "both, rules first (shipped)": (ruled, inputs),
        "both, model first": (
            build_table(
                {**base, "rules": rules, "order": Order.MODEL_FIRST.value}, heads, languages
            ),
            inputs,
        ),
    }
    return {name: _scores(truth, [t.route(i) for i in ins]) for name, (t, ins) in tables.items()}


def _head_report(result: Any, head: str) -> dict[str, Any]:
    report = result.metrics["heads"][head]
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "auto": report["operating_points"]["test"],
        "baseline_tfidf_logreg": report["baselines"]["tfidf_logreg"],
    }


def _routing_run(
    path: Path,
    config: TrainConfig,
    embedder_spec: str,
    group_head: str,
    fallback: str,
    subject_column: str,
    tier_rule: dict[str, Any] | None,
) -> dict[str, Any]:
    split, result, embedder = _trained(path, config, embedder_spec, fixed_split=True)
    service = TriageService(result.model)
    train_idx, test_idx = split.train_idx, split.test_idx
    rules = mined_rules(
        [split.texts[i] for i in train_idx],
        [str(split.frame[subject_column].iloc[i]) for i in train_idx],
        [str(g) for g in split.labels[group_head][train_idx]],
        group_head=group_head,
    )
    if tier_rule is not None:
        rules.append(tier_rule)
    texts = [split.texts[i] for i in test_idx]
    classified = _classified(service, texts, embedder.encode(texts))
    inputs = [
        route_input(c.predictions, t, c.language.code if c.language else None, Ticket(body=t))
        for c, t in zip(classified, texts, strict=True)
    ]
    truth = [str(g) for g in split.labels[group_head][test_idx]]
    return {
        "split": split.info,
        "embedder": embedder.identity.get("name"),
        "heads": {h: _head_report(result, h) for h in result.model.heads},
        "rules": rules,
        "orders": compare_orders(service, inputs, truth, rules, fallback, group_head),
    }


def run_itsm(embedder_spec: str) -> dict[str, Any]:
    frame = pd.read_csv(ITSM)
    frame["l1_vs_escalated"] = np.where(
        frame["Assignment group"] == SERVICE_DESK, "L1", "escalated"
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "itsm-routing.csv"
    frame.to_csv(path, index=False)
    config = TrainConfig(
        text_columns=("Short description", "Description"),
        # The group first: the split stratifies on the first head, as quality.py's does.
        labels={"group": "Assignment group", "tier": "l1_vs_escalated"},
        drop_rare=True,
    )
    tier_rule = {"id": "l1-to-service-desk", "when": {"tier": "L1"}, "group": SERVICE_DESK}
    return _routing_run(
        path, config, embedder_spec, "group", SERVICE_DESK, "Short description", tier_rule
    )


def run_tobi(embedder_spec: str) -> dict[str, Any]:
    frame = pd.read_csv(TOBI)
    frame = frame.loc[frame["language"] == "en"].reset_index(drop=True)
    path = CACHE / "tobi-routing.csv"
    CACHE.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    config = TrainConfig(labels={"group": "queue", "priority": "priority"}, drop_rare=True)
    fallback = str(frame["queue"].value_counts().index[0])
    out = _routing_run(path, config, embedder_spec, "group", fallback, "subject", None)
    out["synthetic"] = True
    return out


def run_priority(embedder_spec: str) -> dict[str, Any]:
    config = TrainConfig(labels={"category": "category", "tier": "tier", "priority": "priority"})
    _, result, embedder = _trained(ROOT / "data" / "tickets.csv", config, embedder_spec)
    return {"embedder": embedder.identity.get("name"), "priority": _head_report(result, "priority")}


def _cost_table(n: int, with_keywords: bool) -> tuple[RoutingTable, RouteInput]:
    categories = [f"cat{i}" for i in range(20)]
    heads = {"category": categories, "tier": ["L1", "L2", "L3"], "priority": ["low", "high"]}
    rules = []
    for i in range(n):
        when: dict[str, Any] = {
            "category": categories[i % 20],
            "tier": ["L1", "L2", "L3"][i % 3],
            "confidence": {"category": {"min": 0.5 - i / 1000}},
        }
        if with_keywords:
            when = {"keywords": [f"zz{i}keyword", f"qq{i}term"], "language": "en"}
        rules.append({"id": f"r{i}", "when": when, "group": f"g{i % 25}"})
    table = build_table({"rules": rules}, heads, ["en", "id"])
    text = (ROOT / "data" / "tickets.csv").read_text(encoding="utf-8")[:2000]
    ticket = RouteInput(
        {
            "category": HeadView("cat0", 0.1, Decision.REVIEW),
            "tier": HeadView("L3", 0.8, Decision.SUGGEST),
            "priority": HeadView("low", 0.7, Decision.AUTO),
        },
        text=text,
        language="en",
    )
    return table, ticket


def run_cost(calls: int = 5000) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": calls, "text_chars": 2000}
    for name, keywords in (
        ("200 rules on category, tier, confidence", False),
        ("200 keyword rules", True),
    ):
        table, ticket = _cost_table(200, keywords)
        assert table.route(ticket).source.value == "fallback"  # every rule is tried
        cpu, wall = [], []
        for _ in range(calls):
            c0, w0 = time.process_time_ns(), time.perf_counter_ns()
            table.route(ticket)
            cpu.append((time.process_time_ns() - c0) / 1000)
            wall.append((time.perf_counter_ns() - w0) / 1000)
        cpu.sort()
        wall.sort()
        out[name] = {
            "cpu_us_p50": round(percentile(cpu, 0.5), 1),
            "cpu_us_p99": round(percentile(cpu, 0.99), 1),
            "wall_us_p50": round(percentile(wall, 0.5), 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", action="append", choices=["itsm", "tobi", "priority", "cost"])
    parser.add_argument("--embedder", default="use-multilingual")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON file to merge into.")
    args = parser.parse_args()
    for part in args.part or ["cost", "priority", "itsm"]:
        started = time.perf_counter()
        if part == "cost":
            found = run_cost()
        elif part in ("itsm", "tobi") and not (ITSM if part == "itsm" else TOBI).exists():
            raise SystemExit(f"{part}: the dataset is absent; it lives in ../shared/datasets")
        elif part == "itsm":
            found = run_itsm(args.embedder)
        elif part == "tobi":
            found = run_tobi(args.embedder)
        else:
            found = run_priority(args.embedder)
        found.update(
            stamp(), command=command("routing"), seconds=round(time.perf_counter() - started, 1)
        )
        results = read_json(args.results)  # read again: another part may have run meanwhile
        results[part] = found
        write_json(args.results, results, default=str)
        print(
            yaml.safe_dump(
                {part: {k: v for k, v in found.items() if k != "rules"}}, sort_keys=False
            )
        )


if __name__ == "__main__":
    main()
