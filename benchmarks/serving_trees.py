"""Serving speed of source trees side by side (before / after a change), in one run.

For each ``--tree NAME=PATH`` (``PYTHONPATH=PATH``, run from PATH) and each model given
(``--model BODY=MODELS_DIR``, e.g. the default ``use-multilingual`` body, ``e5``, an int8
MiniLM), the trees take turns, so they share the machine's load:

* in process, a fresh interpreter per measurement (``TriageService.from_settings``, as a
  worker builds it, with a data directory per tree whose caches a first start wrote: the
  cold start of a restart): cold start to the first answer (wall, and the process's CPU
  seconds), memory after it (RSS, of which anonymous), **the floor** (the body's own
  single-threaded CPU time per ticket: ``embedder.encode`` of one ticket under one BLAS
  thread), then ``classify`` one ticket at a time (CPU ms per ticket, all threads; wall
  p50/p99) and ``classify_many`` in batches of 64 (tickets per CPU second and per second),
  with ``TRIAGE_THREADS`` 1 and 2;
* over HTTP (``--http``), uvicorn as ``benchmarks.speed`` starts it, for 1 x 2, 2 x 1 and
  2 x 2 workers x threads: cold start to the first answer, one client's p50/p99 and the
  server's CPU per request, four clients per worker (req/s, p50/p99, CPU per request),
  ``POST /v1/classify/batch`` of 100 tickets from one client per worker (classifications/s,
  whole answers), and each worker's RSS.

Every CPU figure is also given as a ratio to the floor measured in the same run, and the load
average is recorded: the machine is shared, wall times move with it. Tickets are the sample
tickets cut to ``--words`` words (30, as ``benchmarks.speed``). Results:
``benchmarks/results/serving_trees.json`` and a Markdown table on standard output.

    git archive c90d151 | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    .venv/bin/triage train --data data/tickets.csv --out /tmp/use-models --quiet
    .venv/bin/python -m benchmarks.serving_trees --model use-multilingual=/tmp/use-models \\
        --tree before=/tmp/before --tree after=. --http
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.processes import cpu_seconds, descendants, rss_mb, uvicorn_workers
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import OFFLINE, running_server, wait_until
from benchmarks.speed import _all_workers, _answers, load, tickets

OUTPUT = RESULTS / "serving_trees.json"
MARKER = "TREE_RESULT "
LAYOUTS = ((1, 2), (2, 1), (2, 2))

# Run in the tree's interpreter: imports nothing from benchmarks/ (the tree may be older).
CHILD = r"""
import json, resource, statistics, sys, time
started, words, repeats = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
from triage.settings import get_settings
from triage.service import Ticket, TriageService
service = TriageService.from_settings(get_settings())
bodies = json.loads(sys.stdin.read())
service.classify(Ticket(**bodies[0]))
usage = resource.getrusage(resource.RUSAGE_SELF)
cold_wall, cold_cpu = time.time() - started, usage.ru_utime + usage.ru_stime
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
mb = lambda key: round(int(status[key].split()[0]) / 1024, 1)
tickets = [Ticket(**b) for b in bodies]
texts = service.texts(tickets)
embedder = service.model.embedder
from threadpoolctl import threadpool_limits
with threadpool_limits(limits=1):
    embedder.encode(texts[:20])
    cpu = time.process_time()
    for text in texts[:repeats]:
        embedder.encode([text])
    floor = (time.process_time() - cpu) / min(repeats, len(texts))
for t in tickets[:20]:
    service.classify(t)
