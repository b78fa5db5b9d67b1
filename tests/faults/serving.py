"""A real ``triage serve`` process for the fault tests: started, awaited, killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TRIAGE = str(Path(sys.executable).with_name("triage"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no goodbye."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def serve_env(models_dir: Path, database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    return {
        **env,
        "TRIAGE_MODELS_DIR": str(models_dir),
        "TRIAGE_DATABASE_URL": database_url,
        "TRIAGE_DATA_DIR": str(data_dir),
        "TRIAGE_PORT": str(port),
        "TRIAGE_MODEL_WATCH_SECONDS": "0",
        "TRIAGE_LOG_LEVEL": "warning",
    }


@contextmanager
def serving(
    models_dir: Path,
    database_url: str,
    data_dir: Path,
    log: Path,
    *,
    timeout: float = 60,
    env: dict[str, str] | None = None,
) -> Iterator[ServeProcess]:
    """``triage serve`` on a free loopback port, once /readyz answers 200; stopped after.
    ``env``: more settings (``TRIAGE_…``) for it."""
    port = free_port()
    with log.open("ab") as output:
        process = subprocess.Popen(
            [TRIAGE, "serve"],
            env=serve_env(models_dir, database_url, data_dir, port) | (env or {}),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches all of it
        )
    server = ServeProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"triage serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"not ready in {timeout} s:\n{log.read_text()}"
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
