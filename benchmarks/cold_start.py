"""A served worker's cold start, source trees side by side: spawn to first answer over HTTP.

For each ``--tree NAME=PATH`` (run from PATH with ``PYTHONPATH=PATH``), taking turns for
``--rounds`` rounds so that the trees share the machine's load: uvicorn with one worker
(``python -m uvicorn --factory triage.api.app:create_app``, as ``benchmarks.speed`` and the
image serve) on a loopback port, ``POST /v1/classify`` polled every ``--poll`` seconds
from a plain socket client. Recorded at the first 200: the seconds since the spawn (wall),
the server's CPU seconds (user + system: the figure the machine's load moves least), its
RSS and anonymous RSS (``RssAnon``); then ``/readyz``. Each tree has a data directory of its
own that two first, unrecorded starts filled (the body's and the language tables' mapped
caches, and what the tree remembers of them): these are restarts, as on a served machine.
Also each tree's ``-X importtime`` of the app module (CPU seconds of
``import triage.api.app`` and the heaviest packages).

    .venv/bin/python -m benchmarks.cold_start --model /tmp/use-models \\
        --tree before=/tmp/before --tree after=. --rounds 5

Writes ``benchmarks/results/cold_start.json`` (or ``--output``) and a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.harness.machine import loadavg
from benchmarks.harness.processes import cpu_seconds, rss_mb
from benchmarks.harness.results import command, now, write_json
from benchmarks.harness.server import environment, free_port, spawned, stop, uvicorn_command

BODY = json.dumps(
    {"subject": "Printer on 3rd floor jams", "body": "Every job stops with a paper jam."}
)
TIMEOUT = 120.0


def _status(port: int, method: str, path: str, body: str | None = None) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def start_once(tree: Path, models: Path, data_dir: Path, poll: float) -> dict[str, Any]:
    """One cold start of ``tree``'s service: spawn to the first 200 of ``POST /v1/classify``."""
    port = free_port()
    env = environment(
        {
            "PYTHONPATH": str(tree),
            "TRIAGE_MODELS_DIR": str(models),
            "TRIAGE_DATA_DIR": str(data_dir),
            "TRIAGE_JOBS_WORKER": "false",
            "TRIAGE_API_KEYS": "[]",
            "TRIAGE_LOG_LEVEL": "warning",
            "TRIAGE_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    log = data_dir / f"uvicorn-{port}.log"
    started = time.monotonic()
    with spawned(uvicorn_command(port, workers=1, log_level="warning"), env, log, tree) as proc:
        while _status(port, "POST", "/v1/classify", BODY) != 200:
            if proc.poll() is not None or time.monotonic() - started > TIMEOUT:
                sys.exit(f"error: {tree} did not answer:\n{log.read_text()[-3000:]}")
            time.sleep(poll)
        seconds = time.monotonic() - started
        result = {
            "cold_start_seconds": round(seconds, 3),
            "cpu_seconds": cpu_seconds(proc.pid),
            "rss_mb": round(rss_mb(proc.pid) or 0, 1),
            "anon_mb": round(rss_mb(proc.pid, "RssAnon") or 0, 1),
            "readyz": _status(port, "GET", "/readyz"),
            "load_1m": loadavg()[0],
        }
        stop(proc)
    return result


def import_profile(tree: Path) -> dict[str, Any]:
    """CPU seconds of ``import triage.api.app`` in a fresh interpreter, and ``-X importtime``'s
    self time summed per top-level package (ms, the 12 heaviest)."""
    env = environment({"PYTHONPATH": str(tree)})
    code = (
        "import time; t = time.process_time(); import triage.api.app; "
        "print(time.process_time() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    per_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:") :].split("|")
        per_package[name.strip().split(".")[0]] += int(own)
    return {
        "import_cpu_seconds": round(float(done.stdout.split()[-1]), 3),
        "modules": sum(1 for line in done.stderr.splitlines() if line.startswith("import time:"))
        - 1,
        "self_ms_by_package": {k: round(v / 1000, 1) for k, v in per_package.most_common(12)},
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return round(float(statistics.median(run[key] for run in runs)), 3)

    return {key: median(key) for key in ("cold_start_seconds", "cpu_seconds", "rss_mb", "anon_mb")}


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| tree | spawn to first answer s (median) | server CPU s | RSS MB | anonymous MB "
        "| import CPU s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, tree in results["trees"].items():
        s = tree["median"]
        lines.append(
            f"| {name} | {s['cold_start_seconds']:.2f} | {s['cpu_seconds']:.2f} "
            f"| {s['rss_mb']:.0f} | {s['anon_mb']:.0f} "
            f"| {tree['imports']['import_cpu_seconds']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--model", type=Path, required=True, help="a trained models dir")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=0.01)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/cold_start.json"))
    args = parser.parse_args()
    trees = {name: Path(path).resolve() for name, path in (t.split("=", 1) for t in args.tree)}
    scratch = Path(tempfile.mkdtemp(prefix="cold-start-"))
    try:
        data_dirs = {name: scratch / name for name in trees}
        for name, tree in trees.items():  # the first start writes the caches, the second
            data_dirs[name].mkdir()  # finds them settled (a tree that remembers digests does)
            for _ in range(2):
                start_once(tree, args.model.resolve(), data_dirs[name], args.poll)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(
                    start_once(tree, args.model.resolve(), data_dirs[name], args.poll)
                )
        results = {
            "measured_at": now(),
            "command": command("cold_start"),
            "cores": os.cpu_count(),
            "load_before_and_after": [runs[next(iter(trees))][0]["load_1m"], loadavg()[0]],
            "trees": {
                name: {"median": _summary(runs[name]), "runs": runs[name]}
                | {"imports": import_profile(trees[name])}
                for name in trees
            },
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_json(args.output, results)
    print(markdown(results))


if __name__ == "__main__":
    main()
