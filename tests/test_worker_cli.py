"""``triage worker`` does queued jobs in its own process and stops cleanly on SIGTERM."""

from __future__ import annotations

from pathlib import Path

from tests.worker_process import triage_worker
from triage.store.database import Database
from triage.store.jobs import JobStatus, JobStore


def test_worker_process_runs_a_queued_job(tmp_path: Path, artifact_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    with Database(url) as database:
        database.upgrade()
        store = JobStore(database)
        job = store.create([{"id": "A", "subject": "Printer jams"}, {"id": "B", "body": "VPN"}])

        def done() -> bool:
            current = store.get(job.id)
            assert current is not None
            return current.status is JobStatus.DONE

        with triage_worker(url, artifact_dir.parent) as worker:
            worker.wait_until(done)
            current = store.get(job.id)
            assert current is not None
            assert current.status is JobStatus.DONE
            assert current.done == 2
        assert worker.process.returncode == 0, worker.stderr
        assert "worker " in worker.stderr
