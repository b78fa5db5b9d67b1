"""Mixed open-loop load on the real service: classify, similar and feedback at a fixed rate.

Starts the service as ``http_load`` does (uvicorn ``--workers N`` with the TCP_NODELAY
protocol of deploy/Dockerfile, an API key with the classify and feedback scopes, a model
trained into a temp dir unless ``--models-dir``; SQLite in a temp TRIAGE_DATA_DIR, or
``--database-url``), stores the resolved tickets of ``data/tickets.csv`` through
``POST /v1/tickets/resolved`` so ``/v1/similar`` has a corpus, then for each ``--rate``: a
warm-up, then ``--duration`` seconds of requests at that constant arrival rate, mixed 60 %
``POST /v1/classify``, 25 % ``POST /v1/similar``, 15 % ``POST /v1/feedback`` (ticket texts
from ``data/tickets.csv``). Every non-2xx answer and every socket error or timeout is counted
and sampled, never dropped. The RSS and CPU time of every server process are read from /proc
each second. Writes ``benchmarks/results/load_mixed.json`` and prints a Markdown table.

    .venv/bin/python -m benchmarks.load_mixed                      # 100 req/s, 60 s
    .venv/bin/python -m benchmarks.load_mixed --rate 100,75,50 --models-dir models

Why a generator of its own rather than wrk or locust: both wait for an answer before a
connection or user sends its next request (wrk is a closed loop; locust's constant
throughput is a per-user wait time), so a stalled server is sent fewer requests and the stall
hides from the percentiles (coordinated omission). Here every request has a send time fixed
before the run (start + i / rate, wrk2's scheduling) and is sent then whatever happened to
the earlier ones, each on its own connection if need be; its latency runs from that scheduled
time, so waiting for the generator or for a free connection counts. asyncio + httpx, which the
project already depends on: at 100 req/s the generator needs a few percent of a core, which
the result reports (``generator_cpu_percent``). It shares the service's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.cli import positive_floats
from benchmarks.harness.machine import describe, loadavg, usable_cores
from benchmarks.harness.models import ensure_model
from benchmarks.harness.processes import cpu_seconds, descendants, role, rss_mb
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import HTTP_PROTOCOL, Server, running_server
from benchmarks.harness.smaps import breakdown, table
from benchmarks.harness.stats import percentiles

OUTPUT = RESULTS / "load_mixed.json"
LIBRARIES = ("fastapi", "uvicorn", "httpx", "sqlalchemy", "scikit-learn")
PATHS = {"classify": "/v1/classify", "similar": "/v1/similar", "feedback": "/v1/feedback"}
DEFAULT_MIX = {"classify": 60.0, "similar": 25.0, "feedback": 15.0}
# A rate counts as sustained when nothing failed, nearly every request was answered within
# the run, and the tail stayed under the SLO (an overloaded open loop grows its queue, so its
# p99 climbs without bound).
MIN_ACHIEVED_SHARE = 0.95
# RSS growth a worker may show and still count as flat (allocator noise is a few MB).
FLAT_MB_PER_MIN = 1.0


# --- the schedule, the open loop and its statistics (tests/test_load_mixed_script.py) ------


@dataclass(frozen=True)
class Planned:
    at: float  # seconds after the run's start
    endpoint: str
    ticket: int


@dataclass(frozen=True)
class Outcome:
    endpoint: str
    scheduled: float  # seconds after the run's start
    sent: float  # when the generator got to it
    done: float
    status: int | None  # None: no HTTP answer (socket error, timeout)
    error: str | None  # None for a 2xx


def plan(
    rate: float, duration: float, mix: Mapping[str, float], tickets: int, seed: int
) -> list[Planned]:
    """Requests at start + i / rate; the mix's shares exact (largest remainders), shuffled."""
    count = round(rate * duration)
    total = sum(mix.values())
    exact = {name: count * share / total for name, share in mix.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: count - sum(counts.values())]:
        counts[name] += 1
    rng = np.random.default_rng(seed)
    kinds = [name for name, n in counts.items() for _ in range(n)]
    order = rng.permutation(count)
    picks = rng.integers(tickets, size=count)
    return [Planned(i / rate, kinds[order[i]], int(picks[i])) for i in range(count)]


