"""One ``POST /v1/classify`` call of source trees side by side: where its CPU goes, in
process and through the app's HTTP stack, and whether the trees answer alike.

For each ``--tree NAME=PATH`` (``PYTHONPATH=PATH``; ``git archive COMMIT`` gives an old tree)
the trees take turns, round after round, each measurement in a fresh interpreter, so they
share the machine's load. The child builds the app as a worker does (``create_app`` with the
settings of the environment, its lifespan run), ``TRIAGE_THREADS`` 1 and then 2, and measures
the sample tickets cut to ``--words`` words, one call at a time, after a warm-up:

* **stages** (CPU ms of the calling thread, median over the tickets): the model text, the
  embedding, the heads with their refinement and the auto gate (``model.predict`` with the
  embedding given), the language, and the service's whole answer with the embedding given
  (``classify_many(..., embeddings=...)``: heads, decisions, language, route);
* **in process**: ``service.classify`` (process CPU ms per call, all threads; wall p50/p99);
* **app**: ``POST /v1/classify`` driven through the ASGI app in the child's own event loop
  (every middleware, FastAPI, the threadpool; no socket): process CPU ms per call, wall
  p50/p99. The app minus in process is the HTTP stack's own cost, the server's parser aside;
* **answers**: a SHA-256 over every sample ticket's response body (the app's bytes) and over
  ``classification_dict`` of the service's answers, so that two trees can be checked to give
  the same answers, byte for byte;
* **answers compared**: each tree's answers to the sample (``classify_many``, whole) against
  the first tree's, leaf by leaf: how many labels, decisions or other non-float values differ,
  and the largest difference of a float (a confidence, a probability);
* **the app's floor**: the same app with the service's answer stubbed (one fixed answer), and
  a bare FastAPI route taking the same ``TicketIn`` body, each through the threadpool and
  with it inline: process CPU ms per request, what the HTTP stack costs without the answer;
* ``--profile``: cProfile of the service's answer with the embedding given, and of the app
  with its threadpool run inline (so one profiler sees the whole request), top functions.

``--http`` also serves each tree with uvicorn (1 worker x 1 and 1 x 2 threads, as
``benchmarks.speed`` starts it) for one client: p50/p99 and the server's CPU per request.
The model: ``--models-dir``, else one trained on ``data/tickets.csv`` with the default body.
Results: ``benchmarks/results/classify_profile.json`` and a Markdown table on standard output.

    git archive 2a6928a | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    .venv/bin/python -m benchmarks.classify_profile --tree before=/tmp/before --tree after=. \\
        --rounds 3 --http
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.models import ensure_model
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import OFFLINE
from benchmarks.serving_trees import _env, _pair, _server_cpu, run_child
from benchmarks.speed import _answers, load, tickets

OUTPUT = RESULTS / "classify_profile.json"
MARKER = "PROFILE_RESULT "

# Run in the tree's interpreter: imports nothing from benchmarks/ (the tree may be older).
CHILD = r"""
import asyncio, cProfile, hashlib, io, json, pstats, statistics, sys, time
repeats, profile = int(sys.argv[1]), sys.argv[2] == "1"
import anyio.to_thread
_run_sync, INLINE = anyio.to_thread.run_sync, [False]
async def _maybe_inline(func, *args, **kwargs):  # --profile: one thread, one profiler
    return func(*args) if INLINE[0] else await _run_sync(func, *args, **kwargs)
anyio.to_thread.run_sync = _maybe_inline
from triage.api.app import create_app
from triage.service import Ticket, classification_dict
bodies = json.loads(sys.stdin.read())
app = create_app()
HEADERS = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")]

async def post(body, target=None, path="/v1/classify"):
    raw, sent, out = json.dumps(body).encode(), [False], []
    async def receive():
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.sleep(3600)
    async def send(message):
        out.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": HEADERS + [(b"content-length", str(len(raw)).encode())],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {}}
    await (target or app)(scope, receive, send)
    assert out[0]["status"] == 200, out
    return b"".join(m.get("body", b"") for m in out[1:])

def ms(seconds):
    return round(1000 * seconds, 3)

def clocked(calls, clock):
    spent = []
    for call in calls:
        begin = clock()
        call()
        spent.append(clock() - begin)
    return spent

def top(profiler, lines=25):
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    return [l.rstrip() for l in text.getvalue().splitlines() if l.strip()][-lines - 1:]

