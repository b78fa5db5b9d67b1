"""Batches of tickets, source trees side by side: where the CPU of ``POST /v1/classify/batch``
goes per ticket, how many tickets a second it answers, and whether the trees answer alike.

For each ``--tree NAME=PATH`` (``PYTHONPATH=PATH``; ``git archive COMMIT`` gives an old tree)
the trees take turns, round after round, each measurement in a fresh interpreter (as in
``benchmarks.classify_profile``, whose child set-up this shares), so they share the machine's
load. The child builds the app as a worker does (``create_app``, its lifespan run) with
``TRIAGE_THREADS`` as given, and for each ``--batch`` size cuts the sample tickets (cut to
``--words`` words) into batches, after a warm-up batch:

* **stages** (process CPU µs per ticket, all batches: the body's own threads and any
  BLAS threads' spinning count): the body's embedding
  (``service.embed``), the heads (the linear heads' probabilities), the heads with their
  refinement (neighbour vote, calibration), the model's whole answer with the embedding given
  (``model.predict``: heads, refinement, auto gate), the language (``detect_many``), the
  service's answer with the embedding given (``classify_many(..., embeddings=...)``: also
  decisions and routes) and the service's whole answer (``classify_many``);
* **app**: ``POST /v1/classify/batch`` through the ASGI app in the child's own event loop
  (every middleware, FastAPI, validation, the threadpool, the response's JSON; no socket):
  process CPU µs per ticket and tickets per CPU second and per wall second;
* **answers**: a SHA-256 over the app's response bytes of every batch, and over
  ``classification_dict`` of the service's answers (``classify_many`` in batches), so two
  trees can be checked to give the same answers, byte for byte;
* ``--profile``: cProfile of the service's answer with the embedding given, and of the app
  with its threadpool run inline, top functions (first round).

Results: ``benchmarks/results/batch_profile.json`` (``--output``) and a Markdown table.

    git archive 76d36f5 | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    .venv/bin/python -m benchmarks.batch_profile --tree before=/tmp/before --tree after=. \
        --models-dir models --rounds 3
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
from benchmarks.serving_trees import _env, _pair, run_child
from benchmarks.speed import tickets

OUTPUT = RESULTS / "batch_profile.json"
MARKER = "BATCH_PROFILE_RESULT "

# Run in the tree's interpreter: imports nothing from benchmarks/ (the tree may be older).
CHILD = r"""
import asyncio, cProfile, hashlib, io, json, pstats, sys, time
sizes, profile = [int(s) for s in sys.argv[1].split(",")], sys.argv[2] == "1"
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

async def post(batch):
    raw, sent, out = json.dumps({"tickets": batch}).encode(), [False], []
    async def receive():
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.sleep(3600)
    async def send(message):
        out.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/classify/batch",
             "raw_path": b"/v1/classify/batch", "query_string": b"", "root_path": "",
             "headers": HEADERS + [(b"content-length", str(len(raw)).encode())],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {}}
    await app(scope, receive, send)
    assert out[0]["status"] == 200, out[:2]
    return b"".join(m.get("body", b"") for m in out[1:])

def top(profiler, lines=30):
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    return [l.rstrip() for l in text.getvalue().splitlines() if l.strip()][-lines - 1:]

def per_ticket_us(calls, n, clock=time.process_time):
    begin = clock()
    for call in calls:
        call()
    return round(1e6 * (clock() - begin) / n, 1)

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
    n = len(tickets)
    result = {"tickets": n, "batches": {}}
    for size in sizes:
        cuts = [slice(s, s + size) for s in range(0, n, size)]
        groups = [tickets[c] for c in cuts]
        texts = [service.texts(g) for g in groups]
        vectors = [service.embed(t) for t in texts]
        service.classify_many(groups[0])
        await post(bodies[cuts[0]])
        probabilities = [model.proba_from_embeddings(t, v) for t, v in zip(texts, vectors)]
        pairs = list(zip(texts, vectors))
        stages = {
            "model text": per_ticket_us([lambda g=g: service.texts(g) for g in groups], n),
            "embedding": per_ticket_us([lambda t=t: service.embed(t) for t in texts], n),
            "heads": per_ticket_us(
                [lambda t=t, v=v: model.linear.predict_proba(t, v) for t, v in pairs], n),
            "heads + refinement": per_ticket_us(
                [lambda t=t, v=v: model.proba_from_embeddings(t, v) for t, v in pairs], n),
            "model answer (+ auto gate), embedding given": per_ticket_us(
                [lambda t=t, v=v: model.predict(t, embeddings=v) for t, v in pairs], n),
            "language": per_ticket_us(
                [lambda t=t: service.language_detector.detect_many(t) for t in texts], n),
            "service answer, embedding given": per_ticket_us(
                [lambda g=g, v=v: service.classify_many(g, embeddings=v)
                 for g, v in zip(groups, vectors)], n),
            "service answer": per_ticket_us(
                [lambda g=g: service.classify_many(g) for g in groups], n),
        }
        cpu, wall = time.process_time(), time.perf_counter()
        for c in cuts:
            await post(bodies[c])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        app_figures = {"cpu_us_per_ticket": round(1e6 * cpu / n, 1),
                       "tickets_per_cpu_s": round(n / cpu, 1),
                       "tickets_per_s": round(n / wall, 1)}
        digest = hashlib.sha256()
        for c in cuts:
            digest.update(await post(bodies[c]))
        answers = [classification_dict(r) for g in groups for r in service.classify_many(g)]
        entry = {"stages_cpu_us_per_ticket": stages, "app": app_figures,
                 "answers_http_sha256": digest.hexdigest(),
                 "answers_sha256": hashlib.sha256(json.dumps(answers).encode()).hexdigest()}
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for g, v in zip(groups, vectors):
                service.classify_many(g, embeddings=v)
            profiler.disable()
            entry["profile_service_embedding_given"] = top(profiler)
            INLINE[0] = True
            profiler = cProfile.Profile()
            profiler.enable()
            for c in cuts:
                await post(bodies[c])
            profiler.disable()
            INLINE[0] = False
            entry["profile_app_inline"] = top(profiler, 40)
        result["batches"][str(size)] = entry
    await queue.put({"type": "lifespan.shutdown"})
    await sent.get()
    print("BATCH_PROFILE_RESULT " + json.dumps(result), flush=True)

