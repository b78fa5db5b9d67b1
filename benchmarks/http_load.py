"""HTTP load of the service: single-ticket latency and throughput, batch throughput.

Starts the real service (uvicorn, ``--workers N``, the MiniLM embedder) on a loopback port,
drives ``POST /v1/classify`` with wrk at a few connection counts (a mix of ticket texts from
``data/tickets.csv``, never one cached text), then times ``POST /v1/classify/batch`` with 100
and 1,000 tickets with httpx, and writes ``benchmarks/results/http.json`` plus a Markdown
table. Every non-2xx response and every socket error is counted and printed, never dropped.

    .venv/bin/python -m benchmarks.http_load                  # trains a model into a temp dir
    .venv/bin/python -m benchmarks.http_load --models-dir models --workers 2

Needs ``wrk`` (``apt-get install wrk``). wrk is a closed loop: each connection sends its next
request when the previous answer arrives, so the latencies are those of N clients in a row,
not of an open arrival rate. The load generator runs on the same cores as the service.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from benchmarks.harness import RESULTS, SAMPLE_TICKETS, wrk
from benchmarks.harness.cli import positive_ints
from benchmarks.harness.machine import describe, loadavg, usable_cores
from benchmarks.harness.models import ensure_model
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import Server, running_server

OUTPUT = RESULTS / "http.json"
LIBRARIES = ("torch", "sentence-transformers", "fastapi", "uvicorn", "httpx", "scikit-learn")

# wrk script: one pre-formatted request per ticket, each connection thread walks the list
# from its own offset; counts every status code and keeps the first non-2xx body; done()
# prints one JSON line with the latency percentiles (microseconds) and the counts.
LUA_TEMPLATE = r"""
local bodies = {
%(bodies)s
}
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(key)s"}
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  prepared = {}
  for i, body in ipairs(bodies) do
    prepared[i] = wrk.format("POST", "/v1/classify", headers, body)
  end
  position = (id * 37) %% #prepared
  statuses = {}
  sample = ""
end

function request()
  position = position %% #prepared + 1
  return prepared[position]
end

