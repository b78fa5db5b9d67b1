"""Print the README's tables: results (benchmarks/results/quality.json) and, with
``--learning-curve``, accuracy by labelled tickets per class (results/learning_curve.json,
the "all" column from quality.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
LEARNING = RESULTS.parent / "learning_curve.json"
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


def learning_curve() -> None:
    curves = json.loads(LEARNING.read_text())
    quality = json.loads(RESULTS.read_text())
    for name, run in curves.items():
        sizes = sorted(run["summary"], key=int)
        full = quality.get(name, {}).get("heads", {}).get(run["head"], {})
        if "full" in run:  # the whole training split, trained by the same run and body
            figures = run["full"]["heads"][run["head"]]
            full = {
                "accuracy": figures["accuracy"],
                "refinement": {"head_alone": {"accuracy": figures["head_alone_accuracy"]}},
            }
        body = f"; body {run['embedder']}" if "embedder" in run else ""
        print(f"\n`{name}` ({run['n_test']} held out{body}), accuracy, mean ± sd over seeds:\n")
        print("| per class | " + " | ".join(sizes) + " | all |")
        print("|---|" + "---|" * (len(sizes) + 1))
        print("| seeds | " + " | ".join(str(run["summary"][n]["seeds"]) for n in sizes) + " | 1 |")
        for key, title in (
            ("shipped", "**shipped** (`triage train`)"),
            ("head", "trained head alone"),
            ("knn", "10-NN vote alone"),
            ("centroid", "centroid vote alone"),
        ):
            figures = [run["summary"][n][key] for n in sizes]
            cells = [f"{100 * f['mean']:.1f} ± {100 * f['std']:.1f}" for f in figures]
            last = "–"
            if key == "shipped" and full:
                last = f"{100 * full['accuracy']:.1f}"
            elif key == "head" and full.get("refinement"):
                last = f"{100 * full['refinement']['head_alone']['accuracy']:.1f}"
            print(f"| {title} | " + " | ".join(cells) + f" | {last} |")
        modes = [
            "/".join(sorted({r["mode"] for r in run["rows"] if str(r["per_class"]) == n}))
            for n in sizes
        ]
        print("| mode chosen | " + " | ".join(modes) + " | trained |")
        if all("heads" in run["summary"][n] for n in sizes):
            for head in run["summary"][sizes[0]]["heads"]:
                _heads_table(name, run, sizes, head)


def _heads_table(name: str, run: dict, sizes: list[str], head: str) -> None:
    """Accuracy, macro-F1 and the auto decisions of one head by size, beside TF-IDF + LR."""
    print(
        f"\n`{name}`, head `{head}` ({run['n_test']} held out): mean ± sd over seeds; auto "
        "precision pooled over every auto decision of the seeds (n decisions)\n"
    )
    print(
        "| per class | seeds | accuracy | macro-F1 | auto share | auto precision (n) "
        "| TF-IDF+LR accuracy | TF-IDF+LR macro-F1 | mode |"
    )
    print("|---|---|---|---|---|---|---|---|---|")

    def spread(figure: dict) -> str:
        return f"{100 * figure['mean']:.1f} ± {100 * figure['std']:.1f}"

    for n in sizes:
        h = run["summary"][n]["heads"][head]
        print(
            f"| {n} | {run['summary'][n]['seeds']} | {spread(h['accuracy'])} | "
            f"{h['macro_f1']['mean']:.3f} | {spread(h['auto_share'])} | "
            f"{_pct(h['auto_precision'])} ({h['auto_decisions']}) | "
            f"{spread(h['tfidf_accuracy'])} | {h['tfidf_macro_f1']['mean']:.3f} | "
            f"{'/'.join(h['modes'])} |"
        )
    if "full" in run:
        f = run["full"]["heads"][head]
        print(
            f"| all ({run['full']['n_train']}) | 1 | {_pct(f['accuracy'])} | {f['macro_f1']:.3f} "
            f"| {_pct(f['auto_share'])} | {_pct(f['auto_precision'])} ({f['auto_decisions']}) "
            f"| {_pct(f['tfidf_accuracy'])} | {f['tfidf_macro_f1']:.3f} | {f['mode']} |"
        )


if __name__ == "__main__":
    learning_curve() if "--learning-curve" in sys.argv else main()
