"""`triage worker` in a subprocess, for the tests that need the separate worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    stderr: str = ""

    def wait_until(self, done: Callable[[], bool], timeout: float = 90) -> bool:
        """Poll ``done`` until it holds; fails at once if the worker exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            assert self.process.poll() is None, "the worker stopped early"
            time.sleep(0.2)
        return done()


@contextmanager
def triage_worker(database_url: str, models_dir: Path) -> Iterator[WorkerProcess]:
    """A running `triage worker`; stopped with SIGTERM on leaving, its stderr kept."""
    env = {**os.environ, "TRIAGE_MODELS_DIR": str(models_dir), "TRIAGE_DATABASE_URL": database_url}
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("triage")), "worker"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = WorkerProcess(process)
    try:
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)
        _, worker.stderr = process.communicate(timeout=30)
