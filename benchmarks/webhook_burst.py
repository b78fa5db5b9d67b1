"""A burst of helpdesk webhook deliveries: how fast is the 202, and how long until all are triaged.

Starts the real service (uvicorn, one process, its in-process webhook runner classifying in
the background with the MiniLM embedder) on a loopback port, builds 1,000 deliveries signed
the way each helpdesk signs them (Zammad, Zendesk, GLPI, Freshdesk and generic in turn, texts
from ``data/tickets.csv``, every ticket distinct), fires them all at once with at most
``--concurrency`` in flight, and times each answer at the client. Then it waits until every
delivery is triaged, replays 100 of them (each must answer 200 with the first delivery's id),
and writes ``benchmarks/results/webhooks.json``.

    .venv/bin/python -m benchmarks.webhook_burst                    # trains a model first
    .venv/bin/python -m benchmarks.webhook_burst --models-dir models --concurrency 64

The load generator runs on the same cores as the service, and the background triage of the
burst competes with the 202 path for those cores and for the database: that is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.cli import positive_ints
from benchmarks.harness.machine import describe, load_1m, loadavg
from benchmarks.harness.models import ensure_model
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import BIN, answers_readyz, environment, running_server, spawned
from benchmarks.harness.stats import percentiles
from tests.webhooks.webhook_signing import FIXTURE_BY_SOURCE, SECRETS, fixture_json, sign

OUTPUT = RESULTS / "webhooks.json"
LIBRARIES = ("fastapi", "uvicorn", "starlette", "sqlalchemy", "httpx", "torch")
SOURCES = list(FIXTURE_BY_SOURCE)


@contextmanager
def serving(
    models_dir: Path, scratch: Path, database_url: str | None, separate_worker: bool
) -> Iterator[str]:
    """The API (one uvicorn process); with ``separate_worker``, triage runs in a ``triage
    worker`` process instead of a thread of the API process. Yields the API's URL."""
    env: dict[str, str | None] = {
        "TRIAGE_DATA_DIR": str(scratch / "var"),
        "TRIAGE_WEBHOOK_SECRETS": json.dumps(SECRETS),
        "TRIAGE_LOG_LEVEL": "warning",
        "TRIAGE_DATABASE_URL": database_url,
    }
    with ExitStack() as stack:
        if separate_worker:
            env["TRIAGE_JOBS_WORKER"] = "false"
            worker_env = environment(
                {**env, "TRIAGE_MODELS_DIR": str(models_dir), "TRIAGE_JOBS_WORKER": "true"}
            )
            stack.enter_context(
                spawned([str(BIN / "triage"), "worker"], worker_env, scratch / "worker.log")
            )
        server = stack.enter_context(
            running_server(
                models_dir,
                log=scratch / "server.log",
                env=env,
                log_level="warning",
                ready=answers_readyz,
            )
        )
        yield server.url


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
    load = load_1m()
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
        "loadavg_1m_at_start": load,
        "answer_202_ms": percentiles(ms),
        "status_codes": {str(k): v for k, v in codes.items()},
        "burst_seconds": round(wall, 2),
        "deliveries_per_second": round(count / wall, 1),
        "triage": drained,
        "replay_of_100": {"answered_200_with_the_first_id": same},
    }
    print(f"  202 ms {summary['answer_202_ms']}; {drained}", flush=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1_000, help="per burst (1,000)")
    parser.add_argument(
        "--concurrency",
        type=positive_ints,
        default=[1, 8, 32],
        help="requests in flight; one burst per value (1,8,32)",
    )
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--embedder", default="minilm", help="when training here (minilm)")
    parser.add_argument("--data", type=Path, default=SAMPLE_TICKETS)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file")
    parser.add_argument(
        "--separate-worker",
        action="store_true",
        help="triage in a `triage worker` process, not a thread of the API process",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--note", default=None, help="free text stored with the results")
    args = parser.parse_args()

    frame = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    tickets = frame[["subject", "body"]].to_dict("records")
    machine = describe(LIBRARIES)
    bursts = []
    with tempfile.TemporaryDirectory(prefix="triage-webhooks-") as tmp:
        scratch = Path(tmp)
        models_dir = ensure_model(args.models_dir, args.data, scratch, args.embedder)
        with serving(models_dir, scratch, args.database_url, args.separate_worker) as url:
            # Warm the connection pool and the code (tickets numbered apart from the bursts').
            warm = build_deliveries(tickets[::-1], 20, first=100 * args.deliveries)
            asyncio.run(burst(url, warm, 4))
            for n, concurrency in enumerate(args.concurrency):
                first = n * args.deliveries  # every burst brings new tickets
                bursts.append(run_burst(url, tickets, args.deliveries, concurrency, first))
    result = {
        "date": now(),
        "command": command("webhook_burst"),
        "note": args.note,
        "machine": machine | {"loadavg_at_end": loadavg()},
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
    write_json(args.output, result)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
