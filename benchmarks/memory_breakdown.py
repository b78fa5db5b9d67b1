"""Where one serving process's resident memory goes, step by step, by mapping.

Builds the app as uvicorn does (``create_app``, its lifespan through Starlette's test
client: the same routes, thread pool, stores and model loading), in this one process, then
reads /proc/self/smaps after each step: the interpreter; the app's imports; the model
loaded; the first answer; every sample ticket classified; the resolved tickets indexed;
``--rounds`` rounds of mixed requests (60 % classify, 25 % similar, 15 % feedback, as
``load_mixed``); ``--long`` long tickets. Each step's RSS is split into the main heap,
other anonymous memory, each mapped cache file (the body's weights, the language tables),
the shared libraries and the rest, with PSS (what this process's share is, pages shared
with other workers divided among them). Also lists which heavy libraries (torch, sklearn,
scipy, pandas, ...) the process imported, and the CPU time of each step.

    .venv/bin/python -m benchmarks.memory_breakdown --models-dir DIR
    .venv/bin/python -m benchmarks.memory_breakdown --models-dir DIR --rounds 5 --long 32

Writes ``benchmarks/results/memory_breakdown.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS, SAMPLE_TICKETS
from benchmarks.harness.smaps import breakdown, heavy_modules, table

OUTPUT = RESULTS / "memory_breakdown.json"


def _tickets(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models-dir", type=Path, required=True, help="a trained models dir")
    parser.add_argument("--data", type=Path, default=SAMPLE_TICKETS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of mixed requests (3)")
    parser.add_argument("--long", type=int, default=16, help="long tickets at the end (16)")
    parser.add_argument("--threads", type=int, default=1, help="TRIAGE_THREADS (1)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="TRIAGE_DATA_DIR (default: a new temp dir; give one a run already used so the "
        "body's mapped cache exists, as on a served machine)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--note", default=None)
    args = parser.parse_args()

    steps: list[dict[str, Any]] = []
    cpu0 = time.process_time()

    def step(name: str) -> None:
        parts = breakdown()
        total = parts["total"]
        steps.append(
            {
                "step": name,
                "cpu_s": round(time.process_time() - cpu0, 2),
                "rss_mb": total.get("Rss"),
                "anonymous_mb": total.get("Anonymous"),
                "heavy_modules": heavy_modules(sys.modules),
                "modules": len(sys.modules),
                "mappings": parts,
            }
        )
        print(
            f"{name}: RSS {total.get('Rss', 0):.1f} MB ({total.get('Anonymous', 0):.1f} anon), "
            f"CPU {steps[-1]['cpu_s']} s, heavy: {steps[-1]['heavy_modules']}",
            flush=True,
        )

    step("interpreter")
    scratch = args.data_dir or Path(tempfile.mkdtemp(prefix="memory-breakdown-"))
    scratch.mkdir(parents=True, exist_ok=True)
    key_env = _environment(args, scratch)
    os.environ.update(key_env["env"])

    from starlette.testclient import TestClient

    from triage.api.app import create_app

    step("imports")
    tickets = _tickets(args.data)
    app = create_app()
    with TestClient(app, headers={"Authorization": f"Bearer {key_env['key']}"}) as client:
        step("model loaded")
        _classify(client, tickets[0])
        step("first answer")
        for ticket in tickets:
            _classify(client, ticket)
        step(f"{len(tickets)} tickets classified")
        resolved = [t for t in tickets if t.get("resolution", "").strip()]
        for begin in range(0, len(resolved), 100):
            body = {"tickets": [_resolved(t) for t in resolved[begin : begin + 100]]}
            response = client.post("/v1/tickets/resolved", json=body)
            response.raise_for_status()
        step(f"{len(resolved)} resolved tickets indexed")
        version = client.get("/v1/model").json().get("version", "")
        for r in range(args.rounds):
            for i, ticket in enumerate(tickets):
                kind = (i * 7 + r) % 20  # 12 of 20 classify, 5 similar, 3 feedback
                if kind < 12:
                    _classify(client, ticket)
                elif kind < 17:
                    text = {"subject": ticket["subject"], "body": ticket["body"]}
                    client.post("/v1/similar", json={**text, "k": 5, "remember": False})
                else:
                    client.post("/v1/feedback", json=_feedback(ticket, version))
        step(f"{args.rounds} rounds of mixed requests")
        for i in range(args.long):
            words = " ".join(t["body"] for t in tickets[i * 20 : i * 20 + 20])
            _classify(client, {"id": f"long-{i}", "subject": "long", "body": words})
        step(f"{args.long} long tickets")
    result = {
        "command": " ".join(["python -m benchmarks.memory_breakdown", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "loadavg": os.getloadavg(),
        "note": args.note,
        "steps": steps,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print()
    print("| step | RSS MB | anonymous MB | CPU s | heavy modules |")
    print("|---|---|---|---|---|")
    for s in steps:
        heavy = ", ".join(s["heavy_modules"]) or "none"
        print(f"| {s['step']} | {s['rss_mb']} | {s['anonymous_mb']} | {s['cpu_s']} | {heavy} |")
    for s in (steps[2], steps[-1]):
        print(f"\n{s['step']}:\n\n{table(s['mappings'])}")


def _environment(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    from benchmarks.harness.server import api_key

    key, keys = api_key(["classify", "feedback"])
    threads = str(args.threads)
    env = {
        "TRIAGE_MODELS_DIR": str(args.models_dir),
        "TRIAGE_DATA_DIR": str(scratch),
        "TRIAGE_API_KEYS": keys,
        "TRIAGE_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return {"key": key, "env": env}


def _classify(client: Any, ticket: dict[str, str]) -> None:
    body = {"id": ticket["id"], "subject": ticket["subject"], "body": ticket["body"]}
    client.post("/v1/classify", json=body).raise_for_status()


def _resolved(t: dict[str, str]) -> dict[str, Any]:
    return {
        "id": t["id"],
        "subject": t["subject"],
        "body": t["body"],
        "resolution": t["resolution"],
        "category": t.get("category") or None,
        "tier": t.get("tier") or None,
        "resolved_at": t.get("resolved_at") or None,
    }


def _feedback(t: dict[str, str], version: str) -> dict[str, Any]:
    return {
        "ticket_id": t["id"],
        "head": "category",
        "predicted": t.get("category") or "other",
        "final": t.get("category") or "other",
        "model_version": version,
        "decision": "suggest",
        "confidence": 0.8,
    }


if __name__ == "__main__":
    main()
