"""The service under test: uvicorn on a free loopback port, started as deploy/Dockerfile
serves it, in a session of its own so that stopping it stops its workers too."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
HTTP_PROTOCOL = "triage.api.transport:NoDelayHTTPProtocol"  # as deploy/Dockerfile serves
APP = "triage.api.app:create_app"
START_TIMEOUT = 300.0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    workers: int
    key: str | None  # the bearer key with the scopes asked for; None: no key set up
    started: float  # time.monotonic() just before the process was started
    ready_seconds: float | None = None  # from ``started`` until it was first found ready

    def log_tail(self, lines: int = 20) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()[-lines:]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(changes: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment, offline, serving the newest model (no pinned version),
    with ``changes`` applied (None removes a variable)."""
    env = {**os.environ, **OFFLINE}
    env.pop("TRIAGE_MODEL_VERSION", None)
    for name, value in (changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def api_key(scopes: Sequence[str]) -> tuple[str, str]:
    """A new bearer key with ``scopes``, and the TRIAGE_API_KEYS value that accepts it."""
    from triage.core.auth import hash_key, new_key

    key = new_key()
    return key, json.dumps([{"name": "bench", "sha256": hash_key(key), "scopes": list(scopes)}])


def uvicorn_command(port: int, *, workers: int, log_level: str) -> list[str]:
    return [
        *(str(BIN / "python"), "-m", "uvicorn", "--factory", APP),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", log_level, "--no-access-log", "--http", HTTP_PROTOCOL),
    ]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's session (uvicorn and its workers), SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def spawned(
    command: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a session of its own, its output in ``log``; stopped on the way out.
    ``cwd``: where it runs (``python -m`` imports from there first: a source tree)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


def answers_readyz(server: Server) -> bool:
    import httpx

    try:
        return httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def every_worker_ready(server: Server) -> bool:
    """Every worker has logged the end of its start-up (its model loaded; needs uvicorn's
    log level ``info``), and ``/readyz`` answers 200."""
    started = server.log.read_text(errors="replace").count("Application startup complete")
    return started >= server.workers and answers_readyz(server)


def wait_until(
    server: Server,
    condition: Callable[[Server], bool],
    *,
    interval: float = 0.5,
    timeout: float = START_TIMEOUT,
) -> None:
    """Poll ``condition``; exit with the server's log if it stops or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition(server):
        if server.process.poll() is not None:
            sys.exit(f"error: the service exited:\n{server.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            sys.exit(
                f"error: the service was not ready in {timeout:.0f} s:\n"
                f"{server.log.read_text()[-3000:]}"
            )
        time.sleep(interval)


@contextmanager
def running_server(
    models_dir: Path,
    *,
    log: Path,
    workers: int = 1,
    threads: int | None = None,
    port: int | None = None,
    scopes: Sequence[str] | None = None,
    env: Mapping[str, str | None] | None = None,
    log_level: str = "info",
    ready: Callable[[Server], bool] = every_worker_ready,
    poll: float = 0.5,
    cwd: Path | None = None,
) -> Iterator[Server]:
    """uvicorn serving ``models_dir`` with ``workers`` processes, each loading the model in
    its lifespan; yielded once ``ready`` holds (polled every ``poll`` seconds).

    ``threads``: intra-op threads per worker; ``scopes``: an API key with them is made
    (``server.key``); ``env``: further variables of the service's environment (None removes
    one); ``cwd``: the source tree it runs from (with ``PYTHONPATH`` in ``env``).
    """
    port = port or free_port()
    changes: dict[str, str | None] = {"TRIAGE_MODELS_DIR": str(models_dir)}
    if threads is not None:
        changes |= {"TRIAGE_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    key = None
    if scopes is not None:
        key, changes["TRIAGE_API_KEYS"] = api_key(scopes)
    changes |= env or {}
    command = uvicorn_command(port, workers=workers, log_level=log_level)
    started = time.monotonic()
    with spawned(command, environment(changes), log, cwd) as process:
        server = Server(process, f"http://127.0.0.1:{port}", log, workers, key, started)
        wait_until(server, ready, interval=poll)
        server.ready_seconds = time.monotonic() - started
        yield server
