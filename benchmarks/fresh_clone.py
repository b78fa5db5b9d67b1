"""`make run` from a fresh clone: seconds to the first healthy answer, and where they went.

Clones this repository (its committed HEAD) into a temporary folder, runs ``make run`` there
on a free loopback port, timestamps each ``==>`` step the Makefile prints, and polls until
``POST /v1/classify`` answers 200; then stops the server and writes
``benchmarks/results/fresh_clone.json``. The CPU seconds are those of every process make
waited for (``RUSAGE_CHILDREN``): on a shared machine they move less than the wall time.

    python3 -m benchmarks.fresh_clone                 # the Makefile as committed
    python3 -m benchmarks.fresh_clone --label before --ref c0bf443   # an older Makefile

Runs with the system Python (the clone makes its own .venv). Offline: pip reads whatever
index it is configured with; nothing here reaches a model hub.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, ROOT
from benchmarks.harness.machine import describe, loadavg
from benchmarks.harness.results import command, now, read_json, write_json

OUTPUT = RESULTS / "fresh_clone.json"
TICKET = {"subject": "Printer on 3rd floor jams", "body": "Every job stops with a paper jam."}
TIMEOUT_SECONDS = 1800


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/classify",
        data=json.dumps(TICKET).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _read_steps(stream: Any, start: float, steps: list[dict[str, Any]], log: Path) -> None:
    with log.open("w") as out:
        for line in stream:
            out.write(line)
            if line.startswith("==> "):
                steps.append({"step": line[4:].strip(), "at_s": round(time.monotonic() - start, 1)})


def run_once(clone: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """``make run`` in ``clone`` until it answers; the timings of that run."""
    port = _free_port()
    env = {**os.environ, **env, "TRIAGE_PORT": str(port)}
    steps: list[dict[str, Any]] = []
    start = time.monotonic()
    make = subprocess.Popen(
        ["make", "run"], cwd=clone, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    reader = threading.Thread(target=_read_steps, args=(make.stdout, start, steps, log))
    reader.start()
    answered = None
    while make.poll() is None and time.monotonic() - start < TIMEOUT_SECONDS:
        if steps and steps[-1]["step"].startswith("serving") and _answers(port):
            answered = round(time.monotonic() - start, 1)
            break
        time.sleep(0.5)
    os.killpg(make.pid, signal.SIGTERM)
    make.wait(timeout=60)
    reader.join()
    return {"first_answer_s": answered, "exit_code_before_answer": make.returncode
            if answered is None else None, "steps": steps}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="make run", help="the key this run is stored under")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--ref", default="HEAD", help="the commit to clone (default: HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    clone = Path(tempfile.mkdtemp(prefix="triage-fresh-")) / "triage"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", args.ref], cwd=clone, check=True)
    machine = describe()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_once(clone, env, clone.parent / "make-run.log")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result |= {
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "loadavg_at_end": loadavg(),
        "ref": args.ref,
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip(),
        "env": env,
        "machine": machine,
        "measured_at": now(),
        "command": command("fresh_clone"),
    }
    print(json.dumps(result, indent=2))
    stored = read_json(OUTPUT)
    stored[args.label] = result
    write_json(OUTPUT, stored)
    if args.keep:
        print(f"clone kept in {clone}")
    else:
        shutil.rmtree(clone.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
