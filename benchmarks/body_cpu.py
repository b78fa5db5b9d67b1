"""The default body's CPU per ticket, one ticket at a time and in batches of 64, source trees
side by side, with the vectors' digest (issue 29).

For each ``--tree NAME=PATH`` the trees take turns, round after round, each measurement in a
fresh interpreter (``PYTHONPATH=PATH``, run from PATH), so they share the machine's load. The
child loads the body as a worker does (``UseMultilingualEmbedder`` with ``--threads``
threads, its weights mapped from the cache in ``--work-dir``), embeds the sample tickets cut
to ``--words`` words once one by one (the tokenizer's word table and the token table warm, as
in a running worker), then times ``--repeats`` passes of single-ticket calls and one pass in
batches of 64 in process CPU seconds. It reports the SHA-256 of every whole sample ticket's
vector, one by one and in batches of 64, so trees that should embed the same can be checked
bit for bit. Results: ``benchmarks/results/body_cpu.json`` and a Markdown table.

    git archive fd2d44b | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    .venv/bin/python -m benchmarks.body_cpu --tree before=/tmp/before --tree after=. --rounds 3
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

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.results import command, now, write_json
from benchmarks.serving_trees import _pair

OUTPUT = RESULTS / "body_cpu.json"
MARKER = "BODY_CPU_RESULT "

_CHILD = r"""
import hashlib, json, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from triage.core.multilingual import UseMultilingualEmbedder

data, work_dir, words, repeats, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
frame = pd.read_csv(data, dtype=str, keep_default_na=False)
whole = [f"{s} {b}" for s, b in zip(frame["subject"], frame["body"])]
cut = [" ".join(t.split()[:words]) for t in whole] if words else whole
body = UseMultilingualEmbedder(threads=threads, cache_dir=Path(work_dir))
for text in cut:
    body.encode([text])
start = time.process_time()
for _ in range(repeats):
    for text in cut:
        body.encode([text])
one = (time.process_time() - start) / (repeats * len(cut))
start = time.process_time()
for i in range(0, len(cut), 64):
    body.encode(cut[i : i + 64])
batch = (time.process_time() - start) / len(cut)
alone = np.stack([body.encode([t])[0] for t in whole])
together = np.concatenate([body.encode(whole[i : i + 64]) for i in range(0, len(whole), 64)])
print("BODY_CPU_RESULT " + json.dumps({
    "one_ms": round(one * 1000, 3),
    "batch64_ms": round(batch * 1000, 3),
    "vectors_one_sha256": hashlib.sha256(alone.tobytes()).hexdigest(),
    "vectors_batch64_sha256": hashlib.sha256(together.tobytes()).hexdigest(),
}))
"""


def _measure(path: Path, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(path), "TRIAGE_THREADS": str(args.threads)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(args.data),
            str(work_dir),
            str(args.words),
            str(args.repeats),
            str(args.threads),
        ],
        cwd=path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith(MARKER))
    return dict(json.loads(line[len(MARKER) :]))


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"Body CPU ms a ticket, {result['threads']} thread(s), tickets cut to "
        f"{result['words']} words (median of {result['rounds']} rounds; every round's in "
        "brackets)",
        "",
        "| tree | one at a time | in batches of 64 | vectors (one / batch) SHA-256 |",
        "|---|---|---|---|",
    ]
    for name, runs in result["trees"].items():
        one = [r["one_ms"] for r in runs]
        batch = [r["batch64_ms"] for r in runs]
        lines.append(
            f"| {name} | {statistics.median(one):.3f} ({', '.join(map(str, one))}) "
            f"| {statistics.median(batch):.3f} ({', '.join(map(str, batch))}) "
            f"| {runs[0]['vectors_one_sha256'][:12]} / {runs[0]['vectors_batch64_sha256'][:12]} |"
        )
    load = f"load average at start {result['loadavg_start']}, at end {result['loadavg_end']}"
    lines += ["", load]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_pair, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="single-ticket passes")
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", type=Path, default=SAMPLE_TICKETS)
    parser.add_argument("--work-dir", type=Path, help="the body's weights cache (default: temp)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    trees = {name: Path(path).resolve() for name, path in args.tree}
    result: dict[str, Any] = {
        "measured_at": now(),
        "command": command("body_cpu"),
        "machine": describe(("numpy",)),
        "loadavg_start": loadavg(),
        "threads": args.threads,
        "words": args.words,
        "rounds": args.rounds,
        "trees": {name: [] for name in trees},
    }
    with tempfile.TemporaryDirectory() as temp:
        work_dir = args.work_dir or Path(temp)
        for path in trees.values():  # a first start writes the body's cache
            _measure(path, argparse.Namespace(**{**vars(args), "repeats": 1}), work_dir)
        for _ in range(args.rounds):
            for name, path in trees.items():
                result["trees"][name].append(_measure(path, args, work_dir))
    result["loadavg_end"] = loadavg()
    write_json(args.output, result)
    print(_table(result))
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
