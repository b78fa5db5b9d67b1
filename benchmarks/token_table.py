"""The default body's token table on a ticket stream, source trees side by side: CPU per ticket
of the body in batches of 64, first-layer rows computed per ticket (the table's misses), and
the process's peak memory.

For each ``--tree NAME=PATH`` and each ``--dataset`` the trees take turns, round after round,
each measurement in a fresh interpreter (``PYTHONPATH=PATH``), so they share the machine's
load. The child loads the body as a worker does (``UseMultilingualEmbedder``, its weights
mapped from a cache in ``--work-dir``, ``--threads`` threads), embeds one batch to warm up,
then the dataset's tickets (cut to ``--words`` words) in batches of 64, twice over (the
second pass finds its words in the tokenizer's table); ``--served-allocator`` sets glibc and
NumPy up as a serving process is (``triage.core.allocator``), ``--spare-workspaces N`` sets
``use_fast.SPARE_WORKSPACES`` (a tree without it ignores it). Datasets: ``sample`` (the sample
tickets, as ``benchmarks.batch_profile`` cuts them) or ``PATH:COLUMN[+COLUMN...]`` (a CSV's
first ``--tickets`` rows, those columns as the ticket's fields).

    git archive fd2d44b | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    D=../shared/datasets/itsm_assignment_groups
    .venv/bin/python -m benchmarks.token_table --tree before=/tmp/before --tree after=. \\
        --dataset sample --dataset "$D/input_data.csv:Short description+Description"
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.results import command, now, write_json
from benchmarks.serving_trees import _pair

OUTPUT = RESULTS / "token_table.json"
MARKER = "TOKEN_TABLE_RESULT "

# Run in the tree's interpreter: reads the texts from its standard input.
CHILD = r"""
import json, sys, time
from pathlib import Path
from triage.core.multilingual import UseMultilingualEmbedder, _use_model
threads, cache, served, spare = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
if served:  # as the app factory sets a serving process up
    from triage.core.allocator import keep_small, return_large_buffers
    return_large_buffers()
    keep_small()
if spare:
    import triage.core.use_fast
    triage.core.use_fast.SPARE_WORKSPACES = int(spare)
texts = json.loads(sys.stdin.read())
embedder = UseMultilingualEmbedder(threads=threads, cache_dir=cache)
forward = _use_model(threads, cache)[4]
encoder = getattr(forward, "__self__", None)
computed = [0]
if encoder is not None and hasattr(encoder, "_first_layer"):
    first_layer = encoder._first_layer
    def counted(ids):
        computed[0] += len(ids)
        return first_layer(ids)
    encoder._first_layer = counted
embedder.encode(texts[:64])
computed[0] = 0
n, cpu, wall = 0, time.process_time(), time.perf_counter()
for _ in range(2):
    for start in range(0, len(texts), 64):
        n += len(embedder.encode(texts[start:start + 64]))
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
status = Path("/proc/self/status").read_text().splitlines()
def mb(field):
    return round(next(int(l.split()[1]) for l in status if l.startswith(field + ":")) / 1024, 1)
print("TOKEN_TABLE_RESULT " + json.dumps({
    "tickets": n, "cpu_us_per_ticket": round(1e6 * cpu / n, 1),
    "tickets_per_s": round(n / wall, 1),
    "rows_computed_per_ticket": round(computed[0] / n, 2),
    "rss_mb": mb("VmRSS"), "anonymous_mb": mb("RssAnon"), "peak_rss_mb": mb("VmHWM")}),
    flush=True)
"""


def texts_of(dataset: str, words: int, count: int) -> list[str]:
    """The dataset's model texts, each cut to ``words`` words (0: whole)."""
    import csv

    from benchmarks.speed import tickets
    from triage.core.text import ticket_text

    if dataset == "sample":
        return [ticket_text((t["subject"], t["body"])) for t in tickets(words)]
    path, _, columns = dataset.rpartition(":")
    csv.field_size_limit(2**31 - 1)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
    texts = [ticket_text([row[c] for c in columns.split("+")]) for row in rows]
    return [" ".join(t.split()[:words]) for t in texts] if words else texts


def child(
    tree: Path, texts: list[str], threads: int, cache: Path, served: bool, spare: str
) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), str(cache), str(int(served)), spare],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode or not lines:
        sys.exit(f"child in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_pair, action="append", required=True)
    parser.add_argument("--dataset", action="append", required=True)
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--tickets", type=int, default=2000, help="rows read from a CSV")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work-dir", type=Path, help="the body's weights cache (default: temp)")
    parser.add_argument(
        "--served-allocator",
        action="store_true",
        help="glibc and NumPy set up as in a serving process (core.allocator)",
    )
    parser.add_argument(
        "--spare-workspaces", default="", help="use_fast.SPARE_WORKSPACES (default: the tree's)"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("token_table"),
        "machine": describe(("numpy",)),
        "threads": args.threads,
        "words": args.words,
        "served_allocator": args.served_allocator,
        "spare_workspaces": args.spare_workspaces or None,
        "loadavg_start": loadavg(),
        "datasets": {},
    }
    with tempfile.TemporaryDirectory(prefix="triage-token-table-") as tmp:
        cache = args.work_dir or Path(tmp)
        for dataset in args.dataset:
            texts = texts_of(dataset, args.words, args.tickets)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in args.tree}
            entry = {"tickets": len(texts), "runs": runs}
            results["datasets"][dataset] = entry
            for round_ in range(args.rounds):
                for name, tree in args.tree:
                    run = child(
                        tree,
                        texts,
                        args.threads,
                        cache,
                        args.served_allocator,
                        args.spare_workspaces,
                    )
                    run["loadavg"] = loadavg()
                    runs[name].append(run)
                    print(f"{dataset[-40:]} round {round_ + 1} {name}: {run}", flush=True)
                    write_json(args.output, results)
            entry["median"] = {
                name: {
                    key: statistics.median(run[key] for run in tree_runs)
                    for key in (
                        "cpu_us_per_ticket",
                        "rows_computed_per_ticket",
                        "rss_mb",
                        "anonymous_mb",
                        "peak_rss_mb",
                    )
                }
                for name, tree_runs in runs.items()
            }
    results["loadavg_end"] = loadavg()
    write_json(args.output, results)
    for dataset, entry in results["datasets"].items():
        print(dataset, json.dumps(entry["median"]))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
