"""``load_mixed`` on two or more source trees taking turns, for a before/after of memory.

Runs of minutes see different loads on a shared machine, and a worker's memory follows the
load (an overloaded open loop keeps more requests in flight, each holding its buffers), so
one run per tree compares the load more than the trees. Here ``--rounds`` rounds each run
``python -m benchmarks.load_mixed`` once per ``--tree NAME=PATH`` in turn (A B A B ...),
from that tree (``PYTHONPATH=PATH``), with the same arguments (those after ``--``), and
collect what each run's JSON says of every worker's RSS (first, last, max, mean, slope), its
RSS by mapping at the end, latency, achieved rate and load average.

    .venv/bin/python -m benchmarks.load_mixed_turns --tree before=/tmp/before --tree after=. \\
        --rounds 2 -- --rate 30 --duration 420 --workers 2 --threads 1 --models-dir DIR

Writes ``benchmarks/results/load_mixed_turns.json`` (``--output``) and prints a Markdown table.
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

OUTPUT = RESULTS / "load_mixed_turns.json"


def _tree(value: str) -> tuple[str, Path]:
    name, sep, path = value.partition("=")
    if not sep or not name or not Path(path).is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=PATH to a source tree")
    return name, Path(path).resolve()


def run_once(tree: Path, args: list[str], output: Path) -> dict[str, Any]:
    """One ``load_mixed`` run from ``tree``; its JSON."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-m", "benchmarks.load_mixed", *args, "--output", str(output)]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    data: dict[str, Any] = json.loads(output.read_text())
    return data


def summary(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per rate: each worker's RSS trend and mapping at the end, latency, rate, load."""
    rows = []
    for run in data["runs"]:
        workers = {k: v for k, v in run["memory_mb"].items() if k.startswith("worker")}
        last_mapping = run["mappings_mb"][-1]["by_pid"] if run["mappings_mb"] else {}
        rows.append(
            {
                "rate": run["target_rps"],
                "achieved_rps": run["achieved_rps"],
                "sustained": run["sustained"],
                "latency_ms": run["overall"]["latency_ms"],
                "errors": run["overall"]["non_2xx"] + run["overall"]["socket_errors"],
                "workers_mb": workers,
                "mapping_at_end_mb": {
                    pid: {group: parts.get("Rss") for group, parts in groups.items()}
                    for pid, groups in last_mapping.items()
                },
                "server_cpu_percent": run["server_cpu_percent"],
                "loadavg_before": run["loadavg_before"],
                "loadavg_after": run["loadavg_after"],
            }
        )
    return rows


def medians(runs: list[dict[str, Any]], trees: list[str]) -> dict[str, dict[str, float]]:
    """Per tree, over its rounds and workers: the median of each worker's mean, last and max
    RSS, and of its slope."""
    out = {}
    for name in trees:
        workers = [
            w
            for r in runs
            if r["tree"] == name
            for row in r["rates"]
            for w in row["workers_mb"].values()
        ]
        out[name] = {
            key: round(statistics.median(w[key] for w in workers), 1)
            for key in ("mean", "last", "max", "slope_mb_per_min")
            if workers and all(w.get(key) is not None for w in workers)
        }
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| round | tree | rate | achieved | p50 / p99 ms | workers' RSS MB: mean, last (max), "
        "slope MB/min | load before → after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        for row in r["rates"]:
            memory = "; ".join(
                f"{w['mean']:.0f}, {w['last']:.0f} ({w['max']:.0f}), {w['slope_mb_per_min']:+.2f}"
                for w in row["workers_mb"].values()
            )
            lat = row["latency_ms"]
            lines.append(
                f"| {r['round']} | {r['tree']} | {row['rate']:g} | {row['achieved_rps']:.1f} "
                f"| {lat['p50']:.0f} / {lat['p99']:.0f} | {memory} "
                f"| {row['loadavg_before'][0]:.2f} → {row['loadavg_after'][0]:.2f} |"
            )
    lines += [
        "",
        "| tree | median of workers: mean / last / max RSS MB, slope MB/min |",
        "|---|---|",
    ]
    for name, m in result["medians"].items():
        lines.append(
            f"| {name} | {m.get('mean')} / {m.get('last')} / {m.get('max')}, "
            f"{m.get('slope_mb_per_min')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_tree, action="append", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--note", default=None)
    parser.add_argument("load_mixed_args", nargs=argparse.REMAINDER, help="after --")
    args = parser.parse_args()
    passed = [a for a in args.load_mixed_args if a != "--"]
    machine = describe()
    runs = []
    with tempfile.TemporaryDirectory(prefix="load-turns-") as tmp:
        for round_ in range(1, args.rounds + 1):
            for name, tree in args.tree:
                print(f"round {round_}: {name} ({tree}) ...", flush=True)
                data = run_once(tree, passed, Path(tmp) / f"{name}-{round_}.json")
                runs.append(
                    {
                        "round": round_,
                        "tree": name,
                        "path": str(tree),
                        "date": data["date"],
                        "rates": summary(data),
                    }
                )
    machine["loadavg_at_end"] = loadavg()
    result = {
        "date": now(),
        "command": command("load_mixed_turns"),
        "note": args.note,
        "machine": machine,
        "load_mixed_args": passed,
        "trees": {name: str(path) for name, path in args.tree},
        "runs": runs,
        "medians": medians(runs, [name for name, _ in args.tree]),
    }
    write_json(args.output, result)
    print(markdown(result))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
