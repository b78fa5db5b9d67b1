"""The hybrid ``find`` of two source trees on one stored set of tickets, taken in turns.

``hybrid_speed.py`` rebuilds its store for every run (~6 min at 100,000 tickets, longer on a
loaded machine), so a before and an after run see different loads. This opens one store
built once (by ``hybrid_speed.fill``, the same synthetic tickets and 512-dim hashing vectors,
with the snapshot written as a served process does) with each ``--tree NAME=PATH`` in turn,
one child interpreter per tree (``PYTHONPATH=PATH``) kept open; in ``--rounds`` rounds the
children take turns (A B A B ...), each running ``hybrid_speed.timed`` over the hybrid
``find`` (k=10, the query's subject given: 20 warm-up and 200 timed queries). Taking turns
every few seconds puts both trees under the same load; the CPU time is the figure to compare
(the machine's other jobs inflate wall time most), as the median over the rounds.

It also checks that every tree returns the same rows with the same scores (to 6 decimals)
for each of the 220 queries: a speed change must not change a result. The store is opened,
never written, except by a tree whose migrations are newer (``Database.upgrade``).

    .venv/bin/python -m benchmarks.find_trees --store /tmp/store100k \\
        --tree before=../main --tree after=. [--size 100000] [--rounds 10] [--label NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness.results import command, now

RESULTS = Path(__file__).resolve().parent / "results" / "find_trees.json"

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tree!r} + "/benchmarks")
from threadpoolctl import threadpool_limits
import hybrid_speed as hs
from triage.core.embeddings import HashingEmbedder
from triage.core.text import ticket_text
from triage.similar.service import SimilarService
from triage.store.database import Database
from triage.store.tickets import TicketStore

folder, size = Path({store!r}), {size}
embedder = HashingEmbedder(512)
queries = hs.synthetic(hs.QUERIES + hs.WARM_UP, seed=2)
texts = [ticket_text([r.subject, r.body]) for r in queries]
subjects = [r.subject or "" for r in queries]
vectors = embedder.encode(texts)
snapshot = folder / "vectors" / "index"
with threadpool_limits(limits=1):
    database = Database(f"sqlite:///{{folder / 'triage.db'}}")
    fresh = not (folder / "triage.db").exists()
    try:
        database.upgrade()
    except Exception:  # migrated by a newer tree: this one reads it as it is
        pass
    if fresh:
        hs.fill(TicketStore(database), hs.synthetic(size, seed=1), embedder)
        SimilarService.open(database, embedder, backend="embedded", snapshot=snapshot).close()
    service = SimilarService.open(database, embedder, backend="embedded", snapshot=snapshot)

    def find(q):
        return service.find(vectors[q], text=texts[q], subject=subjects[q], k=hs.K, min_score=-1.0)

    answers = [
        [[m.ticket.row_id, round(m.score, 6)] for m in r.similar]
        + [[m.ticket.row_id, round(m.score, 6)] for m in r.duplicates]
        for r in map(find, range(len(texts)))
    ]
    print(json.dumps({{"answers": answers}}), flush=True)
    for _ in sys.stdin:  # one round a line
        print(json.dumps({{"timed": hs.timed(find), "load": hs._load()}}), flush=True)
"""


def start(tree: Path, store: Path, size: int) -> subprocess.Popen[str]:
    """A child with ``tree``'s code, the store open: it answers every query once, then
    times them all again at each line it reads."""
    code = CHILD.format(tree=str(tree), store=str(store), size=size)
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def read(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        sys.exit(f"a child failed (exit {process.wait()})")
    result: dict[str, Any] = json.loads(line)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, required=True, help="folder; built if empty")
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--label", default="latest", help="kept under this name beside others")
    args = parser.parse_args()
    trees = {name: Path(path).resolve() for name, path in (t.split("=", 1) for t in args.tree)}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    answers: dict[str, Any] = {}
    # One child at a time while it starts (a store built by the first), then in turns.
    children = {}
    for name, tree in trees.items():
        children[name] = start(tree, args.store, args.size)
        answers[name] = read(children[name])["answers"]
    for round_ in range(args.rounds):
        for name, process in children.items():
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
            runs[name].append(read(process))
            print(round_, name, runs[name][-1], flush=True)
    for process in children.values():
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    first = next(iter(answers.values()))
    summary = {
        name: {
            "cpu_p50_ms (median of rounds)": statistics.median(
                r["timed"]["cpu_p50_ms"] for r in found
            ),
            "p50_ms (median of rounds)": statistics.median(r["timed"]["p50_ms"] for r in found),
            "load_average_1m": [r["load"] for r in found],
            "same_answers_as_first": answers[name] == first,
        }
        for name, found in runs.items()
    }
    print(json.dumps(summary, indent=2))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[args.label] = {
        "size": args.size,
        "rounds": runs,
        "summary": summary,
        "measured_at": now(),
        "command": command("find_trees"),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
