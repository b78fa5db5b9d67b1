"""Print the README's results table from benchmarks/results/quality.json."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
ORDER = [
    "sample",
    "banking77",
    "it_service_tickets_kaggle",
    "itsm_l1_vs_escalated",
    "itsm_assignment_group",
]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _finetune_time(run: dict) -> str:
    tuned = run.get("finetune")
    return f", {tuned['seconds']:.0f} s of it fine-tuning" if tuned else ""


def main() -> None:
    results = json.loads(RESULTS.read_text())
    print(
        "| data (held out) | head | triage acc / macro-F1 | TF-IDF+LR same split | published "
        "| target | ECE | auto at 95 % target: share / precision | training time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    runs = [key for name in ORDER for key in (name, f"{name}+finetune") if key in results]
    for name in runs:
        run = results[name]
        for head, r in run["heads"].items():
            published = [
                f"{key.removesuffix('_published').replace('_', ' ')} {value}"
                for key, value in r.items()
                if key.endswith("_published")
            ]
            targets = [
                f"{key.removeprefix('target_').replace('_', ' ')} ≥ {value}"
                for key, value in r.items()
                if key.startswith("target_")
            ]
            auto = r["decisions_at_target"]["auto"]
            print(
                f"| `{name.removesuffix('+finetune')}` ({run['split']['n_test']})"
                f"{', fine-tuned body' if run.get('finetune') else ''} | {head} | "
                f"{_pct(r['accuracy'])} / "
                f"{r['macro_f1']:.3f} | {_pct(r['baseline_tfidf_logreg']['accuracy'])} / "
                f"{r['baseline_tfidf_logreg']['macro_f1']:.3f} | {'; '.join(published) or '–'} | "
                f"{'; '.join(targets) or '–'} | {r['ece']:.3f} | {_pct(auto['share'])} / "
                f"{_pct(auto['precision'])} | {run['train_seconds_total']:.0f} s"
                f"{' (embeddings cached)' if run.get('embeddings_from_cache') else ''}"
                f"{_finetune_time(run)} |"
            )


if __name__ == "__main__":
    main()
