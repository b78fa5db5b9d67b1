"""A worker's start imports only what its first answer needs: the staff page's templates
(jinja2), mail parsing, routing-table YAML, the migration tool, pgvector and SQLAlchemy's
PostgreSQL dialect (on SQLite) wait for their first use.
Checked in a fresh interpreter (``sys.modules``) that builds the app as uvicorn does, runs
its start-up, answers ``POST /v1/classify`` and ``/readyz``, on a database already current."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_AT_START = (
    "jinja2",
    "fastapi.templating",
    "triage.core.mail",
    "triage.service.mail_intake",
    "yaml",
    "alembic",
    "pgvector",
    "sqlalchemy.dialects.postgresql",
)
_START = """
import json, sys
from fastapi.testclient import TestClient
from triage.api.app import create_app

with TestClient(create_app()) as client:
    answer = client.post("/v1/classify", json={"subject": "Printer jams", "body": "again"})
    ready = client.get("/readyz")
print(json.dumps({
    "classify": answer.status_code,
    "readyz": ready.status_code,
    "modules": sorted(sys.modules),
}))
"""
_LATER = """
import sys
from fastapi.testclient import TestClient
from triage.api.app import create_app

with TestClient(create_app()) as client:
    assert client.get("/ui/").status_code == 200
    eml = b"From: a@example.com\\r\\nSubject: VPN down\\r\\n\\r\\nIt fails.\\r\\n"
    answer = client.post("/v1/email", content=eml, headers={"content-type": "message/rfc822"})
    assert answer.status_code in (200, 201, 202), answer.text
print(sorted(name for name in ("jinja2", "triage.core.mail") if name in sys.modules))
"""


def _run(code: str, artifact_dir: Path, data_dir: Path) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRIAGE_MODELS_DIR": str(artifact_dir.parent),
        "TRIAGE_DATA_DIR": str(data_dir),
        "TRIAGE_JOBS_WORKER": "false",
        "TRIAGE_API_KEYS": "[]",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_restarted_worker_answers_without_the_modules_only_other_routes_need(
    artifact_dir: Path, tmp_path: Path
) -> None:
    _run(_START, artifact_dir, tmp_path)  # the first start creates the database
    started = json.loads(_run(_START, artifact_dir, tmp_path))
    assert started["classify"] == 200
    assert started["readyz"] == 200
    loaded = [
        name
        for name in started["modules"]
        if any(name == m or name.startswith(m + ".") for m in NOT_AT_START)
    ]
    assert loaded == []


def test_the_staff_page_and_mail_intake_still_load_what_they_need(
    artifact_dir: Path, tmp_path: Path
) -> None:
    assert _run(_LATER, artifact_dir, tmp_path) == "['jinja2', 'triage.core.mail']"


_COLLECTIONS = """
import gc
import py_compile
import importlib.util

import triage.api  # the packages first: the app module's own imports are the ones measured

# Its bytecode too: compiling app.py (a fresh clone has none) runs before its first line, and
# so before it pauses the collector.
py_compile.compile(importlib.util.find_spec("triage.api.app").origin, doraise=True)
runs = []
gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
import triage.api.app

print(len(runs), gc.isenabled(), gc.get_freeze_count())
"""


def test_the_apps_imports_run_without_the_cyclic_collector_and_are_then_frozen() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTIONS], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    passes, enabled, frozen = done.stdout.split()
    assert int(passes) == 0  # 166 passes, 2 of them full, without the pause
    assert enabled == "True"
    assert int(frozen) > 100_000  # set aside from later passes