async def drive(
    client: httpx.AsyncClient,
    schedule: Sequence[Planned],
    request_for: Callable[[Planned], tuple[str, bytes]],
    *,
    timeout: float,
) -> list[Outcome]:
    """Send each planned request at its time, never waiting for earlier answers."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    outcomes: list[Outcome] = []
    headers = {"Content-Type": "application/json"}

    async def one(item: Planned, path: str, body: bytes) -> None:
        sent = loop.time() - start
        status: int | None = None
        try:
            response = await client.post(path, content=body, headers=headers, timeout=timeout)
            status = response.status_code
            error = None if 200 <= status < 300 else f"{status} {response.text[:200]}"
        except Exception as exc:  # every failure is a result, whatever raised it
            error = f"{type(exc).__name__}: {exc}"[:200]
        done = loop.time() - start
        outcomes.append(Outcome(item.endpoint, item.at, sent, done, status, error))

    tasks = []
    for item in schedule:
        path, body = request_for(item)
        delay = start + item.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(item, path, body)))
    await asyncio.gather(*tasks)
    return outcomes


def _group(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    statuses = Counter("socket" if o.status is None else str(o.status) for o in outcomes)
    failed = [o for o in outcomes if o.error is not None]
    samples = list(dict.fromkeys(o.error for o in failed if o.error))[:5]
    return {
        "requests": len(outcomes),
        "ok": len(outcomes) - len(failed),
        "non_2xx": sum(1 for o in failed if o.status is not None),
        "socket_errors": sum(1 for o in failed if o.status is None),
        "statuses": dict(sorted(statuses.items())),
        "latency_ms": percentiles([(o.done - o.scheduled) * 1000 for o in outcomes]),
        "service_ms": percentiles([(o.done - o.sent) * 1000 for o in outcomes]),
        "error_samples": samples,
    }


def summarize(
    outcomes: Sequence[Outcome], *, rate: float, duration: float, slo_ms: float
) -> dict[str, Any]:
    """Per endpoint and overall: counts, every failure, latency from the scheduled time."""
    overall = _group(outcomes)
    span = max([duration, *(o.done for o in outcomes)])
    achieved = overall["ok"] / span if span > 0 else 0.0
    windows = []
    step = 10.0
    for begin in np.arange(0.0, duration, step):
        inside = [o for o in outcomes if begin <= o.scheduled < begin + step]
        lat = percentiles([(o.done - o.scheduled) * 1000 for o in inside])
        windows.append({"from_s": float(begin), "p50": lat["p50"], "p99": lat["p99"]})
    errors = overall["non_2xx"] + overall["socket_errors"]
    return {
        "target_rps": rate,
        "duration_s": duration,
        "achieved_rps": round(achieved, 1),
        "last_answer_s": round(span, 2),
        "max_send_lag_ms": round(max((o.sent - o.scheduled for o in outcomes), default=0) * 1e3, 1),
        "overall": overall,
        "endpoints": {
            name: _group([o for o in outcomes if o.endpoint == name])
            for name in sorted({o.endpoint for o in outcomes})
        },
        "latency_by_10s": windows,
        "sustained": errors == 0
        and achieved >= MIN_ACHIEVED_SHARE * rate
        and overall["latency_ms"]["p99"] <= slo_ms,
    }


def memory_trend(samples: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    """first/last/max/mean RSS (MB) and the least-squares slope in MB per minute."""
    if not samples:
        return {"first": None, "last": None, "max": None, "mean": None, "slope_mb_per_min": None}
    times = np.array([t for t, _ in samples]) / 60.0
    values = np.array([v for _, v in samples])
    slope = float(np.polyfit(times, values, 1)[0]) if len(samples) > 1 and np.ptp(times) else None
    return {
        "first": round(float(values[0]), 1),
        "last": round(float(values[-1]), 1),
        "max": round(float(values.max()), 1),
        "mean": round(float(values.mean()), 1),
        "slope_mb_per_min": None if slope is None else round(slope, 2),
    }


# --- the server's processes ------------------------------------------------------------------


@dataclass
class Sampler:
    """RSS of every server process once a second, in a thread, with a phase label; every
    ``smaps_every`` seconds, each worker's RSS by mapping (``harness.smaps``)."""

    master: int
    phase: str = "setup"
    smaps_every: float = 300.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)
    _done: threading.Event = field(default_factory=threading.Event)

    def processes(self) -> dict[int, str]:
        pids = [self.master, *descendants(self.master)]
        return {pid: role(pid, self.master) for pid in pids}

    def cpu(self) -> dict[int, float]:
        return {pid: s for pid in self.processes() if (s := cpu_seconds(pid)) is not None}

    def snapshot(self) -> None:
        """Each worker's (or a lone master's) RSS by mapping, now."""
        roles = self.processes()
        chosen = [p for p, r in roles.items() if r == "worker"] or [self.master]
        self.mappings.append(
            {
                "t": time.monotonic(),
                "phase": self.phase,
                "by_pid": {f"{roles[p]} {p}": breakdown(p) for p in chosen},
            }
        )

    def _run(self) -> None:
        last_smaps = time.monotonic()
        while not self._done.is_set():
            rss = {pid: m for pid in self.processes() if (m := rss_mb(pid)) is not None}
            self.samples.append({"t": time.monotonic(), "phase": self.phase, "rss_mb": rss})
            if time.monotonic() - last_smaps >= self.smaps_every:
                self.snapshot()
                last_smaps = time.monotonic()
            self._done.wait(1.0)

    @contextmanager
    def running(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._done.set()
            thread.join()

    def trend(self, phase: str) -> dict[str, Any]:
        chosen = [s for s in self.samples if s["phase"] == phase]
        if not chosen:
            return {}
        t0 = chosen[0]["t"]
        roles = self.processes()
        per_pid: dict[int, list[tuple[float, float]]] = {}
        for sample in chosen:
            for pid, mb in sample["rss_mb"].items():
                per_pid.setdefault(pid, []).append((sample["t"] - t0, mb))
        result = {
            f"{roles.get(pid, 'gone')} {pid}": {**memory_trend(points), "samples": len(points)}
            for pid, points in sorted(per_pid.items())
        }
        totals = [(s["t"] - t0, sum(s["rss_mb"].values())) for s in chosen]
        result["total"] = {**memory_trend(totals), "samples": len(totals)}
        return result


# --- the service ----------------------------------------------------------------------------


def load_tickets(data: Path) -> pd.DataFrame:
    return pd.read_csv(data, dtype=str, keep_default_na=False)


def index_resolved(client: httpx.Client, frame: pd.DataFrame, batch: int) -> dict[str, Any]:
    """Every ticket with a resolution into the similar-ticket store, ``batch`` per call."""
    resolved = frame[frame["resolution"].str.strip() != ""]
    tickets = [
        {
            "id": row.id,
            "subject": row.subject,
            "body": row.body,
            "resolution": row.resolution,
            "category": row.category or None,
            "tier": row.tier or None,
            "resolved_at": row.resolved_at or None,
        }
        for row in resolved.itertuples(index=False)
    ]
    started = time.perf_counter()
    stored = 0
    for begin in range(0, len(tickets), batch):
        response = client.post(
            "/v1/tickets/resolved", json={"tickets": tickets[begin : begin + batch]}
        )
        if response.status_code != 201:
            sys.exit(f"error: indexing failed: {response.status_code} {response.text[:500]}")
        stored += response.json()["stored"]
    return {"tickets": stored, "seconds": round(time.perf_counter() - started, 1)}


def request_bodies(
    frame: pd.DataFrame, model_version: str, labels: Sequence[str], seed: int
) -> Callable[[Planned], tuple[str, bytes]]:
    """Pre-serialised bodies per ticket and endpoint, so the generator only sends bytes."""
    rng = np.random.default_rng(seed)
    bodies: dict[str, list[bytes]] = {name: [] for name in PATHS}
    for row in frame.itertuples(index=False):
        text = {"subject": row.subject, "body": row.body}
        bodies["classify"].append(json.dumps({"id": row.id, **text}).encode())
        # remember=False: a search, not an open ticket kept for duplicate detection, so the
        # store (and every worker's index) stays the same size and memory can be judged.
        bodies["similar"].append(
            json.dumps({"id": row.id, **text, "k": 5, "remember": False}).encode()
        )
        kept = rng.random() < 0.7 or not labels
        feedback = {
            "ticket_id": row.id,
            "head": "category",
            "predicted": row.category if kept else str(rng.choice(list(labels))),
            "final": row.category or "other",
            "model_version": model_version,
            "decision": str(rng.choice(["auto", "suggest", "review"])),
            "confidence": round(float(rng.uniform(0.3, 1.0)), 3),
        }
        bodies["feedback"].append(json.dumps(feedback).encode())

    def request_for(item: Planned) -> tuple[str, bytes]:
        return PATHS[item.endpoint], bodies[item.endpoint][item.ticket]

    return request_for


def run_rate(
    server: Server,
    sampler: Sampler,
    request_for: Callable[[Planned], tuple[str, bytes]],
    *,
    rate: float,
    duration: float,
    warmup: float,
    mix: Mapping[str, float],
    tickets: int,
    seed: int,
    timeout: float,
    slo_ms: float,
) -> dict[str, Any]:
    """A warm-up at ``rate``, then the measured run; memory and CPU over the measured part."""

    async def go(schedule: list[Planned]) -> list[Outcome]:
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers, limits=limits
        ) as client:
            return await drive(client, schedule, request_for, timeout=timeout)

    label = f"{rate:g} req/s"
    warm: dict[str, Any] | None = None
    if warmup > 0:
        print(f"{label}: warm-up {warmup:g} s ...", flush=True)
        sampler.phase = f"{label} warm-up"
        warm_out = asyncio.run(go(plan(rate, warmup, mix, tickets, seed + 1)))
        warm = summarize(warm_out, rate=rate, duration=warmup, slo_ms=slo_ms)["overall"]
    print(f"{label}: {duration:g} s ...", flush=True)
    load_before = loadavg()
    cpu_before = sampler.cpu()
    own_before = time.process_time()
    wall_before = time.monotonic()
    sampler.phase = label
    sampler.snapshot()
    outcomes = asyncio.run(go(plan(rate, duration, mix, tickets, seed)))
    sampler.snapshot()
    sampler.phase = f"{label} done"
    wall = time.monotonic() - wall_before
    roles = sampler.processes()
    cpu_after = sampler.cpu()
    cpu = {
        f"{roles.get(pid, 'gone')} {pid}": round(100 * (cpu_after[pid] - before) / wall, 1)
        for pid, before in cpu_before.items()
        if pid in cpu_after
    }
    result = summarize(outcomes, rate=rate, duration=duration, slo_ms=slo_ms)
    result.update(
        {
            "warmup": None
            if warm is None
            else {
                "seconds": warmup,
                **{k: warm[k] for k in ("requests", "ok", "non_2xx", "socket_errors")},
            },
            "server_cpu_percent": cpu,
            "generator_cpu_percent": round(100 * (time.process_time() - own_before) / wall, 1),
            "memory_mb": sampler.trend(label),
            "mappings_mb": [
                {"seconds": round(m["t"] - wall_before), "by_pid": m["by_pid"]}
                for m in sampler.mappings
                if m["phase"] == label
            ],
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
        }
    )
    memory = result["memory_mb"]
    # One worker: uvicorn serves in its master process, which then is the one to judge.
    role = "worker" if any(k.startswith("worker") for k in memory) else "master"
    workers = [v for k, v in memory.items() if k.startswith(role)]
    slopes = [abs(w["slope_mb_per_min"] or 0.0) for w in workers]
    result["memory_flat"] = bool(workers) and max(slopes) < FLAT_MB_PER_MIN
    return result


