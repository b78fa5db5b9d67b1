"""benchmarks/harness: the service the benchmarks start, and what they record about a run."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from benchmarks.harness.machine import describe
from benchmarks.harness.processes import rss_mb, uvicorn_workers
from benchmarks.harness.results import write_json
from benchmarks.harness.server import environment, running_server

TICKET = {"subject": "Printer jams", "body": "Every job stops with a paper jam."}


def test_the_server_is_ready_on_every_worker_and_stops_with_all_of_them(
    artifact_dir: Path, tmp_path: Path
) -> None:
    with running_server(
        artifact_dir.parent,
        log=tmp_path / "server.log",
        workers=2,
        threads=1,
        scopes=("classify",),
        env={"TRIAGE_DATA_DIR": str(tmp_path / "var")},
    ) as server:
        workers = uvicorn_workers(server.process.pid)
        assert len(workers) == 2
        assert server.log.read_text().count("Application startup complete") == 2
        answer = httpx.post(f"{server.url}/v1/classify", json=TICKET, headers=server.headers)
        assert answer.status_code == 200
        keyless = httpx.post(f"{server.url}/v1/classify", json=TICKET)
        assert keyless.status_code == 401

    assert server.process.poll() is not None
    assert [rss_mb(pid) for pid in workers] == [None, None]  # no worker left holding memory


def test_the_environment_is_offline_unpinned_and_changed_as_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIAGE_MODEL_VERSION", "20260101-000000-pinned")
    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql://elsewhere/triage")

    env = environment({"TRIAGE_DATABASE_URL": None, "TRIAGE_THREADS": "1"})

    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert "TRIAGE_MODEL_VERSION" not in env
    assert "TRIAGE_DATABASE_URL" not in env
    assert env["TRIAGE_THREADS"] == "1"


def test_a_result_names_its_machine_and_reads_back(tmp_path: Path) -> None:
    machine = describe(["httpx", "no-such-distribution"], wrk="wrk 4.2.0")
    path = tmp_path / "results" / "run.json"

    write_json(path, {"machine": machine, "note": "ünïcode"})

    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["machine"]["libraries"]["httpx"] == httpx.__version__
    assert "no-such-distribution" not in stored["machine"]["libraries"]
    assert stored["machine"]["cores"] >= stored["machine"]["cores_usable"] >= 1
    assert len(stored["machine"]["loadavg_at_start"]) == 3
    assert stored["machine"]["wrk"] == "wrk 4.2.0"
    assert stored["note"] == "ünïcode"
    assert path.read_text(encoding="utf-8").endswith("}\n")
