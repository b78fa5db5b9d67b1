"""What a ticket costs by its length, and the cap on what the default body reads (issue 27).

Protocol (written before the first run):

* **Texts by length.** Real ticket text joined end to end and cut to 150 … 20,000 characters
  (the API's limit), in English (SeaMonkey bug reports, then Kaggle IT tickets) and in Bahasa
  Indonesia (the id_isp customer questions). The "median ticket" is the sample data's median
  ticket (subject and body), as `make run` serves it.
* **Cost.** CPU seconds (``time.process_time``, one BLAS thread, the median of ``--repeat``
  runs) of embedding one text, so the figures hold on a busy machine; then of the whole
  in-process classification (``TriageService.classify``: text, embedding, heads, gate,
  language) with the default model trained on the sample data.
* **The cap (chosen by rule, on cost alone).** From the grid ``CAPS``, the largest number of
  characters the body may read such that embedding a 20,000-character ticket costs at most
  10 times the median ticket, in both languages. Quality is then *reported* for that cap, not
  used to choose it: duplicate recall on SeaMonkey's long bug reports (dense search, capped
  against whole text, paired bootstrap) and category accuracy on the Kaggle tickets longer
  than the cap (a logistic regression over the embeddings, 5-fold, on those tickets and 4,000
  others, capped against whole text).
* **Throughput on real lengths.** Tickets per CPU second of the whole classification, in
  batches of 64, on each data set's own length distribution (up to 1,000 tickets each).

    PYTHONPATH=. .venv/bin/python benchmarks/length_cost.py

Results: ``benchmarks/results/length_cost.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from retrieval import SHARED, paired_bootstrap, per_query, seamonkey
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness.models import ensure_model
from benchmarks.harness.results import now, stamp, write_json
from triage.core.multilingual import USE_MAX_CHARS, USE_MULTILINGUAL, load_multilingual
from triage.core.text import ticket_text
from triage.service.classification import TriageService
from triage.service.results import Ticket
from triage.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "tickets.csv"
RESULTS = ROOT / "benchmarks" / "results" / "length_cost.json"
LENGTHS = (150, 300, 600, 1200, 2500, 5000, 10000, 20000)
CAPS = (1000, 1500, 2000, 3000, 4000, 6000, 8000)
LIMIT = 20000
RATIO = 10.0
KAGGLE = SHARED / "it_service_tickets_kaggle" / "all_tickets_processed_improved_v3.csv"


def _joined(texts: Sequence[str], length: int) -> str:
    out, size = [], 0
    for text in texts:
        out.append(text)
        size += len(text) + 1
        if size >= length:
            break
    return " ".join(out)[:length]


def sources() -> dict[str, list[str]]:
    bugs = pd.read_csv(SHARED / "bug_duplicates_seamonkey" / "SeaMonkey_bugs.csv")
    kaggle = pd.read_csv(KAGGLE)
    english = bugs["Description"].dropna().astype(str).tolist()
    english += kaggle["Document"].dropna().astype(str).head(3000).tolist()
    questions = pd.read_csv(SHARED / "id_isp_customer_questions" / "question_list.csv")
    indonesian = questions["Question List"].dropna().astype(str).tolist()
    return {"en": english, "id": indonesian}


def median_ticket() -> str:
    sample = pd.read_csv(SAMPLE, keep_default_na=False)
    texts = [ticket_text([s, b]) for s, b in zip(sample["subject"], sample["body"], strict=True)]
    lengths = np.asarray([len(t) for t in texts])
    return texts[int(np.argsort(lengths)[len(lengths) // 2])]


def cpu(call: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of ``call`` over ``repeat`` runs (after one warm-up)."""
    call()
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        runs.append(time.process_time() - started)
    return statistics.median(runs)


def _embed(body: Any, text: str) -> Callable[[], object]:
    return lambda: body.encode([text])


