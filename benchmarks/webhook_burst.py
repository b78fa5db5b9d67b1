"""A burst of helpdesk webhook deliveries: how fast is the 202, and how long until all are triaged.

Starts the real service (uvicorn, one process, its in-process webhook runner classifying in
the background with the MiniLM embedder) on a loopback port, builds 1,000 deliveries signed
the way each helpdesk signs them (Zammad, Zendesk, GLPI, Freshdesk and generic in turn, texts
from ``data/tickets.csv``, every ticket distinct), fires them all at once with at most
``--concurrency`` in flight, and times each answer at the client. Then it waits until every
delivery is triaged, replays 100 of them (each must answer 200 with the first delivery's id),
and writes ``benchmarks/results/webhooks.json``.

    .venv/bin/python benchmarks/webhook_burst.py                    # trains a model first
    .venv/bin/python benchmarks/webhook_burst.py --models-dir models --concurrency 64

The load generator runs on the same cores as the service, and the background triage of the
burst competes with the 202 path for those cores and for the database: that is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.webhooks.webhook_signing import (  # noqa: E402 (the repo root is on the path now)
    FIXTURE_BY_SOURCE,
    SECRETS,
    fixture_json,
    sign,
)
from triage.core.artifacts import list_versions  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "webhooks.json"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
SOURCES = list(FIXTURE_BY_SOURCE)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _git_commit() -> str | None:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    versions = {"python": platform.python_version()}
    for name in ("fastapi", "uvicorn", "starlette", "sqlalchemy", "httpx", "torch"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "libraries": versions,
        "git_commit": _git_commit(),
    }


def ensure_model(models_dir: Path | None, data: Path, scratch: Path, embedder: str) -> Path:
    if models_dir is not None:
        if not list_versions(models_dir):
            sys.exit(f"error: {models_dir} holds no model; drop --models-dir to train one")
        return models_dir
    target = scratch / "models"
    print(f"training a model on {data} ({embedder} embedder) into {target} ...", flush=True)
    env = {**os.environ, **OFFLINE}
    env.pop("TRIAGE_MODEL_VERSION", None)
    command = [str(BIN / "triage"), "train", "--data", str(data), "--out", str(target)]
    subprocess.run([*command, "--embedder", embedder, "--quiet"], check=True, env=env)
    return target


@contextmanager
def running_server(
    models_dir: Path,
    scratch: Path,
    port: int,
    database_url: str | None,
    separate_worker: bool = False,
) -> Iterator[str]:
    """The API (one uvicorn process); with ``separate_worker``, triage runs in a ``triage
    worker`` process instead of a thread of the API process."""
    env = {
        **os.environ,
        **OFFLINE,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_DATA_DIR": str(scratch / "var"),
        "TRIAGE_WEBHOOK_SECRETS": json.dumps(SECRETS),
        "TRIAGE_LOG_LEVEL": "warning",
    }
    env.pop("TRIAGE_MODEL_VERSION", None)
    if database_url:
        env["TRIAGE_DATABASE_URL"] = database_url
    log = scratch / "server.log"
    worker = None
    if separate_worker:
        env["TRIAGE_JOBS_WORKER"] = "false"
        with (scratch / "worker.log").open("wb") as out:
            worker = subprocess.Popen(
                [str(BIN / "triage"), "worker"],
                env={**env, "TRIAGE_JOBS_WORKER": "true"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    command = [str(BIN / "python"), "-m", "uvicorn", "--factory", "triage.api.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log"]
    command += ["--http", "triage.api.transport:NoDelayHTTPProtocol"]  # as deploy/Dockerfile
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                sys.exit(f"error: the service exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"error: the service was not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        for child in (process, worker):
            if child is None:
                continue
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def payload(source: str, n: int, ticket: dict[str, str]) -> dict[str, Any]:
    """The source's documented fixture, carrying ticket ``n``'s text and a fresh id."""
    data = fixture_json(FIXTURE_BY_SOURCE[source])
    ticket_id, subject, body = 100_000 + n, ticket["subject"], ticket["body"] or ticket["subject"]
    if source == "zammad":
        data["ticket"] |= {"id": ticket_id, "number": str(ticket_id), "title": subject}
        data["article"] |= {"ticket_id": ticket_id, "body": f"<p>{body}</p>"}
    elif source == "zendesk":
        data["id"] = str(uuid.uuid4())
        data["subject"] = f"zen:ticket:{ticket_id}"
        data["detail"] |= {"id": str(ticket_id), "subject": subject, "description": body}
    elif source == "glpi":
        data["item"] |= {"id": ticket_id, "name": subject, "content": f"<p>{body}</p>"}
    elif source == "freshdesk":
        data["freshdesk_webhook"] |= {
            "ticket_id": str(ticket_id),
            "ticket_subject": subject,
            "ticket_description": f"<div>{body}</div>",
        }
    else:
        data |= {"id": f"GEN-{ticket_id}", "subject": subject, "body": body}
    return data


def build_deliveries(
    tickets: list[dict[str, str]], count: int, *, first: int = 0
) -> list[tuple[str, bytes, dict[str, str]]]:
    deliveries = []
    for n in range(first, first + count):
        source = SOURCES[n % len(SOURCES)]
        body = json.dumps(payload(source, n, tickets[n % len(tickets)])).encode()
        deliveries.append((source, body, sign(source, body, delivery=uuid.uuid4().hex)))
    return deliveries


async def burst(
    url: str, deliveries: list[tuple[str, bytes, dict[str, str]]], concurrency: int
) -> tuple[list[float], list[httpx.Response | Exception], float]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = [0.0] * len(deliveries)
    answers: list[httpx.Response | Exception] = [Exception("not sent")] * len(deliveries)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def send(i: int) -> None:
            source, body, headers = deliveries[i]
            async with gate:
                started = time.perf_counter()
                try:
                    answers[i] = await client.post(
                        f"/v1/webhooks/{source}", content=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    answers[i] = exc
                latencies[i] = time.perf_counter() - started

        started = time.perf_counter()
        await asyncio.gather(*(send(i) for i in range(len(deliveries))))
        wall = time.perf_counter() - started
    return latencies, answers, wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def wait_drained(url: str, ids: list[str], started: float, timeout: float) -> dict[str, Any]:
    """Wait until every delivery has ended; how long that took from the burst's start.

    The last one sent is watched first (deliveries are triaged oldest first), so the
    polling itself does not load the service while it is still draining.
    """
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=30) as client:

        def status(delivery_id: str) -> str:
            answer: str = client.get(f"/v1/webhooks/deliveries/{delivery_id}").json()["status"]
            return answer

        pending = list(ids)
        while pending and time.monotonic() < deadline:
            if status(pending[-1]) in ("queued", "running"):
                time.sleep(0.25)
                continue
            still = []
            for delivery_id in pending:
                current = status(delivery_id)
                if current in ("queued", "running"):
                    still.append(delivery_id)
                else:
                    statuses[current] += 1
            pending = still
        ended = time.perf_counter() - started
    return {
        "statuses": dict(statuses),
        "not_ended": len(pending),
        "seconds_until_all_triaged": round(ended, 1),
    }


def run_burst(
    url: str, tickets: list[dict[str, str]], count: int, concurrency: int, first: int
) -> dict[str, Any]:
    """One burst of ``count`` new deliveries; its 202 latencies, the drain, a replay."""
    deliveries = build_deliveries(tickets, count, first=first)
    print(f"burst of {count} deliveries, {concurrency} in flight ...", flush=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    latencies, answers, wall = asyncio.run(burst(url, deliveries, concurrency))
    codes = Counter(
        a.status_code if isinstance(a, httpx.Response) else type(a).__name__ for a in answers
    )
    ids = [
        a.json()["id"] for a in answers if isinstance(a, httpx.Response) and a.status_code == 202
    ]
    print(f"  answers {dict(codes)} in {wall:.1f} s; waiting for the triage ...", flush=True)
    drained = wait_drained(url, ids, started, timeout=1_800)
    replayed = asyncio.run(burst(url, deliveries[:100], concurrency))[1]
    first_ids = [a.json()["id"] if isinstance(a, httpx.Response) else None for a in answers]
    same = sum(
        isinstance(a, httpx.Response) and a.status_code == 200 and a.json()["id"] == first_ids[i]
        for i, a in enumerate(replayed)
    )
    ms = [x * 1_000 for x in latencies]
    summary = {
        "concurrency": concurrency,
        "deliveries": count,
        "loadavg_1m_at_start": round(load, 2),
        "answer_202_ms": {
            "p50": round(percentile(ms, 50), 1),
            "p90": round(percentile(ms, 90), 1),
            "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1),
            "mean": round(statistics.fmean(ms), 1),
        },
        "status_codes": {str(k): v for k, v in codes.items()},
        "burst_seconds": round(wall, 2),
        "deliveries_per_second": round(count / wall, 1),
        "triage": drained,
        "replay_of_100": {"answered_200_with_the_first_id": same},
    }
    print(f"  202 ms {summary['answer_202_ms']}; {drained}", flush=True)
    return summary


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1_000, help="per burst (1,000)")
    parser.add_argument(
        "--concurrency",
        type=_ints,
        default=[1, 8, 32],
        help="requests in flight; one burst per value (1,8,32)",
    )
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--embedder", default="minilm", help="when training here (minilm)")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "tickets.csv")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="triage in a `triage worker` process, not a thread of the API process",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--note", default=None, help="free text stored with the results")
    args = parser.parse_args()

    frame = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    tickets = frame[["subject", "body"]].to_dict("records")
    machine = machine_info()
    bursts = []
    with tempfile.TemporaryDirectory(prefix="triage-webhooks-") as tmp:
        scratch = Path(tmp)
        models_dir = ensure_model(args.models_dir, args.data, scratch, args.embedder)
        with running_server(
            models_dir, scratch, _free_port(), args.database_url, args.separate_worker
        ) as url:
            # Warm the connection pool and the code (tickets numbered apart from the bursts').
            warm = build_deliveries(tickets[::-1], 20, first=100 * args.deliveries)
            asyncio.run(burst(url, warm, 4))
            for n, concurrency in enumerate(args.concurrency):
                first = n * args.deliveries  # every burst brings new tickets
                bursts.append(run_burst(url, tickets, args.deliveries, concurrency, first))
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "benchmarks/webhook_burst.py", *sys.argv[1:]]),
        "note": args.note,
        "machine": machine | {"loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "setup": {
            "server": "uvicorn --factory triage.api.app:create_app, 1 process (no access log), "
            + (
                "webhook runner in a separate `triage worker` process"
                if args.separate_worker
                else "webhook runner in-process"
            ),
            "database": "PostgreSQL" if args.database_url else "SQLite file (WAL)",
            "embedder": args.embedder if args.models_dir is None else "from --models-dir",
            "sources": SOURCES,
            "client": "httpx.AsyncClient on the same machine; latency = send to answer",
        },
        "bursts": bursts,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