function response(status, hdrs, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if (status < 200 or status > 299) and sample == "" then
    sample = string.sub(body or "", 1, 300)
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '[%%c"\\]', function(c)
    return string.format("\\u%%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local counts = {}
  local samples = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
    end
    local s = thread:get("sample")
    if s and s ~= "" then table.insert(samples, quote(s)) end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%%s": %%d', code, n)) end
  local e = summary.errors
  io.write("%(marker)s")
  io.write(string.format(
    '{"duration_us": %%d, "requests": %%d, "bytes": %%d, '
    .. '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, '
    .. '"latency_us": {"min": %%d, "mean": %%.1f, "stdev": %%.1f, "max": %%d, '
    .. '"p50": %%d, "p90": %%d, "p99": %%d, "p99.9": %%d}, ',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
  io.write('"statuses": {' .. table.concat(parts, ", ") .. '}, ')
  io.write('"non_2xx_samples": [' .. table.concat(samples, ", ") .. ']}\n')
end
"""


def load_tickets(data: Path) -> list[dict[str, str]]:
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    columns = [frame[name].astype(str).tolist() for name in ("id", "subject", "body")]
    return [
        {"id": i, "subject": subject, "body": body}
        for i, subject, body in zip(*columns, strict=True)
    ]


def _lua_string(text: str) -> str:
    # json.dumps(ensure_ascii=True) leaves no control or non-ASCII characters to escape.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lua(path: Path, tickets: Sequence[dict[str, str]], key: str) -> None:
    bodies = ",\n".join(
        "  " + _lua_string(json.dumps({"subject": t["subject"], "body": t["body"]}))
        for t in tickets
    )
    path.write_text(LUA_TEMPLATE % {"bodies": bodies, "key": key, "marker": wrk.MARKER})


def run_wrk(
    wrk_path: str, server: Server, lua: Path, *, connections: int, duration: int
) -> dict[str, Any]:
    load_before = loadavg()
    raw, out = wrk.run(
        wrk_path,
        lua,
        f"{server.url}/v1/classify",
        connections=connections,
        seconds=duration,
        timeout="30s",
    )
    seconds = raw["duration_us"] / 1e6
    ok = sum(n for code, n in raw["statuses"].items() if code.startswith("2"))
    text_rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {
        "connections": connections,
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 2),
        "ok_per_s": round(ok / seconds, 2),
        "wrk_requests_per_s": float(text_rps.group(1)) if text_rps else None,
        "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
        "statuses": raw["statuses"],
        "non_2xx": raw["requests"] - ok,
        "non_2xx_samples": raw["non_2xx_samples"],
        "socket_errors": raw["errors"],
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "wrk_output": [x for x in out.splitlines() if not x.startswith(wrk.MARKER)],
    }


def _batch_call(
    client: httpx.Client, payload: dict[str, Any], size: int
) -> tuple[float, int, str | None]:
    started = time.perf_counter()
    response = client.post("/v1/classify/batch", json=payload)
    seconds = time.perf_counter() - started
    problem = None
    if response.status_code // 100 != 2:
        problem = response.text[:300]
    elif len(response.json()["results"]) != size:
        problem = f"{len(response.json()['results'])} results for {size} tickets"
    return seconds, response.status_code, problem


def run_batch(
    server: Server,
    tickets: Sequence[dict[str, str]],
    *,
    size: int,
    repeats: int,
    concurrency: int,
    seed: int,
    warm: bool = True,
) -> dict[str, Any]:
    """``concurrency`` clients, each sending ``repeats`` batches of ``size`` tickets in a row."""
    rng = np.random.default_rng(seed + size)
    # With replacement: 1,000 tickets is more than the sample data holds.
    payloads = [
        {"tickets": [tickets[i] for i in rng.choice(len(tickets), size=size)]}
        for _ in range(concurrency * repeats)
    ]
    headers = server.headers
    calls: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            for payload in payloads[index * repeats : (index + 1) * repeats]:
                result = _batch_call(client, payload, size)
                with lock:
                    calls.append(result)

    warmup = None
    if warm:  # one call of this size first, not counted
        with httpx.Client(base_url=server.url, headers=headers, timeout=600) as client:
            first = _batch_call(client, payloads[0], size)
        warmup = {"seconds": round(first[0], 3), "status": first[1], "problem": first[2]}
    load_before = loadavg()
    started = time.perf_counter()
    workers = [threading.Thread(target=client_loop, args=(i,)) for i in range(concurrency)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    seconds = sorted(c[0] for c in calls)
    statuses = Counter(str(c[1]) for c in calls)
    ok = sum(1 for c in calls if c[2] is None)
    return {
        "batch_size": size,
        "concurrency": concurrency,
        "calls": len(calls),
        "ok_calls": ok,
        "tickets_per_s": round(ok * size / wall, 1),
        "call_seconds": {
            "min": round(seconds[0], 3),
            "median": round(statistics.median(seconds), 3),
            "max": round(seconds[-1], 3),
        },
        "warmup_call": warmup,
        "statuses": dict(statuses),
        "non_2xx": sum(n for code, n in statuses.items() if not code.startswith("2")),
        "problems": [c[2] for c in calls if c[2] is not None][:3],
        "wall_s": round(wall, 2),
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }


def markdown(result: dict[str, Any]) -> str:
    setup = result["setup"]
    lines = [
        f"model {setup['model_version']} ({setup['embedder']}), {setup['workers']} uvicorn "
        f"worker(s) x {setup['threads_per_worker']} torch thread(s), "
        f"{result['machine']['cores']} cores, {result['date']}",
        "",
        "| `POST /v1/classify` | requests | req/s | p50 ms | p90 ms | p99 ms | max ms "
        "| non-2xx | socket errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["single"]:
        errors = sum(v for k, v in run["socket_errors"].items() if k != "status")
        lat = run["latency_ms"]
        lines.append(
            f"| {run['connections']} connection(s), {run['duration_s']:.0f} s "
            f"| {run['requests']} | {run['requests_per_s']:.1f} | {lat['p50']:.1f} "
            f"| {lat['p90']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} | {run['non_2xx']} "
            f"| {errors} |"
        )
    lines += [
        "",
        "| `POST /v1/classify/batch` | clients | calls | tickets/s | call time median (min–max) "
        "| non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for run in result["batch"]:
        secs = run["call_seconds"]
        lines.append(
            f"| {run['batch_size']} tickets | {run['concurrency']} | {run['calls']} "
            f"| {run['tickets_per_s']:.0f} | {secs['median']:.2f} s "
            f"({secs['min']:.2f}–{secs['max']:.2f}) | {run['non_2xx']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per worker (default: cores // workers, at least 1)",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=None, help="serve this (default: train into a temp dir)"
    )
    parser.add_argument("--data", type=Path, default=SAMPLE_TICKETS)
    parser.add_argument("--connections", type=positive_ints, default=[1, 4, 16])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run (20)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of wrk warm-up (5)")
    parser.add_argument("--mix", type=int, default=200, help="distinct tickets for wrk (200)")
    parser.add_argument("--batch-sizes", type=positive_ints, default=[100, 1000])
    parser.add_argument("--batch-repeats", type=int, default=3, help="calls per client (3)")
    parser.add_argument(
        "--batch-clients",
        type=positive_ints,
        default=None,
        help="concurrent batch clients, e.g. 1,2 (default: 1 and the worker count)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--note", default=None, help="free text stored with the results")
    args = parser.parse_args()

    wrk_path = wrk.find()
    if wrk_path is None:
        sys.exit("error: wrk is not installed (apt-get install wrk)")
    threads = args.threads or max(1, usable_cores() // args.workers)
    clients = args.batch_clients or sorted({1, args.workers})
    machine = describe(LIBRARIES, wrk=wrk.version(wrk_path))
    tickets = load_tickets(args.data)
    rng = np.random.default_rng(args.seed)
    mix = [tickets[i] for i in rng.permutation(len(tickets))[: args.mix]]

    with tempfile.TemporaryDirectory(prefix="triage-http-") as tmp:
        scratch = Path(tmp)
        models_dir = ensure_model(args.models_dir, args.data, scratch)
        print(
            f"serving {models_dir}: {args.workers} worker(s) x {threads} thread(s) ...",
            flush=True,
        )
        with running_server(
            models_dir,
            log=scratch / "server.log",
            workers=args.workers,
            threads=threads,
            scopes=("classify",),
        ) as server:
            headers = server.headers
            probe = httpx.post(
                f"{server.url}/v1/classify", json=mix[0], headers=headers, timeout=60
            )
            if probe.status_code != 200:
                sys.exit(f"error: a probe classification failed: {probe.status_code} {probe.text}")
            model = httpx.get(f"{server.url}/v1/model", headers=headers, timeout=30).json()
            lua = scratch / "classify.lua"
            write_lua(lua, mix, str(server.key))
            if args.warmup:
                print(f"warm-up {args.warmup} s ...", flush=True)
                run_wrk(
                    wrk_path, server, lua, connections=max(args.connections), duration=args.warmup
                )
            single = []
            for connections in args.connections:
                print(f"wrk: {connections} connection(s), {args.duration} s ...", flush=True)
                single.append(
                    run_wrk(wrk_path, server, lua, connections=connections, duration=args.duration)
                )
            batch = []
            for size in args.batch_sizes:
                for n, concurrency in enumerate(clients):
                    print(f"batch: {size} tickets, {concurrency} client(s) ...", flush=True)
                    batch.append(
                        run_batch(
                            server,
                            tickets,
                            size=size,
                            repeats=args.batch_repeats,
                            concurrency=concurrency,
                            seed=args.seed,
                            warm=n == 0,
                        )
                    )
            server_log_tail = server.log_tail()

    machine["loadavg_at_end"] = loadavg()
    result = {
        "date": now(),
        "command": command("http_load"),
        "note": args.note,
        "machine": machine,
        "setup": {
            "server": "uvicorn --factory triage.api.app:create_app (no access log)",
            "workers": args.workers,
            "threads_per_worker": threads,
            "model_version": model.get("version"),
            "embedder": (model.get("embedder") or {}).get("name"),
            "trained_here": args.models_dir is None,
            "api_key": True,
            "load_generator": "wrk -t1 --latency, closed loop, same host (loopback)",
            "ticket_mix": f"{len(mix)} distinct tickets from {args.data.name}, POST /v1/classify",
            "batch_tickets": f"drawn with replacement from {len(tickets)} tickets",
        },
        "single": single,
        "batch": batch,
        "server_log_tail": server_log_tail,
    }
    write_json(args.output, result)
    print()
    print(markdown(result))
    failures = sum(r["non_2xx"] for r in single) + sum(r["non_2xx"] for r in batch)
    errors = sum(v for r in single for k, v in r["socket_errors"].items() if k != "status")
    if failures or errors:
        print(f"\nWARNING: {failures} non-2xx response(s) and {errors} socket error(s); see")
        print(f"{args.output} (statuses, non_2xx_samples, socket_errors)")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