def embedding_costs(texts: dict[str, dict[int, str]], median: str, repeat: int) -> dict[str, Any]:
    """CPU ms of embedding each text, uncapped and at every cap of the grid."""
    out: dict[str, Any] = {}
    for cap in (None, *CAPS):
        body = load_multilingual(USE_MULTILINGUAL, threads=1, max_chars=cap)
        row: dict[str, Any] = {"median_ticket_ms": 1000 * cpu(_embed(body, median), repeat)}
        for language, by_length in texts.items():
            row[language] = {n: 1000 * cpu(_embed(body, t), repeat) for n, t in by_length.items()}
            row[f"{language}_ratio_at_limit"] = row[language][LIMIT] / row["median_ticket_ms"]
        out["none" if cap is None else str(cap)] = row
        print(
            f"cap {cap}: median ticket {row['median_ticket_ms']:.2f} ms; {LIMIT} characters: "
            f"en x{row['en_ratio_at_limit']:.1f}, id x{row['id_ratio_at_limit']:.1f}",
            flush=True,
        )
    return out


def chosen_cap(costs: dict[str, Any]) -> int | None:
    fitting = [
        cap
        for cap in CAPS
        if max(costs[str(cap)]["en_ratio_at_limit"], costs[str(cap)]["id_ratio_at_limit"]) <= RATIO
    ]
    return max(fitting) if fitting else None


def classification_costs(
    service: TriageService, texts: dict[str, dict[int, str]], median: str, repeat: int
) -> dict[str, Any]:
    """CPU ms of the whole in-process classification of one ticket by its length."""

    def classify(text: str) -> Callable[[], object]:
        return lambda: service.classify(Ticket(subject=None, body=text))

    row: dict[str, Any] = {"median_ticket_ms": 1000 * cpu(classify(median), repeat)}
    for language, by_length in texts.items():
        row[language] = {n: 1000 * cpu(classify(t), repeat) for n, t in by_length.items()}
        row[f"{language}_ratio_at_limit"] = row[language][LIMIT] / row["median_ticket_ms"]
    return row


def real_lengths(service: TriageService) -> dict[str, Any]:
    """Tickets per CPU second of the whole classification on each set's own lengths."""
    rng = np.random.default_rng(0)
    sample = pd.read_csv(SAMPLE, keep_default_na=False)
    bugs = pd.read_csv(SHARED / "bug_duplicates_seamonkey" / "SeaMonkey_bugs.csv")
    sets = {
        "sample (en, id)": list(zip(sample["subject"], sample["body"], strict=True)),
        "Kaggle IT tickets": [(None, t) for t in pd.read_csv(KAGGLE)["Document"].astype(str)],
        "SeaMonkey bug reports": list(
            zip(bugs["Summary"].fillna(""), bugs["Description"].fillna(""), strict=True)
        ),
        "id_isp questions (id)": [
            (None, t)
            for t in pd.read_csv(SHARED / "id_isp_customer_questions" / "question_list.csv")[
                "Question List"
            ].astype(str)
        ],
    }
    out = {}
    for name, tickets in sets.items():
        picked = [tickets[i] for i in rng.permutation(len(tickets))[:1000]]
        batch = [Ticket(subject=s or None, body=b[:LIMIT] or None) for s, b in picked]
        lengths = [len(ticket_text([t.subject, t.body])) for t in batch]
        started = time.process_time()
        for start in range(0, len(batch), 64):
            service.classify_many(batch[start : start + 64], observe=False)
        seconds = time.process_time() - started
        out[name] = {
            "tickets": len(batch),
            "chars_p50": int(np.median(lengths)),
            "chars_p99": int(np.percentile(lengths, 99)),
            "tickets_per_cpu_second": round(len(batch) / seconds, 1),
        }
        print(name, out[name], flush=True)
    return out


