"""Before → after of two ``auto_precision.py`` result files, on the seeds both measured.

Per set and head: the share of held-out tickets decided ``auto`` by the shipped rule and the
precision of those decisions (mean, worst seed), and the shift in coverage, per seed; then the
share of off-domain text any head decides ``auto``. The earlier file is usually a version from
git history:

    git show <commit>:benchmarks/results/auto_precision.json > /tmp/before.json
    .venv/bin/python benchmarks/auto_precision_compare.py /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "auto_precision.json"


def _remeasured(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The sets both files hold, measured again since (a set measured once is left out)."""
    return sorted(
        key
        for key in after
        if key in before and after[key]["measured_at"] != before[key]["measured_at"]
    )


def _by_seed(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(s["seed"]): s for s in result["seeds"]}


def _cell(rows: list[dict[str, Any]]) -> str:
    shares = [r["share"] for r in rows]
    precisions = [r["precision"] for r in rows if r["precision"] is not None]
    if not precisions:
        return f"{np.mean(shares):.1%} / n/a"
    return f"{np.mean(shares):.1%} / {np.mean(precisions):.3f} ({min(precisions):.3f})"


def decisions(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = [
        "| set | head | seeds | before: auto share / precision (min) | after | "
        "coverage change per seed (points) |",
        "|---|---|---|---|---|---|",
    ]
    for key in _remeasured(before, after):
        old, new = _by_seed(before[key]), _by_seed(after[key])
        seeds = sorted(set(old) & set(new))
        if not seeds:
            continue
        heads = [h for h in new[seeds[0]]["heads"] if h != "gate_refused"]
        for head in heads:
            was = [old[s]["heads"][head]["shipped"] for s in seeds]
            now = [new[s]["heads"][head]["shipped"] for s in seeds]
            shifts = ", ".join(
                f"{100 * (n['share'] - w['share']):+.1f}" for w, n in zip(was, now, strict=True)
            )
            lines.append(
                f"| {key} | {head} | {len(seeds)} | {_cell(was)} | {_cell(now)} | {shifts} |"
            )
    return lines


def offdomain(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = [
        "| set | off-domain text | n | seeds | before: decided auto by any head | after |",
        "|---|---|---|---|---|---|",
    ]
    for key in _remeasured(before, after):
        if "offdomain" not in after[key]["seeds"][0]:
            continue
        old, new = _by_seed(before[key]), _by_seed(after[key])
        seeds = sorted(set(old) & set(new))
        names = [*new[seeds[0]]["offdomain"], "offdomain.csv (all kinds)"]
        for name in names:
            n = _count(new[seeds[0]]["offdomain"], name, "n")
            was = [_count(old[s]["offdomain"], name, "auto_any_head") for s in seeds]
            now = [_count(new[s]["offdomain"], name, "auto_any_head") for s in seeds]
            lines.append(
                f"| {key} | {name} | {n} | {len(seeds)} | {np.mean(was) / n:.1%} "
                f"({min(was)}–{max(was)}) | {np.mean(now) / n:.1%} ({min(now)}–{max(now)}) |"
            )
    return lines


def _count(offdomain: dict[str, Any], name: str, field: str) -> int:
    """``field`` of one off-domain set, or summed over the kinds of ``offdomain.csv``."""
    if name in offdomain:
        return int(offdomain[name][field])
    return sum(int(v[field]) for k, v in offdomain.items() if k.startswith("offdomain:"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path, nargs="?", default=RESULTS)
    args = parser.parse_args()
    before = json.loads(args.before.read_text())
    after = json.loads(args.after.read_text())
    print("\n".join(decisions(before, after)))
    print()
    print("\n".join(offdomain(before, after)))


if __name__ == "__main__":
    main()