walls = []
cpu = time.process_time()
for t in (tickets * (1 + repeats // len(tickets)))[:repeats]:
    begin = time.perf_counter()
    service.classify(t)
    walls.append(time.perf_counter() - begin)
one_cpu = (time.process_time() - cpu) / repeats
walls.sort()
batch = (tickets * 3)[: max(640, len(tickets))]
service.classify_many(batch[:64])
cpu, begin = time.process_time(), time.perf_counter()
for start in range(0, len(batch), 64):
    service.classify_many(batch[start : start + 64])
batch_cpu, batch_wall = time.process_time() - cpu, time.perf_counter() - begin
print("TREE_RESULT " + json.dumps({
    "cold_start_s": round(cold_wall, 3), "cold_start_cpu_s": round(cold_cpu, 3),
    "rss_mb": mb("VmRSS"), "rss_anon_mb": mb("RssAnon"),
    "floor_cpu_ms": round(1000 * floor, 3),
    "one_cpu_ms": round(1000 * one_cpu, 3),
    "one_p50_ms": round(1000 * walls[len(walls) // 2], 2),
    "one_p99_ms": round(1000 * walls[int(0.99 * (len(walls) - 1))], 2),
    "batch64_per_cpu_s": round(len(batch) / batch_cpu, 1),
    "batch64_per_s": round(len(batch) / batch_wall, 1),
    "embedder": embedder.identity.get("kind"),
}), flush=True)
"""


def _env(tree: Path, models: Path, data: Path, threads: int, workers: int = 1) -> dict[str, str]:
    return {
        **os.environ,
        **OFFLINE,
        "PYTHONPATH": str(tree),
        "TRIAGE_MODELS_DIR": str(models),
        "TRIAGE_DATA_DIR": str(data),
        "TRIAGE_THREADS": str(threads),
        "WEB_CONCURRENCY": str(workers),
        "TRIAGE_JOBS_WORKER": "false",
        "TRIAGE_API_KEYS": "[]",
        "TRIAGE_LOG_LEVEL": "warning",
    }


def in_process(
    tree: Path, models: Path, data: Path, threads: int, bodies: list[dict[str, str]], repeats: int
) -> dict[str, Any]:
    started = time.time()
    args = [CHILD, repr(started), "30", str(repeats)]
    result = run_child(tree, args, _env(tree, models, data, threads), bodies, MARKER)
    result["threads"] = threads
    return result


def run_child(
    tree: Path, args: list[str], env: dict[str, str], bodies: list[dict[str, str]], marker: str
) -> dict[str, Any]:
    """``python -c *args`` in ``tree`` with the tickets on its standard input: the JSON of
    its last line starting with ``marker``; exits with the child's errors if it failed."""
    done = subprocess.run(
        [sys.executable, "-c", *args],
        cwd=tree,
        env=env,
        input=json.dumps(bodies),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(marker)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the child in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(marker))
    return result


def _server_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in [pid, *descendants(pid)])


def _batch_load(url: str, bodies: list[dict[str, str]], clients: int, seconds: float) -> dict:
    import threading

    import httpx

    done = [0, 0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            i = offset
            while time.monotonic() < deadline:
                chunk = [bodies[(i + k) % len(bodies)] for k in range(100)]
                ok = http.post("/v1/classify/batch", json={"tickets": chunk}).status_code == 200
                with lock:
                    done[0] += 100 if ok else 0
                    done[1] += not ok
                i += 100

    threads = [threading.Thread(target=client, args=(17 * n,)) for n in range(clients)]
    begin = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begin
    return {"classifications": done[0], "errors": done[1], "per_s": round(done[0] / elapsed, 1)}


def http(
    tree: Path,
    models: Path,
    data: Path,
    workers: int,
    threads: int,
    bodies: list[dict[str, str]],
    seconds: float,
    scratch: Path,
) -> dict[str, Any]:
    env = _env(tree, models, data, threads, workers)
    with running_server(
        models,
        log=scratch / f"{tree.name}-{workers}x{threads}.log",
        workers=workers,
        threads=threads,
        env={k: env[k] for k in ("PYTHONPATH", "TRIAGE_DATA_DIR", "WEB_CONCURRENCY")}
        | {"TRIAGE_JOBS_WORKER": "false", "TRIAGE_API_KEYS": "[]"},
        log_level="warning",
        ready=_answers,
        poll=0.05,
        cwd=tree,
    ) as server:
        pid = server.process.pid
        cold_wall, cold_cpu = server.ready_seconds, _server_cpu(pid)
        wait_until(server, _all_workers(workers), interval=0.2)
        load(server.url, bodies, 1, 2, scratch)  # warm-up
        figures: dict[str, Any] = {}
        for name, clients in (("one_client", 1), ("loaded", 4 * workers)):
            cpu = _server_cpu(pid)
            run = load(server.url, bodies, clients, seconds, scratch)
            run["server_cpu_ms_per_request"] = round(
                1000 * (_server_cpu(pid) - cpu) / max(1, run["requests"]), 2
            )
            figures[name] = run
        cpu = _server_cpu(pid)
        batch = _batch_load(server.url, bodies, workers, seconds)
        batch["server_cpu_ms_per_classification"] = round(
            1000 * (_server_cpu(pid) - cpu) / max(1, batch["classifications"]), 3
        )
        rss = [round(rss_mb(p) or 0.0, 1) for p in (uvicorn_workers(pid) or [pid])]
    return {
        "workers": workers,
        "threads": threads,
        "cold_start_s": round(cold_wall or 0.0, 3),
        "cold_start_server_cpu_s": round(cold_cpu, 3),
        "rss_per_worker_mb": rss,
        **figures,
        "batch100": batch,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for body, rows in results["bodies"].items():
        lines += [
            f"### {body}: in process (threads 1 / 2), ratio to the floor of the same run",
            "",
            "| tree | floor CPU ms/ticket | classify one: CPU ms (×floor) t1 / t2 "
            "| p50 / p99 ms t1 | batch 64: tickets per CPU-s t1 / t2, per s t2 "
            "| RSS (anon) MB | cold start s (CPU s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for tree, runs in rows["in_process"].items():
            one, two = runs["1"], runs["2"]
            floor = one["floor_cpu_ms"]
            lines.append(
                f"| {tree} | {floor:.2f} "
                f"| {one['one_cpu_ms']:.2f} (×{one['one_cpu_ms'] / floor:.2f})"
                f" / {two['one_cpu_ms']:.2f} (×{two['one_cpu_ms'] / floor:.2f}) "
                f"| {one['one_p50_ms']:.1f} / {one['one_p99_ms']:.1f} "
                f"| {one['batch64_per_cpu_s']:.0f} / {two['batch64_per_cpu_s']:.0f}, "
                f"{two['batch64_per_s']:.0f} "
                f"| {two['rss_mb']:.0f} ({two['rss_anon_mb']:.0f}) "
                f"| {one['cold_start_s']:.2f} ({one['cold_start_cpu_s']:.2f}) |"
            )
        if rows.get("http"):
            lines += [
                "",
                f"### {body}: HTTP `POST /v1/classify`",
                "",
                "| tree | workers × threads | 1 client p50 / p99 ms, server CPU ms/req "
                "| 4 clients/worker: req/s, p99 ms, CPU ms/req | batch 100: classifications/s "
                "| RSS per worker MB | cold start s (server CPU s) |",
                "|---|---|---|---|---|---|---|",
            ]
            for tree, layouts in rows["http"].items():
                for h in layouts:
                    one, many = h["one_client"], h["loaded"]
                    lines.append(
                        f"| {tree} | {h['workers']} × {h['threads']} "
                        f"| {one['p50_ms']:.1f} / {one['p99_ms']:.1f}, "
                        f"{one['server_cpu_ms_per_request']:.1f} "
                        f"| {many['requests_per_s']:.0f}, {many['p99_ms']:.1f}, "
                        f"{many['server_cpu_ms_per_request']:.1f} "
                        f"| {h['batch100']['per_s']:.0f} "
                        f"| {' + '.join(f'{m:.0f}' for m in h['rss_per_worker_mb'])} "
                        f"| {h['cold_start_s']:.2f} ({h['cold_start_server_cpu_s']:.2f}) |"
                    )
        lines.append("")
    lines.append(
        f"load average at start {results['loadavg_start']}, at end {results['loadavg_end']}"
    )
    return "\n".join(lines)


def _pair(text: str) -> tuple[str, Path]:
    name, _, path = text.partition("=")
    if not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_pair, action="append", required=True)
    parser.add_argument("--model", type=_pair, action="append", required=True)
    parser.add_argument("--words", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="in-process rounds (turns)")
    parser.add_argument("--http", action="store_true", help="also over HTTP, every layout")
    parser.add_argument("--http-trees", default=None, help="comma list (default: all)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per HTTP run")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    bodies = tickets(args.words)
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("serving_trees"),
        "machine": describe(("fastapi", "uvicorn", "numpy")),
        "trees": {name: str(path) for name, path in args.tree},
        "loadavg_start": loadavg(),
        "bodies": {},
    }
    http_trees = set(args.http_trees.split(",")) if args.http_trees else None
    with tempfile.TemporaryDirectory(prefix="triage-trees-") as tmp:
        scratch = Path(tmp)
        for body, models in args.model:
            rows: dict[str, Any] = {"models": str(models), "in_process": {}, "http": {}}
            results["bodies"][body] = rows
            data = {name: scratch / f"{body}-{name}" for name, _ in args.tree}
            for name, tree in args.tree:  # first start: writes each tree's caches
                in_process(tree, models, data[name], 1, bodies[:30], 10)
            samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for _ in range(args.rounds):
                for threads in (1, 2):
                    for name, tree in args.tree:
                        print(f"{body}: {name}, {threads} thread(s)", flush=True)
                        run = in_process(tree, models, data[name], threads, bodies, args.repeats)
                        samples.setdefault(name, {}).setdefault(str(threads), []).append(run)
            for name, by_threads in samples.items():  # the median round of each figure
                rows["in_process"][name] = {
                    t: {
                        k: sorted(r[k] for r in runs)[len(runs) // 2]
                        if k != "embedder"
                        else runs[0][k]
                        for k in runs[0]
                    }
                    for t, runs in by_threads.items()
                }
            write_json(args.output, results)
            if args.http:
                for workers, threads in LAYOUTS:
                    for name, tree in args.tree:
                        if http_trees is not None and name not in http_trees:
                            continue
                        print(f"{body}: http {name} {workers} x {threads}", flush=True)
                        rows["http"].setdefault(name, []).append(
                            http(
                                tree,
                                models,
                                data[name],
                                workers,
                                threads,
                                bodies[:200],
                                args.duration,
                                scratch,
                            )
                        )
                        write_json(args.output, results)
    results["loadavg_end"] = loadavg()
    results["table"] = markdown(results)
    write_json(args.output, results)
    print(results["table"])
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