asyncio.run(main())
"""


def child(
    tree: Path,
    models: Path,
    data: Path,
    threads: int,
    bodies: list[dict[str, str]],
    sizes: list[int],
    profile: bool,
) -> dict[str, Any]:
    env = _env(tree, models, data, threads) | {
        "OMP_NUM_THREADS": str(threads),
        "TRIAGE_MAX_BATCH": str(max(sizes)),
    }
    args = [CHILD, ",".join(map(str, sizes)), "1" if profile else "0"]
    return run_child(tree, args, env, bodies, MARKER)


def _median(runs: list[dict[str, Any]]) -> Any:
    """The median of every number over the rounds, leaf by leaf (strings: the first)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: _median([r[k] for r in runs]) for k in first if not k.startswith("profile")}
    if isinstance(first, int | float) and not isinstance(first, bool):
        return round(statistics.median(runs), 1)
    return first


def markdown(results: dict[str, Any]) -> str:
    lines = []
    names = list(results["trees"])
    for threads, sizes in next(iter(results["trees"].values()))["median"].items():
        for size, entry in sizes["batches"].items():
            lines += [
                f"\n**{threads} thread(s), batches of {size}** (CPU µs per ticket, median "
                f"of {len(results['trees'][names[0]]['rounds'][threads])} rounds)\n",
                "| stage | " + " | ".join(names) + " |",
                "|---|" + "---:|" * len(names),
            ]
            for stage in entry["stages_cpu_us_per_ticket"]:
                cells = [
                    results["trees"][n]["median"][threads]["batches"][size][
                        "stages_cpu_us_per_ticket"
                    ][stage]
                    for n in names
                ]
                lines.append(f"| {stage} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")
            for key in ("cpu_us_per_ticket", "tickets_per_cpu_s", "tickets_per_s"):
                cells = [
                    results["trees"][n]["median"][threads]["batches"][size]["app"][key]
                    for n in names
                ]
                lines.append(f"| app: {key} | " + " | ".join(f"{c:.0f}" for c in cells) + " |")
    lines.append(f"\nanswers identical: {results['answers_identical']}")
    return "\n".join(lines)


def answers_identical(results: dict[str, Any]) -> bool:
    """Every tree and round gives the same bytes for each thread count and batch size (the
    body's vectors may differ in their last bits between thread counts: a batch is cut into
    one part per thread)."""
    digests = {
        (threads, size, key, entry[key])
        for tree in results["trees"].values()
        for threads, runs in tree["rounds"].items()
        for run in runs
        for size, entry in run["batches"].items()
        for key in ("answers_sha256", "answers_http_sha256")
    }
    return len(digests) == len({d[:3] for d in digests})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=_pair, action="append", required=True)
    parser.add_argument("--models-dir", type=Path, help="serve its model (default: train one)")
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--batch", default="64,100", help="batch sizes, comma list")
    parser.add_argument("--rounds", type=int, default=3, help="turns of every tree")
    parser.add_argument("--threads", default="1,2", help="TRIAGE_THREADS values, comma list")
    parser.add_argument("--profile", action="store_true", help="cProfile tops (first round)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    bodies = tickets(args.words)
    sizes = [int(s) for s in args.batch.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("batch_profile"),
        "machine": describe(("fastapi", "starlette", "pydantic", "numpy")),
        "words": args.words,
        "batch_sizes": sizes,
        "loadavg_start": loadavg(),
        "trees": {name: {"path": str(path), "rounds": {}} for name, path in args.tree},
    }
    with tempfile.TemporaryDirectory(prefix="triage-batch-profile-") as tmp:
        scratch = Path(tmp)
        models = ensure_model(args.models_dir, SAMPLE_TICKETS, scratch, embedder=None)
        data = {name: scratch / f"data-{name}" for name, _ in args.tree}
        for name, tree in args.tree:  # a first start writes each tree's caches
            child(tree, models, data[name], 1, bodies[:10], [10], False)
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
                        sizes,
                        args.profile and round_ == 0,
                    )
                    run["seconds"] = round(time.monotonic() - started, 1)
                    run["loadavg"] = loadavg()
                    rounds = results["trees"][name]["rounds"]
                    rounds.setdefault(str(threads), []).append(run)
                    write_json(args.output, results)
    results["answers_identical"] = answers_identical(results)
    for tree in results["trees"].values():
        tree["median"] = {threads: _median(runs) for threads, runs in tree["rounds"].items()}
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