async def main():
    queue, sent = asyncio.Queue(), asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    async def lreceive():
        return await queue.get()
    async def lsend(message):
        await sent.put(message)
    lifespan = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"},
                                          "state": {}}, lreceive, lsend))
    started = await sent.get()
    assert started["type"] == "lifespan.startup.complete", started
    service = app.state.service
    model = service.model
    tickets = [Ticket(**b) for b in bodies]
    texts = service.texts(tickets)
    vectors = [service.embed([t]) for t in texts]
    for ticket in tickets[:20]:
        service.classify(ticket)
    for body in bodies[:20]:
        await post(body)
    n = len(tickets)
    t = time.thread_time
    stages = {
        "model text": clocked([lambda k=k: service.texts([tickets[k]]) for k in range(n)], t),
        "embedding": clocked([lambda k=k: service.embed([texts[k]]) for k in range(n)], t),
        "heads + refinement + auto gate": clocked(
            [lambda k=k: model.predict([texts[k]], embeddings=vectors[k]) for k in range(n)], t),
        "language": clocked(
            [lambda k=k: service.language_detector.detect_many([texts[k]]) for k in range(n)], t),
        "service answer, embedding given": clocked(
            [lambda k=k: service.classify_many([tickets[k]], embeddings=vectors[k])
             for k in range(n)], t),
    }
    result = {"stages_cpu_ms": {k: ms(statistics.median(v)) for k, v in stages.items()}}
    order = [tickets[k % n] for k in range(repeats)]
    cpu = time.process_time()
    walls = clocked([lambda x=x: service.classify(x) for x in order], time.perf_counter)
    result["in_process"] = {"cpu_ms": ms((time.process_time() - cpu) / repeats),
                            "p50_ms": ms(statistics.median(walls)),
                            "p99_ms": ms(sorted(walls)[int(0.99 * (repeats - 1))])}
    walls = []
    cpu = time.process_time()
    for k in range(repeats):
        begin = time.perf_counter()
        await post(bodies[k % n])
        walls.append(time.perf_counter() - begin)
    result["app"] = {"cpu_ms": ms((time.process_time() - cpu) / repeats),
                     "p50_ms": ms(statistics.median(walls)),
                     "p99_ms": ms(sorted(walls)[int(0.99 * (repeats - 1))])}
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(await post(body))
    result["answers_http_sha256"] = digest.hexdigest()
    answers = [classification_dict(c) for c in service.classify_many(tickets)]
    result["answers_sha256"] = hashlib.sha256(json.dumps(answers).encode()).hexdigest()
    result["answers"] = answers
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for k in range(n):
            service.classify_many([tickets[k]], embeddings=vectors[k])
        profiler.disable()
        result["profile_service"] = top(profiler)
        INLINE[0] = True
        profiler = cProfile.Profile()
        profiler.enable()
        for body in bodies:
            await post(body)
        profiler.disable()
        INLINE[0] = False
        result["profile_app_inline"] = top(profiler, 40)
    # The floor: the app with the service's answer stubbed (one fixed answer) and a bare
    # FastAPI route taking the same body, each through the threadpool and inline.
    from fastapi import FastAPI, Response
    from triage.api.schemas import TicketIn
    bare = FastAPI()
    @bare.post("/echo")
    def echo(ticket: TicketIn) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")
    answer = service.classify(tickets[0])
    service.classify = lambda ticket, explain=False: answer
    floor = {}
    for name, target, path in (("app, answer stubbed", app, "/v1/classify"),
                               ("bare FastAPI echo", bare, "/echo")):
        for inline in (False, True):
            INLINE[0] = inline
            for body in bodies[:20]:
                await post(body, target, path)
            cpu = time.process_time()
            for k in range(repeats):
                await post(bodies[k % n], target, path)
            key = name + (", no threadpool" if inline else "")
            floor[key] = ms((time.process_time() - cpu) / repeats)
    INLINE[0] = False
    del service.classify
    result["app_floor_cpu_ms"] = floor
    await queue.put({"type": "lifespan.shutdown"})
    await sent.get()
    print("PROFILE_RESULT " + json.dumps(result), flush=True)

