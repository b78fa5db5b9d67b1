"""What ``TRIAGE_REDACT_PII`` would change in real ticket text: the evidence for its default.

For each set in ``../shared/datasets`` (and the sample data), every ticket's text (subject
and body, or the set's one text column; tobi_bueck's answers too, as resolutions) is passed
through :func:`triage.core.redaction.redact_pii`. Per placeholder it reports how many tickets
it changed and the replaced spans with some context (``--examples`` per placeholder, chosen
at random with a fixed seed), so that a reader can judge how many are personal data and how
many are ordinary ticket text taken by mistake. The reading of those examples is in
benchmarks/README.md; nothing here labels them.

    PYTHONPATH=. .venv/bin/python benchmarks/redaction.py [--examples 8]
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from triage.core.redaction import redact_pii

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "redaction.json"
PLACEHOLDERS = ("[email]", "[phone]", "[nik]", "[npwp]", "[account]", "[name]")

# set -> (file, text columns joined by a newline)
SETS = {
    "sample": (ROOT / "data" / "tickets.csv", ["subject", "body", "resolution"]),
    "bug_duplicates_seamonkey": (
        DATA / "bug_duplicates_seamonkey" / "SeaMonkey_bugs.csv",
        ["Summary", "Description"],
    ),
    "itsm_assignment_groups": (
        DATA / "itsm_assignment_groups" / "input_data.csv",
        ["Short description", "Description"],
    ),
    "tobi_bueck_tickets_en": (
        DATA / "tobi_bueck_tickets_en" / "tickets_en_v5_parts1-6.csv",
        ["subject", "body", "answer"],
    ),
    "it_service_tickets_kaggle": (
        DATA / "it_service_tickets_kaggle" / "all_tickets_processed_improved_v3.csv",
        ["Document"],
    ),
    "id_isp_customer_questions": (
        DATA / "id_isp_customer_questions" / "question_list.csv",
        ["Question List"],
    ),
    "banking77": (DATA / "banking77" / "train.csv", ["text"]),
}


def _spans(before: str, after: str, context: int = 6) -> list[tuple[str, str]]:
    """(placeholder, the original words it replaced, with ``context`` words either side)."""
    old, new = before.split(), after.split()
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replaced = " ".join(new[j1:j2])
        for placeholder in PLACEHOLDERS:
            for _ in range(replaced.count(placeholder)):
                shown = " ".join(
                    [
                        *old[max(0, i1 - context) : i1],
                        "«",
                        *old[i1:i2],
                        "»",
                        *old[i2 : i2 + context],
                    ]
                )
                out.append((placeholder, shown))
    return out


def measure(name: str, path: Path, columns: list[str], examples: int) -> dict[str, object]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    texts = ["\n".join(row) for row in frame[columns].itertuples(index=False)]
    started = time.process_time()
    changed: Counter[str] = Counter()
    spans: dict[str, list[str]] = {p: [] for p in PLACEHOLDERS}
    for text in texts:
        after = redact_pii(text)
        if after == text:
            continue
        found = _spans(text, after)
        for placeholder in {p for p, _ in found}:
            changed[placeholder] += 1
        for placeholder, shown in found:
            spans.setdefault(placeholder, []).append(shown)
    seconds = time.process_time() - started
    rng = random.Random(0)
    return {
        "tickets": len(texts),
        "cpu_ms_per_ticket": round(1000 * seconds / max(len(texts), 1), 3),
        "tickets_changed": {p: changed[p] for p in PLACEHOLDERS},
        "replacements": {p: len(spans.get(p, [])) for p in PLACEHOLDERS},
        "examples": {
            p: rng.sample(spans[p], min(examples, len(spans[p]))) for p in PLACEHOLDERS if spans[p]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()
    results = {}
    for name, (path, columns) in SETS.items():
        if not path.exists():
            print(f"{name}: {path} absent, skipped")
            continue
        results[name] = measure(name, path, columns, args.examples)
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "examples"}))
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