# --- report ---------------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    setup = result["setup"]
    lines = [
        f"model {setup['model_version']} ({setup['embedder']}), {setup['workers']} uvicorn "
        f"worker(s) x {setup['threads_per_worker']} thread(s), {setup['database']}, "
        f"{setup['indexed']['tickets']} resolved tickets indexed, "
        f"{result['machine']['cores']} cores, {result['date']}",
        "",
        "| rate | endpoint | requests | non-2xx | socket errors | p50 ms | p90 ms | p99 ms "
        "| max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        groups = [*run["endpoints"].items(), ("**all**", run["overall"])]
        for name, group in groups:
            lat = group["latency_ms"]
            where = f"`POST {PATHS[name]}`" if name in PATHS else name
            lines.append(
                f"| {run['target_rps']:g} req/s | {where} | {group['requests']} "
                f"| {group['non_2xx']} | {group['socket_errors']} | {lat['p50']:.1f} "
                f"| {lat['p90']:.1f} | {lat['p99']:.1f} | {lat['max']:.1f} |"
            )
    lines += [
        "",
        "| rate | achieved req/s | sustained | RSS MB of master; workers: first → last (max), "
        "slope MB/min "
        "| CPU % (server processes; generator) | load avg before → after |",
        "|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        memory = "; ".join(
            f"{m['first']:.0f} → {m['last']:.0f} ({m['max']:.0f}), {m['slope_mb_per_min']:+.2f}"
            for name, m in run["memory_mb"].items()
            if name.split()[0] in ("worker", "master") and m["first"] is not None
        )
        cpu = ", ".join(f"{v:.0f}" for v in run["server_cpu_percent"].values())
        lines.append(
            f"| {run['target_rps']:g} req/s | {run['achieved_rps']:.1f} "
            f"| {'yes' if run['sustained'] else 'no'} | {memory} "
            f"| {cpu}; {run['generator_cpu_percent']:.0f} "
            f"| {run['loadavg_before'][0]:.2f} → {run['loadavg_after'][0]:.2f} |"
        )
    best = result["highest_sustained_rps"]
    lines += [
        "",
        f"Highest sustained rate tried: {best:g} req/s."
        if best
        else "No rate tried was sustained.",
    ]
    return "\n".join(lines)


def _mix(value: str) -> dict[str, float]:
    try:
        mix = {k.strip(): float(v) for k, v in (part.split("=") for part in value.split(","))}
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r}: expected e.g. classify=60,similar=25"
        ) from exc
    unknown = set(mix) - set(PATHS)
    if unknown or not mix or min(mix.values()) < 0 or sum(mix.values()) <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: shares of {', '.join(PATHS)}, not negative")
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=positive_floats, default=[100.0], help="req/s, e.g. 100,75,50"
    )
    parser.add_argument("--duration", type=float, default=60, help="measured seconds (60)")
    parser.add_argument("--warmup", type=float, default=10, help="warm-up seconds per rate (10)")
    parser.add_argument(
        "--mix",
        type=_mix,
        default=DEFAULT_MIX,
        help="shares, default classify=60,similar=25,feedback=15",
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (2)")
    parser.add_argument(
        "--threads", type=int, default=None, help="inference threads per worker (cores // workers)"
    )
    parser.add_argument("--models-dir", type=Path, default=None, help="default: train one here")
    parser.add_argument(
        "--embedder", default=None, help="for the model trained here (default: triage's default)"
    )
    parser.add_argument(
        "--database-url", default=None, help="e.g. PostgreSQL; default: SQLite in a temp dir"
    )
    parser.add_argument("--data", type=Path, default=SAMPLE_TICKETS)
    parser.add_argument("--index-batch", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds (30)")
    parser.add_argument("--slo-p99-ms", type=float, default=1000, help="p99 bound to sustain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--smaps-every", type=float, default=300, help="seconds between RSS-by-mapping reads"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--note", default=None, help="free text stored with the results")
    args = parser.parse_args()

    threads = args.threads or max(1, usable_cores() // args.workers)
    frame = load_tickets(args.data)
    machine = describe(LIBRARIES)
    runs = []
    with tempfile.TemporaryDirectory(prefix="triage-load-") as tmp:
        scratch = Path(tmp)
        models_dir = ensure_model(args.models_dir, args.data, scratch, args.embedder)
        print(f"serving {models_dir}: {args.workers} worker(s) x {threads} thread(s)", flush=True)
        with running_server(
            models_dir,
            log=scratch / "server.log",
            workers=args.workers,
            threads=threads,
            scopes=("classify", "feedback"),
            env={
                "TRIAGE_DATA_DIR": str(scratch / "var"),
                "TRIAGE_DATABASE_URL": args.database_url,
            },
        ) as server:
            with httpx.Client(base_url=server.url, headers=server.headers, timeout=600) as client:
                model = client.get("/v1/model").json()
                indexed = index_resolved(client, frame, args.index_batch)
            print(f"indexed {indexed['tickets']} resolved tickets in {indexed['seconds']} s")
            heads = model.get("heads") or {}
            labels = list((heads.get("category") or {}).get("labels") or [])
            request_for = request_bodies(frame, model["version"], labels, args.seed)
            sampler = Sampler(server.process.pid, smaps_every=args.smaps_every)
            with sampler.running():
                for rate in args.rate:
                    runs.append(
                        run_rate(
                            server,
                            sampler,
                            request_for,
                            rate=rate,
                            duration=args.duration,
                            warmup=args.warmup,
                            mix=args.mix,
                            tickets=len(frame),
                            seed=args.seed,
                            timeout=args.timeout,
                            slo_ms=args.slo_p99_ms,
                        )
                    )
            server_log_tail = server.log_tail()

    machine["loadavg_at_end"] = loadavg()
    sustained = [r["target_rps"] for r in runs if r["sustained"]]
    database = "PostgreSQL" if args.database_url else "SQLite"
    result = {
        "date": now(),
        "command": command("load_mixed"),
        "note": args.note,
        "machine": machine,
        "setup": {
            "server": f"uvicorn --factory triage.api.app:create_app --http {HTTP_PROTOCOL}",
            "workers": args.workers,
            "threads_per_worker": threads,
            "database": database,
            "model_version": model.get("version"),
            "embedder": (model.get("embedder") or {}).get("name"),
            "trained_here": args.models_dir is None,
            "indexed": indexed,
            "mix_percent": args.mix,
            "load_generator": "open loop, constant arrival rate (start + i / rate), asyncio + "
            "httpx on the same host; latency from the scheduled send time",
            "sustained_when": f"0 errors, achieved >= {MIN_ACHIEVED_SHARE:.0%} of the rate, "
            f"p99 <= {args.slo_p99_ms:g} ms",
            "memory_flat_when": f"every worker's RSS slope < {FLAT_MB_PER_MIN:g} MB/min",
        },
        "runs": runs,
        "highest_sustained_rps": max(sustained) if sustained else None,
        "server_log_tail": server_log_tail,
    }
    write_json(args.output, result)
    print()
    print(markdown(result))
    for run in runs:
        overall = run["overall"]
        if overall["non_2xx"] or overall["socket_errors"]:
            print(
                f"\nWARNING at {run['target_rps']:g} req/s: {overall['non_2xx']} non-2xx, "
                f"{overall['socket_errors']} socket errors: {overall['error_samples']}"
            )
    for run in runs:
        snaps = run["mappings_mb"]
        for snap in (snaps[:1] + snaps[-1:]) if snaps else []:
            for name, parts in snap["by_pid"].items():
                print(f"\n{run['target_rps']:g} req/s, {name}, at {snap['seconds']} s:\n")
                print(table(parts))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