asyncio.run(main())
"""


def child(
    tree: Path,
    models: Path,
    data: Path,
    threads: int,
    bodies: list[dict[str, str]],
    repeats: int,
    profile: bool,
) -> dict[str, Any]:
    env = _env(tree, models, data, threads) | {"OMP_NUM_THREADS": str(threads)}
    args = [CHILD, str(repeats), "1" if profile else "0"]
    return run_child(tree, args, env, bodies, MARKER)


def http_one_client(
    tree: Path,
    models: Path,
    data: Path,
    threads: int,
    bodies: list[dict[str, str]],
    seconds: float,
    scratch: Path,
) -> dict[str, Any]:
    """uvicorn, 1 worker with ``threads``; one client's p50/p99 and the server's CPU."""
    from benchmarks.harness.server import running_server

    env = _env(tree, models, data, threads, 1)
    with running_server(
        models,
        log=scratch / f"{tree.name}-http-{threads}.log",
        threads=threads,
        env={k: env[k] for k in ("PYTHONPATH", "TRIAGE_DATA_DIR", "WEB_CONCURRENCY")}
        | {"TRIAGE_JOBS_WORKER": "false", "TRIAGE_API_KEYS": "[]"},
        log_level="warning",
        ready=_answers,
        poll=0.05,
        cwd=tree,
    ) as server:
        pid = server.process.pid
        load(server.url, bodies, 1, 2, scratch)  # warm-up
        cpu = _server_cpu(pid)
        run = load(server.url, bodies, 1, seconds, scratch)
        run["server_cpu_ms_per_request"] = round(
            1000 * (_server_cpu(pid) - cpu) / max(1, run["requests"]), 3
        )
    return run


def _median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds (the same keys in every round)."""
    first = runs[0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = _median_round([r[key] for r in runs])
        elif isinstance(value, (int, float)):
            out[key] = round(statistics.median(r[key] for r in runs), 3)
        else:
            out[key] = value
    return out


def answers_identical(results: dict[str, Any]) -> bool:
    """Every tree and round gave the same answers at each thread count (the whole sample in
    one batch may round differently with 2 threads than with 1: the body splits it)."""
    by_threads: dict[str, set[tuple[str, str]]] = {}
    for tree in results["trees"].values():
        for threads, runs in tree["rounds"].items():
            for r in runs:
                digest = (r["answers_sha256"], r["answers_http_sha256"])
                by_threads.setdefault(threads, set()).add(digest)
    return all(len(digests) == 1 for digests in by_threads.values())


def compare_answers(first: Any, other: Any, path: str = "") -> dict[str, Any]:
    """Leaf by leaf: non-float leaves that differ (with their first paths) and the largest
    difference between two floats."""
    out: dict[str, Any] = {"non_float_differences": 0, "max_float_difference": 0.0, "paths": []}

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
            for key in a:
                walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{where}[{i}]")
        elif isinstance(a, float) and isinstance(b, float):
            out["max_float_difference"] = max(out["max_float_difference"], abs(a - b))
        elif a != b:
            out["non_float_differences"] += 1
            if len(out["paths"]) < 5:
                out["paths"].append(where)

    walk(first, other, path)
    return out


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| tree | threads | stages CPU ms: text / embedding / heads+gate / language / "
        "service answer (embedding given) | in process: CPU ms, p50 / p99 ms "
        "| app (ASGI): CPU ms, p50 / p99 ms | app − in process CPU ms |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_threads in results["trees"].items():
        for threads, r in by_threads["median"].items():
            s = r["stages_cpu_ms"]
            stages = " / ".join(
                f"{s[k]:.2f}"
                for k in (
                    "model text",
                    "embedding",
                    "heads + refinement + auto gate",
                    "language",
                    "service answer, embedding given",
                )
            )
            p, a = r["in_process"], r["app"]
            lines.append(
                f"| {name} | {threads} | {stages} "
                f"| {p['cpu_ms']:.2f}, {p['p50_ms']:.2f} / {p['p99_ms']:.2f} "
                f"| {a['cpu_ms']:.2f}, {a['p50_ms']:.2f} / {a['p99_ms']:.2f} "
                f"| {a['cpu_ms'] - p['cpu_ms']:.2f} |"
            )
    if any(t.get("http") for t in results["trees"].values()):
        lines += [
            "",
            "| tree | uvicorn 1 worker × threads | 1 client p50 / p99 ms | server CPU ms/request |",
            "|---|---|---|---|",
        ]
        for name, tree in results["trees"].items():
            for threads, runs in tree.get("http", {}).items():
                for run in runs:
                    lines.append(
                        f"| {name} | 1 × {threads} | {run['p50_ms']:.2f} / {run['p99_ms']:.2f} "
                        f"| {run['server_cpu_ms_per_request']:.2f} |"
                    )
    floors = [
        (name, threads, r["app_floor_cpu_ms"])
        for name, tree in results["trees"].items()
        for threads, r in tree["median"].items()
        if r.get("app_floor_cpu_ms")
    ]
    if floors:
        keys = list(floors[0][2])
        lines += [
            "",
            "| tree | threads | CPU ms per request: " + " / ".join(keys) + " |",
            "|---|---|---|",
        ]
        for name, threads, floor in floors:
            cells = " / ".join(f"{floor[k]:.3f}" for k in keys)
            lines.append(f"| {name} | {threads} | {cells} |")
    lines += ["", f"answers identical across trees: {results['answers_identical']}"]
    for name, diff in results.get("answers_compared", {}).items():
        lines.append(
            f"{name} against the first tree: {diff['non_float_differences']} labels, decisions "
            f"or other values differ; largest float difference {diff['max_float_difference']:.3g}"
        )
    lines.append(f"load average at start {results['loadavg_start']}, end {results['loadavg_end']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_pair, action="append", required=True)
    parser.add_argument("--models-dir", type=Path, help="serve its model (default: train one)")
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--repeats", type=int, default=300, help="calls timed per figure")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every tree")
    parser.add_argument("--threads", default="1,2", help="TRIAGE_THREADS values, comma list")
    parser.add_argument("--profile", action="store_true", help="cProfile tops (first round)")
    parser.add_argument("--http", action="store_true", help="also uvicorn, one client")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP run")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    bodies = tickets(args.words)
    thread_counts = [int(t) for t in args.threads.split(",")]
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("classify_profile"),
        "machine": describe(("fastapi", "starlette", "pydantic", "uvicorn", "numpy")),
        "words": args.words,
        "repeats": args.repeats,
        "loadavg_start": loadavg(),
        "trees": {name: {"path": str(path), "rounds": {}} for name, path in args.tree},
    }
    with tempfile.TemporaryDirectory(prefix="triage-profile-") as tmp:
        scratch = Path(tmp)
        models = ensure_model(args.models_dir, SAMPLE_TICKETS, scratch, embedder=None)
        data = {name: scratch / f"data-{name}" for name, _ in args.tree}
        answers: dict[str, Any] = {}
        for name, tree in args.tree:  # a first start writes each tree's caches
            child(tree, models, data[name], 1, bodies[:30], 30, False)
        for round_ in range(args.rounds):
            for threads in thread_counts:
                for name, tree in args.tree:
                    print(f"round {round_ + 1}: {name}, {threads} thread(s)", flush=True)
                    started = time.monotonic()
                    run = child(
                        tree,
                        models,
                        data[name],
                        threads,
                        bodies,
                        args.repeats,
                        args.profile and round_ == 0,
                    )
                    run["seconds"] = round(time.monotonic() - started, 1)
                    answers.setdefault(name, run.pop("answers"))
                    run["loadavg"] = loadavg()
                    rounds = results["trees"][name]["rounds"]
                    rounds.setdefault(str(threads), []).append(run)
                    write_json(args.output, results)
        if args.http:
            for threads in thread_counts:
                for name, tree in args.tree:
                    print(f"http: {name}, 1 worker x {threads} thread(s)", flush=True)
                    run = http_one_client(
                        tree, models, data[name], threads, bodies[:200], args.duration, scratch
                    )
                    run["loadavg"] = loadavg()
                    results["trees"][name].setdefault("http", {}).setdefault(
                        str(threads), []
                    ).append(run)
                    write_json(args.output, results)
    results["answers_identical"] = answers_identical(results)
    first = next(iter(answers.values()))
    results["answers_compared"] = {n: compare_answers(first, a) for n, a in answers.items()}
    for tree in results["trees"].values():
        tree["median"] = {
            threads: _median_round(
                [
                    {k: r[k] for k in ("stages_cpu_ms", "in_process", "app", "seconds")}
                    | {"app_floor_cpu_ms": r.get("app_floor_cpu_ms", {})}
                    for r in runs
                ]
            )
            for threads, runs in tree["rounds"].items()
        }
    results["loadavg_end"] = loadavg()
    results["table"] = markdown(results)
    write_json(args.output, results)
    print(results["table"])
    if not results["answers_identical"]:
        print("\nWARNING: the trees' answers differ (answers_sha256 / answers_http_sha256)")
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    os.environ.update(OFFLINE)
    main()
