"""Instructions per classification, counted by valgrind's callgrind: two source trees compared
in a way the machine's load cannot disturb.

Wall-clock timings on a shared 2-core machine move by a factor of two with whatever else runs
(``benchmarks/speed.py`` records the load average beside its figures). Callgrind counts the
instructions a process executes, which are the same for the same code, inputs and libraries
whatever else the machine is doing. This compares what one in-process classification costs
(``TriageService.classify``: preprocessing, language, the body's embedding, every head, the
decisions) between trees, e.g. before and after a refactoring.

For each ``--tree NAME=PATH``, a child interpreter with ``PYTHONPATH=PATH`` loads the model
(one thread), classifies the first ``--tickets`` sample tickets once as a warm-up, then
``--rounds`` more times. It runs twice under callgrind, with 0 rounds and with ``--rounds``;
the difference over ``rounds x tickets`` is the instructions per classification (start-up,
loading and warm-up cancel out). The model is trained once, by the first tree, on
``data/tickets.csv`` with the default body, unless ``--models-dir`` is given; a later tree must
be able to load what the first wrote. Results: ``benchmarks/results/classify_instructions.json``.

    .venv/bin/python -m benchmarks.classify_instructions --tree before=../old --tree after=.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.machine import describe
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import BIN, environment

OUTPUT = RESULTS / "classify_instructions.json"

# The child: the same code for every tree, finding the model loader and the service where
# that tree keeps them (the flat package before issue 19, the layered one after).
CHILD = textwrap.dedent(
    """
    import csv, sys
    from pathlib import Path
    try:
        from triage.core.artifacts import load_model
        from triage.service import Ticket, TriageService
    except ImportError:
        from triage.artifacts import load_model
        from triage.service import Ticket, TriageService
    models, data, n, rounds, words = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    with open(data, newline="", encoding="utf-8") as handle:
        rows = [r for _, r in zip(range(n), csv.DictReader(handle))]
    tickets = [
        Ticket(subject=r.get("subject"), body=" ".join((r.get("body") or "").split()[:words]))
        for r in rows
    ]
    version = max(p for p in Path(models).iterdir() if (p / "manifest.json").is_file())
    service = TriageService(load_model(version, threads=1))
    for ticket in tickets:
        service.classify(ticket)
    for _ in range(rounds):
        for ticket in tickets:
            service.classify(ticket)
    """
)


def instructions(tree: Path, models: Path, args: argparse.Namespace, rounds: int) -> int:
    """Instructions callgrind counted for one run of the child in ``tree``."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        env = {**environment(), "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
        env["OPENBLAS_NUM_THREADS"] = "1"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                CHILD,
                str(models),
                str(SAMPLE_TICKETS),
                str(args.tickets),
                str(rounds),
                str(args.words),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or found is None:
            sys.exit(f"callgrind run failed in {tree}:\n{run.stderr[-3000:]}")
        return int(found.group(1))


def train(tree: Path, target: Path) -> Path:
    print(f"training the default-body model with {tree} ...", flush=True)
    env = {**environment(), "PYTHONPATH": str(tree)}
    arguments = ["train", "--quiet", "--data", str(SAMPLE_TICKETS), "--out", str(target)]
    subprocess.run(
        [str(BIN / "triage"), *arguments],
        env=env,
        check=True,
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tree", action="append", required=True, help="NAME=PATH of a source tree (repeatable)"
    )
    parser.add_argument("--models-dir", type=Path, help="load this model (default: train one)")
    parser.add_argument("--tickets", type=int, default=20, help="sample tickets per round")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds")
    parser.add_argument("--words", type=int, default=30, help="cut each body to N words")
    args = parser.parse_args()
    trees = [(name, Path(path).resolve()) for name, path in (t.split("=", 1) for t in args.tree)]
    with tempfile.TemporaryDirectory(prefix="triage-instr-") as scratch:
        models = args.models_dir or train(trees[0][1], Path(scratch) / "models")
        rows: list[dict[str, Any]] = []
        for name, tree in trees:
            base = instructions(tree, models, args, 0)
            full = instructions(tree, models, args, args.rounds)
            per = (full - base) / (args.rounds * args.tickets)
            rows.append({"tree": name, "path": str(tree), "base": base, "full": full, "per": per})
            print(f"{name}: {per:,.0f} instructions per classification", flush=True)
    first = rows[0]["per"]
    for row in rows:
        row["ratio_to_first"] = round(row["per"] / first, 4)
        print(f"| {row['tree']} | {row['per']:,.0f} | x{row['ratio_to_first']:.3f} |")
    write_json(
        OUTPUT,
        {
            "measured_at": now(),
            "command": command("classify_instructions"),
            "machine": describe(),
            "tickets": args.tickets,
            "rounds": args.rounds,
            "words": args.words,
            "trees": rows,
        },
    )
    print(f"written to {OUTPUT}")


if __name__ == "__main__":
    os.environ.setdefault("TRIAGE_LOG_LEVEL", "WARNING")
    main()