def seamonkey_recall(cap: int) -> dict[str, Any]:
    split = seamonkey()
    found = {}
    for name, body in (
        ("whole", load_multilingual(USE_MULTILINGUAL, threads=2, max_chars=None)),
        ("capped", load_multilingual(USE_MULTILINGUAL, threads=2, max_chars=cap)),
    ):
        corpus = body.encode(split.corpus_texts)
        queries = body.encode(split.query_texts)
        scores = queries @ corpus.T
        for q, row in enumerate(split.query_rows or []):
            scores[q, row] = -np.inf
        rankings = np.argsort(-scores, axis=1, kind="stable")[:, :10].tolist()
        found[name] = per_query(rankings, split)
    longer = sum(len(t) > cap for t in split.corpus_texts)
    return {
        "queries": len(split.queries),
        "bugs_longer_than_cap": longer,
        "bugs": len(split.corpus),
        "r_at_10": {k: round(float(v["r_at_10"].mean()), 4) for k, v in found.items()},
        "mrr_at_10": {k: round(float(v["mrr_at_10"].mean()), 4) for k, v in found.items()},
        "capped_minus_whole_r_at_10": paired_bootstrap(
            found["capped"]["r_at_10"], found["whole"]["r_at_10"]
        ),
    }


def kaggle_long(cap: int) -> dict[str, Any]:
    frame = pd.read_csv(KAGGLE)
    lengths = frame["Document"].astype(str).str.len()
    long_rows = np.flatnonzero(lengths.to_numpy() > cap)
    others = np.random.default_rng(0).permutation(np.flatnonzero(lengths.to_numpy() <= cap))[:4000]
    rows = np.concatenate([long_rows, others])
    texts = frame["Document"].astype(str).to_numpy()[rows].tolist()
    labels = frame["Topic_group"].astype(str).to_numpy()[rows]
    is_long = np.zeros(len(rows), dtype=bool)
    is_long[: len(long_rows)] = True
    short = load_multilingual(USE_MULTILINGUAL, threads=2, max_chars=None).encode(
        texts[len(long_rows) :]
    )
    out: dict[str, Any] = {"long_tickets": len(long_rows), "other_tickets": len(others)}
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    for name, body in (
        ("whole", load_multilingual(USE_MULTILINGUAL, threads=2, max_chars=None)),
        ("capped", load_multilingual(USE_MULTILINGUAL, threads=2, max_chars=cap)),
    ):
        vectors = np.vstack([body.encode(texts[: len(long_rows)]), short])
        predicted = cross_val_predict(
            LogisticRegression(C=3.0, max_iter=2000), vectors, labels, cv=folds
        )
        correct = predicted == labels
        out[name] = {
            "accuracy_long": round(float(correct[is_long].mean()), 4),
            "accuracy_all": round(float(correct.mean()), 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"needs {SHARED}")
    started = now()
    median = median_ticket()
    texts = {
        language: {n: _joined(pool, n) for n in LENGTHS} for language, pool in sources().items()
    }
    with threadpool_limits(limits=1):
        costs = embedding_costs(texts, median, args.repeat)
    cap = chosen_cap(costs)
    print(f"chosen cap: {cap} (shipped default USE_MAX_CHARS = {USE_MAX_CHARS})", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        models = ensure_model(args.models_dir, SAMPLE, Path(scratch), embedder=None)
        settings = Settings(models_dir=models, threads=1, data_dir=Path(scratch))
        service = TriageService.from_settings(settings)
        with threadpool_limits(limits=1):
            classified = classification_costs(service, texts, median, args.repeat)
            throughput = real_lengths(service)
    result = {
        **stamp(),
        "started_at": started,
        "command": "PYTHONPATH=. .venv/bin/python benchmarks/length_cost.py "
        + " ".join(sys.argv[1:]),
        "protocol": __doc__,
        "median_ticket_chars": len(median),
        "embedding_ms": costs,
        "rule": f"largest cap in {list(CAPS)} with a {LIMIT}-character ticket at most "
        f"{RATIO:g}x the median ticket's embedding CPU, in en and id",
        "chosen_cap": cap,
        "shipped_cap": USE_MAX_CHARS,
        "classification_ms_default": classified,
        "throughput_real_lengths": throughput,
        "quality_at_chosen_cap": {
            "seamonkey_duplicates": seamonkey_recall(cap or USE_MAX_CHARS),
            "kaggle_long_tickets": kaggle_long(cap or USE_MAX_CHARS),
        },
    }
    write_json(RESULTS, result)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
