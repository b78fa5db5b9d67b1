"""``triage worker`` does queued jobs in its own process and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from triage.store.database import Database
from triage.store.jobs import JobStatus, JobStore


def test_worker_process_runs_a_queued_job(tmp_path: Path, artifact_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    with Database(url) as database:
        database.upgrade()
        store = JobStore(database)
        job = store.create([{"id": "A", "subject": "Printer jams"}, {"id": "B", "body": "VPN"}])
        env = {
            **os.environ,
            "TRIAGE_MODELS_DIR": str(artifact_dir.parent),
            "TRIAGE_DATABASE_URL": url,
        }
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("triage")), "worker"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                current = store.get(job.id)
                assert current is not None
                if current.status is JobStatus.DONE:
                    break
                assert worker.poll() is None, "the worker stopped early"
                time.sleep(0.2)
            assert current.status is JobStatus.DONE
            assert current.done == 2
        finally:
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=30)
        assert worker.returncode == 0, stderr
        assert "worker " in stderr
